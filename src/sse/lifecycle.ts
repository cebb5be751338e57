// What a `connectorStream` subscription reports besides payloads: its connection's lifecycle and the
// frames it refused, as one union of plain tagged values.
import type { InvalidPayload, MalformedJson, UnknownEventType } from '../errors.js'

/** A connection attempt starts; `retry` is 0 for the first, else the retries since the last stable connection. */
interface Connecting { readonly _tag: 'Connecting'; readonly retry: number; readonly lastEventId: string | null }
/** The server answered 2xx with `text/event-stream`; only a payload or `resetBackoffAfterMs` up resets the backoff. */
interface Connected { readonly _tag: 'Connected'; readonly retry: number; readonly status: number }
/** An attempt or an open connection ended, and why. */
interface Disconnected { readonly _tag: 'Disconnected'; readonly reason: DisconnectReason }
/** Retry number `retry` (1-based) starts in `delayMs`, jitter included. */
interface Retrying { readonly _tag: 'Retrying'; readonly retry: number; readonly delayMs: number }

/** The lifecycle of a connection: `Connecting` → (`Connected` →) `Disconnected`, then `Retrying` or an error. */
export type ConnectionEvent = Connecting | Connected | Disconnected | Retrying

/** A status other than 2xx; 401, 403 and 404 are `fatal` (the stream errors), the others are retried. */
interface HttpStatus {
  readonly _tag: 'HttpStatus'; readonly status: number; readonly fatal: boolean; readonly message: string
}
/** 2xx but not `text/event-stream` (a proxy's error page, a wrong URL); `contentType` is `null` when absent. */
interface UnexpectedContentType {
  readonly _tag: 'UnexpectedContentType'; readonly contentType: string | null; readonly message: string
}
/** `fetch` failed or the body broke off; `error` is what it threw. */
interface NetworkError { readonly _tag: 'NetworkError'; readonly error: unknown; readonly message: string }
/** No response headers within `connectTimeoutMs`. */
interface ConnectTimeout { readonly _tag: 'ConnectTimeout'; readonly timeoutMs: number; readonly message: string }
/** No complete line (frame, heartbeat, comment) for `stallTimeoutMs`; bytes of an unfinished line do not count. */
interface Stalled { readonly _tag: 'Stalled'; readonly timeoutMs: number; readonly message: string }
/** A frame or line longer than `maxFrameChars` (`limit`) without its end: dropped with the connection. */
interface FrameTooLarge { readonly _tag: 'FrameTooLarge'; readonly limit: number; readonly message: string }
/** The server closed the stream; retried, as EventSource does. */
interface StreamEnded { readonly _tag: 'StreamEnded'; readonly message: string }

/** Why a connection ended; every reason but a fatal `HttpStatus` is retried. Each has a readable `message`. */
export type DisconnectReason =
  | HttpStatus | UnexpectedContentType | NetworkError | ConnectTimeout | Stalled | FrameTooLarge | StreamEnded

/** A frame that did not decode (the stream goes on); `error` as push mode gives it, `UnknownEventType` no fault. */
export interface FrameRejection {
  readonly _tag: 'FrameRejected'
  readonly data: string
  readonly event: string | null
  readonly id: string | null
  readonly error: MalformedJson | InvalidPayload | UnknownEventType
}

/**
 * Everything a `connectorStream` subscription tells its `events` observer, in order, by `_tag`: `Connecting`,
 * `Connected`, `Disconnected` (with its `reason`), `Retrying`, and `FrameRejected` for a frame that did not decode.
 */
export type ConnectorStreamEvent = ConnectionEvent | FrameRejection

/** Constructors of {@link DisconnectReason}, each with its message. */
export const disconnectReason = {
  /** `body`: the first KiB of a fatal answer's body, quoted in the message. */
  httpStatus: (status: number, fatal: boolean, body = ''): HttpStatus => ({
    _tag: 'HttpStatus', status, fatal,
    message: `The server answered HTTP ${status}${fatal ? ` (fatal: not retried): ${fatalAdvice(status, body)}` : ''}`,
  }),
  unexpectedContentType: (type: string | null): UnexpectedContentType => ({
    _tag: 'UnexpectedContentType', contentType: type,
    message: `Expected text/event-stream, got ${type === null ? 'no Content-Type' : JSON.stringify(type)}`,
  }),
  networkError: (error: unknown): NetworkError => ({
    _tag: 'NetworkError', error,
    message: `Network error: ${describeError(error)}`,
  }),
  connectTimeout: (timeoutMs: number): ConnectTimeout => ({
    _tag: 'ConnectTimeout', timeoutMs,
    message: `No response within ${timeoutMs} ms`,
  }),
  stalled: (timeoutMs: number): Stalled => ({
    _tag: 'Stalled', timeoutMs,
    message: `No complete line, not even a heartbeat, for ${timeoutMs} ms`,
  }),
  frameTooLarge: (limit: number): FrameTooLarge => ({
    _tag: 'FrameTooLarge', limit,
    message: `The server sent a frame longer than maxFrameChars (${limit} characters) without ending it`,
  }),
  streamEnded: (): StreamEnded => ({ _tag: 'StreamEnded', message: 'The server closed the stream' }),
}

const CHECK: Readonly<Record<number, string>> = {
  401: 'check the token (missing, mistyped, expired or revoked)',
  403: "check the token's rights: it is not allowed this product's stream",
  404: 'check the URL and the product id in it',
}

/** What to check after a fatal status, and what the server said, on one line (the body is quoted). */
export function fatalAdvice(status: number, body: string): string {
  const check = CHECK[status] ?? 'check the token and the URL'
  return body === '' ? check : `${check}; it said ${JSON.stringify(body)}`
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  // undici hides the socket error (ECONNREFUSED, ECONNRESET) behind "fetch failed".
  const cause = (error as { cause?: unknown }).cause
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message
}
