/**
 * What holds a match back besides the session state, kept apart from the operator so each can be replayed alone:
 * the delivery breaker of the reference's `proactive_resilience`, and counts in fixed windows for its rate limits.
 */
import { positiveInteger, positiveNumber } from '../internal/options.js'

/** One (surface, product)'s breaker: consecutive delivery failures, and until when it is open (`null`: closed). */
export interface Breaker {
  readonly failures: number
  readonly openUntil: number | null
}

/** A breaker's settings, as the reference's `CircuitBreakerConfig`; `false`: off (never opens). */
export type BreakerOptions = false | {
  /** Consecutive failures that open it; default 5. */
  readonly failureThreshold?: number | undefined
  /** Seconds it stays open; default 120. */
  readonly pauseSeconds?: number | undefined
}

/**
 * The reference's `InMemoryProactiveCircuitBreaker` as a pure step at `now`: `check` answers whether it is open
 * (a pause that has ended is forgotten), `failure` counts one and opens it at the threshold (the count starting
 * again), `success` closes it. `open` is what the reference's call returns (`is_open`, or the failure opening it).
 */
export function breakerStep(
  breaker: Breaker, event: 'check' | 'failure' | 'success', now: number, options: BreakerOptions = {},
): { readonly breaker: Breaker; readonly open: boolean } {
  if (options === false) return { breaker, open: false }
  const threshold = positiveInteger('failureThreshold', options.failureThreshold ?? 5)
  const pause = positiveNumber('pauseSeconds', options.pauseSeconds ?? 120)
  if (event === 'success') return { breaker: CLOSED, open: false }
  if (event === 'failure') {
    return breaker.failures + 1 >= threshold ? { breaker: { failures: 0, openUntil: now + pause }, open: true }
      : { breaker: { ...breaker, failures: breaker.failures + 1 }, open: false }
  }
  return breaker.openUntil !== null && now < breaker.openUntil ? { breaker, open: true }
    : { breaker: { ...breaker, openUntil: null }, open: false }
}

export const CLOSED: Breaker = { failures: 0, openUntil: null }

/**
 * A Map in the order of last change, within `maxKeys` keys and `maxBytes` estimated bytes (2 a key character,
 * 64 an entry): the least recently changed go first, and `full` is told.
 */
export class RecentMap<V> {
  readonly entries = new Map<string, V>()
  private bytes = 0

  constructor(private readonly maxKeys: number, private readonly maxBytes: number, private readonly full: () => void) {}

  get(key: string): V | undefined {
    return this.entries.get(key)
  }

  delete(key: string): void {
    if (this.entries.delete(key)) this.bytes -= 64 + 2 * key.length
  }

  set(key: string, value: V): void {
    this.delete(key)
    const size = 64 + 2 * key.length
    let dropped = false
    for (const first of this.entries.keys()) {
      if (this.entries.size < this.maxKeys && this.bytes + size <= this.maxBytes) break
      this.delete(first)
      dropped = true
    }
    if (dropped) this.full()
    this.entries.set(key, value)
    this.bytes += size
  }
}

/**
 * At most `limit` counts per key in each fixed window of `seconds` since the epoch (the reference keys its limits
 * by epoch minute, hour and UTC day); `limit` 0: no limit, nothing kept. A key whose window passed is released
 * when the next count is added.
 */
export function windowCounts(seconds: number, limit: number, map: () => RecentMap<readonly [number, number]>) {
  const counts = limit > 0 ? map() : undefined
  return {
    /** When `key` may be counted again: at or before `now` if it may now. */
    freeAt(key: string, now: number): number {
      const window = Math.floor(now / seconds)
      const [at, count] = counts?.get(key) ?? [window, 0]
      return counts !== undefined && at === window && count >= limit ? (window + 1) * seconds : -Infinity
    },
    add(key: string, now: number): void {
      if (counts === undefined) return
      const window = Math.floor(now / seconds)
      const [at, count] = counts.get(key) ?? [window, 0]
      for (const [other, [since]] of counts.entries) {
        if (since >= window) break // the map is in the order counted, so the windows that passed are first
        counts.delete(other)
      }
      counts.set(key, [window, at === window ? count + 1 : 1])
    },
  }
}
