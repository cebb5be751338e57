/**
 * `autoplay-rx send`: plays the connector's sending side. Signs bodies, POSTs
 * them with the connector's headers, and retries as it does (5xx and
 * timeouts with exponential backoff, 4xx never), keeping the figures a user
 * wants to see, then prints them with what to check for each problem.
 */
import { Agent, request } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { sign } from '../signature.js'
import { backoffDelay } from '../backoff.js'
import { generateEvents, type GenerateOptions } from './generate.js'
import { readInput, writeLine } from './io.js'

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
  /**
   * First backoff, doubling on each retry, plus 0–10 % jitter; default 2000 ms
   * (the connector's ~2 s, ~4 s, …). The delays are the library's one backoff,
   * `backoffDelay`, with a floor of 1 ms, so that `0` still spaces retries.
   */
  readonly backoffMs?: number
  /** Longest backoff, before jitter; default 60000 ms. */
  readonly maxBackoffMs?: number
  /** The jitter's source, a number in [0, 1); default `Math.random`. */
  readonly random?: () => number
  /** Waits between attempts; default a timer. Tests pass one that records the schedule. */
  readonly sleep?: (ms: number) => Promise<void>
  /** Per-request timeout; default 10000 ms. */
  readonly timeoutMs?: number
  /** Called after each delivery is settled. */
  readonly onProgress?: (report: SendReport) => void
}

/**
 * Why a delivery ended without a 2xx: the final status (0 when no answer
 * came), with the `code` and `message` of the receiver's JSON error body,
 * or the start of a body that is not JSON, or the network error.
 *
 * @example
 * ```ts
 * { status: 401, code: 'invalid_signature', message: 'Invalid X-Connector-Signature: the signature does not match the body', count: 3 }
 * { status: 0, code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:8787', count: 1 }
 * ```
 */
export interface Problem {
  readonly status: number
  /** The error body's `code`, or a network error's code (`ECONNREFUSED`, `ETIMEDOUT`, …). */
  readonly code: string | null
  /** The error body's `message` (or its first line), or the network error's message. */
  readonly message: string | null
  /** Deliveries that ended this way. */
  count: number
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
  /** Each distinct refusal or failure once, in the order first met, with how many deliveries ended so. */
  readonly problems: Problem[]
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

/** The floor under every retry delay: without it, `backoffMs: 0` would retry in a hot loop. */
const MIN_BACKOFF_MS = 1

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
  const random = options.random ?? Math.random
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  const timeoutMs = options.timeoutMs ?? 10_000
  const report: SendReport = {
    sent: 0, accepted: 0, rejectedByStatus: {}, retried: 0, failed: 0, problems: [],
    statuses: new Array(options.deliveries.length).fill(0), latencies: [], durationMs: 0,
  }
  const started = performance.now()
  let next = 0
  const problems = new Map<string, Problem>()
  const noteProblem = ({ status, code, message }: Attempt) => {
    const key = JSON.stringify([status, code, message])
    const known = problems.get(key)
    if (known) {
      known.count++
      return
    }
    const problem: Problem = { status, code, message, count: 1 }
    problems.set(key, problem)
    report.problems.push(problem)
  }

