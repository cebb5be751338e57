/**
 * Plays the connector's sending side: signs bodies, POSTs them with the
 * connector's headers, and retries as it does (5xx and timeouts with
 * exponential backoff, 4xx never), keeping the figures a user wants to see.
 */
import { Agent, request } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { sign } from '../signature.js'

/** One delivery to send. */
export interface Delivery {
  readonly body: Uint8Array
  /** Send this signature instead of signing with the secret (a forged delivery, for tests). */
  readonly signature?: string
}

/** Options of {@link sendDeliveries}. */
export interface SendOptions {
  readonly url: string
  readonly secret: string
  readonly deliveries: ReadonlyArray<Delivery>
  /** Requests in flight at once; default 8. */
  readonly concurrency?: number
  /** Retries after a 5xx, a timeout or a network error; default 5. 4xx are never retried. */
  readonly retries?: number
  /** First backoff, doubling on each retry; default 2000 ms (the connector's ~2 s, ~4 s, …). */
  readonly backoffMs?: number
  /** Longest backoff; default 60000 ms. */
  readonly maxBackoffMs?: number
  /** Per-request timeout; default 10000 ms. */
  readonly timeoutMs?: number
  /** Called after each delivery is settled. */
  readonly onProgress?: (report: SendReport) => void
}

/** What happened to each delivery, and the totals. */
export interface SendReport {
  /** Deliveries settled so far. */
  sent: number
  /** Answered 2xx in the end. */
  accepted: number
  /** Final non-2xx answers, by status. */
  rejectedByStatus: Record<number, number>
  /** Attempts that were retries. */
  retried: number
  /** Deliveries given up after the last retry on a timeout or network error. */
  failed: number
  /** Final status of each delivery, in input order (0 for a network failure). */
  readonly statuses: number[]
  /** Milliseconds of every attempt that got an answer. */
  readonly latencies: number[]
  durationMs: number
}

/** The p-th percentile (0–100) of `values`, nearest rank; NaN when empty. */
export function percentile(values: ReadonlyArray<number>, p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

/**
 * Sends `deliveries` to `url` as the connector would.
 *
 * @returns the report once every delivery is settled (it never rejects for HTTP outcomes)
 * @example
 * ```ts
 * const report = await sendDeliveries({ url: 'http://127.0.0.1:8787/events', secret, deliveries: [{ body }] })
 * report.accepted // 1
 * ```
 */
export async function sendDeliveries(options: SendOptions): Promise<SendReport> {
  const url = new URL(options.url)
  const https = url.protocol === 'https:'
  const concurrency = Math.max(1, options.concurrency ?? 8)
  const agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: concurrency }) : new Agent({ keepAlive: true, maxSockets: concurrency })
  const retries = options.retries ?? 5
  const backoffMs = options.backoffMs ?? 2000
  const maxBackoffMs = options.maxBackoffMs ?? 60_000
  const timeoutMs = options.timeoutMs ?? 10_000
  const report: SendReport = {
    sent: 0, accepted: 0, rejectedByStatus: {}, retried: 0, failed: 0,
    statuses: new Array(options.deliveries.length).fill(0), latencies: [], durationMs: 0,
  }
  const started = performance.now()
  let next = 0

  const one = async (index: number) => {
    const delivery = options.deliveries[index]!
    const signature = delivery.signature ?? sign(delivery.body, options.secret)
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        report.retried++
        await new Promise((r) => setTimeout(r, Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1))))
      }
      const t0 = performance.now()
      const status = await postDelivery(url, agent, delivery.body, signature, options.secret, timeoutMs)
      if (status > 0) report.latencies.push(performance.now() - t0)
      const retryable = status === 0 || status >= 500
      if (retryable && attempt < retries) continue
      report.statuses[index] = status
      if (status >= 200 && status < 300) report.accepted++
      else if (status === 0) report.failed++
      else report.rejectedByStatus[status] = (report.rejectedByStatus[status] ?? 0) + 1
      report.sent++
      report.durationMs = performance.now() - started
      options.onProgress?.(report)
      return
    }
  }
  const workers = Array.from({ length: Math.min(concurrency, options.deliveries.length) }, async () => {
    while (next < options.deliveries.length) await one(next++)
  })
  await Promise.all(workers)
  agent.destroy()
  report.durationMs = performance.now() - started
  return report
}

/**
 * One delivery POSTed as the connector sends it (its headers, the exact
 * bytes): resolves with the status, or 0 on a timeout or network error.
 */
export function postDelivery(url: URL, agent: Agent, body: Uint8Array, signature: string, secret: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const req = (url.protocol === 'https:' ? httpsRequest : request)(url, {
      method: 'POST', agent,
      headers: {
        'content-type': 'application/json',
        'content-length': body.byteLength,
        'x-connector-signature': signature,
        authorization: `Bearer ${secret}`,
        'user-agent': 'autoplay-rx-cli',
      },
    }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', () => resolve(0))
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')))
    req.on('error', () => resolve(0))
    req.end(body)
  })
}
