/**
 * `autoplay-rx/redis`: beyond one process. Receivers append verified
 * payloads to a Redis Stream, workers consume it through a consumer group
 * (at-least-once, dead workers' entries claimed), and a Redis-backed
 * dedupe store makes it effectively once. Needs a Redis client (node-redis).
 */
export { redisAppender, toRedisStream, fromRedisStream, PAYLOAD_FIELD } from './stream.js'
export type { RedisAppendOptions, RedisStreamEntry, RedisDelivery, RedisEntryRejection, FromRedisStreamOptions } from './stream.js'
export { redisDedupeStore } from './dedupeStore.js'
export type { RedisDedupeStoreOptions } from './dedupeStore.js'
export type { RedisCommandClient } from './client.js'