  const one = async (index: number) => {
    const delivery = options.deliveries[index]!
    const signature = delivery.signature ?? sign(delivery.body, options.secret)
    for (let tries = 0; ; tries++) {
      if (tries > 0) {
        report.retried++
        await sleep(backoffDelay(tries, { initialMs: backoffMs, minMs: MIN_BACKOFF_MS, maxMs: maxBackoffMs }, random))
      }
      const t0 = performance.now()
      const attempt = await attemptDelivery(url, agent, delivery.body, signature, options.secret, timeoutMs)
      const { status } = attempt
      if (status > 0) report.latencies.push(performance.now() - t0)
      const retryable = status === 0 || status >= 500
      if (retryable && tries < retries) continue
      report.statuses[index] = status
      if (status >= 200 && status < 300) report.accepted++
      else {
        if (status === 0) report.failed++
        else report.rejectedByStatus[status] = (report.rejectedByStatus[status] ?? 0) + 1
        noteProblem(attempt)
      }
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
 * What one POST came to: a {@link Problem} without its count (`code` and
 * `message` are null on a 2xx).
 *
 * @example
 * ```ts
 * { status: 200, code: null, message: null }
 * ```
 */
export type Attempt = Omit<Problem, 'count'>

/** Enough of an error body to show its reason; the rest is not read. */
const REASON_BYTES = 4096

/**
 * One delivery POSTed as the connector sends it (its headers, the exact
 * bytes): resolves with the status, or 0 on a timeout or network error.
 * See {@link attemptDelivery} for why it was not accepted. Never rejects.
 *
 * @returns the final HTTP status, or 0
 * @example
 * ```ts
 * await postDelivery(new URL('http://127.0.0.1:8787/events'), new Agent({ keepAlive: true }), body, sign(body, secret), secret, 10_000) // 200
 * ```
 */
export function postDelivery(url: URL, agent: Agent, body: Uint8Array, signature: string, secret: string, timeoutMs: number): Promise<number> {
  return attemptDelivery(url, agent, body, signature, secret, timeoutMs).then((attempt) => attempt.status)
}

/**
 * Like {@link postDelivery}, and says why a delivery was not accepted: the
 * `code` and `message` of the receiver's JSON error body (the first line of
 * any other body), or the network error. Never rejects.
 *
 * @param url - the receiver's endpoint
 * @param agent - the keep-alive agent that holds the connections
 * @param body - the exact bytes to send
 * @param signature - the `X-Connector-Signature` value
 * @param secret - sent as `Authorization: Bearer`, as the connector does
 * @param timeoutMs - how long to wait for the answer
 * @returns the status (0 when no answer came) and, when it is not a 2xx, the reason
 * @example
 * ```ts
 * const { status, code, message } = await attemptDelivery(new URL(url), new Agent(), body, sign(body, secret), secret, 10_000)
 * // 401 'invalid_signature' 'Invalid X-Connector-Signature: the signature does not match the body'
 * ```
 */
export function attemptDelivery(url: URL, agent: Agent, body: Uint8Array, signature: string, secret: string, timeoutMs: number): Promise<Attempt> {
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
      const status = res.statusCode ?? 0
      const accepted = status >= 200 && status < 300
      const chunks: Buffer[] = []
      let size = 0
      // An accepted delivery's body says nothing we need: only a refusal's is kept, and only its start.
      res.on('data', (chunk: Buffer) => {
        if (accepted || size >= REASON_BYTES) return
        chunks.push(chunk)
        size += chunk.length
      })
      res.on('end', () => resolve(accepted ? { status, code: null, message: null } : refusal(status, Buffer.concat(chunks).subarray(0, REASON_BYTES))))
      res.on('error', (error) => resolve(failure(error)))
    })
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })))
    req.on('error', (error) => resolve(failure(error)))
    req.end(body)
  })
}

/** A refusal's reason: `code` and `message` of a JSON error body, else its first line. */
function refusal(status: number, body: Buffer): Attempt {
  const text = body.toString('utf8')
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed === 'object' && parsed !== null) {
      const { code, message } = parsed as Record<string, unknown>
      if (typeof code === 'string') return { status, code, message: typeof message === 'string' && message !== code ? oneLine(message) : null }
    }
  } catch {
    // Not JSON: a proxy's or a framework's own page; its first line is the best reason there is.
  }
  return { status, code: null, message: oneLine(text) || null }
}

/** A network error's reason. Node's AggregateError (every address of a host refused) has an empty message. */
function failure(error: Error & { code?: string; errors?: Error[] }): Attempt {
  const message = error.message || (error.errors ?? []).map((e) => e.message).join('; ')
  return { status: 0, code: error.code ?? null, message: oneLine(message) || null }
}

function oneLine(text: string): string {
  const line = text.trim().split('\n', 1)[0]!.trim()
  return line.length > 300 ? `${line.slice(0, 300)}…` : line
}

/**
 * What `autoplay-rx send` was asked for, its flags parsed and checked: the
 * files to send (each `times` times), or events to generate.
 *
 * @example
 * ```ts
 * const options: SendCommand = { url: 'http://127.0.0.1:8787/events', secret: 'whsec_…', events: { type: 'actions', count: 10, sessions: 3, seed: 42 }, concurrency: 8, retries: 5, backoffMs: 2000, timeoutMs: 10_000, quiet: false }
 * ```
 */
