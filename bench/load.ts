/**
 * The load generator with accounting: `npm run test:load` (`node --import tsx bench/load.ts [--total N]
 * [--connections C] [--no-dedupe]`), and a small run in spec/reliability/load.spec.ts. It forks
 * spec/helpers/loadServer.ts (createNodeMiddleware + dedupeDeliveries) and sends it signed deliveries over
 * loopback keep-alive connections: 85 % unique, 10 % retried duplicates (the same bytes again), 5 % forged
 * (401) or malformed (400); every delivery is accounted for, and the process exits 1 when one is not.
 */
import { fork } from 'node:child_process'
import { Agent } from 'node:http'
import { arch, cpus, totalmem } from 'node:os'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { seededRandom } from '../src/cli/generate.js'
import { postDelivery } from '../src/cli/send.js'
import { sign } from '../src/signature.js'
import type { ServerReport } from '../spec/helpers/loadServer.js'

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** Deliveries sent, duplicates and bad ones included. Default 100,000. */
  readonly total?: number
  /** Concurrent keep-alive connections. Default 256. */
  readonly connections?: number
  /** The whole run must end within this; past it the run stops and fails. Default 600,000 ms. */
  readonly deadlineMs?: number
  /** Seed of the plan (which deliveries are duplicates, forged, malformed, and in what order). */
  readonly seed?: number
  /**
   * Whether the server deduplicates (default true). `false` is the negative
   * control of the accounting: retries then reach the subscriber twice, and
   * the report must say so.
   */
  readonly dedupe?: boolean
}

/** The four kinds of delivery and what each must get. */
type Kind = 'unique' | 'duplicate' | 'forged' | 'malformed'
const EXPECTED_STATUS: Record<Kind, number> = { unique: 200, duplicate: 200, forged: 401, malformed: 400 }

/** One line of the accounting table. */
export interface AccountingRow {
  readonly kind: Kind
  readonly sent: number
  readonly expectedStatus: number
  /** Answered with the expected status. */
  readonly answeredAsExpected: number
  /** Answered with another status. */
  readonly answeredOtherwise: number
  /** No answer: a network error or a timeout. */
  readonly errored: number
}

export interface LoadReport {
  readonly total: number
  readonly connections: number
  readonly durationMs: number
  readonly throughput: number
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number }
  readonly rows: ReadonlyArray<AccountingRow>
  /** Unique deliveries that reached the subscriber exactly once / never / more than once. */
  readonly reachedOnce: number
  readonly neverReached: number
  readonly reachedTwiceOrMore: number
  /** Times a unique delivery reached the subscriber beyond its first: 0 with dedupe, the retries without. */
  readonly reachedExtra: number
  /** Sessions that reached the subscriber though no valid delivery carried them (forged or malformed ones). */
  readonly reachedUnexpectedly: number
  /** The receiver's own counts, before dedupe. */
  readonly accepted: number
  readonly rejected: ServerReport['rejected']
  readonly serverPeakRssMiB: number
  /** The server's RSS when it started listening: Node, tsx and the library, before any load. */
  readonly serverListeningRssMiB: number
  readonly serverHeapUsedMiB: number
  /** TCP connections the server accepted. */
  readonly serverConnections: number
  /** Every accounting failure, in words; empty when every delivery is accounted for. */
  readonly failures: ReadonlyArray<string>
}

const SECRET = 'whsec_load_5f1c0ffee'
const PRODUCT = 'prod_load'
const utf8 = new TextEncoder()

/**
 * The body of valid delivery `n`: an actions batch (one in ten a summary) of its
 * own session, so that the subscriber's count per session is a count per delivery.
 */
function validBody(n: number): Uint8Array {
  const session = `ls_${n}`
  const forwardedAt = 1_700_000_000 + n / 4
  if (n % 10 === 9) {
    return utf8.encode(JSON.stringify({ type: 'summary', product_id: PRODUCT, session_id: session, summary: `Session ${n}: the user exported a CSV report.`, replaces: 3, forwarded_at: forwardedAt }))
  }
  const actions = [0, 1, 2].map((index) => ({
    index, type: ['pageview', 'click', 'submit'][index], title: `Step ${index}`, description: `User did step ${index} of flow ${n % 97}`,
    canonical_url: 'https://app.example.com/projects/:id', raw_url: `https://app.example.com/projects/${n % 1000}`,
    timestamp_start: forwardedAt - 3 + index, timestamp_end: forwardedAt - 2.5 + index,
    session_id: session, user_id: `user_${n % 5000}`, email: null,
  }))
  return utf8.encode(JSON.stringify({ type: 'actions', product_id: PRODUCT, session_id: session, user_id: `user_${n % 5000}`, email: null, count: 3, forwarded_at: forwardedAt, actions }))
}

