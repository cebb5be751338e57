/**
 * connectorStream: the connector's SSE endpoint as a cold Observable of the payloads push mode gives,
 * built from RxJS operators: `defer` opens one connection, `timeout` bounds the wait for headers and
 * for each frame, `retry` reconnects with the one backoff, unsubscription aborts the request.
 */
import type { EventSourceMessage } from 'eventsource-parser'
import * as E from 'fp-ts/lib/Either.js'
import {
  defer, EMPTY, finalize, ignoreElements, mergeMap, Observable, type ObservableInput, retry, tap, throwError, timeout,
  timer,
} from 'rxjs'
import { backoffDelay } from '../backoff.js'
import type { Payload } from '../codecs.js'
import { passTrigger } from '../internal/triggers.js'
import { decodeText } from '../decode.js'
import { log, rateLimited, warnCountMismatch } from '../logger.js'
import { FatalStatusError, RetriesExhaustedError } from './errors.js'
import { connection, Ended, type Signal } from './fetch.js'
import { disconnectReason, type ConnectorStreamEvent } from './lifecycle.js'
import { logLifecycle } from './logLifecycle.js'
import { REFUSAL_BODY_TIMEOUT_MS, resolveOptions, type Config, type ConnectorStreamOptions } from './options.js'

/**
 * The connector's SSE stream (`GET /stream/{product_id}`) as a cold Observable of typed payloads.
 *
 * Each subscription opens a connection and keeps it open: when it drops, fails, stalls or sends a frame
 * over `maxFrameChars`, it reconnects with a doubling backoff and `Last-Event-ID`; a stable connection
 * (a payload, or `resetBackoffAfterMs` up) resets the backoff. Only complete frames are delivered.
 * A frame that does not decode goes to `events` as `FrameRejected`; without `events`, failures are logged.
 * It never completes; it errors on HTTP 401, 403 or 404 (with the first KiB of the body, logged without
 * `events`) and once `maxRetries` is spent, with a `ConnectorStreamFailure`. Options that cannot be right
 * throw a TypeError at once.
 *
 * @example
 * ```ts
 * import { merge } from 'rxjs'
 * import { connectorStream, WebhookReceiver } from 'autoplay-rx'
 *
 * const sse$ = connectorStream({
 *   url: 'https://connector.example.com/stream/prod_abc',
 *   token: process.env.CONNECTOR_TOKEN!,
 *   events: (event) => console.info('sse', event._tag), // Connecting, Connected, Disconnected, Retrying, FrameRejected
 * })
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 * merge(receiver.payloads$, sse$).subscribe((payload) => console.log(payload.type, payload.session_id))
 * ```
 */
export function connectorStream(options: ConnectorStreamOptions): Observable<Payload> {
  const config = resolveOptions(options)
  return reconnecting(config, (lastEventId, onRetry) => connection({
    fetch: config.fetch,
    url: config.url,
    headers: lastEventId === null ? config.headers : { ...config.headers, 'last-event-id': lastEventId },
    maxFrameChars: config.maxFrameChars,
    onRetry,
    // Under the stall timeout, which runs from the fatal answer's headers: the body read always ends first.
    refusalTimeoutMs: Math.min(REFUSAL_BODY_TIMEOUT_MS, config.stallTimeoutMs / 2),
    scheduler: config.scheduler,
  }))
}

/** Opens one connection, sending `lastEventId`; tells `onRetry` the server's `retry:` field. */
type Connect = (lastEventId: string | null, onRetry: (ms: number) => void) => Observable<Signal>

/** Node fires a delay above 2^31 - 1 ms at once; 24 days is for ever enough. */
const MAX_TIMER_MS = 2 ** 31 - 1
const capped = (ms: number): number => Math.min(ms, MAX_TIMER_MS)
const SENDABLE_ID = /^[\t\x20-\x7e\x80-\xff]{0,1024}$/

