/** Feeds a payload stream into a context store: one operator for `payloads$`, an SSE stream or a Redis worker. */
import { Observable, type MonoTypeOperatorFunction } from 'rxjs'
import type { Payload } from '../codecs.js'
import { estimatedBytes } from '../internal/estimatedBytes.js'
import { within } from '../internal/within.js'
import { consoleLogger, errorText, log, type Logger } from '../logger.js'
import { isThenable } from '../thenable.js'
import { optionalCount, optionalPositive, type ContextWriter } from './options.js'
import { UNKNOWN_SESSION } from './text.js'

interface IntoContextOptions {
  /** Called when a write threw, rejected, timed out or found the queue full; the payload still passes on. A throwing
   * `onError` is ignored. */
  readonly onError?: ((error: unknown, payload: Payload) => void) | undefined
  /** Where failed writes are logged; default `consoleLogger`. */
  readonly logger?: Logger | undefined
  /** How long an async write may take before it counts as failed (`ContextWriteTimeoutError`); default 5,000 ms. */
  readonly writeTimeoutMs?: number | undefined
  /** At most this many payloads wait for their write; default 10,000. */
  readonly maxQueued?: number | undefined
  /** At most this many bytes (estimated from the payloads' strings) wait for their write; default 64 MiB. */
  readonly maxQueuedBytes?: number | undefined
}

/** Given to `onError` for a write that did not settle within `writeTimeoutMs`: it counts as failed. */
export class ContextWriteTimeoutError extends Error {
  readonly _tag = 'ContextWriteTimeout' as const
  override readonly name = 'ContextWriteTimeoutError'
  constructor(readonly timeoutMs: number) { super(`the write did not settle within ${timeoutMs} ms`) }
}

/** Given to `onError` for a payload that found `maxQueued` or `maxQueuedBytes` taken: it passes on unwritten. */
export class ContextQueueFullError extends Error {
  readonly _tag = 'ContextQueueFull' as const
  override readonly name = 'ContextQueueFullError'
  constructor(readonly maxQueued: number, readonly maxQueuedBytes: number) {
    super(`context store queue full (${maxQueued} payloads or ${maxQueuedBytes} bytes waiting)`)
  }
}

const FULL_LOG_MS = 10_000
const TIMED_OUT = Symbol('timed out')
const WRITTEN = Symbol('written')
interface Waiting<P> { readonly payload: P, readonly bytes: number, next?: Waiting<P> }

/**
 * Writes each payload to a context store (batches to `add`, summaries to `onSummary` with their `forwarded_at`,
 * 0 meaning none) and passes it on once written. An async store's writes are awaited one at a time, so it sees
 * the stream's order; a failed write is logged and given to `onError`, never into the stream. While a write is
 * pending, payloads wait up to `maxQueued` / `maxQueuedBytes`; one that does not fit passes on at once, unwritten.
 *
 * @example
 * ```ts
 * import { ContextStore, intoContext } from 'autoplay-rx'
 *
 * const store = new ContextStore()
 * receiver.payloads$.pipe(intoContext(store)).subscribe()                 // webhooks
 * connectorStream({ url, token }).pipe(intoContext(store)).subscribe()   // SSE
 * ```
 */
export function intoContext<P extends Payload>(
  store: ContextWriter, options: IntoContextOptions = {},
): MonoTypeOperatorFunction<P> {
  const logger = options.logger ?? consoleLogger
  const timeoutMs = optionalPositive('writeTimeoutMs', options.writeTimeoutMs) ?? 5000
  const maxQueued = optionalCount('maxQueued', options.maxQueued) ?? 10_000
  const maxQueuedBytes = optionalCount('maxQueuedBytes', options.maxQueuedBytes) ?? 64 * 1024 * 1024
  // The log line ('' for none): a full queue logs once in a while, every other failure each time.
  const report = (error: unknown, payload: P, line = `context store write failed for session ${sessionOf(payload)}: ` +
    errorText(error)): void => {
    if (line !== '') log(logger, 'error', line, { session_id: payload.session_id, type: payload.type })
    try {
      options.onError?.(error, payload)
    } catch {
      // a broken error handler must not stop the stream
    }
  }
  return (source) => new Observable<P>((subscriber) => {
    // A linked list: taking the head is O(1) however long the queue.
    let head: Waiting<P> | undefined, tail: Waiting<P> | undefined
    let queued = 0, queuedBytes = 0, busy = false, done = false, loggedFullAt = -Infinity
    const settled = (payload: P, error: unknown): void => {
      busy = false
      if (subscriber.closed) return
      if (error !== WRITTEN) report(error, payload)
      subscriber.next(payload)
      drain()
    }
    // A synchronous write costs no promise and no timer; only a thenable is raced against the timeout.
    const write = (payload: P): void => {
      let written: unknown
      try { written = writeToContext(store, payload) } catch (error) { report(error, payload) }
      if (!isThenable(written)) return subscriber.next(payload)
      busy = true
      within(written, timeoutMs, TIMED_OUT).then((result) =>
        settled(payload, result === TIMED_OUT ? new ContextWriteTimeoutError(timeoutMs) : WRITTEN),
      (error: unknown) => settled(payload, error))
    }
    const drain = (): void => {
      while (!busy && head !== undefined && !subscriber.closed) {
        const first = head
        head = first.next
        queued--
        queuedBytes -= first.bytes
        write(first.payload)
      }
      if (!busy && head === undefined && done) subscriber.complete()
    }
    const queueFull = (payload: P): void => {
      const error = new ContextQueueFullError(maxQueued, maxQueuedBytes)
      const logNow = Date.now() - loggedFullAt >= FULL_LOG_MS
      if (logNow) loggedFullAt = Date.now()
      report(error, payload, logNow ? `${error.message}: a payload of session ${sessionOf(payload)} passes on ` +
        `unwritten; more are reported to onError alone for ${FULL_LOG_MS / 1000} s` : '')
      subscriber.next(payload)
    }
    const subscription = source.subscribe({
      next: (payload) => {
        if (!busy && head === undefined) return write(payload)
        const bytes = estimatedBytes(payload)
        if (queued >= maxQueued || queuedBytes + bytes > maxQueuedBytes) return queueFull(payload)
        const waiting: Waiting<P> = { payload, bytes }
        tail = head === undefined ? (head = waiting) : (tail!.next = waiting)
        queued++
        queuedBytes += bytes
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => { done = true; drain() },
    })
    return () => { subscription.unsubscribe(); head = tail = undefined }
  })
}

const sessionOf = (payload: Payload): string => payload.session_id ?? UNKNOWN_SESSION

function writeToContext(store: ContextWriter, payload: Payload): void | boolean | PromiseLike<unknown> {
  return payload.type === 'actions'
    ? store.add(payload)
    // 0 is the codec's value for an absent forwarded_at: no time.
    : store.onSummary(payload.session_id, payload.summary, payload.forwarded_at || undefined)
}
