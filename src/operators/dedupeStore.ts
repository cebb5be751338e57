/**
 * The contract any store behind dedupeDeliveries keeps (in memory, Redis,
 * SQL, …): on its own, so that a store of one's own depends on nothing but
 * this, and the in-memory one is just one implementation of it.
 */

/**
 * Remembers which deliveries were seen. One method, so that a shared store
 * (Redis `SET key 1 NX PX ttl`, a SQL unique insert, …) is a few lines.
 *
 * Contract of `seen(key)`:
 * - it is an atomic check-and-set: it returns `true` if `key` is already
 *   remembered, and otherwise remembers it and returns `false`. Two calls for
 *   the same key, even concurrent ones from different processes, never both
 *   return `false` while the key is remembered;
 * - it may return the answer or a promise of it;
 * - a store may forget (time to live, eviction); a forgotten key counts as
 *   new again, so a store's bounds are the dedupe's horizon;
 * - a throw or a rejection is an error of the stream being deduplicated.
 *
 * @example
 * ```ts
 * // A store shared by every instance of a service: `redisDedupeStore` is exactly this.
 * import { createClient } from 'redis'
 * import { dedupeDeliveries, type DedupeStore } from 'autoplay-rx'
 *
 * const redis = await createClient({ url: process.env.REDIS_URL }).connect()
 * const redisStore: DedupeStore = {
 *   // SET … NX is the atomic check-and-set: it answers null when the key already exists.
 *   seen: async (key) => (await redis.set(`autoplay:delivery:${key}`, '1', { NX: true, PX: 3_600_000 })) === null,
 * }
 * const dedupe = dedupeDeliveries({ store: redisStore }) // or: { store: redisDedupeStore(redis) } from 'autoplay-rx/redis'
 * ```
 */
export interface DedupeStore {
  /**
   * Whether `key` was already seen; records it when it was not. Atomic.
   *
   * @param key - the identity of a delivery ({@link deliveryKey} by default)
   * @returns `true` for a repeat, `false` for a new key (now recorded); or a promise of it
   */
  seen(key: string): boolean | PromiseLike<boolean>
}
