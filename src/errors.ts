/**
 * Everything that can go wrong with a delivery, as a tagged union of plain
 * values (`_tag`), with constructors, a readable reporter, `matchIngestError`
 * and the guard `isIngestError`.
 * Nothing here throws except `InvalidSignatureError`, which exists for
 * parity with the reference's `handle`.
 */
import type * as t from 'io-ts'
import { matchTag } from './internal/match.js'

/**
 * Why a signature was refused: no header, a header that is not
 * `sha256=` + 64 lower-case hex digits, or a digest made with another secret
 * (or over other bytes).
 *
 * @example
 * ```ts
 * const failure: SignatureFailure | null = findSignatureFailure(body, header, [secret])
 * ```
 */
export type SignatureFailure = 'missing' | 'malformed' | 'mismatch'

/**
 * The `X-Connector-Signature` header was missing, malformed, or made with
 * another secret. Adapters answer 401.
 *
 * @example
 * ```ts
 * receiver.rejected$.subscribe((e) => { if (e._tag === 'InvalidSignature') console.warn(e.reason) })
 * ```
 */
export interface InvalidSignature {
  /** Tells this error apart: `'InvalidSignature'`. */
  readonly _tag: 'InvalidSignature'
  /** Which check failed. */
  readonly reason: SignatureFailure
  /** What went wrong, readable; never holds the secret. */
  readonly message: string
  /** The raw body as received. */
  readonly body: Uint8Array
}

/**
 * The body is not UTF-8 JSON. Adapters answer 400.
 *
 * @example
 * ```ts
 * if (error._tag === 'MalformedJson' && error.reason === 'invalid-utf8') console.warn('not UTF-8')
 * ```
 */
export interface MalformedJson {
  /** Tells this error apart: `'MalformedJson'`. */
  readonly _tag: 'MalformedJson'
  /** Bytes that are not UTF-8, or text that is not JSON (including JSON nested too deep to parse). */
  readonly reason: 'invalid-utf8' | 'syntax'
  /** What went wrong, readable; never holds the secret. */
  readonly message: string
  /** The raw body as received. */
  readonly body: Uint8Array
}

/**
 * One readable problem of an {@link InvalidPayload}: `actions.2.title:
 * expected string, got number` ({@link formatIssue} writes it so).
 *
 * @example
 * ```ts
 * const issue: PayloadIssue = { path: 'actions.2.title', expected: 'string', got: 'number' }
 * ```
 */
export interface PayloadIssue {
  /** Dotted path from the event's root, `""` for the root itself. */
  readonly path: string
  /** The codec's name for what the field takes: `string`, `integer`, `Array<SlimAction>`, … */
  readonly expected: string
  /** The JSON type found instead: `number`, `object`, `array`, `null`, … */
  readonly got: string
}

/**
 * Valid JSON, but not a valid event of a modelled type (a field of the
 * wrong JSON type, or a value that is not an event object). Adapters answer 400.
 *
 * @example
 * ```ts
 * if (error._tag === 'InvalidPayload') console.warn(error.issues.map(formatIssue).join('; '))
 * ```
 */
export interface InvalidPayload {
  /** Tells this error apart: `'InvalidPayload'`. */
  readonly _tag: 'InvalidPayload'
  /** The event type, when the body had a string `type`. */
  readonly eventType: string | null
  /** The io-ts errors, as data. */
  readonly errors: t.Errors
  /** The same errors, readable. */
  readonly issues: ReadonlyArray<PayloadIssue>
  /** What went wrong, readable: the first five issues. */
  readonly message: string
  /** The raw body as received. */
  readonly body: Uint8Array
}

/**
 * A well-formed event of a type this version does not model (e.g.
 * `usertour_trigger`): not a fault. Adapters answer 200 with `ignored`.
 *
 * @example
 * ```ts
 * if (error._tag === 'UnknownEventType' && error.eventType === 'usertour_trigger') handleTrigger(error.event)
 * ```
 */
