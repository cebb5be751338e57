/**
 * The default store behind dedupeDeliveries, in memory, bounded by a number
 * of keys (least recently seen forgotten first) and by a time to live.
 */
import { asyncScheduler } from 'rxjs'
import type { DedupeStore } from './dedupeStore.js'
import { positiveInteger } from '../internal/options.js'

/**
 * Options of {@link memoryDedupeStore}.
 *
 * @example
 * ```ts
 * const options: MemoryDedupeStoreOptions = { maxKeys: 100_000, ttlMs: 15 * 60_000 }
 * ```
 */
export interface MemoryDedupeStoreOptions {
  /** Most keys remembered; beyond it the least recently seen is forgotten. Default 10,000. */
  readonly maxKeys?: number
  /** How long a key is remembered, in milliseconds from when it was first recorded. Default one hour. */
  readonly ttlMs?: number
  /**
   * The clock, in milliseconds. Defaults to `asyncScheduler.now()`, which is
   * `Date.now()` except inside `TestScheduler.run`, where it is virtual time.
   */
  readonly now?: () => number
}

/**
 * The in-memory {@link DedupeStore}, with its occupancy for monitoring and
 * tests. Made by {@link memoryDedupeStore}.
 *
 * @example
 * ```ts
 * const store: MemoryDedupeStore = memoryDedupeStore()
 * setInterval(() => metrics.gauge('dedupe.keys', store.size), 10_000)
 * ```
 */
export interface MemoryDedupeStore extends DedupeStore {
  /**
   * Whether `key` was already seen; records it when it was not. Synchronous.
   *
   * @param key - the identity of a delivery
   * @returns `true` for a repeat
   */
  seen(key: string): boolean
  /** The number of keys held: at most `maxKeys`; expired keys count until reclaimed. */
  readonly size: number
  /** Forgets every key. */
  clear(): void
}

const DEFAULT_MAX_KEYS = 10_000
/** One hour: well beyond the connector's retry schedule (about 2 s, 4 s, … doubling). */
const DEFAULT_TTL_MS = 60 * 60 * 1000

/**
 * An in-memory {@link DedupeStore}: at most `maxKeys` keys (least recently
 * seen forgotten first), each for at most `ttlMs` after it was first
 * recorded (a repeat does not extend it, as with Redis `SET NX PX`).
 * Synchronous, so trivially atomic within one process; use a shared store
 * when several processes receive deliveries.
 *
 * Every call costs O(1) amortised: expired keys are reclaimed from the
 * oldest end as calls come in, so a quiet store may hold expired keys
 * (never more than `maxKeys`) until the next call.
 *
 * @param options - the bounds and the clock
 * @returns a new, empty store
 * @throws TypeError when `maxKeys` is not a positive integer or `ttlMs` not a number > 0
 *
 * @example
 * ```ts
 * import { memoryDedupeStore } from 'autoplay-rx'
 *
 * const store = memoryDedupeStore({ maxKeys: 2, ttlMs: 60_000 })
 * store.seen('a') // false: new, now remembered
 * store.seen('a') // true: a repeat
 * store.seen('b'); store.seen('c') // 'a' is the least recently seen: forgotten
 * store.size      // 2
 * ```
 */
export function memoryDedupeStore(options: MemoryDedupeStoreOptions = {}): MemoryDedupeStore {
  const { maxKeys = DEFAULT_MAX_KEYS, ttlMs = DEFAULT_TTL_MS, now = () => asyncScheduler.now() } = options
  positiveInteger('maxKeys', maxKeys)
  if (!(typeof ttlMs === 'number' && ttlMs > 0)) {
    throw new TypeError('autoplay-rx: ttlMs must be a number > 0 (Infinity for no expiry)')
  }
  // key → expiry time. A Map iterates in insertion order, and a repeat is
  // re-inserted, so the first key is always the least recently seen.
  const expiries = new Map<string, number>()

  function reclaimExpired(time: number): void {
    // Only from the oldest end: O(1) amortised. A key seen again moved to the
    // newest end with its original expiry, so an expired key can hide behind a
    // live one for a while; the maxKeys bound holds regardless.
    for (const [key, expiry] of expiries) {
      if (expiry > time) break
      expiries.delete(key)
    }
  }

  return {
    seen(key: string): boolean {
      const time = now()
      reclaimExpired(time)
      const expiry = expiries.get(key)
      if (expiry !== undefined) {
        expiries.delete(key)
        if (expiry > time) {
          expiries.set(key, expiry)
          return true
        }
      }
      if (expiries.size >= maxKeys) {
        const oldest = expiries.keys().next()
        if (!oldest.done) expiries.delete(oldest.value)
      }
      expiries.set(key, time + ttlMs)
      return false
    },
    get size() {
      return expiries.size
    },
    clear() {
      expiries.clear()
    },
  }
}
