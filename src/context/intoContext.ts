/**
 * Feeds a payload stream into a context store: one operator for the
 * receiver's `payloads$`, an SSE stream, or a Redis worker's payloads.
 */
import { Observable, type MonoTypeOperatorFunction } from 'rxjs'
import type { Payload } from '../codecs.js'
import { consoleLogger, log, type Logger } from '../logger.js'
import { isThenable } from '../thenable.js'
import type { ContextWriter } from './options.js'
import { errorText, UNKNOWN_SESSION } from './text.js'

/**
 * Options of {@link intoContext}.
 *
 * @example
 * ```ts
 * const options: IntoContextOptions = { onError: (error, payload) => deadLetter(payload, error) }
 * ```
 */
interface IntoContextOptions {
  /** Called when a write failed (threw or rejected); the payload still passes on. A throwing `onError` is ignored. */
  readonly onError?: ((error: unknown, payload: Payload) => void) | undefined
  /** Where failed writes are logged; default {@link consoleLogger}. */
  readonly logger?: Logger | undefined
}

/**
 * Writes each payload to a context store and passes it on once written:
 * actions batches to `add`, summaries to `onSummary(session_id, summary,
 * forwarded_at)` (a `forwarded_at` of 0, the codec's value when it was
 * absent, is passed as no time). With a store whose writes are promises
 * (Redis), each write is awaited before the next starts, so the store sees
 * the stream's order. A failed write is logged and given to `onError`; it
 * never errors the stream.
 *
 * @param store - a {@link ContextStore}, a `RedisContextStore`, or any {@link ContextWriter}
 * @param options - what to do with failed writes
 * @returns an operator that emits each payload after it is written
 * @example
 * ```ts
 * import { ContextStore, intoContext } from 'autoplay-rx'
 *
 * const store = new ContextStore()
 * receiver.payloads$.pipe(intoContext(store)).subscribe()                                   // webhooks
 * connectorStream({ url, headers }).pipe(intoContext(store)).subscribe()                   // SSE
 * // a Redis worker: write, then acknowledge (see writeToContext)
 * ```
 */
export function intoContext<P extends Payload>(store: ContextWriter, options: IntoContextOptions = {}): MonoTypeOperatorFunction<P> {
  const logger = options.logger ?? consoleLogger
  const failed = (error: unknown, payload: P): P => {
    const session = payload.session_id ?? UNKNOWN_SESSION
    log(logger, 'error', `context store write failed for session ${session}: ${errorText(error)}`,
      { session_id: payload.session_id, type: payload.type })
    try {
      options.onError?.(error, payload)
    } catch {
      // A broken error handler must not stop the stream.
    }
    return payload
  }
  // concatMap would do, but costs an inner subscription per payload; a sync store needs none.
  return (source) => new Observable<P>((subscriber) => {
    const queue: P[] = []
    let busy = false
    let ended = false
    const write = (payload: P): void => {
      let written: unknown
      try {
        written = writeToContext(store, payload)
      } catch (error) {
        subscriber.next(failed(error, payload))
        return
      }
      if (!isThenable(written)) return subscriber.next(payload)
      busy = true
      const next = (done: P) => {
        busy = false
        subscriber.next(done)
        drain()
      }
      written.then(() => next(payload), (error: unknown) => next(failed(error, payload)))
    }
    const drain = () => {
      while (!busy && queue.length > 0) write(queue.shift()!)
      if (ended && !busy) subscriber.complete()
    }
    return source.subscribe({
      next: (payload) => {
        if (busy) queue.push(payload)
        else write(payload)
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => {
        ended = true
        drain()
      },
    })
  })
}

/**
 * Writes one payload to a context store: an actions batch to `add`, a
 * summary to `onSummary` with its `forwarded_at` as its time (0: none).
 *
 * @param store - any {@link ContextWriter}
 * @param payload - a decoded payload
 * @returns what the store returned (a promise for an async store)
 * @example
 * ```ts
 * fromRedisStream(redis, opts).pipe(mergeMap(async (d) => { await writeToContext(store, d.payload); await d.ack() }, 8))
 * ```
 */
function writeToContext(store: ContextWriter, payload: Payload): void | boolean | PromiseLike<unknown> {
  return payload.type === 'actions'
    ? store.add(payload)
    : store.onSummary(payload.session_id, payload.summary, payload.forwarded_at === 0 ? undefined : payload.forwarded_at)
}