export interface UnknownEventType {
  /** Tells this error apart: `'UnknownEventType'`. */
  readonly _tag: 'UnknownEventType'
  /** The event's `type`. */
  readonly eventType: string
  /** The parsed JSON of the event, for users who want it. */
  readonly event: Readonly<Record<string, unknown>>
  /** What went wrong, readable; never holds the secret. */
  readonly message: string
  /** The raw body as received. */
  readonly body: Uint8Array
}

/**
 * The body handed to `ingest` was not raw bytes or text (e.g. an object
 * from a JSON body parser). Adapters answer 500 `body_not_raw`: it is the
 * server's own misconfiguration, and a 5xx has the connector retry once it
 * is fixed.
 *
 * @example
 * ```ts
 * if (error._tag === 'NotRawBody') console.error(error.message) // says how to mount the receiver
 * ```
 */
export interface NotRawBody {
  /** Tells this error apart: `'NotRawBody'`. */
  readonly _tag: 'NotRawBody'
  /** What was received instead: `object`, `null`, `number`, … */
  readonly received: string
  /** What went wrong and how to mount the receiver so that it gets the raw bytes. */
  readonly message: string
}

/**
 * The body exceeds the configured size limit. Adapters answer 413 and stop
 * reading.
 *
 * @example
 * ```ts
 * if (error._tag === 'BodyTooLarge') console.warn(`${error.size} > ${error.limit} bytes`)
 * ```
 */
export interface BodyTooLarge {
  /** Tells this error apart: `'BodyTooLarge'`. */
  readonly _tag: 'BodyTooLarge'
  /** The limit in force, in bytes. */
  readonly limit: number
  /** Bytes seen when the limit was crossed (at least `limit + 1`). */
  readonly size: number
  /** What went wrong, readable; never holds the secret. */
  readonly message: string
}

/**
 * A synchronous call (`ingest`, `dispatch`, `handleSync`) on a runtime
 * without `node:crypto` (Cloudflare Workers without nodejs_compat, the Edge
 * runtime), where signatures can only be checked asynchronously. Nothing
 * was verified and nothing emitted; the message names the asynchronous
 * call. Adapters answer 500 `verification_unavailable` (the server's own
 * setup: the connector retries once it is fixed).
 *
 * @example
 * ```ts
 * const result = receiver.ingest(bytes, signature)
 * if (E.isLeft(result) && result.left._tag === 'SyncVerificationUnavailable') {
 *   const retried = await receiver.ingestAsync(bytes, signature) // works on every runtime
 * }
 * ```
 */
export interface SyncVerificationUnavailable {
  /** Tells this error apart: `'SyncVerificationUnavailable'`. */
  readonly _tag: 'SyncVerificationUnavailable'
  /** Which call to make instead, and why. */
  readonly message: string
  /** The raw body as received (kept: nothing is lost). */
  readonly body: Uint8Array
}

/**
 * Everything `ingest` can refuse, as data: a union told apart by `_tag`
 * (fold it with {@link matchIngestError}).
 *
 * @example
 * ```ts
 * receiver.rejected$.subscribe((error: IngestError) => metrics.increment(`refused.${error._tag}`))
 * ```
 */
export type IngestError =
  | InvalidSignature
  | MalformedJson
  | InvalidPayload
  | UnknownEventType
  | NotRawBody
  | BodyTooLarge
  | SyncVerificationUnavailable

/**
 * The tags of {@link IngestError}.
 *
 * @example
 * ```ts
 * const counts: Partial<Record<IngestErrorTag, number>> = {}
 * ```
 */
export type IngestErrorTag = IngestError['_tag']

const signatureMessages: Record<SignatureFailure, string> = {
  missing: 'Invalid X-Connector-Signature: the header is missing',
  malformed: 'Invalid X-Connector-Signature: expected "sha256=" followed by 64 lower-case hex digits',
  mismatch: 'Invalid X-Connector-Signature: the signature does not match the body',
}

/**
 * Constructs an {@link InvalidSignature}.
 *
 * @param reason - which check failed
 * @param body - the raw body as received
 * @returns the error value, with its message
 * @example
 * ```ts
 * invalidSignature('mismatch', body).message // 'Invalid X-Connector-Signature: the signature does not match the body'
 * ```
 */
