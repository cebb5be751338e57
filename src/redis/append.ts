/**
 * The writing side of the Redis bridge: each verified payload appended to
 * a stream (XADD, approximate MAXLEN trim), as a function for the
 * adapters' `persist` option or as an operator.
 */
import { from, map, mergeMap, type OperatorFunction } from 'rxjs'
import type { Payload } from '../codecs.js'
import type { Telemetry } from '../telemetry.js'
import type { RedisCommandClient } from './client.js'
import { nonEmpty, positiveInteger } from '../internal/options.js'

/**
 * The field of each stream entry that holds the payload's JSON.
 *
 * @example
 * ```ts
 * // Another producer (a replay script, say) writes entries fromRedisStream reads:
 * await redis.sendCommand(['XADD', 'autoplay:events', '*', PAYLOAD_FIELD, JSON.stringify(payload)])
 * ```
 */
export const PAYLOAD_FIELD = 'payload'

/**
 * Options of {@link redisAppender} and {@link toRedisStream}.
 *
 * @example
 * ```ts
 * // About a day of events at 10/s; older entries are trimmed as new ones come.
 * const options: RedisAppendOptions = { stream: 'autoplay:events', maxLen: 1_000_000 }
 * const persist = redisAppender(redis, options)
 * ```
 */
export interface RedisAppendOptions {
  /** The stream key. */
  readonly stream: string
  /**
   * Approximate maximum length (`XADD … MAXLEN ~ n`): Redis trims whole
   * nodes, so the stream may hold up to about 100 entries more. Default 1,000,000.
   */
  readonly maxLen?: number | undefined
  /** Times each XADD and counts its failures (`otelTelemetry()` from `autoplay-rx/otel`). Default: none. */
  readonly telemetry?: Telemetry | undefined
}

/**
 * A function that appends one payload to a stream and resolves with the
 * entry id once Redis has it. It is what the adapters' `persist` option
 * takes, to acknowledge the connector only after the delivery is durable.
 *
 * @example
 * ```ts
 * const persist = redisAppender(redis, { stream: 'autoplay:events' })
 * createNodeMiddleware(receiver, { persist }) // 503 when Redis cannot take it: the connector retries
 * ```
 */
export function redisAppender(client: RedisCommandClient, options: RedisAppendOptions): (payload: Payload) => Promise<string> {
  const maxLen = positiveInteger('maxLen', options.maxLen ?? 1_000_000)
  const stream = nonEmpty('stream', options.stream)
  const head = ['XADD', stream, 'MAXLEN', '~', String(maxLen), '*', PAYLOAD_FIELD]
  const telemetry = options.telemetry
  const append = async (payload: Payload) => String(await client.sendCommand([...head, JSON.stringify(payload)]))
  if (telemetry === undefined) return append
  return async (payload) => {
    const done = telemetry.redisAppend(stream)
    try {
      const id = await append(payload)
      done(true)
      return id
    } catch (error) {
      done(false)
      throw error
    }
  }
}

/**
 * A payload and the id of its stream entry, as {@link toRedisStream} emits them.
 *
 * @example
 * ```ts
 * receiver.payloads$.pipe(toRedisStream(redis, { stream: 'autoplay:events' }))
 *   .subscribe((entry: RedisStreamEntry) => console.log(entry.id, entry.payload.type)) // e.g. 1795772944706-0 actions
 * ```
 */
interface RedisStreamEntry {
  /** The entry id Redis gave it (`<ms>-<seq>`). */
  readonly id: string
  /** The payload stored. */
  readonly payload: Payload
}

/**
 * Appends every payload of the source to a Redis Stream, emitting each
 * entry id when Redis has it. A failed XADD errors the stream (add `retry`
 * to keep going); for HTTP deliveries prefer the adapters' `persist`
 * option, which answers 503 so that the connector retries instead.
 *
 * @example
 * ```ts
 * receiver.payloads$.pipe(toRedisStream(redis, { stream: 'autoplay:events', maxLen: 100_000 }))
 *   .subscribe(({ id }) => console.log('stored', id))
 * ```
 */
export function toRedisStream(client: RedisCommandClient, options: RedisAppendOptions): OperatorFunction<Payload, RedisStreamEntry> {
  const append = redisAppender(client, options)
  // One connection answers in order, so ids come out in the order payloads went in.
  return (source) => source.pipe(mergeMap((payload) => from(append(payload)).pipe(map((id) => ({ id, payload })))))
}
