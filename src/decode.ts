/**
 * Bytes or text → UTF-8 → JSON → codec → `Either`, pure: nothing logged, nothing thrown. The receiver, the
 * SSE source and the Redis reader share it, so all apply the same codecs, defaults and error values.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as J from 'fp-ts/lib/Json.js'
import * as t from 'io-ts'
import { isEventType, payloadCodecs, type ActionsPayload, type WireEvent } from './codecs.js'
import { hasOwn, INVALID } from './internal/compile.js'
import { isPlainRecord } from './internal/fastCodec.js'
import { errorText } from './logger.js'
import {
  invalidPayload, malformedJson, notRawBody,
  unknownEventType, type InvalidPayload, type MalformedJson, type NotRawBody, type UnknownEventType,
} from './errors.js'

/** Everything that can go wrong between a body's bytes and a payload. */
export type DecodeError = MalformedJson | InvalidPayload | UnknownEventType

/** A decoded event, and the `count` an actions batch declared when it was not `actions.length`. */
export interface Decoded {
  readonly payload: WireEvent
  readonly countMismatch: CountMismatch | null
}

export interface CountMismatch {
  readonly declared: number
  readonly actual: number
}

const encoder = new TextEncoder()

// A replacing decoder is the fast path on every runtime; only text holding a U+FFFD (malformed bytes, or a
// real U+FFFD) is decoded again, fatally, to tell which. Both drop one leading BOM, as the reference's json.loads.
const replacing = new TextDecoder()
const fatal = new TextDecoder('utf-8', { fatal: true })
function utf8Text(bytes: Uint8Array): string | null {
  const text = replacing.decode(bytes)
  if (text.indexOf('\ufffd') === -1) return text
  try {
    return fatal.decode(bytes)
  } catch {
    return null
  }
}

/** The body as bytes (not copied, except a string's encoding), or a {@link NotRawBody}. */
export function toBytes(body: unknown): E.Either<NotRawBody, Uint8Array> {
  if (typeof body === 'string') return E.right(encoder.encode(body))
  try {
    // A subclass may override `byteLength`: read it here, where a throw is a refusal, not later.
    if (body instanceof Uint8Array && body.byteLength >= 0) return E.right(body)
    if (body instanceof ArrayBuffer) return E.right(new Uint8Array(body))
  } catch {
    // `instanceof` runs a Proxy's getPrototypeOf trap, which may throw.
  }
  return E.left(notRawBody(body))
}

/** UTF-8 JSON bytes → payload; a refusal carries `bytes`. */
export function decodeBytes(bytes: Uint8Array): E.Either<DecodeError, Decoded> {
  const text = utf8Text(bytes)
  const decoded = text === null ? E.left(invalidUtf8) : decodeJson(text)
  return E.isRight(decoded) ? decoded : E.left(decoded.left(bytes))
}

/** JSON text (an SSE frame, a stream entry) → payload; a refusal carries the text's UTF-8 bytes. */
export function decodeText(text: string): E.Either<DecodeError, Decoded> {
  const decoded = decodeJson(text)
  return E.isRight(decoded) ? decoded : E.left(decoded.left(encoder.encode(text)))
}

// A refusal still missing the raw body: the bytes are attached once, at the boundary, and only to a refusal.
type Refusal = (body: Uint8Array) => DecodeError

const invalidUtf8: Refusal = (body) => malformedJson('invalid-utf8', '', body)

function decodeJson(text: string): E.Either<Refusal, Decoded> {
  const parsed = J.parse(text)
  if (E.isRight(parsed)) return decodeValue(parsed.right)
  // SyntaxError, or RangeError on input too deep for the engine.
  const detail = errorText(parsed.left)
  return E.left((body) => malformedJson('syntax', detail, body))
}

// The two checks made before a codec is chosen, as an io-ts type so that their refusals read like the codecs'.
const eventShape = new t.Type<Readonly<Record<string, unknown>>>('an event object', isPlainRecord,
  (u, c) => (isPlainRecord(u) ? t.success(u) : t.failure(u, c)), t.identity)

function decodeValue(value: unknown): E.Either<Refusal, Decoded> {
  if (!isPlainRecord(value)) {
    const errors = [{ value, context: [{ key: '', type: eventShape, actual: value }] }]
    return E.left((body) => invalidPayload(null, errors, body))
  }
  const type = hasOwn.call(value, 'type') ? value.type : undefined
  if (isEventType(type)) {
    const codec = payloadCodecs[type]
    const decoded = codec.fast(value)
    if (decoded !== INVALID) return E.right(reconcile(decoded))
    // Only a refusal pays for io-ts' report (spec/internal/fastCodec.spec.ts holds both paths to agree).
    const report: t.Validation<AsSent> = codec.decode(value)
    if (E.isRight(report)) return E.right(reconcile(report.right))
    return E.left((body) => invalidPayload(type, report.left, body))
  }
  if (typeof type === 'string') return E.left((body) => unknownEventType(type, value, body))
  const errors = [{
    value: type, context: [{ key: '', type: eventShape, actual: value }, { key: 'type', type: t.string, actual: type }],
  }]
  return E.left((body) => invalidPayload(null, errors, body))
}

// The codec keeps the declared `count` (null when absent) so that the mismatch is known, not read again.
type AsSent = WireEvent | (Omit<ActionsPayload, 'count'> & { count: number | null })
function reconcile(sent: AsSent): Decoded {
  if (sent.type !== 'actions') return { payload: sent, countMismatch: null }
  const declared = sent.count
  const actual = sent.actions.length
  const payload = Object.assign(sent, { count: actual })
  return { payload, countMismatch: declared === null || declared === actual ? null : { declared, actual } }
}
