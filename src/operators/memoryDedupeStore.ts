/**
 * The default store behind dedupeDeliveries: in memory, bounded by a number of keys and their bytes
 * (least recently seen forgotten first) and by a time to live.
 */
import { asyncScheduler } from 'rxjs'
import type { DedupeStore } from './dedupeStore.js'
import { estimatedBytes } from '../internal/estimatedBytes.js'
import { positiveInteger, positiveNumber } from '../internal/options.js'

export interface MemoryDedupeStoreOptions {
  /** Most keys remembered; beyond it the least recently seen is forgotten. Default 10,000. */
  readonly maxKeys?: number | undefined
  /** Most bytes of keys (16 a key, 2 a character), forgotten the same way; default 16 MiB. */
  readonly maxBytes?: number | undefined
  /** How long a key is remembered from when it was first recorded, in ms (`Infinity`: for ever). Default one hour. */
  readonly ttlMs?: number | undefined
  /** The clock, in ms; default `asyncScheduler.now()` (virtual time inside `TestScheduler.run`). */
  readonly now?: (() => number) | undefined
}

/** The in-memory store, synchronous, with its occupancy (expired keys count until a new key reclaims them). */
interface MemoryDedupeStore extends DedupeStore {
  /** Records `key`; true when it was already there and not expired. */
  seen(key: string): boolean
  /** Keys held now. */
  readonly size: number
  /** Forgets every key. */
  clear(): void
}

const DEFAULT_MAX_KEYS = 10_000
// Well beyond the connector's retry schedule.
const DEFAULT_TTL_MS = 60 * 60 * 1000

/**
 * An in-memory {@link DedupeStore}: at most `maxKeys` keys, each for at most `ttlMs` after it was first
 * recorded (a repeat does not extend it, as with Redis `SET NX PX`). Synchronous, so atomic within one
 * process; use a shared store when several processes receive deliveries. Throws a TypeError on bad bounds.
 *
 * @example
 * ```ts
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
  const maxBytes = positiveInteger('maxBytes', options.maxBytes ?? 16 * 1024 * 1024)
  if (ttlMs !== Infinity) positiveNumber('ttlMs', ttlMs)
  // key → expiry. A Map iterates in insertion order and a repeat is re-inserted, so the first key is
  // always the least recently seen.
  const expiries = new Map<string, number>()
  let bytes = 0
  const forget = (key: string): void => { expiries.delete(key); bytes -= estimatedBytes(key) }

  return {
    seen(key: string): boolean {
      const time = now()
      const expiry = expiries.get(key)
      if (expiry !== undefined && expiry > time) {
        expiries.delete(key)
        expiries.set(key, expiry)
        return true
      }
      if (expiry !== undefined) forget(key)
      const cost = estimatedBytes(key)
      // From the oldest end only (O(1) amortised): the expired keys, then what the bounds need to make room.
      for (const [oldest, at] of expiries) {
        if (at > time && expiries.size < maxKeys && bytes + cost <= maxBytes) break
        forget(oldest)
      }
      expiries.set(key, time + ttlMs)
      bytes += cost
      return false
    },
    get size() {
      return expiries.size
    },
    clear() {
      expiries.clear()
      bytes = 0
    },
  }
}