/** One planned request. `id` is the valid delivery's number (unique, duplicate) or the bad one's. */
interface Planned { readonly kind: Kind; readonly id: number; readonly at: number }

/** The deliveries to send, in sending order; a duplicate always comes after its original. */
function plan(total: number, seed: number): { order: Planned[]; counts: Record<Kind, number> } {
  const random = seededRandom(seed)
  const duplicate = Math.round(total * 0.10)
  const bad = Math.round(total * 0.05)
  const forged = Math.ceil(bad / 2)
  const malformed = bad - forged
  const unique = total - duplicate - bad
  const order: Planned[] = []
  const times = new Float64Array(unique)
  for (let i = 0; i < unique; i++) { times[i] = random(); order.push({ kind: 'unique', id: i, at: times[i]! }) }
  for (let i = 0; i < duplicate; i++) {
    // A connector retry: the same delivery again, later (some are retried more than once).
    const original = Math.floor(random() * unique)
    const t = times[original]!
    order.push({ kind: 'duplicate', id: original, at: t + random() * (1 - t) })
  }
  for (let i = 0; i < forged; i++) order.push({ kind: 'forged', id: i, at: random() })
  for (let i = 0; i < malformed; i++) order.push({ kind: 'malformed', id: i, at: random() })
  order.sort((a, b) => a.at - b.at)
  return { order, counts: { unique, duplicate, forged, malformed } }
}

/** The bytes and signature header of a planned request. */
function materialise(p: Planned): { body: Uint8Array; signature: string } {
  switch (p.kind) {
    case 'unique':
    case 'duplicate': {
      const body = validBody(p.id)
      return { body, signature: sign(body, SECRET) }
    }
    case 'forged': {
      // Half signed with another secret, half a valid delivery with one byte changed under its signature.
      const body = utf8.encode(JSON.stringify({ type: 'summary', product_id: PRODUCT, session_id: `forged_${p.id}`, summary: 'forged' }))
      if (p.id % 2 === 0) return { body, signature: sign(body, 'not-the-secret') }
      const signature = sign(body, SECRET)
      const tampered = Uint8Array.from(body)
      const at = tampered.length - 4
      tampered[at] = tampered[at]! ^ 0x01
      return { body: tampered, signature }
    }
    case 'malformed': {
      // Correctly signed, but not JSON: a valid body cut short.
      const full = utf8.encode(JSON.stringify({ type: 'summary', product_id: PRODUCT, session_id: `malformed_${p.id}`, summary: 'cut' }))
      const body = full.subarray(0, full.length - 1 - (p.id % 10))
      return { body, signature: sign(body, SECRET) }
    }
  }
}

/**
 * Runs the load: forks the server, sends the plan over `connections`
 * keep-alive connections, collects the server's counts and checks that every
 * delivery is accounted for. Never rejects for an accounting failure: those
 * are in `failures`.
 */
