/**
 * Bytes → JSON → typed payload, never throwing. Shared by the webhook
 * receiver and the SSE source so both apply the same codecs, defaults and
 * error values.
 */
import { isUtf8 } from 'node:buffer'
import * as E from 'fp-ts/lib/Either.js'
import type * as t from 'io-ts'
import { isPayloadType, payloadCodecs, type Payload } from './codecs.js'
import { INVALID } from './internal/compile.js'
import {
  invalidPayload, malformedJson, notRawBody, unknownEventType,
  type InvalidPayload, type MalformedJson, type NotRawBody, type UnknownEventType,
} from './errors.js'
import { log, type Logger } from './logger.js'

const encoder = new TextEncoder()

/**
 * The body as bytes: a `Uint8Array` (Buffer included) as is, an
 * `ArrayBuffer` viewed, a string as its UTF-8 bytes. Anything else (an
 * object a body parser produced, `null`, a number) is a {@link NotRawBody}.
 * Never throws.
 *
 * @param body - what a framework handed over as the request body
 * @returns the bytes (not copied, except a string's encoding), or why there are none
 * @example
 * ```ts
 * import { toBytes } from 'autoplay-rx'
 *
 * toBytes('{"type":"summary"}') // Right(Uint8Array)
 * toBytes({ type: 'summary' })  // Left(NotRawBody): a JSON body parser ran first
 * ```
 */
export function toBytes(body: unknown): E.Either<NotRawBody, Uint8Array> {
  if (typeof body === 'string') return E.right(encoder.encode(body))
  try {
    if (body instanceof Uint8Array) return E.right(body)
    if (body instanceof ArrayBuffer) return E.right(new Uint8Array(body))
  } catch {
    // `instanceof` runs a Proxy's getPrototypeOf trap, which may throw.
  }
  return E.left(notRawBody(body))
}

/**
 * Parses JSON text, never throwing: a syntax error (or input nested too
 * deep for the engine) is a {@link MalformedJson} value.
 *
 * @param text - the JSON text
 * @param body - the bytes the error carries (usually those `text` was decoded from)
 * @returns the parsed value, or why it could not be parsed
 * @example
 * ```ts
 * import { parseJsonText } from 'autoplay-rx'
 *
 * parseJsonText('{"a":1}', bytes) // Right({ a: 1 })
 * parseJsonText('{"a":', bytes)   // Left({ _tag: 'MalformedJson', reason: 'syntax', … })
 * ```
 */
export function parseJsonText(text: string, body: Uint8Array): E.Either<MalformedJson, unknown> {
  try {
    return E.right(JSON.parse(text))
  } catch (e) {
    // SyntaxError, or RangeError on input too deep for the engine.
    return E.left(malformedJson('syntax', e instanceof Error ? e.message : String(e), body))
  }
}

/**
 * Decodes a parsed JSON value into a modelled payload, never throwing. The
 * fast path of the codecs runs first; only a refusal runs io-ts' full
 * `validate`, for the report.
 *
 * A value that is not an object, or whose `type` is missing or not a
 * string, is an {@link InvalidPayload}; a string `type` other than
 * `actions` and `summary` is an {@link UnknownEventType} (not a fault: the
 * connector sends event types this version does not model).
 *
 * @param value - parsed JSON
 * @param body - the bytes the errors carry (the body `value` was parsed from)
 * @returns the payload, or why `value` is not one
 * @example
 * ```ts
 * import { decodeEvent } from 'autoplay-rx'
 *
 * decodeEvent({ type: 'summary', summary: 'hi' }, bytes)   // Right(SummaryPayload)
 * decodeEvent({ type: 'usertour_trigger' }, bytes)        // Left(UnknownEventType)
 * decodeEvent({ type: 'actions', actions: {} }, bytes)    // Left(InvalidPayload): actions: expected Array<SlimAction>, got object
 * ```
 */
