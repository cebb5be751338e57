/**
 * `autoplay-rx/redis`: beyond one process. Receivers append verified payloads to a Redis Stream, workers consume
 * it through a consumer group (at least once, dead workers' entries claimed), a Redis dedupe store makes it
 * effectively once, and a Redis context store shares session context. Needs a Redis client (node-redis).
 *
 * @example
 * ```ts
 * const redis = createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true })
 * redis.on('error', (error) => console.error('redis:', error.message))
 * await redis.connect()
 * // Receiver: answer the connector only once the delivery is in the stream.
 * createNodeMiddleware(receiver, { persist: redisAppender(redis, { stream: 'autoplay:events' }) })
 * // Worker (any process): at least once, acknowledged after the work.
 * fromRedisStream(redis, { stream: 'autoplay:events', group: 'indexers', consumer: `indexer-${process.pid}` })
 *   .pipe(mergeMap(async (delivery) => { await index(delivery.payload); await delivery.ack() }, 8))
 *   .subscribe()
 * ```
 *
 * @module autoplay-rx/redis
 */
export { redisAppender, toRedisStream } from './append.js'
export type { RedisAppendOptions } from './append.js'
export { fromRedisStream } from './fromRedisStream.js'
export type { RedisDelivery } from './fromRedisStream.js'
export type { RedisEntryError } from './errors.js'
export type { FromRedisStreamOptions } from './options.js'
export { redisDedupeStore } from './dedupeStore.js'
export { RedisContextStore } from './contextStore.js'
