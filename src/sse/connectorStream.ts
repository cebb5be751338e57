/**
 * connectorStream: the connector's SSE endpoint (`GET /stream/{product_id}`)
 * as a cold Observable of the same typed payloads push mode gives. It owns
 * one connection per subscription, reconnects with backoff and
 * `Last-Event-ID`, and decodes each frame with the push-mode codecs.
 */
import { createParser, type EventSourceMessage, type ParseError } from 'eventsource-parser'
import * as E from 'fp-ts/lib/Either.js'
import { Observable, Subject, Subscription, type Observer, type Subscriber } from 'rxjs'
import type { Payload } from '../codecs.js'
import { decodeText, warnOnCountMismatch } from '../decode.js'
import { consoleLogger, log, type Logger } from '../logger.js'
import { backoffDelay } from '../backoff.js'
import { FatalStatusError, RetriesExhaustedError } from './errors.js'
import {
  disconnectReason, type ConnectionEvent, type DisconnectReason, type FrameError, type FrameRejection,
} from './lifecycle.js'
import { logLifecycle } from './logLifecycle.js'

/** Default `initialBackoffMs`: the reference waits 1 s before the first reconnection. */
export const DEFAULT_INITIAL_BACKOFF_MS = 1_000
/** Default `maxBackoffMs`: the reference doubles up to 30 s. */
export const DEFAULT_MAX_BACKOFF_MS = 30_000
/** Default `minBackoffMs`: the floor under every delay, a server's `retry:` included. */
export const DEFAULT_MIN_BACKOFF_MS = 250
/** Default `resetBackoffAfterMs`: how long a connection must stay up, without a payload, to count as stable. */
export const DEFAULT_RESET_BACKOFF_AFTER_MS = 5_000
/**
 * Default `maxFrameChars`: 4 Mi characters, four times the push receiver's
 * 1 MiB body limit (a UTF-8 body never has more characters than bytes), so
 * no frame the connector would also push comes near it.
 */
export const DEFAULT_MAX_FRAME_CHARS = 4 * 1024 * 1024
/** Default `connectTimeoutMs`. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000
/** Default `stallTimeoutMs`: three missed heartbeats (the connector sends one about every 30 s). */
export const DEFAULT_STALL_TIMEOUT_MS = 90_000

/**
 * The part of a `fetch` response the stream reads; the global `fetch`'s and
 * undici's fit, and so does a stub for tests.
 *
 * @example
 * ```ts
 * const stub: FetchResponse = {
 *   status: 200,
 *   headers: { get: (name) => (name === 'content-type' ? 'text/event-stream' : null) },
 *   body: (async function* () { yield new TextEncoder().encode('data: {"type":"summary"}\n\n') })(),
 * }
 * ```
 */
export interface FetchResponse {
  /** The HTTP status: 2xx opens the stream, 401/403/404 end it, any other is retried. */
  readonly status: number
  /** The response headers; only `Content-Type` is read. */
  readonly headers: {
    /** A header's value by case-insensitive name, `null` when absent (as `Headers.get`). */
    get(name: string): string | null
  }
  /** The body; a WHATWG `ReadableStream` and a Node `Readable` are both async iterables of bytes. */
  readonly body: AsyncIterable<Uint8Array> | null
}

/**
 * A `fetch`. It must honour `signal`: that is how timeouts and
 * unsubscription end a connection.
 *
 * @example
 * ```ts
 * import { fetch as undiciFetch, ProxyAgent } from 'undici'
 *
 * const dispatcher = new ProxyAgent(process.env.HTTPS_PROXY!)
 * const viaProxy: FetchFunction = (url, init) => undiciFetch(url, { ...init, dispatcher })
 * connectorStream({ url, token, fetch: viaProxy })
 * ```
 */
export type FetchFunction = (
  url: string,
  init: { method: 'GET'; headers: Record<string, string>; signal: AbortSignal },
) => Promise<FetchResponse>

/**
 * An observer of side information: an RxJS `Observer` (a `Subject` works)
 * or a plain function. Only `next` is ever called.
 *
 * @example
 * ```ts
 * const lifecycle$ = new Subject<ConnectionEvent>()
 * connectorStream({ url, token, lifecycle: lifecycle$ }).subscribe(handle)
 * lifecycle$.pipe(filter((e) => e._tag === 'Retrying')).subscribe(() => metrics.increment('sse.retry'))
 * ```
 */
