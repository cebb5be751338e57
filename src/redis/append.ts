/**
 * The writing side of the Redis bridge: each verified event appended to a stream (XADD, then trimmed to about
 * `maxLen` but never past what a consumer group still needs), as a function for `persist` or as an operator.
 */
import { from, map, mergeMap, type OperatorFunction } from 'rxjs'
import type { Payload, UsertourTriggerPayload } from '../codecs.js'
import { consoleLogger, errorText, rateLimited, type Logger } from '../logger.js'
import { fenced, type Telemetry } from '../telemetry.js'
import { OWN_TIMEOUT, scriptRunner, type RedisBytesClient } from './client.js'
import { nonEmpty, positiveInteger } from '../internal/options.js'
import { bounded } from '../internal/within.js'
import { layoutMismatch, partitionOf, partitionStream, recordedPartitions } from './partitions.js'
import { partitionCount } from './options.js'

// Over maxLen, trims whole nodes older than the oldest entry any group has pending or not yet read (MINID ~,
// LIMIT the excess): an entry a group still needs is never trimmed. Returns the length left.
// (Redis 8.2's XADD … ACKED does the like, but says nothing of what it kept; this runs on every version.)
const TRIM = `local len = redis.call('XLEN', KEYS[1])
local excess = len - tonumber(ARGV[1])
if excess <= 0 then return len end
local floor, fms, fseq
for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local info = {}
  for i = 1, #group, 2 do info[group[i]] = group[i + 1] end
  local need = info['last-delivered-id']
  if info['pending'] > 0 then need = redis.call('XPENDING', KEYS[1], info['name'])[2] end
  local ms, seq = string.match(need, '(%d+)-(%d+)')
  ms, seq = tonumber(ms), tonumber(seq)
  if floor == nil or ms < fms or (ms == fms and seq < fseq) then floor, fms, fseq = need, ms, seq end
end
if floor == nil then redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', ARGV[1])
else redis.call('XTRIM', KEYS[1], 'MINID', '~', floor, 'LIMIT', excess) end
return redis.call('XLEN', KEYS[1])`

/** How far over `maxLen` a stream may be before it is trimmed or reported: Redis trims whole nodes (≤ 100 entries). */
const NODE = 100
/** A trim not answered within this long is given up on (said), so that the next one can start. */
const TRIM_TIMEOUT_MS = 5000

/** The field of an entry that holds the body bytes the signature was checked over, as they came. */
export const BODY_FIELD = 'body'
/** The field of an entry written without those bytes (`toRedisStream`, or before they were kept): the JSON. */
export const PAYLOAD_FIELD = 'payload'

/** Options of {@link redisAppender} and {@link toRedisStream}. */
export interface RedisAppendOptions {
  /** The stream key. */
  readonly stream: string
  /**
   * Approximate maximum length (trimmed once about 100 over, whole nodes: up to about 200 more may stay); default
   * 1,000,000. Entries a consumer group has pending or not yet read are never trimmed: the stream grows past it, said.
   */
  readonly maxLen?: number | undefined
  /**
   * Writes each event to one of this many streams, `<stream>:{p}`, by a stable hash of its product and session:
   * read them with `fromRedisStream`'s same `partitions`, one owner per session. `maxLen` is then per partition.
   * Default none: every event to `stream`.
   */
  readonly partitions?: number | undefined
  /** Where a stream held over `maxLen` is reported (one line per 10 s); default {@link consoleLogger}. */
  readonly logger?: Logger | undefined
  /** Times each XADD and counts its failures (`otelTelemetry()` from `autoplay-rx/otel`). */
  readonly telemetry?: Telemetry | undefined
}

/**
 * A function that appends one event (a payload or a `usertour_trigger`) to a stream and resolves with the entry id
 * once Redis has it: what the adapters' `persist` option takes, to answer the connector only once it is stored.
 * Given the verified `body` (as `persist` is), the entry holds those bytes, not the payload serialised again.
 *
 * @example
 * ```ts
 * const persist = redisAppender(redis, { stream: 'autoplay:events' })
 * createNodeMiddleware(receiver, { persist }) // 503 when Redis cannot take it: the connector retries
 * ```
 */
