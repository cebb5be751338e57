/**
 * The options of `connectorStream`, their defaults, and the one place they are checked: a wrong option
 * fails when the stream is made, not at the first reconnection hours later.
 */
import { asyncScheduler, type SchedulerLike } from 'rxjs'
import { nonEmpty, positiveInteger, positiveNumber } from '../internal/options.js'
import { consoleLogger, type Logger } from '../logger.js'
import { fenced, type Telemetry } from '../telemetry.js'
import type { UsertourTriggerPayload } from '../codecs.js'
import type { FetchFunction } from './fetch.js'
import type { ConnectorStreamEvent } from './lifecycle.js'

// The reference waits 1 s before the first reconnection and doubles up to 30 s.
export const DEFAULT_INITIAL_BACKOFF_MS = 1_000
export const DEFAULT_MAX_BACKOFF_MS = 30_000
export const DEFAULT_MIN_BACKOFF_MS = 250
export const DEFAULT_RESET_BACKOFF_AFTER_MS = 5_000
// Four times the push receiver's body limit (a UTF-8 body never has more characters than bytes).
export const DEFAULT_MAX_FRAME_CHARS = 4 * 1024 * 1024
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000
export const DEFAULT_STALL_TIMEOUT_MS = 90_000 // three missed heartbeats (the connector sends one every 30 s or so)
// A fatal answer's body is read this long at most (or half stallTimeoutMs, if less) for the error.
export const REFUSAL_BODY_TIMEOUT_MS = 1_000

/** Options of `connectorStream`: only `url` and `token` are required; `undefined` is the default. */
export interface ConnectorStreamOptions {
  /** The full stream URL, product id included (`https://connector.example.com/stream/prod_abc`); http: or https:. */
  readonly url: string | URL
  /** The connector token, sent as `Authorization: Bearer <token>`; never logged. */
  readonly token: string
  /** Delay before the first reconnection, in ms; default 1000. The server's `retry:` field replaces it. */
  readonly initialBackoffMs?: number | undefined
  /** Floor under every delay, the server's `retry:` included, in ms; default 250, positive (no hot loop). */
  readonly minBackoffMs?: number | undefined
  /** Cap of the doubling delay, in ms, before jitter (up to a tenth more); default 30000. `retry:` is cut at 10×. */
  readonly maxBackoffMs?: number | undefined
  /** Time up after which a connection without payloads is stable (resets the backoff), in ms; default 5000. */
  readonly resetBackoffAfterMs?: number | undefined
  /** Reconnections in a row without a stable connection before the Observable errors; default unlimited. */
  readonly maxRetries?: number | undefined
  /** Time allowed for the response headers, in ms; default 10000; `Infinity` waits for ever. */
  readonly connectTimeoutMs?: number | undefined
  /** Time without a complete line (a frame, a heartbeat, a comment) before a reconnect, in ms; default 90000. */
  readonly stallTimeoutMs?: number | undefined
  /** Longest frame or line buffered, in UTF-16 code units; default 4 Mi. Past it: `FrameTooLarge`, retried. */
  readonly maxFrameChars?: number | undefined
  /** Extra request headers; `Accept`, `Authorization` and `Last-Event-ID` are the stream's own and win. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** The `fetch` to use (undici's with a proxy dispatcher, a stub); default the global one. It must honour `signal`. */
  readonly fetch?: FetchFunction | undefined
  /** Told every lifecycle event and refused frame of this subscription, in order; a throw is logged. */
  readonly events?: ((event: ConnectorStreamEvent) => void) | undefined
  /**
   * Given each `usertour_trigger` frame (not a payload, so not on the Observable), in stream order, not awaited;
   * a throw or a rejection is logged. Without it such frames are dropped, said once per subscription at `debug`.
   */
  readonly usertourTriggers?: ((trigger: UsertourTriggerPayload) => void | PromiseLike<unknown>) | undefined
  /** Where count mismatches and, without `events`, failures (rate-limited) are logged; default `consoleLogger`. */
  readonly logger?: Logger | undefined
  /** Metrics of this stream (`otelTelemetry()` from `autoplay-rx/otel`), told besides `events`; default none. */
  readonly telemetry?: Telemetry | undefined
  /** The jitter source, in [0, 1); default `Math.random`. For tests. */
  readonly random?: (() => number) | undefined
  /** The scheduler of every delay and timeout; default `asyncScheduler`. For tests (`TestScheduler`). */
  readonly scheduler?: SchedulerLike | undefined
}

