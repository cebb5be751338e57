/**
 * Everything that can go wrong with a delivery, as a tagged union of plain
 * values (`_tag`), with constructors, a readable reporter and `matchIngestError`.
 * Nothing here throws except `InvalidSignatureError`, which exists for
 * parity with the reference's `handle`.
 */
import type * as t from 'io-ts'

/** Why a signature was refused. */
export type SignatureFailure = 'missing' | 'malformed' | 'mismatch'

/** The `X-Connector-Signature` header was missing, malformed, or made with another secret. */
export interface InvalidSignature {
  readonly _tag: 'InvalidSignature'
  readonly reason: SignatureFailure
  readonly message: string
  /** The raw body as received. */
  readonly body: Uint8Array
}

/** The body is not UTF-8 JSON. */
export interface MalformedJson {
  readonly _tag: 'MalformedJson'
  readonly reason: 'invalid-utf8' | 'syntax'
  readonly message: string
  readonly body: Uint8Array
}

/** One readable problem of an {@link InvalidPayload}: `actions.2.title: expected string, got number`. */
export interface PayloadIssue {
  /** Dotted path from the event's root, `""` for the root itself. */
  readonly path: string
  readonly expected: string
  readonly got: string
}

/** Valid JSON, but not a valid event of a modelled type. */
export interface InvalidPayload {
  readonly _tag: 'InvalidPayload'
  /** The event type, when the body had a string `type`. */
  readonly eventType: string | null
  /** The io-ts errors, as data. */
  readonly errors: t.Errors
  /** The same errors, readable. */
  readonly issues: ReadonlyArray<PayloadIssue>
  readonly message: string
  readonly body: Uint8Array
}

/** A well-formed event of a type this version does not model (e.g. `usertour_trigger`): not a fault. */
export interface UnknownEventType {
  readonly _tag: 'UnknownEventType'
  readonly eventType: string
  /** The parsed JSON of the event, for users who want it. */
  readonly event: Readonly<Record<string, unknown>>
  readonly message: string
  readonly body: Uint8Array
}

/** The body handed to `ingest` was not raw bytes or text (e.g. an object from a JSON body parser). */
export interface NotRawBody {
  readonly _tag: 'NotRawBody'
  /** What was received instead: `object`, `null`, `number`, … */
  readonly received: string
  readonly message: string
}

/** The body exceeds the configured size limit. */
export interface BodyTooLarge {
  readonly _tag: 'BodyTooLarge'
  readonly limit: number
  /** Bytes seen when the limit was crossed (at least `limit + 1`). */
  readonly size: number
  readonly message: string
}

/** Everything `ingest` can refuse, as data. */
export type IngestError =
  | InvalidSignature
  | MalformedJson
  | InvalidPayload
  | UnknownEventType
  | NotRawBody
  | BodyTooLarge

/** The tags of {@link IngestError}. */
export type IngestErrorTag = IngestError['_tag']

const signatureMessages: Record<SignatureFailure, string> = {
  missing: 'Invalid X-Connector-Signature: the header is missing',
  malformed: 'Invalid X-Connector-Signature: expected "sha256=" followed by 64 lower-case hex digits',
  mismatch: 'Invalid X-Connector-Signature: the signature does not match the body',
}

/** Constructs an {@link InvalidSignature}. */
export const invalidSignature = (reason: SignatureFailure, body: Uint8Array): InvalidSignature => ({
  _tag: 'InvalidSignature', reason, message: signatureMessages[reason], body,
})

/** Constructs a {@link MalformedJson}. */
export const malformedJson = (reason: MalformedJson['reason'], detail: string, body: Uint8Array): MalformedJson => ({
  _tag: 'MalformedJson', reason,
  message: reason === 'invalid-utf8' ? 'Body is not valid UTF-8' : `Body is not valid JSON: ${detail}`,
  body,
})