export type SideObserver<T> = Partial<Observer<T>> | ((value: T) => void)

/**
 * Options of {@link connectorStream}. Only `url` and `token` are required.
 *
 * @example
 * ```ts
 * const options: ConnectorStreamOptions = {
 *   url: `https://connector.example.com/stream/${productId}`,
 *   token: process.env.CONNECTOR_TOKEN!,
 *   maxRetries: 20,                 // give up after 20 reconnections in a row without a stable connection
 *   stallTimeoutMs: 60_000,         // two missed heartbeats
 *   maxFrameChars: 8 * 1024 * 1024, // frames up to 8 Mi characters
 *   headers: { 'user-agent': 'my-app/1.0' },
 * }
 * ```
 */
export interface ConnectorStreamOptions {
  /**
   * The full stream URL, product id included: `https://connector.example.com/stream/prod_abc`.
   * http: or https: only.
   */
  readonly url: string | URL
  /** The connector token, sent as `Authorization: Bearer <token>`. Never logged. */
  readonly token: string
  /** Delay before the first reconnection, in ms; default 1000. The server's `retry:` field replaces it. */
  readonly initialBackoffMs?: number
  /**
   * Floor under every reconnection delay, in ms, `initialBackoffMs` and the
   * server's `retry:` included; default 250. Positive: a server sending
   * `retry: 0` must not turn reconnection into a hot loop.
   */
  readonly minBackoffMs?: number
  /** Cap of the doubling delay, in ms (jitter of 0–10 % comes on top); default 30000. */
  readonly maxBackoffMs?: number
  /**
   * How long a connection must stay up to count as stable, in ms, if it
   * delivers no payload before; default 5000. A stable connection resets the
   * backoff and the `maxRetries` count; a server that accepts and drops at
   * once is backed off like one that refuses. `Infinity`: only a payload resets.
   */
  readonly resetBackoffAfterMs?: number
  /**
   * Reconnections allowed in a row without a stable connection (see
   * `resetBackoffAfterMs`) before the Observable errors with
   * {@link RetriesExhaustedError}; default unlimited. 0 means never reconnect.
   * Set it to give up on a URL that stays dead.
   */
  readonly maxRetries?: number
  /** Time allowed for the response headers, in ms; default 10000. `Infinity` waits for ever. */
  readonly connectTimeoutMs?: number
  /**
   * Time without a complete frame or comment (heartbeats included) after
   * which the connection is dropped and reopened, in ms; default 90000. The
   * bytes of a line that never ends do not count.
   */
  readonly stallTimeoutMs?: number
  /**
   * Longest frame, or line, the stream buffers while waiting for its end, in
   * characters (UTF-16 code units: a frame of N UTF-8 bytes never has more);
   * default 4 Mi (4,194,304). Past it the connection is
   * dropped with a `FrameTooLarge` reason and retried with backoff.
   */
  readonly maxFrameChars?: number
  /** Extra request headers. `Accept`, `Authorization` and `Last-Event-ID` are the stream's own and win. */
  readonly headers?: Readonly<Record<string, string>>
  /** The `fetch` to use; default the global one (Node ≥ 18). Useful for proxies (undici's `fetch` with a dispatcher) and tests. */
  readonly fetch?: FetchFunction
  /**
   * Told of each {@link ConnectionEvent}. Only `next` is called: the
   * Observable's own error and completion say how it ended. Called for this
   * subscription only, never after unsubscription.
   */
  readonly lifecycle?: SideObserver<ConnectionEvent>
  /** Told of each {@link FrameRejection}; only `next` is called. The stream goes on. */
  readonly rejected?: SideObserver<FrameRejection>
  /**
   * Where a declared `count` that does not match the actions is reported
   * (warn), as in push mode, and, when no `lifecycle` observer is given,
   * connection failures (warn: the first at once, then at most one line per
   * 30 s) and the reconnect after them (info); default {@link consoleLogger}.
   */
  readonly logger?: Logger
  /** The jitter source, a number in [0, 1); default `Math.random`. For tests. */
  readonly random?: () => number
}

interface Config {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly initialBackoffMs: number
  readonly minBackoffMs: number
  readonly maxBackoffMs: number
  readonly resetBackoffAfterMs: number
  readonly maxRetries: number
  readonly connectTimeoutMs: number
  readonly stallTimeoutMs: number
  readonly maxFrameChars: number
  readonly fetch: FetchFunction
  readonly lifecycle: SideObserver<ConnectionEvent> | undefined
  readonly rejected: SideObserver<FrameRejection> | undefined
  readonly logger: Logger
  readonly random: () => number
}

