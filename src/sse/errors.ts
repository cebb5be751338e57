/**
 * The two ways a `connectorStream` subscription ends in an error
 * notification. Both are `Error`s (for stack traces and `instanceof`) that
 * also carry a `_tag` to switch on and the data needed to act.
 */
import type { DisconnectReason } from './lifecycle.js'

/**
 * Base of the errors a `connectorStream` Observable can error with.
 *
 * @example
 * ```ts
 * connectorStream({ url, token }).subscribe({
 *   error: (e) => {
 *     if (!(e instanceof ConnectorStreamError)) throw e
 *     const failure = e as ConnectorStreamFailure
 *     switch (failure._tag) {
 *       case 'FatalStatus': return alert(`check the token: HTTP ${failure.status}`)
 *       case 'RetriesExhausted': return alert(`gave up: ${failure.lastReason.message}`)
 *     }
 *   },
 * })
 * ```
 */
export abstract class ConnectorStreamError extends Error {
  /** Which subclass this is, to switch on (see {@link ConnectorStreamFailure}). */
  abstract readonly _tag: 'FatalStatus' | 'RetriesExhausted'
  /** The stream URL (the token is never part of it). */
  readonly url: string
  constructor(message: string, url: string) {
    super(message)
    this.url = url
  }
}

/**
 * The server answered 401, 403 or 404: a wrong token, a revoked product or a
 * wrong URL, which no retry can fix.
 *
 * @example
 * ```ts
 * connectorStream({ url, token }).pipe(
 *   catchError((e) => (e instanceof FatalStatusError && e.status === 401 ? refreshTokenAndRetry() : throwError(() => e))),
 * )
 * ```
 */
export class FatalStatusError extends ConnectorStreamError {
  /** `'FatalStatusError'`, as in stack traces and logs. */
  override readonly name = 'FatalStatusError'
  /** `'FatalStatus'`, to switch on. */
  readonly _tag = 'FatalStatus' as const
  /**
   * @param status - the HTTP status
   * @param retry - the retry that got it: 0 for the first connection
   */
  constructor(readonly status: number, readonly retry: number, url: string) {
    super(`SSE stream ${url} refused with HTTP ${status}; not retried`, url)
  }
}

/**
 * `maxRetries` reconnections in a row failed: none gave a stable connection (one that delivered a payload or stayed up `resetBackoffAfterMs`).
 *
 * @example
 * ```ts
 * connectorStream({ url, token, maxRetries: 5 }).subscribe({
 *   error: (e) => { if (e instanceof RetriesExhaustedError) console.error(e.retries, e.lastReason.message) },
 * })
 * ```
 */
export class RetriesExhaustedError extends ConnectorStreamError {
  /** `'RetriesExhaustedError'`, as in stack traces and logs. */
  override readonly name = 'RetriesExhaustedError'
  /** `'RetriesExhausted'`, to switch on. */
  readonly _tag = 'RetriesExhausted' as const
  /**
   * @param retries - the reconnections made since the last stable connection (`maxRetries`)
   * @param lastReason - why the last attempt ended
   */
  constructor(readonly retries: number, readonly lastReason: DisconnectReason, url: string) {
    super(`SSE stream ${url}: gave up after ${retries} ${retries === 1 ? 'retry' : 'retries'}; last: ${lastReason.message}`, url)
  }
}

/**
 * The errors a `connectorStream` Observable can error with, as a union to switch on `_tag`.
 *
 * @example
 * ```ts
 * const advice = (e: ConnectorStreamFailure) =>
 *   e._tag === 'FatalStatus' ? `HTTP ${e.status}: check the token and the product id` : `unreachable: ${e.lastReason.message}`
 * ```
 */
export type ConnectorStreamFailure = FatalStatusError | RetriesExhaustedError