export const invalidSignature = (reason: SignatureFailure, body: Uint8Array): InvalidSignature => ({
  _tag: 'InvalidSignature', reason, message: signatureMessages[reason], body,
})

/**
 * Constructs a {@link MalformedJson}.
 *
 * @param reason - invalid UTF-8, or a JSON syntax error
 * @param detail - the parser's message (for `syntax`)
 * @param body - the raw body as received
 * @returns the error value, with its message
 * @example
 * ```ts
 * malformedJson('syntax', 'Unexpected end of JSON input', body).message // 'Body is not valid JSON: Unexpected end of JSON input'
 * ```
 */
export const malformedJson = (reason: MalformedJson['reason'], detail: string, body: Uint8Array): MalformedJson => ({
  _tag: 'MalformedJson', reason,
  message: reason === 'invalid-utf8' ? 'Body is not valid UTF-8' : `Body is not valid JSON: ${detail}`,
  body,
})

/**
 * Constructs an {@link InvalidPayload} from io-ts errors.
 *
 * @param eventType - the event's `type`, when it was a string
 * @param errors - what io-ts' `validate` reported
 * @param body - the raw body as received
 * @returns the error value, with its issues and a message naming the first five
 * @example
 * ```ts
 * const report = ActionsPayload.decode(value)
 * if (E.isLeft(report)) return invalidPayload('actions', report.left, body)
 * ```
 */
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

/**
 * Constructs an {@link UnknownEventType}.
 *
 * @param eventType - the event's `type`
 * @param event - the parsed event
 * @param body - the raw body as received
 * @returns the error value, with its message
 * @example
 * ```ts
 * unknownEventType('usertour_trigger', event, body).message // 'Event type "usertour_trigger" is not modelled by this version; ignored'
 * ```
 */
export const unknownEventType = (eventType: string, event: Record<string, unknown>, body: Uint8Array): UnknownEventType => ({
  _tag: 'UnknownEventType', eventType, event,
  message: `Event type "${eventType.slice(0, 100)}" is not modelled by this version; ignored`,
  body,
})

/**
 * Constructs a {@link NotRawBody}.
 *
 * @param value - what was received instead of raw bytes or text
 * @returns the error value, with a message that says how to mount the receiver
 * @example
 * ```ts
 * notRawBody({ type: 'summary' }).received // 'object'
 * ```
 */
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

/**
 * Constructs a {@link BodyTooLarge}.
 *
 * @param limit - the limit in force, in bytes
 * @param size - bytes seen when the limit was crossed
 * @returns the error value, with its message
 * @example
 * ```ts
 * receiver.reject(bodyTooLarge(receiver.maxBodyBytes, bytesSeen))
 * ```
 */
export const bodyTooLarge = (limit: number, size: number): BodyTooLarge => ({
  _tag: 'BodyTooLarge', limit, size,
  message: `Body exceeds the limit of ${limit} bytes`,
})

/**
 * Constructs a {@link SyncVerificationUnavailable}.
 *
 * @param body - the raw body as received
 * @returns the error value, with a message that names the asynchronous call
 * @example
 * ```ts
 * syncVerificationUnavailable(body).message // '… call ingestAsync (or dispatchAsync, handle) …'
 * ```
 */
export const syncVerificationUnavailable = (body: Uint8Array): SyncVerificationUnavailable => ({
  _tag: 'SyncVerificationUnavailable',
  message: 'This runtime has no node:crypto (Cloudflare Workers without nodejs_compat, the Edge runtime), so the ' +
    'signature cannot be checked synchronously: call ingestAsync (or dispatchAsync, handle), which verify with ' +
    'WebCrypto on every runtime; the fetch handler of autoplay-rx/web does so by itself.',
  body,
})

