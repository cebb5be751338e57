/**
 * The options of `connectorStream`, their defaults, and the one place they
 * are checked: a wrong option fails when the stream is made, not at the
 * first reconnection hours later.
 */
import { asyncScheduler, type SchedulerLike } from 'rxjs'
import { consoleLogger, type Logger } from '../logger.js'
import type { FetchFunction } from './fetch.js'
import type { Telemetry } from '../telemetry.js'
import type { ConnectorStreamEvent } from './lifecycle.js'

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
 * Options of `connectorStream`. Only `url` and `token` are required.
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
 *   events: (event) => { if (event._tag === 'FrameRejected') console.warn(event.error.message) },
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
   * `resetBackoffAfterMs`) before the Observable errors with a
   * `RetriesExhaustedError`; default unlimited. 0 means never reconnect.
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
   * Told of everything the stream says besides payloads, in order: the
   * connection's lifecycle and each refused frame (`FrameRejected`), one
   * tagged union to switch on. The Observable's own error and completion
   * say how it ended. Called for this subscription only, never after
   * unsubscription; if it throws, the error is logged and the stream goes on.
   * Without it, failures and recoveries are logged through `logger`.
   */
  readonly events?: (event: ConnectorStreamEvent) => void
  /**
   * Where a declared `count` that does not match the actions is reported
   * (warn), as in push mode, and, when no `events` observer is given,
   * connection failures (warn: the first at once, then at most one line per
   * 30 s) and the reconnect after them (info); default `consoleLogger`.
   */
  readonly logger?: Logger
  /**
   * Metrics of this stream (`otelTelemetry()` from `autoplay-rx/otel`):
   * connection state, reconnects, disconnects by reason, frames by outcome.
   * Told besides `events`, which it does not replace. Default: none.
   */
  readonly telemetry?: Telemetry
  /** The jitter source, a number in [0, 1); default `Math.random`. For tests. */
  readonly random?: () => number
  /** The scheduler of every delay and timeout (backoff, connect, stall, reset); default `asyncScheduler`. For tests (`TestScheduler`). */
  readonly scheduler?: SchedulerLike
}

/** The options checked, with their defaults. */
export interface Config {
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
  readonly events: ((event: ConnectorStreamEvent) => void) | undefined
  readonly logger: Logger
  readonly telemetry: Telemetry | undefined
  readonly random: () => number
  readonly scheduler: SchedulerLike
}

/** Checks the options and fills in the defaults; throws a TypeError naming the first wrong one. */
export function resolveOptions(options: ConnectorStreamOptions): Config {
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
  if (options.events !== undefined && typeof options.events !== 'function') fail('events must be a function')

  const headers: Record<string, string> = {}
  // Lower-cased so that a user's `Authorization` cannot sit beside ours and be merged into one value.
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value
  headers['accept'] = 'text/event-stream'
  headers['cache-control'] = 'no-cache'
  headers['authorization'] = `Bearer ${options.token}`
  delete headers['last-event-id']

  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    fail(`fetch must be a function, got ${typeof options.fetch}: pass the function itself (globalThis.fetch, or undici's fetch)`)
  }
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
    events: options.events,
    logger: options.logger ?? consoleLogger,
    telemetry: options.telemetry,
    random: options.random ?? Math.random,
    scheduler: options.scheduler ?? asyncScheduler,
  }
}