export function decodeEvent(
  value: unknown,
  body: Uint8Array,
): E.Either<InvalidPayload | UnknownEventType, Payload> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return E.left(invalidPayload(null, [{ value, context: [{ key: '', type: eventShape, actual: value }] }], body))
  }
  const type = Object.prototype.hasOwnProperty.call(value, 'type') ? (value as { type?: unknown }).type : undefined
  if (isPayloadType(type)) {
    const codec: PayloadDecoder = payloadCodecs[type]
    const decoded = codec.fast(value)
    if (decoded !== INVALID) return E.right(decoded)
    const report = codec.decode(value)
    // The fast path and validate agree (spec/codecs.spec.ts checks it); this is belt and braces.
    return E.isRight(report) ? report : E.left(invalidPayload(type, report.left, body))
  }
  if (typeof type === 'string') return E.left(unknownEventType(type, value as Record<string, unknown>, body))
  return E.left(invalidPayload(null,
    [{ value: type, context: [{ key: '', type: eventShape, actual: value }, { key: 'type', type: eventType, actual: type }] }],
    body))
}

/**
 * Everything that can go wrong between a body's bytes and a payload (what
 * {@link decodeBytes} and {@link decodeJsonText} may return on the left).
 *
 * @example
 * ```ts
 * const why = (e: DecodeError) => (e._tag === 'UnknownEventType' ? 'ignored' : e.message)
 * ```
 */
export type DecodeError = MalformedJson | InvalidPayload | UnknownEventType

/**
 * JSON text → payload: parse, decode, and (with a logger) warn when an
 * actions batch declared a `count` other than its number of actions.
 * The one path shared by the receiver, the SSE source and the Redis bridge.
 * Never throws.
 *
 * @param text - the JSON text of one event
 * @param body - the bytes an error carries; a function when they are made
 *   only for a refusal (text that arrived as text: an SSE frame, a stream entry)
 * @param logger - where the `count` warning goes; without one, nothing is logged
 * @returns the payload, or why `text` is not one
 * @example
 * ```ts
 * import { decodeJsonText } from 'autoplay-rx'
 *
 * const text = '{"type":"summary","session_id":"ps_1","summary":"Exported a CSV."}'
 * const result = decodeJsonText(text, () => Buffer.from(text))
 * ```
 */
export function decodeJsonText(text: string, body: Uint8Array | (() => Uint8Array), logger?: Logger): E.Either<DecodeError, Payload> {
  const bytes = typeof body === 'function' ? NO_BYTES : body
  const value = parseJsonText(text, bytes)
  if (E.isLeft(value)) return bytes === body ? value : E.left({ ...value.left, body: (body as () => Uint8Array)() })
  const payload = decodeEvent(value.right, bytes)
  if (E.isLeft(payload)) return bytes === body ? payload : E.left({ ...payload.left, body: (body as () => Uint8Array)() })
  if (logger) warnOnCountMismatch(value.right, payload.right, logger)
  return payload
}

const NO_BYTES = new Uint8Array(0)

/**
 * UTF-8 JSON bytes → payload, as {@link decodeJsonText}; invalid UTF-8 is
 * refused as a {@link MalformedJson} (`reason: 'invalid-utf8'`). No
 * signature check and no size limit: for bytes already trusted (a queue, a
 * file). Never throws.
 *
 * @param bytes - the body of one event
 * @param logger - where the `count` warning goes; without one, nothing is logged
 * @returns the payload, or why `bytes` are not one
 * @example
 * ```ts
 * import { decodeBytes } from 'autoplay-rx'
 * import * as E from 'fp-ts/lib/Either.js'
 *
 * const result = decodeBytes(readFileSync('event.json'))
 * if (E.isRight(result)) console.log(result.right.type)
 * ```
 */
export function decodeBytes(bytes: Uint8Array, logger?: Logger): E.Either<DecodeError, Payload> {
  if (!isUtf8(bytes)) return E.left(malformedJson('invalid-utf8', '', bytes))
  const text = (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString('utf8')
  return decodeJsonText(text, bytes, logger)
}

function warnOnCountMismatch(value: unknown, payload: Payload, logger: Logger): void {
  if (payload.type !== 'actions') return
  const declared = (value as { count?: unknown }).count
  if (typeof declared !== 'number' || declared === payload.actions.length) return
  const actual = payload.actions.length
  log(logger, 'warn', `Declared count ${declared} does not match the ${actual} actions received; count set to ${actual}`,
    { session_id: payload.session_id, product_id: payload.product_id, type: payload.type })
}

/** The decoding half of a payload codec. */
interface PayloadDecoder extends t.Decoder<unknown, Payload> {
  readonly fast: (u: unknown) => Payload | typeof INVALID
}

// Names for the two errors raised before a codec is chosen.
const eventShape = { name: 'an event object', is: () => false } as never
const eventType = { name: 'string', is: () => false } as never