export function redisAppender(
  client: RedisBytesClient, options: RedisAppendOptions,
): (event: Payload | UsertourTriggerPayload, body?: Uint8Array) => Promise<string> {
  const maxLen = positiveInteger('maxLen', options.maxLen ?? 1_000_000)
  const stream = nonEmpty('stream', options.stream)
  const { logger = consoleLogger } = options
  const partitions = partitionCount(options.partitions)
  const keyOf = (event: Payload | UsertourTriggerPayload) =>
    partitions === undefined ? stream : partitionStream(stream, partitionOf(event, partitions))
  const telemetry = fenced(options.telemetry, logger)
  const trim = scriptRunner(client, TRIM)
  const report = rateLimited(10_000)
  // Checked once (again after a failure), beside the appends: it never delays nor fails one.
  let layout: Promise<unknown> | undefined
  const checkLayout = () => {
    layout ??= recordedPartitions(client, stream, partitions).then((recorded) => {
      if (recorded !== (partitions ?? 0)) {
        layout = undefined // said again (once per 10 s) until the readers and appenders agree
        report(logger, 'error', layoutMismatch(stream, recorded, partitions), { stream })
      }
    }, () => { layout = undefined })
  }
  // A plain XADD, and the trimming script only once a stream may be a node over maxLen, one at a time per stream and
  // not awaited (ids keep their order): on every append it cost Redis 2.5× the XADD. A stream's length is the
  // script's answer plus the XADDs sent after it (other appenders' uncounted). One state per stream: ≤ 1,024.
  const streams = new Map<string, { sent: number; offset: number; trimming: boolean }>()
  const append = async (event: Payload | UsertourTriggerPayload, body?: Uint8Array) => {
    // A view, not a copy: node-redis writes a Buffer as it is (a plain Uint8Array it refuses).
    const value = body ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : JSON.stringify(event)
    checkLayout()
    const key = keyOf(event)
    const id = client.sendCommand(['XADD', key, '*', body ? BODY_FIELD : PAYLOAD_FIELD, value], OWN_TIMEOUT)
    let state = streams.get(key)
    if (state === undefined) streams.set(key, state = { sent: 0, offset: Number.POSITIVE_INFINITY, trimming: false })
    if (++state.sent + state.offset > maxLen + NODE && !state.trimming) {
      const [at, held] = [state.sent, state]
      held.trimming = true
      void bounded(trim([key], [String(maxLen)]), TRIM_TIMEOUT_MS, 'Redis').then((left) => {
        held.offset = Number(left) - at
        if (Number(left) <= maxLen + NODE) return
        report(logger, 'warn', `Stream ${key} holds ${Number(left)} entries, over maxLen ${maxLen}: entries pending ` +
          'or unread in a consumer group are not trimmed until acknowledged')
      }, (error: unknown) => {
        // The entry is stored: a failed trim is said, and tried again at the stream's next append.
        report(logger, 'warn', `Trimming stream ${key} failed: ${errorText(error)}; tried again at the next append`)
      }).finally(() => { held.trimming = false })
    }
    return String(await id)
  }
  if (telemetry === undefined) return append
  return (event, body) => {
    const done = telemetry.redisAppend(stream)
    return append(event, body).then((id) => (done(true), id), (error: unknown) => { done(false); throw error })
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
export function toRedisStream<P extends Payload | UsertourTriggerPayload>(
  client: RedisBytesClient, options: RedisAppendOptions,
): OperatorFunction<P, {
  /** The entry id Redis gave it. */ readonly id: string
  /** The payload stored. */ readonly payload: P
}> {
  const append = redisAppender(client, options)
  // One connection answers in order, so ids come out in the order payloads went in.
  return (source) => source.pipe(mergeMap((payload) => from(append(payload)).pipe(map((id) => ({ id, payload })))))
}
