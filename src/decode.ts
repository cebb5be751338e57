/**
 * Bytes → UTF-8 → JSON → codec → `Either`, pure: nothing is logged and
 * nothing thrown. Shared by the receiver, the SSE source and the Redis
 * bridge so all apply the same codecs, defaults and error values.
 *
 * Each step refuses with an error still missing its body; the bytes are
 * attached once, at the boundary (`decodeUtf8` has them; `decodeText`
 * encodes the text only for a refusal). A declared `count` that the codec
 * reconciled is reported beside the payload, as data.
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as J from 'fp-ts/lib/Json.js'
import * as t from 'io-ts'
import { isPayloadType, payloadCodecs, type ActionsPayload, type Payload } from './codecs.js'
import { INVALID } from './internal/compile.js'
import {
  invalidPayload, malformedJson, notRawBody, unknownEventType,
  type InvalidPayload, type MalformedJson, type NotRawBody, type UnknownEventType,
} from './errors.js'
import { log, type Logger } from './logger.js'

const encoder = new TextEncoder()

/**
 * Bytes → text, or `null` for bytes that are not UTF-8, on every runtime. A replacing
 * `TextDecoder` turns every malformed sequence into U+FFFD, so text without one came from valid
 * UTF-8; only text that holds a U+FFFD (malformed bytes, or a real U+FFFD sent as EF BF BD) is
 * decoded again with a fatal decoder to tell which. The fatal decoder alone cost 5.8× as much on
 * Deno (8.95 against 1.53 µs on actions-medium) and 54× on Bun (59.9 against 1.1 µs), and a
 * little more on Node (3.0 against 2.3 µs; docs/benchmarks.md, "Deno and UTF-8"). `ignoreBOM`: a
 * leading U+FEFF is kept, and JSON.parse refuses it.
 */
const replacing = new TextDecoder('utf-8', { ignoreBOM: true })
const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const utf8Text = (bytes: Uint8Array): string | null => {
  const text = replacing.decode(bytes)
  if (text.indexOf('\ufffd') === -1) return text
  try {
    return fatal.decode(bytes)
  } catch {
    return null
  }
}

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
 * Everything that can go wrong between a body's bytes and a payload (what
 * {@link decodeBytes} and {@link decodeJsonText} may return on the left).
 *
 * @example
 * ```ts
 * const why = (e: DecodeError) => (e._tag === 'UnknownEventType' ? 'ignored' : e.message)
 * ```
 */
export type DecodeError = MalformedJson | InvalidPayload | UnknownEventType

/** A refusal still missing the raw body, which the boundary attaches. */
type Refusal<E> = (body: Uint8Array) => E

/**
 * A `count` the sender declared that is not the number of actions it sent;
 * the payload's `count` was set to `actual`.
 *
 * @example
 * ```ts
 * const mismatch: CountMismatch = { declared: 5, actual: 2 }
 * ```
 */
export interface CountMismatch {
  /** What the batch's `count` said. */
  readonly declared: number
  /** How many actions it held (the payload's `count` now). */
  readonly actual: number
}

/**
 * A decoded payload, and what decoding had to reconcile in it.
 *
 * @example
 * ```ts
 * const result = decodeText(text)
 * if (E.isRight(result) && result.right.countMismatch) console.warn(result.right.countMismatch)
 * ```
 */
export interface Decoded {
  /** The payload, with defaults applied and `count` reconciled. */
  readonly payload: Payload
  /** Set when an actions batch declared another `count`. */
  readonly countMismatch: CountMismatch | null
}

// The steps are built once, here: fp-ts' `chainW`/`flatMap` go through a variadic `dual` wrapper
// (arguments copied and spread on every call), and a closure per call showed as a third of
// the fixed cost of a small delivery. `matchW` and `mapLeft` curried once allocate nothing on success.
// SyntaxError, or RangeError on input too deep for the engine.
const syntaxRefusal = E.mapLeft((e: unknown) => (body: Uint8Array) =>
  malformedJson('syntax', e instanceof Error ? e.message : String(e), body))
const parseJson = (text: string): E.Either<Refusal<MalformedJson>, unknown> => syntaxRefusal(J.parse(text))

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
  return pipe(parseJson(text), E.mapLeft((refuse) => refuse(body)))
}

// The two checks made before a codec is chosen, as io-ts types so that their refusals read like the codecs'.
const isEventObject = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === 'object' && u !== null && !Array.isArray(u)
const eventShape = new t.Type<Readonly<Record<string, unknown>>>('an event object', isEventObject,
  (u, c) => (isEventObject(u) ? t.success(u) : t.failure(u, c)), t.identity)

const decodeValue = (value: unknown): E.Either<Refusal<InvalidPayload | UnknownEventType>, Decoded> => {
  if (!isEventObject(value)) {
    const errors = [{ value, context: [{ key: '', type: eventShape, actual: value }] }]
    return E.left((body) => invalidPayload(null, errors, body))
  }
  const type = Object.prototype.hasOwnProperty.call(value, 'type') ? value.type : undefined
  if (isPayloadType(type)) {
    const codec = payloadCodecs[type]
    const decoded = codec.fast(value)
    if (decoded !== INVALID) return E.right(reconcile(decoded))
    // Only a refusal pays for io-ts' report (the fast path and validate agree: spec/internal checks it).
    return pipe(codec.decode(value), E.bimap((errors) => (body: Uint8Array) => invalidPayload(type, errors, body), reconcile))
  }
  if (typeof type === 'string') return E.left((body) => unknownEventType(type, value, body))
  const errors = [{ value: type, context: [{ key: '', type: eventShape, actual: value }, { key: 'type', type: t.string, actual: type }] }]
  return E.left((body) => invalidPayload(null, errors, body))
}

