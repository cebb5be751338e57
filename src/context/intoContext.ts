/** Feeds a payload stream into a context store: one operator for `payloads$`, an SSE stream or a Redis worker. */
import { concatMap, from, of, type MonoTypeOperatorFunction } from 'rxjs'
import type { Payload } from '../codecs.js'
import { consoleLogger, errorText, log, type Logger } from '../logger.js'
import { isThenable } from '../thenable.js'
import type { ContextWriter } from './options.js'
import { UNKNOWN_SESSION } from './text.js'

interface IntoContextOptions {
  /** Called when a write threw or rejected; the payload still passes on. A throwing `onError` is ignored. */
  readonly onError?: ((error: unknown, payload: Payload) => void) | undefined
  /** Where failed writes are logged; default `consoleLogger`. */
  readonly logger?: Logger | undefined
}

/**
 * Writes each payload to a context store (batches to `add`, summaries to `onSummary` with their `forwarded_at`,
 * 0 meaning none) and passes it on once written. An async store's writes are awaited one at a time, so it sees
 * the stream's order; a failed write is logged and given to `onError`, never into the stream.
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
  const failed = (error: unknown, payload: P): P => {
    const session = payload.session_id ?? UNKNOWN_SESSION
    log(logger, 'error', `context store write failed for session ${session}: ${errorText(error)}`,
      { session_id: payload.session_id, type: payload.type })
    try {
      options.onError?.(error, payload)
    } catch {
      // a broken error handler must not stop the stream
    }
    return payload
  }
  return concatMap((payload) => {
    let written: unknown
    try {
      written = writeToContext(store, payload)
    } catch (error) {
      return of(failed(error, payload))
    }
    if (!isThenable(written)) return of(payload)
    return from(written.then(() => payload, (error: unknown) => failed(error, payload)))
  })
}

function writeToContext(store: ContextWriter, payload: Payload): void | boolean | PromiseLike<unknown> {
  return payload.type === 'actions'
    ? store.add(payload)
    // 0 is the codec's value for an absent forwarded_at: no time.
    : store.onSummary(payload.session_id, payload.summary, payload.forwarded_at || undefined)
}