/**
 * A handler per tag; `matchIngestError(handlers)(error)` calls the one for
 * `error._tag`. Every tag must be handled, so a new one is a compile error
 * where it is not.
 *
 * @typeParam R - what every handler returns
 * @example
 * ```ts
 * const toStatus: IngestErrorHandlers<number> = {
 *   InvalidSignature: () => 401, MalformedJson: () => 400, InvalidPayload: () => 400,
 *   UnknownEventType: () => 200, NotRawBody: () => 500, BodyTooLarge: () => 413, SyncVerificationUnavailable: () => 500,
 * }
 * ```
 */
export type IngestErrorHandlers<R> = { readonly [K in IngestErrorTag]: (error: Extract<IngestError, { _tag: K }>) => R }

/**
 * Folds an {@link IngestError} with one handler per tag (data-last, for `pipe`).
 *
 * @param handlers - one function per tag
 * @returns a function of an error that calls the handler of its tag (and
 *   throws whatever that handler throws)
 * @example
 * ```ts
 * const status = matchIngestError({
 *   InvalidSignature: () => 401, MalformedJson: () => 400, InvalidPayload: () => 400,
 *   UnknownEventType: () => 200, NotRawBody: () => 500, BodyTooLarge: () => 413, SyncVerificationUnavailable: () => 500,
 * })
 * status(error) // 401, 400, …
 * ```
 */
export const matchIngestError: <R>(handlers: IngestErrorHandlers<R>) => (error: IngestError) => R = matchTag

// A record, not a list: a tag added to the union and forgotten here is a compile error.
const ingestErrorTags: Readonly<Record<IngestErrorTag, true>> = {
  InvalidSignature: true, MalformedJson: true, InvalidPayload: true, UnknownEventType: true, NotRawBody: true, BodyTooLarge: true,
  SyncVerificationUnavailable: true,
}

/**
 * Whether a value is an {@link IngestError}: an object whose `_tag` is one of
 * the union's tags and whose `message` is text. For values that crossed a
 * boundary typed `unknown` (a worker message, a mixed error stream); never throws.
 *
 * @param value - anything
 * @returns `true` when `value` is shaped as an {@link IngestError}
 * @example
 * ```ts
 * import { isIngestError } from 'autoplay-rx'
 *
 * stream.subscribe({ error: (e: unknown) => console.warn(isIngestError(e) ? `refused: ${e._tag}` : e) })
 * ```
 */
export function isIngestError(value: unknown): value is IngestError {
  if (typeof value !== 'object' || value === null) return false
  try {
    const { _tag, message } = value as { readonly _tag?: unknown; readonly message?: unknown }
    return typeof _tag === 'string' && Object.hasOwn(ingestErrorTags, _tag) && typeof message === 'string'
  } catch {
    return false // a getter or Proxy trap that throws: not one of ours
  }
}

/**
 * Thrown by `handle` and `handleSync` on a bad signature, as the reference
 * raises `ValueError("Invalid X-Connector-Signature")`. `ingest` never throws:
 * it returns the same failure as a value.
 *
 * @example
 * ```ts
 * try {
 *   await receiver.handle(body, signature)
 * } catch (error) {
 *   if (error instanceof InvalidSignatureError) console.warn(error.reason) // 'missing' | 'malformed' | 'mismatch'
 * }
 * ```
 */
export class InvalidSignatureError extends Error {
  /** `'InvalidSignatureError'`. */
  override readonly name = 'InvalidSignatureError'
  /** Which check failed (the same as `error.reason`). */
  readonly reason: SignatureFailure
  /**
   * @param error - the refusal, as `ingest` would return it
   */
  constructor(
    /** The refusal as a value, body included. */
    readonly error: InvalidSignature,
  ) {
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

/**
 * Writes a {@link PayloadIssue} as one line.
 *
 * @param issue - one problem of an {@link InvalidPayload}
 * @returns e.g. `actions.2.title: expected string, got number` (`(root)` for the root)
 * @example
 * ```ts
 * formatIssue({ path: 'actions.2.title', expected: 'string', got: 'number' }) // 'actions.2.title: expected string, got number'
 * ```
 */
export function formatIssue(issue: PayloadIssue): string {
  return `${issue.path === '' ? '(root)' : issue.path}: expected ${issue.expected}, got ${issue.got}`
}