/** Parsed JSON (or why it is not JSON) → the decoded payload, or a refusal still waiting for its bytes. */
const decodeParsed: (parsed: E.Either<Refusal<MalformedJson>, unknown>) => E.Either<Refusal<DecodeError>, Decoded> =
  E.matchW((refuse) => E.left(refuse), decodeValue)

// The codec keeps the declared `count` (null when absent) so that the mismatch is known, not re-read.
function reconcile(sent: Payload | (Omit<ActionsPayload, 'count'> & { count: number | null })): Decoded {
  if (sent.type !== 'actions') return { payload: sent, countMismatch: null }
  const declared = sent.count
  const actual = sent.actions.length
  const payload = Object.assign(sent, { count: actual })
  return { payload, countMismatch: declared === null || declared === actual ? null : { declared, actual } }
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
export function decodeEvent(value: unknown, body: Uint8Array): E.Either<InvalidPayload | UnknownEventType, Payload> {
  return pipe(decodeValue(value), E.bimap((refuse) => refuse(body), payloadOf))
}

const payloadOf = (decoded: Decoded): Payload => decoded.payload

/**
 * JSON text → payload, with any `count` mismatch beside it; a refusal
 * carries the text's UTF-8 bytes (encoded only then). Never throws, never logs.
 *
 * @param text - the JSON text of one event (an SSE frame, a stream entry)
 * @returns the decoded payload, or why `text` is not one
 * @example
 * ```ts
 * const result = decodeText('{"type":"actions","count":5,"actions":[{}]}')
 * // Right({ payload: { …, count: 1 }, countMismatch: { declared: 5, actual: 1 } })
 * ```
 */
export function decodeText(text: string): E.Either<DecodeError, Decoded> {
  const decoded = decodeParsed(parseJson(text))
  return E.isRight(decoded) ? decoded : E.left(decoded.left(encoder.encode(text)))
}

/**
 * UTF-8 JSON bytes → payload, with any `count` mismatch beside it; a
 * refusal carries `bytes`. Invalid UTF-8 is a {@link MalformedJson}
 * (`reason: 'invalid-utf8'`). Never throws, never logs.
 *
 * @param bytes - the body of one event
 * @returns the decoded payload, or why `bytes` are not one
 * @example
 * ```ts
 * const result = decodeUtf8(rawBody)
 * if (E.isRight(result)) console.log(result.right.payload.type)
 * ```
 */
export function decodeUtf8(bytes: Uint8Array): E.Either<DecodeError, Decoded> {
  const text = utf8Text(bytes)
  if (text === null) return E.left(malformedJson('invalid-utf8', '', bytes))
  const decoded = decodeParsed(parseJson(text))
  // The bytes are attached here, at the boundary, and only to a refusal.
  return E.isRight(decoded) ? decoded : E.left(decoded.left(bytes))
}

/**
 * JSON text → payload, as {@link decodeText} without the `count` note.
 * For text that arrived as text; a refusal carries its UTF-8 bytes. Never throws.
 *
 * @param text - the JSON text of one event
 * @returns the payload, or why `text` is not one
 * @example
 * ```ts
 * import { decodeJsonText } from 'autoplay-rx'
 *
 * const result = decodeJsonText('{"type":"summary","session_id":"ps_1","summary":"Exported a CSV."}')
 * ```
 */
export function decodeJsonText(text: string): E.Either<DecodeError, Payload> {
  return pipe(decodeText(text), E.map(payloadOf))
}

/**
 * UTF-8 JSON bytes → payload, as {@link decodeUtf8} without the `count`
 * note. No signature check and no size limit: for bytes already trusted (a
 * queue, a file). Never throws.
 *
 * @param bytes - the body of one event
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
export function decodeBytes(bytes: Uint8Array): E.Either<DecodeError, Payload> {
  return pipe(decodeUtf8(bytes), E.map(payloadOf))
}

/**
 * Logs a decoded payload's `count` mismatch as a warning (the receiver and
 * the SSE source do; decoding itself never logs).
 *
 * @param logger - where the warning goes
 * @param decoded - what {@link decodeUtf8} or {@link decodeText} returned on the right
 * @example
 * ```ts
 * if (E.isRight(result)) warnOnCountMismatch(logger, result.right)
 * ```
 */
export function warnOnCountMismatch(logger: Logger, { payload, countMismatch }: Decoded): void {
  if (countMismatch === null) return
  const { declared, actual } = countMismatch
  log(logger, 'warn', `Declared count ${declared} does not match the ${actual} actions received; count set to ${actual}`,
    { session_id: payload.session_id, product_id: payload.product_id, type: payload.type })
}
