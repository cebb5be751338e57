/**
 * A DedupeStore in Redis, so every receiver and worker shares one memory of the deliveries seen:
 * `SET key 1 NX PX ttl` is the atomic check-and-set the store contract asks for.
 */
import type { DedupeStore } from '../operators/dedupeStore.js'
import type { RedisCommandClient } from './client.js'
import { nodeBuiltin } from '../internal/builtin.js'
import { positiveInteger } from '../internal/options.js'

interface RedisDedupeStoreOptions {
  /** Prefix of the keys; default `autoplay-rx:seen:`. */
  readonly prefix?: string | undefined
  /** How long a delivery is remembered; default an hour (the connector's retries end well within it). */
  readonly ttlMs?: number | undefined
}

const crypto = nodeBuiltin('node:crypto')
// A key over 256 characters (long ids, scattered indexes) is stored as its digest: 71 bytes, whatever its length.
const stored = (key: string): string => key.length <= 256 || crypto === undefined ? key
  : `sha256:${crypto.createHash('sha256').update(key).digest('hex')}`

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
    seen: async (key) =>
      (await client.sendCommand(['SET', prefix + stored(key), '1', 'NX', 'PX', String(ttlMs)])) === null,
  }
}