/** Constructs an {@link InvalidPayload} from io-ts errors. */
export const invalidPayload = (eventType: string | null, errors: t.Errors, body: Uint8Array): InvalidPayload => {
  const issues = errors.map(toIssue)
  const shown = issues.slice(0, 5).map(formatIssue).join('; ')
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''
  return {
    _tag: 'InvalidPayload', eventType, errors, issues,
    message: `Invalid ${eventType ?? 'event'} payload: ${shown}${more}`,
    body,
  }
}

/** Constructs an {@link UnknownEventType}. */
export const unknownEventType = (eventType: string, event: Record<string, unknown>, body: Uint8Array): UnknownEventType => ({
  _tag: 'UnknownEventType', eventType, event,
  message: `Event type "${eventType.slice(0, 100)}" is not modelled by this version; ignored`,
  body,
})

/** Constructs a {@link NotRawBody}. */
export const notRawBody = (value: unknown): NotRawBody => {
  const received = describe(value)
  return {
    _tag: 'NotRawBody', received,
    // Once a parser has consumed the stream nothing mounted later can get the bytes back:
    // name only what helps then.
    message: `Expected the raw request body (Uint8Array, Buffer, ArrayBuffer or string), got ${received}. ` +
      'A JSON body parser (e.g. express.json()) consumed the request before the receiver, and the signature ' +
      'is over the exact bytes. Fix: mount the receiver before any body parser (its route before express.json()), or exclude its path ' +
      'from the parser, or keep the raw bytes with express.json({ verify: (req, _res, buf) => { req.rawBody = buf } }) ' +
      '(the adapters use req.rawBody).',
  }
}

/** Constructs a {@link BodyTooLarge}. */
export const bodyTooLarge = (limit: number, size: number): BodyTooLarge => ({
  _tag: 'BodyTooLarge', limit, size,
  message: `Body exceeds the limit of ${limit} bytes`,
})

/** A handler per tag; `matchIngestError(handlers)(error)` calls the one for `error._tag`. */
export type IngestErrorHandlers<R> = { readonly [K in IngestErrorTag]: (error: Extract<IngestError, { _tag: K }>) => R }

/**
 * Folds an {@link IngestError} with one handler per tag (data-last, for `pipe`).
 *
 * @example
 * ```ts
 * const status = matchIngestError({
 *   InvalidSignature: () => 401, MalformedJson: () => 400, InvalidPayload: () => 400,
 *   UnknownEventType: () => 200, NotRawBody: () => 400, BodyTooLarge: () => 413,
 * })
 * status(error) // 401, 400, …
 * ```
 */
export const matchIngestError = <R>(handlers: IngestErrorHandlers<R>) =>
  (error: IngestError): R => (handlers[error._tag] as (e: IngestError) => R)(error)

/**
 * Thrown by `handle` and `handleSync` on a bad signature, as the reference
 * raises `ValueError("Invalid X-Connector-Signature")`. `ingest` never throws:
 * it returns the same failure as a value.
 */
export class InvalidSignatureError extends Error {
  override readonly name = 'InvalidSignatureError'
  readonly reason: SignatureFailure
  constructor(readonly error: InvalidSignature) {
    super(error.message)
    this.reason = error.reason
  }
}

/** Describes a JSON value's type for messages: `number`, `array`, `null`, … */
export function describe(u: unknown): string {
  if (u === null) return 'null'
  if (u === undefined) return 'undefined'
  if (Array.isArray(u)) return 'array'
  if (typeof u === 'object') {
    try {
      const name: unknown = Object.getPrototypeOf(u)?.constructor?.name
      return typeof name === 'string' && name !== 'Object' && name !== '' ? name : 'object'
    } catch {
      return 'object' // a Proxy whose traps throw
    }
  }
  return typeof u
}

function toIssue(error: t.ValidationError): PayloadIssue {
  const path = error.context.map((entry) => entry.key).filter((k) => k !== '').join('.')
  const expected = error.context[error.context.length - 1]?.type.name ?? 'unknown'
  return { path, expected, got: describe(error.value) }
}

/** `actions.2.title: expected string, got number` */
export function formatIssue(issue: PayloadIssue): string {
  return `${issue.path === '' ? '(root)' : issue.path}: expected ${issue.expected}, got ${issue.got}`
}
