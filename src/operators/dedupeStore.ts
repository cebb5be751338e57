/**
 * The contract any store behind dedupeDeliveries keeps (in memory, Redis, SQL, …), on its own so that
 * a store of one's own depends on nothing else.
 */

/**
 * Remembers which deliveries were seen. `seen(key)` is an atomic check-and-set: `true` if `key` is
 * remembered, otherwise it remembers it and answers `false`, so two calls for one key, even from two
 * processes, never both answer `false`. It may answer with a promise; it may forget (a forgotten key is
 * new again, so a store's bounds are the dedupe's horizon); a throw or a rejection errors the stream.
 */
export interface DedupeStore {
  /** `true` for a repeat; otherwise records `key` and answers `false`. */
  seen(key: string): boolean | PromiseLike<boolean>
}
