/**
 * What a `connectorStream` subscription reports besides payloads: the
 * connection's lifecycle and the frames it refused, as plain tagged values
 * a user can switch on, log or count.
 */
import type { InvalidPayload, MalformedJson, UnknownEventType } from '../errors.js'

/**
 * A connection attempt starts.
 *
 * `retry` is 0 for the subscription's first connection and counts the
 * reconnections since the last stable connection otherwise (one that
 * delivered a payload or stayed up `resetBackoffAfterMs`).
 */
export interface Connecting {
  readonly _tag: 'Connecting'
  readonly retry: number
  /** The `Last-Event-ID` header sent with this request, if any. */
  readonly lastEventId: string | null
}

/**
 * The server answered 2xx with `text/event-stream`: frames may flow. The
 * backoff is reset only once this connection delivers a payload or stays up
 * `resetBackoffAfterMs`, so a server that accepts and drops at once is
 * still backed off.
 */
export interface Connected {
  readonly _tag: 'Connected'
  /** The retry that succeeded (0 for a first connection). */
  readonly retry: number
  readonly status: number
}

/** A connection attempt or an open connection ended, and why. */
export interface Disconnected {
  readonly _tag: 'Disconnected'
  readonly reason: DisconnectReason
}

/** Retry number `retry` (1-based, since the last stable connection) starts in `delayMs`. */
export interface Retrying {
  readonly _tag: 'Retrying'
  readonly retry: number
  /** The delay, jitter included. */
  readonly delayMs: number
}

/**
 * The lifecycle of a `connectorStream` subscription. A connection goes
 * `Connecting` → (`Connected` →) `Disconnected`, then either `Retrying` and
 * round again, or the Observable errors (fatal status, retries exhausted).
 *
 * @example
 * ```ts
 * const lifecycle = (event: ConnectionEvent) => {
 *   switch (event._tag) {
 *     case 'Connected': return console.info('SSE connected')
 *     case 'Disconnected': return console.warn('SSE dropped:', event.reason.message)
 *     case 'Retrying': return console.info(`retry ${event.retry} in ${event.delayMs} ms`)
 *   }
 * }
 * connectorStream({ url, token, lifecycle }).subscribe(handle)
 * ```
 */
export type ConnectionEvent = Connecting | Connected | Disconnected | Retrying

/** The server answered a status other than 2xx. 401, 403 and 404 are fatal, the others are retried. */
export interface HttpStatus {
  readonly _tag: 'HttpStatus'
  readonly status: number
  /** 401, 403 or 404: the stream errors instead of reconnecting. */
  readonly fatal: boolean
  readonly message: string
}

/** The server answered 2xx but not with `text/event-stream` (a proxy's error page, a wrong URL). Retried. */
export interface UnexpectedContentType {
  readonly _tag: 'UnexpectedContentType'
  readonly contentType: string | null
  readonly message: string
}

/** `fetch` failed or the body broke off (refused, reset, DNS, TLS, …). Retried. */
export interface NetworkError {
  readonly _tag: 'NetworkError'
  /** What `fetch` or the body stream threw. */
  readonly error: unknown
  readonly message: string
}

/** No response headers within `connectTimeoutMs`. Retried. */
export interface ConnectTimeout {
  readonly _tag: 'ConnectTimeout'
  readonly timeoutMs: number
  readonly message: string
}

/**
 * No complete frame or comment, heartbeats included, for `stallTimeoutMs`:
 * bytes of a line that never ends do not count. Retried.
 */
export interface Stalled {
  readonly _tag: 'Stalled'
  readonly timeoutMs: number
  readonly message: string
}

/**
 * The server sent a frame, or a line, longer than `maxFrameChars` without
 * ending it (an endless line, `data:` lines with no blank line). The frame is
 * dropped with the connection, which is retried.
 */
export interface FrameTooLarge {
  readonly _tag: 'FrameTooLarge'
  /** `maxFrameChars`. */
  readonly limit: number
  readonly message: string
}

/** The server closed the stream. Retried, as EventSource does. */
export interface StreamEnded {
  readonly _tag: 'StreamEnded'
  readonly message: string
}

/**
 * Why a connection ended.
 *
 * @example
 * ```ts
 * const transient = (reason: DisconnectReason) => reason._tag !== 'HttpStatus' || reason.status >= 500
 * ```
 */
export type DisconnectReason = HttpStatus | UnexpectedContentType | NetworkError | ConnectTimeout | Stalled | FrameTooLarge | StreamEnded

/**
 * Why a frame was refused: the same values push mode gives for a body.
 *
 * @example
 * ```ts
 * // A newer event type is no fault; the other two are worth a dead letter.
 * const isFault = (error: FrameError) => error._tag !== 'UnknownEventType'
 * ```
 */
export type FrameError = MalformedJson | InvalidPayload | UnknownEventType

/**
 * A `data:` frame that did not decode to a modelled payload. The stream goes
 * on; an `UnknownEventType` (e.g. `usertour_trigger`) is not a fault, only
 * an event this version does not type.
 *
 * @example
 * ```ts
 * const rejected = (frame: FrameRejection) => {
 *   if (frame.error._tag === 'UnknownEventType') return // a newer event type: fine
 *   deadLetter.push({ id: frame.id, data: frame.data, why: frame.error.message })
 * }
 * connectorStream({ url, token, rejected }).subscribe(handle)
 * ```
 */
export interface FrameRejection {
  /** The frame's data: its `data:` lines joined by `\n`, as decoded. */
  readonly data: string
  /** The frame's `event:` field, if any. */
  readonly event: string | null
  /** The frame's `id:` field, if any. */
  readonly id: string | null
  /** Why it was refused; its `body` holds `data` as UTF-8 bytes. */
  readonly error: FrameError
}

/** Constructors of {@link DisconnectReason}; each carries a readable message. */
export const disconnectReason = {
  httpStatus: (status: number, fatal: boolean): HttpStatus => ({
    _tag: 'HttpStatus', status, fatal,
    message: `The server answered HTTP ${status}${fatal ? ' (fatal: not retried)' : ''}`,
  }),
  unexpectedContentType: (contentType: string | null): UnexpectedContentType => ({
    _tag: 'UnexpectedContentType', contentType,
    message: `Expected text/event-stream, got ${contentType === null ? 'no Content-Type' : JSON.stringify(contentType)}`,
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
    message: `No complete frame, not even a heartbeat, for ${timeoutMs} ms`,
  }),
  frameTooLarge: (limit: number): FrameTooLarge => ({
    _tag: 'FrameTooLarge', limit,
    message: `The server sent a frame longer than maxFrameChars (${limit} characters) without ending it`,
  }),
  streamEnded: (): StreamEnded => ({ _tag: 'StreamEnded', message: 'The server closed the stream' }),
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  // undici hides the socket error (ECONNREFUSED, ECONNRESET) behind "fetch failed".
  const cause = (error as { cause?: unknown }).cause
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message
}
