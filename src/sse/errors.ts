/**
 * The two ways a `connectorStream` subscription ends in an error: `Error`s carrying a `_tag` and the data
 * to act on, told apart with {@link isConnectorStreamFailure} and `_tag`, or the main entry's `match`.
 */
import { fatalAdvice, type DisconnectReason } from './lifecycle.js'

export abstract class ConnectorStreamError extends Error {
  abstract readonly _tag: 'FatalStatus' | 'RetriesExhausted'
  constructor(message: string, readonly url: string) {
    super(message)
  }
}

/**
 * 401, 403 or 404 (a wrong token or URL, a revoked product): no retry can fix it. `retry` 0: the first try.
 * `body` is the first KiB of the server's answer ('' if none), the message says it and what to check.
 */
export class FatalStatusError extends ConnectorStreamError {
  override readonly name = 'FatalStatusError'
  readonly _tag = 'FatalStatus' as const
  constructor(readonly status: number, readonly retry: number, url: string, readonly body = '') {
    super(`SSE stream ${url} refused with HTTP ${status}; not retried: ${fatalAdvice(status, body)}`, url)
  }
}

/** `maxRetries` reconnections in a row gave no stable connection; `lastReason` says why the last ended. */
export class RetriesExhaustedError extends ConnectorStreamError {
  override readonly name = 'RetriesExhaustedError'
  readonly _tag = 'RetriesExhausted' as const
  constructor(readonly retries: number, readonly lastReason: DisconnectReason, url: string) {
    const what = `${retries} ${retries === 1 ? 'retry' : 'retries'}`
    super(`SSE stream ${url}: gave up after ${what}; last: ${lastReason.message}`, url)
  }
}

/**
 * What a `connectorStream` Observable errors with, to switch on `_tag`: `FatalStatus` (`status`, `retry`, `body`)
 * or `RetriesExhausted` (`retries`, `lastReason`), both with the stream's `url` and a `message`.
 */
export type ConnectorStreamFailure = FatalStatusError | RetriesExhaustedError

/**
 * Whether an error notification of a `connectorStream` Observable is one of its own failures (and not an
 * error of an operator downstream), narrowing `unknown` with no cast. Never throws.
 *
 * @example
 * ```ts
 * connectorStream({ url, token, maxRetries: 10 }).subscribe({ error: (e: unknown) => {
 *   if (!isConnectorStreamFailure(e)) throw e
 *   console.error(e._tag === 'FatalStatus' ? `check the token: HTTP ${e.status}` : e.lastReason.message)
 * } })
 * ```
 */
export function isConnectorStreamFailure(error: unknown): error is ConnectorStreamFailure {
  // By shape, not `instanceof`: the package's ESM and CommonJS builds each define these classes,
  // and an error made by one copy must still be recognised by the other.
  if (typeof error !== 'object' || error === null) return false
  try {
    const e = error as Partial<Record<
      '_tag' | 'name' | 'message' | 'url' | 'status' | 'retry' | 'body' | 'retries' | 'lastReason', unknown>>
    if (typeof e.url !== 'string' || typeof e.message !== 'string') return false
    if (e._tag === 'FatalStatus') {
      return e.name === 'FatalStatusError' && typeof e.status === 'number' && typeof e.retry === 'number' &&
        typeof e.body === 'string'
    }
    return e._tag === 'RetriesExhausted' && e.name === 'RetriesExhaustedError' && typeof e.retries === 'number' &&
      typeof e.lastReason === 'object' && e.lastReason !== null
  } catch {
    return false // a getter or Proxy trap that throws: not one of ours
  }
}
