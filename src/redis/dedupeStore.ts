/**
 * A DedupeStore in Redis, so that every receiver and worker shares one
 * memory of the deliveries it has seen: `SET key 1 NX PX ttl` is the atomic
 * check-and-set the store contract asks for.
 */
import type { DedupeStore } from '../operators/dedupeStore.js'
import type { RedisCommandClient } from './client.js'
import { positiveInteger } from '../internal/options.js'

/**
 * Options of {@link redisDedupeStore}.
 *
 * @example
 * ```ts
 * // One memory per environment, kept a day: replays within it are still caught.
 * const store = redisDedupeStore(redis, { prefix: 'staging:autoplay:seen:', ttlMs: 24 * 3_600_000 })
 * ```
 */
interface RedisDedupeStoreOptions {
  /** Prefix of the keys; default `autoplay-rx:seen:`. */
  readonly prefix?: string | undefined
  /** How long a delivery is remembered; default one hour (the connector's retries end well within it). */
  readonly ttlMs?: number | undefined
}

/**
 * A {@link DedupeStore} shared through Redis.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis'
 * import { dedupeDeliveries } from 'autoplay-rx'
 * import { redisDedupeStore } from 'autoplay-rx/redis'
 *
 * const redis = createClient({ url: process.env.REDIS_URL })
 * redis.on('error', (error) => console.error('redis:', error.message)) // else a dropped connection ends the process
 * await redis.connect()
 * receiver.actions$.pipe(dedupeDeliveries({ store: redisDedupeStore(redis) })).subscribe(index)
 * ```
 */
export function redisDedupeStore(client: RedisCommandClient, options: RedisDedupeStoreOptions = {}): DedupeStore {
  const prefix = options.prefix ?? 'autoplay-rx:seen:'
  const ttlMs = positiveInteger('ttlMs', options.ttlMs ?? 3_600_000)
  return {
    // SET … NX answers OK when it set the key (first time seen) and null when the key was there.
    seen: async (key) => (await client.sendCommand(['SET', prefix + key, '1', 'NX', 'PX', String(ttlMs)])) === null,
  }
}
