/**
 * Every refusal of a delivery as a tagged union of plain values (`_tag`), with its constructors and the
 * reporter of io-ts errors. Fold it with `match` (src/match.ts). Nothing here throws except
 * `InvalidSignatureError`, which `handle` throws as the reference does.
 */
import type * as t from 'io-ts'

/** Why a signature was refused: no header, not `sha256=` + 64 lower-case hex digits, or another digest. */
export type SignatureFailure = 'missing' | 'malformed' | 'mismatch'

/** The `X-Connector-Signature` header was missing, malformed, or made with another secret (401). */
export interface InvalidSignature {
  readonly _tag: 'InvalidSignature'
  readonly reason: SignatureFailure
  readonly message: string
  /** The raw body as received, up to the receiver's `maxRejectedBodyBytes` (a copy of its first bytes). */
  readonly body: Uint8Array
  /** The body's full size, present only when `body` was cut to `maxRejectedBodyBytes`. */
  readonly bodySize?: number
}

/** The body is not UTF-8, or not JSON (nested too deep to parse included) (400). */
export interface MalformedJson {
  readonly _tag: 'MalformedJson'
  readonly reason: 'invalid-utf8' | 'syntax'
  readonly message: string
  readonly body: Uint8Array
  readonly bodySize?: number
}

/** One readable problem of an {@link InvalidPayload}: `actions.2.title: expected string, got number`. */
export interface PayloadIssue {
  /** Dotted path from the event's root, `""` for the root itself. */
  readonly path: string
  readonly expected: string
  /** The JSON type found instead: `number`, `object`, `array`, `null`, … */
  readonly got: string
}

/** Valid JSON, but not a valid event of a modelled type (400). */
export interface InvalidPayload {
  readonly _tag: 'InvalidPayload'
  /** The event's `type`, when it was a string. */
  readonly eventType: string | null
  readonly errors: t.Errors
  readonly issues: ReadonlyArray<PayloadIssue>
  /** The first five issues. */
  readonly message: string
  readonly body: Uint8Array
  readonly bodySize?: number
}

/** A well-formed event of a type this version does not model (`usertour_trigger`): not a fault (200 `ignored`). */
export interface UnknownEventType {
  readonly _tag: 'UnknownEventType'
  readonly eventType: string
  /** The parsed event, for users who want it. */
  readonly event: Readonly<Record<string, unknown>>
  readonly message: string
  readonly body: Uint8Array
  readonly bodySize?: number
}

/** `ingest` got no raw bytes or text (a JSON body parser ran first): the server's own setup (500 `body_not_raw`). */
export interface NotRawBody {
  readonly _tag: 'NotRawBody'
  /** What was received instead: `object`, `null`, `number`, … */
  readonly received: string
  /** Says how to mount the receiver so that it gets the raw bytes. */
  readonly message: string
}

/** The body exceeds the size limit (413). */
export interface BodyTooLarge {
  readonly _tag: 'BodyTooLarge'
  readonly limit: number
  /** Bytes seen when the limit was crossed. */
  readonly size: number
  readonly message: string
}

/** A synchronous call without `node:crypto`: nothing verified nor emitted; the message names `ingestAsync`. */
export interface SyncVerificationUnavailable {
  readonly _tag: 'SyncVerificationUnavailable'
  readonly message: string
  readonly body: Uint8Array
  readonly bodySize?: number
}

/** Everything `ingest` can refuse, as data told apart by `_tag` (fold it with `match`). */
export type IngestError =
  | InvalidSignature
  | MalformedJson
  | InvalidPayload
  | UnknownEventType
  | NotRawBody
  | BodyTooLarge
  | SyncVerificationUnavailable

export type IngestErrorTag = IngestError['_tag']

const signatureMessages: Record<SignatureFailure, string> = {
  missing: 'Invalid X-Connector-Signature: the header is missing',
  malformed: 'Invalid X-Connector-Signature: expected "sha256=" followed by 64 lower-case hex digits',
  mismatch: 'Invalid X-Connector-Signature: the signature does not match the body',
}

export const invalidSignature = (reason: SignatureFailure, body: Uint8Array): InvalidSignature => ({
  _tag: 'InvalidSignature', reason, message: signatureMessages[reason], body,
})

export const malformedJson = (reason: MalformedJson['reason'], detail: string, body: Uint8Array): MalformedJson => ({
  _tag: 'MalformedJson', reason,
  message: reason === 'invalid-utf8' ? 'Body is not valid UTF-8' : `Body is not valid JSON: ${detail}`,
  body,
})

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

export const unknownEventType = (
  eventType: string, event: Record<string, unknown>, body: Uint8Array,
): UnknownEventType => ({
  _tag: 'UnknownEventType', eventType, event,
  message: `Event type "${eventType.slice(0, 100)}" is not modelled by this version; ignored`,
  body,
})

export const notRawBody = (value: unknown): NotRawBody => {
  const received = describe(value)
  return {
    _tag: 'NotRawBody', received,
    // Once a parser has consumed the stream nothing mounted later can get the bytes back:
    // name only what helps then.
    message: `Expected the raw request body (Uint8Array, Buffer, ArrayBuffer or string), got ${received}. ` +
      'A body parser read it first; the signature is over the exact bytes. Fix: mount the receiver before any ' +
      'body parser (before express.json()), exclude its path, or keep the bytes with ' +
      'express.json({ verify: (req, _res, buf) => { req.rawBody = buf } }), which the adapters read.',
  }
}

export const bodyTooLarge = (limit: number, size: number): BodyTooLarge => ({
  _tag: 'BodyTooLarge', limit, size,
  message: `Body exceeds the limit of ${limit} bytes`,
})

export const syncVerificationUnavailable = (body: Uint8Array): SyncVerificationUnavailable => ({
  _tag: 'SyncVerificationUnavailable',
  message: 'No node:crypto here (Workers, Edge) to verify synchronously: use ingestAsync or handle (WebCrypto), ' +
    'as the fetch handler does.',
  body,
})

/**
 * Thrown by `handle` and `handleSync` on a bad signature, as the reference raises
 * `ValueError("Invalid X-Connector-Signature")`; `ingest` returns the same refusal as a value.
 */
export class InvalidSignatureError extends Error {
  /** `'InvalidSignatureError'`. */
  override readonly name = 'InvalidSignatureError'
  /** Which check failed. */
  readonly reason: SignatureFailure
  /** @param error - the refusal as `ingest` returns it, body included */
  constructor(readonly error: InvalidSignature) {
    super(error.message)
    this.reason = error.reason
  }
}

/** Describes a JSON value's type for messages: `number`, `array`, `null`, … */
export function describe(u: unknown): string {
  if (u === null) return 'null'
  if (u === undefined) return 'undefined'
  if (typeof u === 'object') {
    try {
      if (Array.isArray(u)) return 'array' // throws on a revoked Proxy
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

/** `actions.2.title: expected string, got number` (`(root)` for the root). */
export function formatIssue(issue: PayloadIssue): string {
  return `${issue.path === '' ? '(root)' : issue.path}: expected ${issue.expected}, got ${issue.got}`
}