type Defaulted = Exclude<keyof ConnectorStreamOptions, 'url' | 'token' | 'events' | 'usertourTriggers' | 'telemetry'>
/** The options checked, with their defaults. */
export type Config = { readonly [K in Defaulted]-?: Exclude<ConnectorStreamOptions[K], undefined> } &
  Pick<ConnectorStreamOptions, 'events' | 'usertourTriggers' | 'telemetry'> & { readonly url: string }

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
  nonEmpty('token', options.token)

  const delay = (name: keyof ConnectorStreamOptions, fallback: number, allowInfinity: boolean): number => {
    const value = options[name] ?? fallback
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (!allowInfinity && !Number.isFinite(value))) {
      fail(`${name} must be a non-negative number${allowInfinity ? ' or Infinity' : ''}, got ${String(value)}`)
    }
    return value as number
  }
  const positive = (name: keyof ConnectorStreamOptions, fallback: number): number => {
    const value = delay(name, fallback, true)
    if (value === 0) fail(`${name} must be positive`)
    return value
  }
  const maxRetries = options.maxRetries ?? Infinity
  if (!(maxRetries === Infinity || (Number.isSafeInteger(maxRetries) && maxRetries >= 0))) {
    fail(`maxRetries must be a non-negative integer or Infinity, got ${String(maxRetries)}`)
  }
  const maxFrameChars = positiveInteger('maxFrameChars', options.maxFrameChars ?? DEFAULT_MAX_FRAME_CHARS)
  for (const key of ['events', 'usertourTriggers'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') fail(`${key} must be a function`)
  }

  const headers: Record<string, string> = {}
  // Lower-cased so that a user's `Authorization` cannot sit beside ours and be merged into one value.
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value
  headers['accept'] = 'text/event-stream'
  headers['cache-control'] = 'no-cache'
  headers['authorization'] = `Bearer ${options.token}`
  delete headers['last-event-id']

  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    const got = typeof options.fetch
    fail(`fetch must be a function, got ${got}: pass the function itself (globalThis.fetch, or undici's fetch)`)
  }
  const fetchFunction = options.fetch ?? (globalThis.fetch as unknown as FetchFunction | undefined)
  if (typeof fetchFunction !== 'function') fail('no global fetch (Node < 18?): pass the fetch option')

  return {
    url: url.href,
    headers,
    initialBackoffMs: delay('initialBackoffMs', DEFAULT_INITIAL_BACKOFF_MS, false),
    minBackoffMs: positiveNumber('minBackoffMs', options.minBackoffMs ?? DEFAULT_MIN_BACKOFF_MS),
    maxBackoffMs: delay('maxBackoffMs', DEFAULT_MAX_BACKOFF_MS, false),
    resetBackoffAfterMs: delay('resetBackoffAfterMs', DEFAULT_RESET_BACKOFF_AFTER_MS, true),
    maxRetries,
    connectTimeoutMs: positive('connectTimeoutMs', DEFAULT_CONNECT_TIMEOUT_MS),
    stallTimeoutMs: positive('stallTimeoutMs', DEFAULT_STALL_TIMEOUT_MS),
    maxFrameChars,
    fetch: fetchFunction!,
    events: options.events,
    usertourTriggers: options.usertourTriggers,
    logger: options.logger ?? consoleLogger,
    telemetry: fenced(options.telemetry, options.logger ?? consoleLogger),
    random: options.random ?? Math.random,
    scheduler: options.scheduler ?? asyncScheduler,
  }
}