/** HTTP statuses no retry can fix (the reference's list). */
const FATAL_STATUSES: ReadonlySet<number> = new Set([401, 403, 404])

/**
 * The connector's SSE stream as a cold Observable of typed payloads.
 *
 * Each subscription opens one connection and keeps it open: when it drops,
 * fails, stalls or sends a frame over `maxFrameChars`, it reconnects after
 * `initialBackoffMs` (never less than `minBackoffMs`), doubling up to
 * `maxBackoffMs`, plus 0–10 % jitter, and sends `Last-Event-ID` when the
 * server gave ids. A stable connection (one that delivered a payload or
 * stayed up `resetBackoffAfterMs`) resets the backoff. Frames are
 * delivered only once complete, so a drop never cuts one in half.
 * `heartbeat` events are ignored; a frame that does not decode goes to
 * `rejected` and the stream goes on. Without a `lifecycle` observer,
 * failures are logged through `logger`, rate-limited. Unsubscribing aborts
 * the request at once and clears every timer.
 *
 * The Observable never completes on its own. It errors with a
 * {@link FatalStatusError} on HTTP 401, 403 or 404, and with a
 * {@link RetriesExhaustedError} once `maxRetries` is spent.
 *
 * @param options - see {@link ConnectorStreamOptions}
 * @returns a cold Observable of `actions` and `summary` payloads
 * @throws TypeError at call time on options that cannot be right (no token, a non-HTTP URL, a negative delay)
 *
 * @example
 * ```ts
 * import { merge } from 'rxjs'
 * import { connectorStream, WebhookReceiver } from 'autoplay-rx'
 *
 * const sse$ = connectorStream({
 *   url: 'https://connector.example.com/stream/prod_abc',
 *   token: process.env.CONNECTOR_TOKEN!,
 *   lifecycle: (event) => console.info('sse', event._tag),
 *   rejected: (frame) => console.warn('refused frame', frame.error.message),
 * })
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 *
 * merge(receiver.payloads$, sse$).subscribe((payload) => console.log(payload.type, payload.session_id))
 * ```
 */
export function connectorStream(options: ConnectorStreamOptions): Observable<Payload> {
  const config = resolve(options)
  return new Observable<Payload>((subscriber) => openStream(config, subscriber))
}