export async function runLoad(options: LoadOptions = {}): Promise<LoadReport> {
  const total = options.total ?? 100_000
  const connections = options.connections ?? 256
  const deadlineMs = options.deadlineMs ?? 600_000
  if (!(Number.isSafeInteger(total) && total >= 20 && total <= 10_000_000)) throw new RangeError('total must be an integer in [20, 10,000,000]')
  if (!(Number.isSafeInteger(connections) && connections >= 1 && connections <= 4096)) throw new RangeError('connections must be an integer in [1, 4096]')
  const { order, counts } = plan(total, options.seed ?? 7)

  const child = fork(fileURLToPath(new URL('../spec/helpers/loadServer.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, LOAD_SECRET: SECRET, LOAD_MAX_KEYS: String(total), LOAD_DEDUPE: options.dedupe === false ? 'off' : 'on' },
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections })
  let timedOut = false
  // Bounded in time as well as in count: past the deadline every socket is dropped and the run fails.
  const deadline = setTimeout(() => { timedOut = true; agent.destroy() }, deadlineMs)
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m) => resolve((m as { port: number }).port))
      void exited.then((code) => reject(new Error(`load server exited with ${code} before listening`)))
    })
    const url = new URL(`http://127.0.0.1:${port}/events`)

    const statuses = new Int16Array(order.length)
    const latencies = new Float64Array(order.length)
    let next = 0
    const started = performance.now()
    const worker = async () => {
      while (next < order.length && !timedOut) {
        const i = next++
        const { body, signature } = materialise(order[i]!)
        const t0 = performance.now()
        statuses[i] = (await postDelivery(url, agent, body, signature, SECRET, 30_000)).status
        latencies[i] = performance.now() - t0
      }
    }
    await Promise.all(Array.from({ length: Math.min(connections, order.length) }, worker))
    const durationMs = performance.now() - started

    const server = await new Promise<ServerReport>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the load server did not report within 30 s')), 30_000)
      child.once('message', (m) => { clearTimeout(timer); resolve(m as ServerReport) })
      child.send('report')
    })
    return account({ order, counts, statuses, latencies, durationMs, total, connections, server, timedOut })
  } finally {
    clearTimeout(deadline)
    agent.destroy()
    if (child.connected) child.send('stop')
    let grace: ReturnType<typeof setTimeout> | undefined
    const stopped = await Promise.race([exited, new Promise((r) => { grace = setTimeout(r, 5000, 'late') })])
    clearTimeout(grace)
    if (stopped === 'late') child.kill('SIGKILL')
  }
}

function account(run: {
  order: Planned[]; counts: Record<Kind, number>; statuses: Int16Array; latencies: Float64Array
  durationMs: number; total: number; connections: number; server: ServerReport; timedOut: boolean
}): LoadReport {
  const { order, counts, statuses, server } = run
  const failures: string[] = []
  if (run.timedOut) failures.push('the run passed its deadline and was stopped')
  const rows: AccountingRow[] = (['unique', 'duplicate', 'forged', 'malformed'] as const).map((kind) => {
    let asExpected = 0
    let otherwise = 0
    let errored = 0
    for (let i = 0; i < order.length; i++) {
      if (order[i]!.kind !== kind) continue
      const status = statuses[i]!
      if (status === EXPECTED_STATUS[kind]) asExpected++
      else if (status === 0) errored++
      else otherwise++
    }
    return { kind, sent: counts[kind], expectedStatus: EXPECTED_STATUS[kind], answeredAsExpected: asExpected, answeredOtherwise: otherwise, errored }
  })
  for (const row of rows) {
    if (row.answeredAsExpected !== row.sent) {
      failures.push(`${row.kind}: ${row.sent} sent, ${row.answeredAsExpected} answered ${row.expectedStatus}, ${row.answeredOtherwise} otherwise, ${row.errored} errored or lost`)
    }
  }

  const reached = new Map(server.reached)
  let once = 0
  let never = 0
  let more = 0
  let extra = 0
  for (let id = 0; id < counts.unique; id++) {
    const n = reached.get(`ls_${id}`) ?? 0
    if (n === 1) once++
    else if (n === 0) never++
    else { more++; extra += n - 1 }
    reached.delete(`ls_${id}`)
  }
  const unexpected = reached.size
  if (once !== counts.unique) failures.push(`of ${counts.unique} unique deliveries ${once} reached the subscriber once, ${never} never, ${more} more than once`)
  if (unexpected !== 0) failures.push(`${unexpected} sessions reached the subscriber that no valid delivery carried: ${[...reached.keys()].slice(0, 5).join(', ')}`)
  const acceptedExpected = counts.unique + counts.duplicate
  if (server.accepted !== acceptedExpected) failures.push(`the receiver accepted ${server.accepted} payloads, expected ${acceptedExpected} (unique + duplicates)`)
  const rejectedExpected: ServerReport['rejected'] = { InvalidSignature: counts.forged, MalformedJson: counts.malformed }
  const tags = new Set([...Object.keys(server.rejected), ...Object.keys(rejectedExpected)]) as Set<keyof ServerReport['rejected']>
  if ([...tags].some((tag) => (server.rejected[tag] ?? 0) !== (rejectedExpected[tag] ?? 0))) {
    failures.push(`rejected$ saw ${JSON.stringify(server.rejected)}, expected ${JSON.stringify(rejectedExpected)}`)
  }

  const latencies = Array.from(run.latencies)
  return {
    total: run.total, connections: run.connections, durationMs: run.durationMs,
    throughput: run.total / (run.durationMs / 1000),
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: percentile(latencies, 100) },
    rows, reachedOnce: once, neverReached: never, reachedTwiceOrMore: more, reachedExtra: extra, reachedUnexpectedly: unexpected,
    accepted: server.accepted, rejected: server.rejected,
    serverPeakRssMiB: server.maxRssKiB / 1024, serverListeningRssMiB: server.listeningRssBytes / 1048576, serverHeapUsedMiB: server.heapUsedBytes / 1048576,
    serverConnections: server.connections, failures,
  }
}

