/**
 * The writing side of the Redis bridge: each verified payload appended to a stream (XADD with an approximate
 * MAXLEN), as a function for the adapters' `persist` option or as an operator.
 */
import { from, map, mergeMap, type OperatorFunction } from 'rxjs'
import type { Payload } from '../codecs.js'
import type { Telemetry } from '../telemetry.js'
import type { RedisCommandClient } from './client.js'
import { nonEmpty, positiveInteger } from '../internal/options.js'

/** The field of each stream entry that holds the payload's JSON. */
export const PAYLOAD_FIELD = 'payload'

/** Options of {@link redisAppender} and {@link toRedisStream}. */
export interface RedisAppendOptions {
  /** The stream key. */
  readonly stream: string
  /** Approximate maximum length (`MAXLEN ~`: Redis trims whole nodes, so a few more may stay); default 1,000,000. */
  readonly maxLen?: number | undefined
  /** Times each XADD and counts its failures (`otelTelemetry()` from `autoplay-rx/otel`). */
  readonly telemetry?: Telemetry | undefined
}

/**
 * A function that appends one payload to a stream and resolves with the entry id once Redis has it: what the
 * adapters' `persist` option takes, to answer the connector only once the delivery is stored.
 *
 * @example
 * ```ts
 * const persist = redisAppender(redis, { stream: 'autoplay:events' })
 * createNodeMiddleware(receiver, { persist }) // 503 when Redis cannot take it: the connector retries
 * ```
 */
export function redisAppender(
  client: RedisCommandClient, options: RedisAppendOptions,
): (payload: Payload) => Promise<string> {
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
 * Appends every payload of the source to a Redis Stream, emitting `{ id, payload }` as Redis confirms each. A
 * failed XADD errors the stream; for HTTP deliveries prefer `persist`, which answers 503 so the connector retries.
 *
 * @example
 * ```ts
 * receiver.payloads$.pipe(toRedisStream(redis, { stream: 'autoplay:events' })).subscribe(({ id }) => console.log(id))
 * ```
 */
export function toRedisStream(client: RedisCommandClient, options: RedisAppendOptions): OperatorFunction<Payload, {
  /** The entry id Redis gave it. */ readonly id: string
  /** The payload stored. */ readonly payload: Payload
}> {
  const append = redisAppender(client, options)
  // One connection answers in order, so ids come out in the order payloads went in.
  return (source) => source.pipe(mergeMap((payload) => from(append(payload)).pipe(map((id) => ({ id, payload })))))
}