/** Runs one subscription's connect/read/reconnect loop; returns its teardown. */
function openStream(config: Config, subscriber: Subscriber<Payload>): () => void {
  const lifecycle = new Subject<ConnectionEvent>()
  const rejected = new Subject<FrameRejection>()
  // Subscribing the user's observers to Subjects gives RxJS' own guarantees:
  // an observer that throws is reported as unhandled, never breaks the loop.
  const sideObservers = new Subscription()
  // Unobserved, a dead URL would be retried for ever without a word.
  sideObservers.add(lifecycle.subscribe(config.lifecycle ?? logLifecycle(config.logger, config.url)))
  if (config.rejected) sideObservers.add(rejected.subscribe(config.rejected))

  let closed = false
  /** The one timer alive at any time: connect timeout, stall watchdog or retry delay. */
  let timer: ReturnType<typeof setTimeout> | undefined
  let controller: AbortController | undefined
  let wakeSleeper: (() => void) | undefined
  let lastEventId: string | null = null
  let serverRetryMs: number | null = null
  /** Reconnections since the last stable connection. */
  let retry = 0
  /** When the open connection was established, while it is not yet stable. */
  let unstableSince: number | null = null
  /** A complete frame or comment arrived since the stall watchdog was last pushed back. */
  let alive = false
  let overflowed = false

  const parser = createParser({
    onEvent: (message) => {
      alive = true
      if (!closed) deliver(message)
    },
    onComment: () => { alive = true },
    onRetry: (ms) => { serverRetryMs = ms },
    onError: (error: ParseError) => {
      // Other parse errors (an unknown field, a bad retry:) are ignored, as EventSource does.
      if (error.type === 'max-buffer-size-exceeded') overflowed = true
    },
    maxBufferSize: config.maxFrameChars,
  })

  /** Resets the backoff: this connection proved it works. */
  function stable(): void {
    unstableSince = null
    retry = 0
  }

  function stableByNow(): void {
    if (unstableSince !== null && performance.now() - unstableSince >= config.resetBackoffAfterMs) stable()
  }

  function deliver(message: EventSourceMessage): void {
    // Per the SSE standard the id is remembered across frames; an empty one clears it.
    if (message.id !== undefined) lastEventId = message.id === '' ? null : message.id
    if (message.event === 'heartbeat') return
    const data = message.data
    const decoded = decodeText(data)
    if (E.isLeft(decoded)) return reject(message, decoded.left)
    warnOnCountMismatch(config.logger, decoded.right)
    const value = decoded.right.payload
    stable()
    subscriber.next(value)
  }

  function reject(message: EventSourceMessage, error: FrameError): void {
    log(config.logger, 'debug', `SSE frame refused: ${error.message}`, { tag: error._tag })
    rejected.next({
      data: message.data,
      event: message.event ?? null,
      id: message.id ?? null,
      error,
    })
  }

  function emit(event: ConnectionEvent): void {
    if (!closed) lifecycle.next(event)
  }

  function startTimer(ms: number, onTimeout: () => void): void {
    clearTimeout(timer)
    // Node fires a delay above 2^31 - 1 ms at once; 24 days is for ever enough.
    timer = Number.isFinite(ms) ? setTimeout(onTimeout, Math.min(ms, MAX_TIMER_MS)) : undefined
  }

  function stopTimer(): void {
    clearTimeout(timer)
    timer = undefined
  }

  /** One request and, if it succeeds, reading it to the end. Never throws. */
  async function connectOnce(): Promise<DisconnectReason> {
    const attempt = new AbortController()
    controller = attempt
    let timedOut: 'connect' | 'stall' | null = null
    const headers: Record<string, string> = { ...config.headers }
    if (lastEventId !== null) headers['last-event-id'] = lastEventId
    emit({ _tag: 'Connecting', retry, lastEventId })

    startTimer(config.connectTimeoutMs, () => { timedOut = 'connect'; attempt.abort() })
    let response: FetchResponse
    try {
      response = await config.fetch(config.url, { method: 'GET', headers, signal: attempt.signal })
    } catch (error) {
      stopTimer()
      return timedOut === 'connect' ? disconnectReason.connectTimeout(config.connectTimeoutMs) : disconnectReason.networkError(error)
    }
    stopTimer()

    try {
      if (response.status < 200 || response.status > 299) {
        return disconnectReason.httpStatus(response.status, FATAL_STATUSES.has(response.status))
      }
      const contentType = response.headers.get('content-type')
      if (response.body === null || contentType === null || !/^\s*text\/event-stream\s*(;|$)/i.test(contentType)) {
        return disconnectReason.unexpectedContentType(contentType)
      }
      emit({ _tag: 'Connected', retry, status: response.status })
      unstableSince = performance.now()
      // A fresh decoder per connection: half a UTF-8 sequence must not leak into the next one.
      const decoder = new TextDecoder()
      startTimer(config.stallTimeoutMs, () => { timedOut = 'stall'; attempt.abort() })
      try {
        for await (const chunk of response.body) {
          const text = decoder.decode(chunk, { stream: true })
          if (text !== '') parser.feed(text)
          if (closed) break
          if (overflowed) return disconnectReason.frameTooLarge(config.maxFrameChars)
          // Only whole frames and comments are life: a line that never ends must stall.
          if (alive) {
            alive = false
            timer?.refresh()
          }
          stableByNow()
        }
        return disconnectReason.streamEnded()
      } catch (error) {
        return timedOut === 'stall' ? disconnectReason.stalled(config.stallTimeoutMs) : disconnectReason.networkError(error)
      } finally {
        stopTimer()
        stableByNow()
        unstableSince = null
        alive = false
        overflowed = false
        // A frame still incomplete is dropped, never delivered cut in half; with ids the server resends it.
        parser.reset()
      }
    } finally {
      // Frees the socket of an unread body (a 500 page) and any listener fetch left on the signal.
      attempt.abort()
    }
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      wakeSleeper = resolve
      startTimer(ms, resolve)
    })
  }

  async function run(): Promise<void> {
    while (!closed) {
      const reason = await connectOnce()
      if (closed) return
      emit({ _tag: 'Disconnected', reason })
      if (reason._tag === 'HttpStatus' && reason.fatal) {
        return subscriber.error(new FatalStatusError(reason.status, retry, config.url))
      }
      if (retry >= config.maxRetries) {
        return subscriber.error(new RetriesExhaustedError(retry, reason, config.url))
      }
      retry++
      const delayMs = backoffDelay(retry, { initialMs: serverRetryMs ?? config.initialBackoffMs, minMs: config.minBackoffMs, maxMs: config.maxBackoffMs }, config.random)
      emit({ _tag: 'Retrying', retry, delayMs })
      await sleep(delayMs)
    }
  }

  run().catch((error: unknown) => {
    // Only a bug of ours lands here (connectOnce never throws); the subscriber must still hear of it.
    if (!closed) subscriber.error(error)
  })

  return () => {
    closed = true
    stopTimer()
    controller?.abort()
    wakeSleeper?.()
    sideObservers.unsubscribe()
  }
}