/** The p-th percentile (0–100) of `values`, nearest rank; NaN when empty. */
function percentile(values: ReadonlyArray<number>, p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

const int = (n: number) => Math.round(n).toLocaleString('en-US')

/** The report as the markdown of docs/reliability.md. */
export function formatLoadReport(r: LoadReport): string {
  return [
    `${int(r.total)} deliveries over ${r.connections} keep-alive connections (loopback; the server accepted ${r.serverConnections} TCP connections), server in a child process; ${(r.durationMs / 1000).toFixed(1)} s.`,
    '',
    '| throughput | p50 latency | p99 latency | max latency | server peak RSS | server RSS when listening | server heap used at the end |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    `| ${int(r.throughput)} deliveries/s | ${r.latencyMs.p50.toFixed(2)} ms | ${r.latencyMs.p99.toFixed(2)} ms | ${r.latencyMs.max.toFixed(1)} ms | ${r.serverPeakRssMiB.toFixed(1)} MiB | ${r.serverListeningRssMiB.toFixed(1)} MiB | ${r.serverHeapUsedMiB.toFixed(1)} MiB |`,
    '',
    '| delivery | sent | expected | answered as expected | answered otherwise | errored or lost |',
    '|---|---:|---:|---:|---:|---:|',
    ...r.rows.map((row) => `| ${row.kind} | ${int(row.sent)} | ${row.expectedStatus} | ${int(row.answeredAsExpected)} | ${row.answeredOtherwise} | ${row.errored} |`),
    '',
    '| at the subscriber (after dedupeDeliveries) | count |',
    '|---|---:|',
    `| unique deliveries seen exactly once | ${int(r.reachedOnce)} |`,
    `| unique deliveries never seen | ${r.neverReached} |`,
    `| unique deliveries seen more than once | ${r.reachedTwiceOrMore} |`,
    `| forged or malformed deliveries seen | ${r.reachedUnexpectedly} |`,
    `| payloads accepted by the receiver (unique + retries, before dedupe) | ${int(r.accepted)} |`,
    `| rejected$ | ${Object.entries(r.rejected).map(([tag, n]) => `${tag} ${int(n ?? 0)}`).join(', ')} |`,
    '',
    r.failures.length === 0 ? 'Every delivery accounted for.' : `ACCOUNTING FAILED:\n${r.failures.map((f) => `- ${f}`).join('\n')}`,
  ].join('\n')
}

function argument(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  const raw = i === -1 ? process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) : process.argv[i + 1]
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value)) {
    console.error(`--${name} must be an integer, got ${raw}`)
    process.exit(2)
  }
  return value
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const total = argument('total', 100_000)
  const connections = argument('connections', 256)
  console.log(`Node ${process.version}, ${arch()}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB; ${new Date().toISOString().slice(0, 10)}\n`)
  // --no-dedupe is the negative control: the accounting must fail and the exit code be 1.
  runLoad({ total, connections, dedupe: !process.argv.includes('--no-dedupe') }).then((report) => {
    console.log(formatLoadReport(report))
    process.exitCode = report.failures.length === 0 ? 0 : 1
  }, (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
