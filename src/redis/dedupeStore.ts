/**
 * A DedupeStore in Redis, so every receiver and worker shares one memory of the deliveries seen:
 * `SET key 1 NX PX ttl` is the atomic check-and-set the store contract asks for.
 */
import type { DedupeStore } from '../operators/dedupeStore.js'
import type { RedisCommandClient } from './client.js'
import { positiveInteger } from '../internal/options.js'

interface RedisDedupeStoreOptions {
  /** Prefix of the keys; default `autoplay-rx:seen:`. */
  readonly prefix?: string | undefined
  /** How long a delivery is remembered; default an hour (the connector's retries end well within it). */
  readonly ttlMs?: number | undefined
}

/**
 * A `DedupeStore` shared through Redis, for `dedupeDeliveries`.
 *
 * @example
 * ```ts
 * receiver.actions$.pipe(dedupeDeliveries({ store: redisDedupeStore(redis) })).subscribe(index)
 * ```
 */
export function redisDedupeStore(client: RedisCommandClient, options: RedisDedupeStoreOptions = {}): DedupeStore {
  const prefix = options.prefix ?? 'autoplay-rx:seen:'
  const ttlMs = positiveInteger('ttlMs', options.ttlMs ?? 3_600_000)
  return {
    // OK when the key was set (first time seen), null when it was there.
    seen: async (key) => (await client.sendCommand(['SET', prefix + key, '1', 'NX', 'PX', String(ttlMs)])) === null,
  }
}
