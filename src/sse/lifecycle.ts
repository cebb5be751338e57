/**
 * What a `connectorStream` subscription reports besides payloads: the
 * connection's lifecycle and the frames it refused, as one union of plain
 * tagged values ({@link ConnectorStreamEvent}) a user can switch on, log or count.
 */
import type { InvalidPayload, MalformedJson, UnknownEventType } from '../errors.js'

/**
 * A connection attempt starts.
 *
 * @example
 * ```ts
 * connectorStream({ url, token, events: (event) => {
 *   if (event._tag === 'Connecting' && event.lastEventId !== null) console.info(`resuming after ${event.lastEventId}`)
 * } }).subscribe(handle)
 * ```
 */
export interface Connecting {
  /** Which {@link ConnectionEvent} this is. */
  readonly _tag: 'Connecting'
  /**
   * 0 for the subscription's first connection; otherwise the reconnections
   * since the last stable connection (one that delivered a payload or
   * stayed up `resetBackoffAfterMs`).
   */
  readonly retry: number
  /** The `Last-Event-ID` header sent with this request, if any. */
  readonly lastEventId: string | null
}

/**
 * The server answered 2xx with `text/event-stream`: frames may flow. The
 * backoff is reset only once this connection delivers a payload or stays up
 * `resetBackoffAfterMs`, so a server that accepts and drops at once is
 * still backed off.
 *
 * @example
 * ```ts
 * const up = (event: ConnectionEvent) => event._tag === 'Connected' // a health check's "connected" flag
 * ```
 */
export interface Connected {
  /** Which {@link ConnectionEvent} this is. */
  readonly _tag: 'Connected'
  /** The retry that succeeded (0 for a first connection). */
  readonly retry: number
  /** The response's HTTP status (2xx). */
  readonly status: number
}

/**
 * A connection attempt or an open connection ended, and why.
 *
 * @example
 * ```ts
 * const dropped = (event: ConnectionEvent) => {
 *   if (event._tag === 'Disconnected') metrics.increment(`sse.disconnect.${event.reason._tag}`)
 * }
 * ```
 */
export interface Disconnected {
  /** Which {@link ConnectionEvent} this is. */
  readonly _tag: 'Disconnected'
  /** Why it ended; its `message` is readable as it is. */
  readonly reason: DisconnectReason
}

/**
 * Retry number `retry` (1-based, since the last stable connection) starts in `delayMs`.
 *
 * @example
 * ```ts
 * const retrying = (event: ConnectionEvent) => {
 *   if (event._tag === 'Retrying') console.info(`SSE retry ${event.retry} in ${Math.round(event.delayMs)} ms`)
 * }
 * ```
 */
