/**
 * What a `connectorStream` subscription tells its logger when nobody observes its events, so that
 * a dead URL is not retried in silence.
 */
import { log, type Logger } from '../logger.js'
import type { ConnectorStreamEvent, DisconnectReason } from './lifecycle.js'

/** At most one failure line per subscription per this many ms: an outage must not flood the log. */
export const FAILURE_LOG_INTERVAL_MS = 30_000

/**
 * A lifecycle observer that logs the first failure at once (warn), then at most one line per
 * {@link FAILURE_LOG_INTERVAL_MS} counting the failures it stands for, and the connect after a logged
 * failure once (info), and a fatal status at once (error). `now` is the clock in ms; the url carries no
 * credentials (the options refuse them).
 */
export function logLifecycle(logger: Logger, url: string, now: () => number = Date.now):
  (event: ConnectorStreamEvent) => void {
  let reason: DisconnectReason | null = null
  let lastLineAt: number | null = null
  let unlogged = 0
  let failureLogged = false
  return (event) => {
    switch (event._tag) {
      case 'Disconnected':
        reason = event.reason
        // A fatal status ends the stream: said at once, its message holding what to check and the body.
        if (reason._tag === 'HttpStatus' && reason.fatal) {
          log(logger, 'error', `SSE stream ${url}: ${reason.message}`, { url, status: reason.status })
        }
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
        const { retry, delayMs } = event
        const why = reason?.message ?? 'disconnected'
        log(logger, 'warn', `SSE stream ${url}: ${why}; retry ${retry} in ${delayMs} ms${since}`,
          { url, retry, delayMs, reason: reason?._tag })
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