const MAX_TIMER_MS = 2 ** 31 - 1

function resolve(options: ConnectorStreamOptions): Config {
  const fail = (what: string): never => { throw new TypeError(`autoplay-rx connectorStream: ${what}`) }
  if (typeof options !== 'object' || options === null) fail('options must be an object')
  let url: URL
  try {
    url = new URL(String(options.url))
  } catch {
    return fail(`url is not a valid URL: ${JSON.stringify(String(options.url))}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`url must be http: or https:, got ${url.protocol}`)
  if (url.username !== '' || url.password !== '') fail('url must not carry credentials; pass the token option')
  if (typeof options.token !== 'string' || options.token === '') fail('token must be a non-empty string')

  const delay = (name: keyof ConnectorStreamOptions, fallback: number, allowInfinity: boolean): number => {
    const value = options[name] ?? fallback
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (!allowInfinity && !Number.isFinite(value))) {
      fail(`${name} must be a non-negative number${allowInfinity ? ' or Infinity' : ''}, got ${String(value)}`)
    }
    return value as number
  }
  const positive = (name: keyof ConnectorStreamOptions, fallback: number, allowInfinity = true): number => {
    const value = delay(name, fallback, allowInfinity)
    if (value === 0) fail(`${name} must be positive`)
    return value
  }
  const maxRetries = options.maxRetries ?? Infinity
  if (!(maxRetries === Infinity || (Number.isSafeInteger(maxRetries) && maxRetries >= 0))) {
    fail(`maxRetries must be a non-negative integer or Infinity, got ${String(maxRetries)}`)
  }
  const maxFrameChars = options.maxFrameChars ?? DEFAULT_MAX_FRAME_CHARS
  if (!(Number.isSafeInteger(maxFrameChars) && maxFrameChars > 0)) {
    fail(`maxFrameChars must be a positive integer, got ${String(maxFrameChars)}`)
  }

  const headers: Record<string, string> = {}
  // Lower-cased so that a user's `Authorization` cannot sit beside ours and be merged into one value.
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value
  headers['accept'] = 'text/event-stream'
  headers['cache-control'] = 'no-cache'
  headers['authorization'] = `Bearer ${options.token}`
  delete headers['last-event-id']

  const fetchFunction = options.fetch ?? (globalThis.fetch as unknown as FetchFunction | undefined)
  if (typeof fetchFunction !== 'function') fail('no global fetch (Node < 18?): pass the fetch option')

  return {
    url: url.href,
    headers,
    initialBackoffMs: delay('initialBackoffMs', DEFAULT_INITIAL_BACKOFF_MS, false),
    minBackoffMs: positive('minBackoffMs', DEFAULT_MIN_BACKOFF_MS, false),
    maxBackoffMs: delay('maxBackoffMs', DEFAULT_MAX_BACKOFF_MS, false),
    resetBackoffAfterMs: delay('resetBackoffAfterMs', DEFAULT_RESET_BACKOFF_AFTER_MS, true),
    maxRetries,
    connectTimeoutMs: positive('connectTimeoutMs', DEFAULT_CONNECT_TIMEOUT_MS),
    stallTimeoutMs: positive('stallTimeoutMs', DEFAULT_STALL_TIMEOUT_MS),
    maxFrameChars,
    fetch: fetchFunction!,
    lifecycle: options.lifecycle,
    rejected: options.rejected,
    logger: options.logger ?? consoleLogger,
    random: options.random ?? Math.random,
  }
}
