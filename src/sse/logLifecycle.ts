/**
 * What a `connectorStream` subscription tells its logger when nobody
 * observes its events: in 0.1 a dead URL was retried for ever in silence.
 */
import { log, type Logger } from '../logger.js'
import type { ConnectorStreamEvent, DisconnectReason } from './lifecycle.js'

/** At most one failure line per subscription per this many ms: an outage or a storm must not flood the log. */
export const FAILURE_LOG_INTERVAL_MS = 30_000

/**
 * A lifecycle observer that logs failures and recoveries. The first failure
 * is logged at once (warn), then at most one line per
 * {@link FAILURE_LOG_INTERVAL_MS} saying how many failures it stands for;
 * the connect that follows a logged failure is logged once (info).
 *
 * @param logger - the stream's logger
 * @param url - the stream URL (it carries no credentials: the options refuse them)
 * @param now - the clock, in ms; `Date.now` in production
 * @returns a function to subscribe to the lifecycle
 *
 * @example
 * ```ts
 * connectorStream({ url, token, events: logLifecycle(consoleLogger, url) }) // what it does when no events observer is given
 * // [autoplay-rx] SSE stream https://…/stream/prod_abc: Network error: fetch failed (connect ECONNREFUSED …); retry 1 in 1000 ms …
 * ```
 */
export function logLifecycle(logger: Logger, url: string, now: () => number = Date.now): (event: ConnectorStreamEvent) => void {
  let reason: DisconnectReason | null = null
  let lastLineAt: number | null = null
  let unlogged = 0
  let failureLogged = false
  return (event) => {
    switch (event._tag) {
      case 'Disconnected':
        reason = event.reason
        return
      case 'Retrying': {
        const at = now()
        if (lastLineAt !== null && at - lastLineAt < FAILURE_LOG_INTERVAL_MS) {
          unlogged++
          return
        }
        const since = lastLineAt === null
          ? ' (pass an events observer to see every attempt, maxRetries to give up;' +
            ` further failures are logged at most every ${FAILURE_LOG_INTERVAL_MS / 1000} s)`
          : unlogged > 0 ? ` (${unlogged} more ${plural(unlogged, 'failure')} since the last report)` : ''
        log(logger, 'warn', `SSE stream ${url}: ${reason?.message ?? 'disconnected'}; retry ${event.retry} in ${event.delayMs} ms${since}`,
          { url, retry: event.retry, delayMs: event.delayMs, reason: reason?._tag })
        lastLineAt = at
        unlogged = 0
        failureLogged = true
        return
      }
      case 'Connected':
        if (!failureLogged || event.retry === 0) return
        failureLogged = false
        log(logger, 'info', `SSE stream ${url} connected again at retry ${event.retry}`,
          { url, retry: event.retry })
        return
      case 'Connecting':
      case 'FrameRejected':
        return
    }
  }
}

const plural = (n: number, word: string): string => (n === 1 ? word : `${word}s`)