/** The reconnection policy over any `connect`: a fetch, or cold Observables in marble specs. */
export function reconnecting(config: Config, connect: Connect): Observable<Payload> {
  return defer(() => {
    let retries = 0
    let lastEventId: string | null = null
    let serverRetryMs: number | null = null
    let open = true
    // The log's rate limit runs on the stream's clock, so that virtual time drives it in marble specs too.
    const observer = config.events ?? logLifecycle(config.logger, config.url, () => config.scheduler.now())
    const probe = config.telemetry === undefined ? undefined : config.telemetry.connectorStream()
    const emit = (event: ConnectorStreamEvent): void => {
      if (!open) return
      if (probe !== undefined) probe.event(event)
      try {
        observer(event)
      } catch (error) {
        // A user's observer must neither stop the stream nor crash the process.
        log(config.logger, 'error', 'connectorStream: the events observer threw', { error, event: event._tag })
      }
    }

    // A trigger is not a payload: it goes to its own function, not awaited (SSE has nothing to acknowledge).
    const [dropped, report] = [rateLimited(Infinity), rateLimited(10_000)] // said once; one line per 10 s
    const failed = (error: unknown) => report(config.logger, 'error', 'usertourTriggers failed', { error })
    const why = 'SSE usertour_trigger frames dropped: no usertourTriggers'

    // A plain loop (cheaper than a generator through `from`); a consumer that is done stops it mid-chunk.
    const payloads = (messages: readonly EventSourceMessage[]): Observable<Payload> => new Observable((subscriber) => {
      for (const message of messages) {
        if (subscriber.closed) return
        // Per the SSE standard the id is remembered across frames; an empty one clears it. One that no fetch
        // or server takes as a header (beyond Latin-1, too long) would fail every reconnect: it is ignored.
        if (message.id !== undefined && SENDABLE_ID.test(message.id)) lastEventId = message.id || null
        else if (message.id !== undefined) log(config.logger, 'warn', 'SSE id ignored: not sendable as Last-Event-ID')
        if (message.event === 'heartbeat') continue
        const decoded = decodeText(message.data)
        if (E.isLeft(decoded)) {
          log(config.logger, 'debug', `SSE frame refused: ${decoded.left.message}`, { tag: decoded.left._tag })
          const { data, event = null, id = null } = message
          emit({ _tag: 'FrameRejected', data, event, id, error: decoded.left })
          continue
        }
        // An event: the backoff starts over (here rather than in a tap: one hop less per frame).
        retries = 0
        if (probe !== undefined) probe.frame()
        const payload = decoded.right.payload
        if (payload.type === 'usertour_trigger') {
          if (config.usertourTriggers === undefined) dropped(config.logger, 'debug', why)
          else void passTrigger(config.usertourTriggers, payload, undefined, failed)
          continue
        }
        warnCountMismatch(config.logger, decoded.right)
        subscriber.next(payload)
      }
      subscriber.complete()
    })

    // A connection up long enough is stable: the backoff starts over. It emits nothing: no per-frame filter.
    const stableLater: Observable<never> = Number.isFinite(config.resetBackoffAfterMs)
      ? timer(config.resetBackoffAfterMs, config.scheduler).pipe(tap(() => { retries = 0 }), ignoreElements())
      : EMPTY

    const attempt = defer(() => {
      emit({ _tag: 'Connecting', retry: retries, lastEventId })
      return connect(lastEventId, (ms) => { serverRetryMs = ms }).pipe(
        timeout({
          first: capped(config.connectTimeoutMs),
          each: capped(config.stallTimeoutMs),
          scheduler: config.scheduler,
          with: ({ seen }) => throwError(() => new Ended(seen === 0
            ? disconnectReason.connectTimeout(config.connectTimeoutMs)
            : disconnectReason.stalled(config.stallTimeoutMs))),
        }),
        mergeMap((signal): ObservableInput<Payload> => {
          if (signal._tag === 'Frames') return payloads(signal.messages)
          if (signal._tag === 'Alive') return EMPTY
          emit({ _tag: 'Connected', retry: retries, status: signal.status })
          return stableLater
        }),
      )
    })

    return attempt.pipe(
      // `retries` is the one count of failures in a row: a payload or a stable connection sets it
      // back to 0 (retry's own count, reset only by an emission, could not see a quiet stable link).
      retry({
        delay: (error: unknown) => {
          if (!(error instanceof Ended)) throw error
          const reason = error.reason
          emit({ _tag: 'Disconnected', reason })
          if (reason._tag === 'HttpStatus' && reason.fatal) {
            throw new FatalStatusError(reason.status, retries, config.url, error.body)
          }
          if (retries >= config.maxRetries) throw new RetriesExhaustedError(retries, reason, config.url)
          retries += 1
          const initialMs = serverRetryMs ?? config.initialBackoffMs
          const policy = { initialMs, minMs: config.minBackoffMs, maxMs: config.maxBackoffMs }
          const delayMs = backoffDelay(retries, policy, config.random)
          emit({ _tag: 'Retrying', retry: retries, delayMs })
          return timer(capped(delayMs), config.scheduler)
        },
      }),
      finalize(() => {
        open = false
        if (probe !== undefined) probe.closed()
      }),
    )
  })
}