export interface SendCommand extends Required<Pick<SendOptions, 'concurrency' | 'retries' | 'backoffMs' | 'timeoutMs'>> {
  readonly url: string
  readonly secret: string
  readonly events: { readonly files: ReadonlyArray<string>; readonly times: number } | GenerateOptions
  /** No progress line on stderr. */
  readonly quiet: boolean
}

/**
 * Runs `autoplay-rx send`: a progress line on stderr (rewritten in place on
 * a terminal), then the summary of {@link summaryOf} on stdout.
 *
 * @returns the exit code: 0 when every delivery was accepted, else 1
 * @throws CliError when a file cannot be read
 * @example
 * ```ts
 * const code = await sendCommand({ url, secret, events: { files: ['event.json'], times: 1 }, concurrency: 8, retries: 5, backoffMs: 2000, timeoutMs: 10_000, quiet: true })
 * ```
 */
export async function sendCommand(options: SendCommand): Promise<number> {
  const { url, secret, events, quiet, concurrency, retries, backoffMs, timeoutMs } = options
  let deliveries: Delivery[]
  if ('files' in events) {
    const bodies = events.files.map((file) => readInput(file))
    deliveries = Array.from({ length: events.times }, () => bodies.map((body) => ({ body }))).flat()
  } else {
    deliveries = generateEvents(events).map((text) => ({ body: Buffer.from(text) }))
  }
  const tty = process.stderr.isTTY
  let lastPrint = 0
  const report = await sendDeliveries({
    url, secret, deliveries, concurrency, retries, backoffMs, timeoutMs,
    onProgress: (r) => {
      if (quiet) return
      const now = Date.now()
      if (r.sent < deliveries.length && now - lastPrint < 200) return
      lastPrint = now
      const line = `sent ${r.sent}/${deliveries.length}  accepted ${r.accepted}  retried ${r.retried}`
      process.stderr.write(tty ? `\r${line}` : `${line}\n`)
    },
  })
  if (!quiet && tty) process.stderr.write('\n')
  writeLine(summaryOf(report, (problem) => fixOf(problem, url)))
  return report.accepted === deliveries.length ? 0 : 1
}

/**
 * The final summary of a send: the totals, the latency, then each distinct
 * refusal or failure once, with its count, and what to check when `fix`
 * knows.
 *
 * @param report - what {@link sendDeliveries} resolved with
 * @param fix - what to check for a problem, if anything
 * @returns lines of text, without a final newline
 * @example
 * ```ts
 * summaryOf(report)
 * // sent 3, accepted 0, rejected 401×3, retried 0, failed 0
 * // latency p50 1.1 ms, p99 2.0 ms, in 0.01 s
 * // 401×3 invalid_signature: Invalid X-Connector-Signature: the signature does not match the body
 * ```
 */
export function summaryOf(report: SendReport, fix: (problem: Problem) => string | undefined = () => undefined): string {
  const rejected = Object.entries(report.rejectedByStatus).map(([status, n]) => `${status}×${n}`).join(' ') || 'none'
  const ms = (x: number) => (Number.isNaN(x) ? '-' : `${x.toFixed(1)} ms`)
  return [
    `sent ${report.sent}, accepted ${report.accepted}, rejected ${rejected}, retried ${report.retried}, failed ${report.failed}`,
    `latency p50 ${ms(percentile(report.latencies, 50))}, p99 ${ms(percentile(report.latencies, 99))}, in ${(report.durationMs / 1000).toFixed(2)} s`,
    ...report.problems.map((problem) => {
      const { status, code, message, count } = problem
      const reason = [code, message].filter((part) => part !== null).join(': ')
      const hint = fix(problem)
      return `${status === 0 ? 'failed' : status}×${count}${reason ? ` ${reason}` : ''}${hint ? ` — ${hint}` : ''}`
    }),
  ].join('\n')
}

/** What a user of `send` should check, for the problems that have a usual cause. */
function fixOf({ status, code }: Problem, url: string): string | undefined {
  if (code === 'invalid_signature' || (status === 401 && code === null)) return 'does --secret match the receiver\'s secret?'
  if (status === 404) return 'is the path in --url the receiver\'s route?'
  if (code === 'body_too_large') return 'the receiver\'s body limit is lower (listen --max-body-bytes raises it)'
  if (code === 'ECONNREFUSED') return `is the receiver running at ${url}?`
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'is the host name in --url right?'
  if (code === 'ETIMEDOUT') return 'is the receiver stuck, or should --timeout be longer?'
  return undefined
}
