/**
 * The two ways a `connectorStream` subscription ends in an error
 * notification. Both are `Error`s (for stack traces and `instanceof`) that
 * also carry a `_tag` to switch on and the data needed to act.
 */
import type { DisconnectReason } from './lifecycle.js'
import { matchTag } from '../internal/match.js'

/**
 * Base of the errors a `connectorStream` Observable can error with.
 *
 * @example
 * ```ts
 * connectorStream({ url, token }).subscribe({
 *   error: (e: unknown) => {
 *     if (!isConnectorStreamFailure(e)) throw e // by shape: instanceof misses an error from the other module format
 *     console.error(e.url, e.message)
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
 *   // isConnectorStreamFailure, not instanceof: it also knows an error from the package's other module format
 *   catchError((e) => (isConnectorStreamFailure(e) && e._tag === 'FatalStatus' && e.status === 401 ? refreshTokenAndRetry() : throwError(() => e))),
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
 *   error: (e) => { if (isConnectorStreamFailure(e) && e._tag === 'RetriesExhausted') console.error(e.retries, e.lastReason.message) },
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

/**
 * Whether an error notification of a `connectorStream` Observable is one of
 * its own failures (and not, say, an error of an operator downstream):
 * narrows `unknown` to {@link ConnectorStreamFailure} with no cast.
 *
 * @param error - what the Observable errored with
 * @returns true for a {@link FatalStatusError} or a {@link RetriesExhaustedError}, recognised by
 *   shape (`_tag`, `name` and fields), so that one made by the package's other module format
 *   (ESM or CommonJS) counts too; never throws
 *
 * @example
 * ```ts
 * connectorStream({ url, token }).subscribe({
 *   error: (e: unknown) => {
 *     if (!isConnectorStreamFailure(e)) throw e
 *     if (e._tag === 'FatalStatus') console.error(`check the token: HTTP ${e.status}`)
 *   },
 * })
 * ```
 */
export function isConnectorStreamFailure(error: unknown): error is ConnectorStreamFailure {
  // By shape, not `instanceof`: the package's ESM and CommonJS builds each define these classes,
  // and an error made by one copy must still be recognised by the other.
  if (typeof error !== 'object' || error === null) return false
  try {
    const e = error as Partial<Record<'_tag' | 'name' | 'message' | 'url' | 'status' | 'retry' | 'retries' | 'lastReason', unknown>>
    if (typeof e.url !== 'string' || typeof e.message !== 'string') return false
    if (e._tag === 'FatalStatus') return e.name === 'FatalStatusError' && typeof e.status === 'number' && typeof e.retry === 'number'
    return e._tag === 'RetriesExhausted' && e.name === 'RetriesExhaustedError' && typeof e.retries === 'number' &&
      typeof e.lastReason === 'object' && e.lastReason !== null
  } catch {
    return false // a getter or Proxy trap that throws: not one of ours
  }
}

/**
 * Folds a {@link ConnectorStreamFailure} by its `_tag`: one handler per
 * failure, each given its own type, and the compiler checks that none is missing.
 *
 * @param handlers - one function per `_tag`
 * @returns a function from a failure to what its handler returns
 *
 * @example
 * ```ts
 * const advice = matchConnectorStreamFailure({
 *   FatalStatus: (e) => `HTTP ${e.status}: check the token and the product id`,
 *   RetriesExhausted: (e) => `unreachable after ${e.retries} retries: ${e.lastReason.message}`,
 * })
 * connectorStream({ url, token }).subscribe({ error: (e: unknown) => console.error(isConnectorStreamFailure(e) ? advice(e) : e) })
 * ```
 */
export const matchConnectorStreamFailure: <R>(handlers: {
  readonly FatalStatus: (error: FatalStatusError) => R
  readonly RetriesExhausted: (error: RetriesExhaustedError) => R
}) => (error: ConnectorStreamFailure) => R = matchTag