export interface Retrying {
  /** Which {@link ConnectionEvent} this is. */
  readonly _tag: 'Retrying'
  /** The retry about to start: 1 for the first since the last stable connection. */
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
 * connectorStream({ url, token, events: (event) => { if (event._tag !== 'FrameRejected') lifecycle(event) } }).subscribe(handle)
 * ```
 */
export type ConnectionEvent = Connecting | Connected | Disconnected | Retrying

/**
 * The server answered a status other than 2xx. 401, 403 and 404 are fatal, the others are retried.
 *
 * @example
 * ```ts
 * const rateLimited = (reason: DisconnectReason) => reason._tag === 'HttpStatus' && reason.status === 429
 * ```
 */
export interface HttpStatus {
  /** Which {@link DisconnectReason} this is. */
  readonly _tag: 'HttpStatus'
  /** The response's HTTP status. */
  readonly status: number
  /** 401, 403 or 404: the stream errors instead of reconnecting. */
  readonly fatal: boolean
  /** E.g. `The server answered HTTP 503`. */
  readonly message: string
}

/**
 * The server answered 2xx but not with `text/event-stream` (a proxy's error page, a wrong URL). Retried.
 *
 * @example
 * ```ts
 * // An HTML page where the stream should be: most likely a login page or a wrong URL.
 * const wrongUrl = (reason: DisconnectReason) =>
 *   reason._tag === 'UnexpectedContentType' && (reason.contentType ?? '').startsWith('text/html')
 * ```
 */
export interface UnexpectedContentType {
  /** Which {@link DisconnectReason} this is. */
  readonly _tag: 'UnexpectedContentType'
  /** The response's `Content-Type`, `null` when it had none. */
  readonly contentType: string | null
  /** E.g. `Expected text/event-stream, got "text/html"`. */
  readonly message: string
}

/**
 * `fetch` failed or the body broke off (refused, reset, DNS, TLS, …). Retried.
 *
 * @example
 * ```ts
 * const cause = (reason: DisconnectReason) =>
 *   reason._tag === 'NetworkError' && reason.error instanceof Error ? reason.error.cause : undefined // undici's socket error
 * ```
 */
export interface NetworkError {
  /** Which {@link DisconnectReason} this is. */
  readonly _tag: 'NetworkError'
  /** What `fetch` or the body stream threw. */
  readonly error: unknown
  /** E.g. `Network error: fetch failed (connect ECONNREFUSED 127.0.0.1:8080)`. */
  readonly message: string
}

/**
 * No response headers within `connectTimeoutMs`. Retried.
 *
 * @example
 * ```ts
 * const slowServer = (reason: DisconnectReason) => reason._tag === 'ConnectTimeout'
 * ```
 */
export interface ConnectTimeout {
  /** Which {@link DisconnectReason} this is. */
  readonly _tag: 'ConnectTimeout'
  /** `connectTimeoutMs`. */
  readonly timeoutMs: number
  /** E.g. `No response within 10000 ms`. */
  readonly message: string
}

/**
 * No complete frame or comment, heartbeats included, for `stallTimeoutMs`:
 * bytes of a line that never ends do not count. Retried.
 *
 * @example
 * ```ts
 * const stalled = (reason: DisconnectReason) => {
 *   // Often a proxy that buffers the stream: worth a warning of its own.
 *   if (reason._tag === 'Stalled') console.warn(`${reason.message}: does a proxy buffer the stream?`)
 * }
 * ```
 */
export interface Stalled {
  /** Which {@link DisconnectReason} this is. */
  readonly _tag: 'Stalled'
  /** `stallTimeoutMs`. */
  readonly timeoutMs: number
  /** E.g. `No complete frame, not even a heartbeat, for 90000 ms`. */
  readonly message: string
}

/**
 * The server sent a frame, or a line, longer than `maxFrameChars` without
 * ending it (an endless line, `data:` lines with no blank line). The frame is
 * dropped with the connection, which is retried.
 *
 * @example
 * ```ts
 * const oversized = (reason: DisconnectReason) => {
 *   if (reason._tag === 'FrameTooLarge') console.error(`a frame over ${reason.limit} characters: raise maxFrameChars?`)
 * }
 * ```
 */
export interface FrameTooLarge {
  /** Which {@link DisconnectReason} this is. */
  readonly _tag: 'FrameTooLarge'
  /** `maxFrameChars`. */
  readonly limit: number
  /** E.g. `The server sent a frame longer than maxFrameChars (4194304 characters) without ending it`. */
  readonly message: string
}

/**
 * The server closed the stream. Retried, as EventSource does.
 *
 * @example
 * ```ts
 * const deploys = (reason: DisconnectReason) => reason._tag === 'StreamEnded' // a server restart closes streams cleanly
 * ```
 */
export interface StreamEnded {
  /** Which {@link DisconnectReason} this is. */
  readonly _tag: 'StreamEnded'
  /** `The server closed the stream`. */
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
 * const events = (event: ConnectorStreamEvent) => {
 *   if (event._tag !== 'FrameRejected' || event.error._tag === 'UnknownEventType') return // a newer event type: fine
 *   deadLetter.push({ id: event.id, data: event.data, why: event.error.message })
 * }
 * connectorStream({ url, token, events }).subscribe(handle)
 * ```
 */
export interface FrameRejection {
  /** Which {@link ConnectorStreamEvent} this is. */
  readonly _tag: 'FrameRejected'
  /** The frame's data: its `data:` lines joined by `\n`, as decoded. */
  readonly data: string
  /** The frame's `event:` field, if any. */
  readonly event: string | null
  /** The frame's `id:` field, if any. */
  readonly id: string | null
  /** Why it was refused; its `body` holds `data` as UTF-8 bytes. */
  readonly error: FrameError
}

/**
 * Everything a `connectorStream` subscription tells its `events` observer,
 * in the order it happened: the connection's lifecycle and each refused frame.
 *
 * @example
 * ```ts
 * const events = (event: ConnectorStreamEvent) => {
 *   switch (event._tag) {
 *     case 'Disconnected': return console.warn('SSE dropped:', event.reason.message)
 *     case 'FrameRejected': return console.warn('SSE frame refused:', event.error.message)
 *     default: return
 *   }
 * }
 * ```
 */
export type ConnectorStreamEvent = ConnectionEvent | FrameRejection

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
