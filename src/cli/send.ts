/**
 * `autoplay-rx send`: the connector's sending side. Signs each body, POSTs it with the connector's headers,
 * retries as the connector does (5xx, timeouts and network errors with the one backoff; 4xx never) and
 * prints one line per delivery; `--dry-run` prints the curl command of each instead.
 */
import { Agent, request } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { backoffDelay } from '../backoff.js'
import { sign } from '../signature.js'
import { generateEvents, type GenerateOptions } from './generate.js'
import { readInput, writeLine } from './io.js'

export interface Delivery {
  readonly body: Uint8Array
  /** Sent instead of the body's signature: a forged delivery, for tests and the demo. */
  readonly signature?: string | undefined
}

/** What became of a delivery: the last status (0: no answer), why unless a 2xx, and the retries before it. */
export interface Outcome {
  readonly status: number
  /** The receiver's error `code`, or the network error's (`ECONNREFUSED`, `ETIMEDOUT`, …). */
  readonly code: string | null
  /** The receiver's error `message` (or the first line of a body that is not JSON), or the network error's. */
  readonly message: string | null
  readonly retries: number
}

export interface SendOptions {
  readonly url: string
  readonly secret: string
  readonly deliveries: ReadonlyArray<Delivery>
  /** Requests in flight at once; default 8. */
  readonly concurrency?: number | undefined
  /** Retries after a 5xx, a timeout or a network error; default 5. */
  readonly retries?: number | undefined
  /** First backoff, doubling, plus 0–10 % jitter: 2000 ms (the connector's), at most `maxBackoffMs` (60000). */
  readonly backoffMs?: number | undefined
  readonly maxBackoffMs?: number | undefined
  /** The jitter's source, in [0, 1); default `Math.random`. */
  readonly random?: (() => number) | undefined
  /** Waits between attempts; default a timer. Specs pass one that records the schedule. */
  readonly sleep?: ((ms: number) => Promise<void>) | undefined
  /** Per-request timeout; default 10000 ms. */
  readonly timeoutMs?: number | undefined
  /** Called as each delivery is settled, with its index in `deliveries`. */
  readonly onOutcome?: ((outcome: Outcome, index: number) => void) | undefined
}

/** The totals of a send; `statuses` in input order (0: no answer), `failed` the deliveries never answered. */
export interface SendReport {
  sent: number
  accepted: number
  readonly rejectedByStatus: Record<number, number>
  retried: number
  failed: number
  readonly statuses: number[]
}

const accepted = (status: number) => status >= 200 && status < 300
const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Sends `deliveries` to `url` as the connector would, `concurrency` at a time; resolves with the totals
 * once every delivery is settled (never rejects for an HTTP outcome).
 *
 * @example
 * ```ts
 * const report = await sendDeliveries({ url: 'http://127.0.0.1:8787/events', secret, deliveries: [{ body }] })
 * report.accepted // 1
 * ```
 */
export async function sendDeliveries(options: SendOptions): Promise<SendReport> {
  const url = new URL(options.url)
  const { deliveries, secret, retries = 5, timeoutMs = 10_000, sleep = sleepFor } = options
  const concurrency = Math.max(1, options.concurrency ?? 8)
  const policy = { initialMs: options.backoffMs ?? 2000, maxMs: options.maxBackoffMs ?? 60_000 }
  const agent = new (url.protocol === 'https:' ? HttpsAgent : Agent)({ keepAlive: true, maxSockets: concurrency })
  const statuses = Array<number>(deliveries.length).fill(0)
  const report: SendReport = { sent: 0, accepted: 0, rejectedByStatus: {}, retried: 0, failed: 0, statuses }
  const one = async (index: number) => {
    const { body, signature = sign(body, secret) } = deliveries[index]!
    let outcome = await postDelivery(url, agent, body, signature, secret, timeoutMs)
    while ((outcome.status === 0 || outcome.status >= 500) && outcome.retries < retries) {
      const tries = outcome.retries + 1
      await sleep(backoffDelay(tries, policy, options.random))
      outcome = { ...await postDelivery(url, agent, body, signature, secret, timeoutMs), retries: tries }
    }
    const { status } = outcome
    report.sent++
    report.retried += outcome.retries
    statuses[index] = status
    if (accepted(status)) report.accepted++
    else if (status === 0) report.failed++
    else report.rejectedByStatus[status] = (report.rejectedByStatus[status] ?? 0) + 1
    options.onOutcome?.(outcome, index)
  }
  let next = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, deliveries.length) }, async () => {
    while (next < deliveries.length) await one(next++)
  }))
  agent.destroy()
  return report
}

/** Enough of an error body to show its reason. */
const REASON_BYTES = 4096

/** One POST as the connector sends it (its headers, the exact bytes); never rejects. */
export function postDelivery(
  url: URL, agent: Agent, body: Uint8Array, signature: string, secret: string, timeoutMs: number,
): Promise<Outcome> {
  const answered = { code: null, message: null, retries: 0 }
  return new Promise<Outcome>((resolve) => {
    const headers = { ...connectorHeaders(signature, secret), 'content-length': body.byteLength }
    const req = (url.protocol === 'https:' ? httpsRequest : request)(url, { method: 'POST', agent, headers }, (res) => {
      const status = res.statusCode ?? 0
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        if (accepted(status) || size >= REASON_BYTES) return
        chunks.push(chunk)
        size += chunk.length
      })
      res.on('end', () => resolve(accepted(status) ? { status, ...answered } : refusal(status, chunks)))
      res.on('error', (error) => resolve(failure(error)))
    })
    const timedOut = () => Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })
    req.setTimeout(timeoutMs, () => req.destroy(timedOut()))
    req.on('error', (error) => resolve(failure(error)))
    req.end(body)
  })
}

const connectorHeaders = (signature: string, secret: string) =>
  ({ 'content-type': 'application/json', 'x-connector-signature': signature, authorization: `Bearer ${secret}` })

/** A refusal's reason: `code` and `message` of a JSON error body, else its first line. */
function refusal(status: number, chunks: Buffer[]): Outcome {
  const text = Buffer.concat(chunks).subarray(0, REASON_BYTES).toString('utf8')
  let json: { code?: unknown; message?: unknown } = {}
  try {
    json = JSON.parse(text) ?? {}
  } catch {
    // Not JSON: a proxy's or a framework's own page; its first line is the best reason there is.
  }
  const { code, message } = json
  if (typeof code !== 'string') return { status, code: null, message: oneLine(text), retries: 0 }
  const said = typeof message === 'string' && message !== code ? oneLine(message) : null
  return { status, code, message: said, retries: 0 }
}

/** A network error's reason; Node's AggregateError (every address of a host refused) has an empty message. */
function failure(error: Error & { code?: string; errors?: Error[] }): Outcome {
  const message = error.message || (error.errors ?? []).map((e) => e.message).join('; ')
  return { status: 0, code: error.code ?? null, message: oneLine(message), retries: 0 }
}

function oneLine(text: string): string | null {
  const line = text.trim().split('\n', 1)[0]!.trim()
  return line.length > 300 ? `${line.slice(0, 300)}…` : line || null
}

/** `autoplay-rx send`: files (each sent `times` times) or generated events; `quiet`: only what was not accepted. */
export interface SendCommand extends Omit<SendOptions, 'deliveries'> {
  readonly events: { readonly files: ReadonlyArray<string>; readonly times: number } | GenerateOptions
  readonly quiet: boolean
  readonly dryRun: boolean
}

/** Runs `autoplay-rx send`; resolves with the exit code: 0 when every delivery was accepted, else 1. */
export async function sendCommand(options: SendCommand): Promise<number> {
  const { url, secret, events } = options
  const files = 'files' in events ? events.files.map((label) => ({ body: readInput(label), label })) : []
  const bodies = 'files' in events
    ? Array.from({ length: events.times }, () => files).flat()
    : generateEvents(events).map((text, i) => ({ body: Buffer.from(text), label: `event ${i + 1}` }))
  if (options.dryRun) {
    const fromFiles = 'files' in events
    for (const { body, label } of bodies) {
      writeLine(`# ${label}\n${curlCommand(url, secret, body, fromFiles ? label : undefined)}`)
    }
    return 0
  }
  const report = await sendDeliveries({
    ...options, deliveries: bodies,
    onOutcome: (outcome, i) => {
      if (!options.quiet || !accepted(outcome.status)) writeLine(outcomeLine(bodies[i]!.label, outcome, url))
    },
  })
  if (bodies.length > 1) writeLine(summaryOf(report))
  return report.accepted === bodies.length ? 0 : 1
}

/** `sent 3, accepted 1, rejected 401×2, retried 0, failed 0`. */
export function summaryOf(report: SendReport): string {
  const rejected = Object.entries(report.rejectedByStatus).map(([status, n]) => `${status}×${n}`).join(' ') || 'none'
  const { sent, accepted, retried, failed } = report
  return `sent ${sent}, accepted ${accepted}, rejected ${rejected}, retried ${retried}, failed ${failed}`
}

/** One delivery's outcome in one line: the verdict, the reason, and what to check when there is a usual cause. */
export function outcomeLine(label: string, { status, code, message, retries }: Outcome, url: string): string {
  const after = retries === 0 ? '' : ` after ${retries} ${retries === 1 ? 'retry' : 'retries'}`
  const verdict = status === 0 ? `failed${after}` : `${accepted(status) ? 'accepted' : 'refused'} ${status}${after}`
  const reason = [code, message].filter((part) => part !== null).join(': ')
  const fix = fixOf(status, code, url)
  return `${label}: ${verdict}${reason ? `, ${reason}` : ''}${fix ? ` — ${fix}` : ''}`
}

function fixOf(status: number, code: string | null, url: string): string | undefined {
  if (code === 'invalid_signature' || (status === 401 && !code)) return 'does --secret match the receiver\'s secret?'
  if (status === 404) return 'is the path in --url the receiver\'s route?'
  if (code === 'body_too_large') return 'the receiver\'s body limit is lower (listen --max-body-bytes raises it)'
  if (code === 'ECONNREFUSED') return `is the receiver running at ${url}?`
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'is the host name in --url right?'
  if (code === 'ETIMEDOUT') return 'is the receiver stuck, or should --timeout be longer?'
  return undefined
}

const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`

/**
 * The curl command that sends `body` signed as the connector would: the body inline as UTF-8 text, or, where
 * text cannot carry its exact bytes (not UTF-8, a NUL), read from its `file` by curl.
 */
export function curlCommand(url: string, secret: string, body: Uint8Array, file?: string): string {
  // The receiver verifies the signature only: printed commands (often saved to a file) leave the secret out.
  const { authorization: _, ...sent } = connectorHeaders(sign(body, secret), secret)
  const headers = Object.entries(sent)
  const flags = headers.map(([name, value]) => `-H ${quote(`${name}: ${value}`)} `).join('')
  const text = Buffer.from(body).toString('utf8')
  const exact = !text.includes('\0') && Buffer.from(text, 'utf8').equals(body)
  if (!exact && (file === undefined || file === '-')) return '# not UTF-8 text, which no command line carries: use send'
  return `curl -sS ${quote(url)} ${flags}--data-binary ${quote(exact ? text : `@${file}`)}`
}
