/**
 * HTTP throughput, side by side, by one method for every row (issue 16):
 * bare node:http, the floor (HMAC + compare + JSON.parse by hand), ingest in
 * a hand-written handler, the node adapter, the Fastify plugin, the fetch
 * handler under Node, the node adapter persisting to Redis with a worker
 * reading back, and @octokit/webhooks' node middleware.
 *
 * - Each server runs in its own process, pinned to core 0, and the load
 *   generator to core 1, where `taskset` exists (see pin.ts).
 * - The generator is wrk (one thread) when installed (Debian's `wrk`, C),
 *   else autocannon's CLI; the output says which.
 * - Every round runs every server once, in an order that reverses each round;
 *   each server's requests/s is divided by the floor's of the same round.
 * - Rounds go on until the IQR of every per-round ratio is within ±5 % of its
 *   median, 12 rounds at most; the IQR is printed either way.
 * - Each server reports its CPU time, so the table has server CPU per
 *   delivery next to requests/s.
 *
 * `node --import tsx bench/http.ts [--quick] [--seconds=8] [--connections=50]`;
 * `BENCH_KINDS=floor,node-adapter` to pick servers (the floor is required); `BENCH_BASE=<dir>/dist/esm`
 * adds each adapter served by that other build (`node-adapter-base`…), a before/after in the same rounds.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sign } from '../dist/esm/index.js'
import { installed, pinning, prefixed, type Pinning } from './pin.js'
import { STEADY, fmt, fmtRatio, isSteady, quantiles, type SteadyRule } from './stats.js'

const fixtures = new URL('../spec/fixtures/', import.meta.url)
const secret = readFileSync(new URL('SECRET.txt', fixtures), 'utf8').trim()
const body = readFileSync(new URL('actions-medium.json', fixtures))
const signature = sign(body, secret)
const ALL = ['bare', 'floor', 'ingest-in-handler', 'node-adapter', 'fastify-adapter', 'fetch-adapter', 'persist', 'redis-path',
  'persist-floor', 'redis-path-floor', 'octokit'] as const
/** Run only when asked: the node adapter with telemetry on (`--only=otel`). */
type Kind = (typeof ALL)[number] | 'node-adapter-otel' | 'node-adapter-base' | 'fastify-adapter-base' | 'fetch-adapter-base' |
  'persist-base' | 'redis-path-base'
/** The rows that start a redis-server of their own. */
const REDIS: readonly Kind[] = ['persist', 'redis-path', 'persist-floor', 'redis-path-floor', 'persist-base', 'redis-path-base']
/** The library's adapters: the rows that carry the ≥ 0.9× floor target. */
const ADAPTERS: readonly Kind[] = ['node-adapter', 'fastify-adapter', 'fetch-adapter']
const TARGET = 0.9

interface Server { kind: Kind; port: number; child: ChildProcess }
interface Counters { delivered: number; worked: number; cpuUs: number; otherCpuUs?: number }

/** One server process of `kind`; with `workers`, a node:cluster of that many behind one port (bench/cluster-server.ts). */
async function startServer(kind: Kind, pin: Pinning, workers?: number): Promise<Server> {
  const script = workers === undefined ? ['./http-server.ts', kind] : ['./cluster-server.ts', kind, String(workers)]
  const [command, args] = prefixed(pin.server, process.execPath, ['--import', 'tsx', fileURLToPath(new URL(script[0]!, import.meta.url)), ...script.slice(1)])
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'], env: { ...process.env, BENCH_SECRET: secret } })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)))
  })
  return { kind, port, child }
}

function counters(server: Server): Promise<Counters> {
  return new Promise((resolve) => {
    server.child.once('message', (m) => resolve(m as Counters))
    server.child.send('count')
  })
}

const headers: Record<string, string> = {
  'content-type': 'application/json', 'x-connector-signature': signature, authorization: `Bearer ${secret}`,
  // octokit reads GitHub's names for the same scheme.
  'x-hub-signature-256': signature, 'x-github-event': 'push', 'x-github-delivery': 'bench',
}

export interface LoadResult { rps: number; p50: number; p99: number; non2xx: number }
interface Round extends LoadResult { cpuUs: number; otherCpuUs: number }

/** A load generator: a command line per run, its result parsed from stdout. */
export interface Generator {
  readonly name: string
  args(port: number, seconds: number, connections: number): [string, string[]]
  parse(stdout: string): LoadResult | undefined
}

export function generator(pin: Pinning): Generator {
  const dir = mkdtempSync(join(tmpdir(), 'autoplay-rx-bench-'))
  const bodyFile = join(dir, 'body.json')
  writeFileSync(bodyFile, body)
  const url = (port: number) => `http://127.0.0.1:${port}/`
  if (installed('wrk')) {
    const script = join(dir, 'post.lua')
    writeFileSync(script, [
      'wrk.method = "POST"',
      `local f = io.open("${bodyFile}", "rb"); wrk.body = f:read("*a"); f:close()`,
      ...Object.entries(headers).map(([k, v]) => `wrk.headers["${k}"] = "${v}"`),
      'local non2xx = 0',
      'function response(status) if status < 200 or status > 299 then non2xx = non2xx + 1 end end',
      'function done(summary, latency, requests)',
      '  io.write(string.format("RESULT %f %f %f %d\\n", summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status))',
      'end',
    ].join('\n'))
    return {
      name: 'wrk (1 thread)',
      args: (port, seconds, connections) => prefixed(pin.load, 'wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', script, url(port)]),
      parse(stdout) {
        const m = /RESULT (\S+) (\S+) (\S+) (\d+)/.exec(stdout)
        return m ? { rps: Number(m[1]), p50: Number(m[2]), p99: Number(m[3]), non2xx: Number(m[4]) } : undefined
      },
    }
  }
  // Its CLI, not its API, so that it runs in a process of its own and can be pinned like wrk.
  const cli = join(createRequire(import.meta.url).resolve('autocannon/package.json'), '..', 'autocannon.js')
  return {
    name: 'autocannon (wrk is not installed)',
    args: (port, seconds, connections) => prefixed(pin.load, process.execPath, [
      cli, '--json', '-m', 'POST', '-i', bodyFile, ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}=${v}`]),
      '-c', String(connections), '-d', String(seconds), url(port),
    ]),
    parse(stdout) {
      try {
        const r = JSON.parse(stdout) as { requests: { average: number }; latency: { p50: number; p99: number }; non2xx: number }
        return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx }
      } catch { return undefined }
    },
  }
}

export function load(gen: Generator, port: number, seconds: number, connections: number): Promise<LoadResult> {
  const [command, args] = gen.args(port, seconds, connections)
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 16 * 2 ** 20 }, (error, stdout) => {
      const result = gen.parse(stdout)
      if (error || !result) return reject(error ?? new Error(`${gen.name}: ${stdout}`))
      resolve(result)
    })
  })
}

/**
 * Runs the HTTP comparison and returns it as markdown.
 *
 * @param quick - 2 rounds of 2 s (a smoke run: its ratios are not steady)
 * @param only - the servers to run (the floor among them); default BENCH_KINDS, else all but node-adapter-otel
 * @returns the method, the table, and each adapter's status against the target
 */
export async function benchHttp(quick: boolean, only?: readonly Kind[]): Promise<string> {
  const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback)
  const seconds = arg('seconds', quick ? 2 : 8)
  const connections = arg('connections', 50)
  const rule: SteadyRule = quick ? { minRounds: 2, maxRounds: 2, tolerance: STEADY.tolerance } : STEADY
  const bases: Kind[] = process.env.BENCH_BASE === undefined ? [] : ['node-adapter-base', 'fastify-adapter-base', 'fetch-adapter-base', 'persist-base', 'redis-path-base']
  const asked = [...(only ?? (process.env.BENCH_KINDS?.split(',') as Kind[] | undefined) ?? [...ALL, ...bases])]
  // A bare clone may have no redis-server: the other rows still run, and the output says what was left out.
  const kinds = installed('redis-server') ? asked : asked.filter((k) => !REDIS.includes(k))
  if (!kinds.includes('floor')) throw new Error('the floor server is the reference: keep it in BENCH_KINDS')
  const pin = pinning()
  const gen = generator(pin)
  const servers: Server[] = []
  const results = new Map<Kind, Round[]>(kinds.map((k) => [k, []]))
  const ratiosOf = (kind: Kind) => results.get(kind)!.map((x, i) => x.rps / results.get('floor')![i]!.rps)
  const others = kinds.filter((k) => k !== 'floor')
  let finalCounters = new Map<Kind, Counters>()
  const started = performance.now()
  try {
    for (const kind of kinds) servers.push(await startServer(kind, pin))
    for (const s of servers) await load(gen, s.port, quick ? 1 : 2, connections) // warm-up
    for (let r = 0; r < rule.maxRounds && !(r >= rule.minRounds && isSteady(others.map(ratiosOf), rule)); r++) {
      const order = r % 2 === 0 ? servers : [...servers].reverse()
      for (const s of order) {
        const before = await counters(s)
        const result = await load(gen, s.port, seconds, connections)
        const after = await counters(s)
        const delivered = after.delivered - before.delivered
        results.get(s.kind)!.push({ ...result, cpuUs: (after.cpuUs - before.cpuUs) / delivered, otherCpuUs: ((after.otherCpuUs ?? 0) - (before.otherCpuUs ?? 0)) / delivered })
      }
    }
    finalCounters = new Map(await Promise.all(servers.map(async (s) => [s.kind, await counters(s)] as const)))
    for (const [kind, c] of finalCounters) if (c.delivered === 0) throw new Error(`${kind} delivered nothing`)
  } finally {
    for (const s of servers) s.child.kill('SIGTERM')
  }
  const rounds = results.get('floor')!.length
  const floor = results.get('floor')!
  const octokit = results.get('octokit')
  const steady = isSteady(others.map(ratiosOf), rule)
  const lines = [
    `Body: actions-medium.json (${body.length} bytes); ${gen.name}, ${connections} connections; ${pin.note}.`,
    `${rounds} rounds × ${seconds} s per server (${fmt((performance.now() - started) / 60_000, 1)} min), the order of the servers reversed each round; ` +
      `ratios taken within each round. Rounds stop once every row's IQR is within ±${rule.tolerance * 100} % of its median, or after ${rule.maxRounds}: ` +
      `${steady ? 'every row got there' : `not every row got there (${others.filter((k) => !isSteady([ratiosOf(k)], rule)).join(', ')})`}.`,
    '',
    '| server | req/s (median) | p50 ms | p99 ms | non-2xx | server CPU µs/delivery | CPU ÷ floor CPU | req/s ÷ floor (median, IQR, ±half-width) | p99 ÷ floor p99 | req/s ÷ octokit |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ]
  for (const kind of kinds) {
    const rs = results.get(kind)!
    const median = (f: (x: Round, i: number) => number) => quantiles(rs.map(f)).median
    lines.push(`| ${kind} | ${Math.round(median((x) => x.rps))} | ${fmt(median((x) => x.p50))} | ${fmt(median((x) => x.p99))} | ` +
      `${rs.reduce((a, x) => a + x.non2xx, 0)} | ${fmt(median((x) => x.cpuUs), 1)} | ${fmt(median((x, i) => x.cpuUs / floor[i]!.cpuUs))} | ` +
      `${kind === 'floor' ? '1.00' : fmtRatio(ratiosOf(kind))} | ${fmt(median((x, i) => x.p99 / floor[i]!.p99))} | ` +
      `${octokit ? fmt(median((x, i) => x.rps / octokit[i]!.rps)) : 'n/a'} |`)
  }
  lines.push('')
  for (const kind of ADAPTERS.filter((k) => kinds.includes(k))) {
    const ratio = quantiles(ratiosOf(kind)).median
    lines.push(`- ${kind}: ${fmt(ratio)}× the floor, target ≥ ${TARGET}×: ${ratio >= TARGET ? 'met' : 'not met'}${quick ? ' (a quick run: a smoke test, not a figure)' : ''}.`)
  }
  for (const kind of ADAPTERS) {
    const now = results.get(kind)
    const before = results.get(`${kind}-base` as Kind)
    if (now && before) lines.push(`- ${kind} ÷ the same adapter from BENCH_BASE, per round: req/s ${fmtRatio(now.map((x, i) => x.rps / before[i]!.rps))}; ` +
      `server CPU per delivery ${fmtRatio(now.map((x, i) => x.cpuUs / before[i]!.cpuUs))}.`)
  }
  const on = results.get('node-adapter-otel')
  const off = results.get('node-adapter')
  if (on && off) {
    lines.push(`- node-adapter-otel ÷ node-adapter, per round: req/s ${fmtRatio(on.map((x, i) => x.rps / off[i]!.rps))}; ` +
      `server CPU per delivery ${fmtRatio(on.map((x, i) => x.cpuUs / off[i]!.cpuUs))}.`)
  }
  if (asked.length > kinds.length) lines.push(`- ${asked.filter((k) => REDIS.includes(k)).join(', ')}: left out, \`redis-server\` is not installed.`)
  const node = results.get('node-adapter')
  const perRound = (rs: Round[], f: (x: Round, i: number) => number) => fmtRatio(rs.map(f))
  for (const kind of ['persist', 'redis-path'] as const) {
    const rs = results.get(kind)
    if (!rs) continue
    const own = quantiles(rs.map((x) => x.cpuUs - x.otherCpuUs)).median
    const other = quantiles(rs.map((x) => x.otherCpuUs)).median
    const [target, what] = kind === 'persist' ? [0.7, 'receiver, XADD'] : [0.8, "receiver, XADD, the worker's XREADGROUP and batched XACK"]
    lines.push(`- ${kind}: per delivery ${fmt(own, 1)} µs of CPU in the node process (${what}) and ${fmt(other, 1)} µs in redis-server (INFO cpu, ` +
      `on the same core)` + (node ? `; req/s ÷ the node adapter's (HTTP → subscriber) per round ${perRound(rs, (x, i) => x.rps / node[i]!.rps)}, ` +
      `target ≥ ${target}; CPU per delivery, both processes, ÷ the node adapter's ${perRound(rs, (x, i) => x.cpuUs / node[i]!.cpuUs)}` +
      (kind === 'redis-path' ? ', target ≤ 2.0' : '') : '') + '.')
    const least = results.get(`${kind}-floor` as Kind)
    if (least) lines.push(`- ${kind}-floor (by hand, the least this client and redis-server allow): req/s ÷ the node adapter's ` +
      (node ? `${perRound(least, (x, i) => x.rps / node[i]!.rps)}; CPU per delivery, both processes, ÷ the node adapter's ` +
        `${perRound(least, (x, i) => x.cpuUs / node[i]!.cpuUs)}; ` : '') +
      `${kind} ÷ ${kind}-floor: req/s ${perRound(rs, (x, i) => x.rps / least[i]!.rps)}, CPU ${perRound(rs, (x, i) => x.cpuUs / least[i]!.cpuUs)}.`)
    const before = results.get(`${kind}-base` as Kind)
    if (before) lines.push(`- ${kind} ÷ the same from BENCH_BASE, per round: req/s ${perRound(rs, (x, i) => x.rps / before[i]!.rps)}; ` +
      `node CPU per delivery ${perRound(rs, (x, i) => (x.cpuUs - x.otherCpuUs) / (before[i]!.cpuUs - before[i]!.otherCpuUs))}; ` +
      `redis-server CPU per delivery ${perRound(rs, (x, i) => x.otherCpuUs / before[i]!.otherCpuUs)}.`)
  }
  for (const kind of ['redis-path', 'redis-path-floor'] as const) {
    const worker = finalCounters.get(kind)
    if (worker) lines.push(`- ${kind}: its worker acknowledged ${worker.worked} of the ${worker.delivered} deliveries stored (the stream is trimmed at ~10,000 entries).`)
  }
  return lines.join('\n')
}

/**
 * More than one core: the floor and the node adapter as a node:cluster of 1
 * and of 2 processes behind one port, each process with its own receiver.
 * Nothing is pinned: the load generator must share the cores with the
 * servers here, so the table gives server CPU per request beside req/s.
 *
 * @param quick - 2 rounds of 2 s (a smoke run)
 * @returns the method and the table as markdown
 */
export async function benchCluster(quick: boolean): Promise<string> {
  const seconds = quick ? 2 : 6
  const connections = 64
  const rule: SteadyRule = quick ? { minRounds: 2, maxRounds: 2, tolerance: STEADY.tolerance } : { ...STEADY, maxRounds: 8 }
  const pin: Pinning = { server: [], load: [], note: 'nothing pinned: servers and load generator share the 2 cores' }
  const gen = generator(pin)
  const rows = [['floor', 1], ['node-adapter', 1], ['floor', 2], ['node-adapter', 2]] as const
  const label = ([kind, n]: readonly [Kind, number]) => `${kind} ×${n}`
  const results = new Map<string, Round[]>(rows.map((r) => [label(r), []]))
  const per = (row: readonly [Kind, number]) => results.get(label(row))!
  // The ratios that must settle: each server's scaling from 1 to 2 processes, and the adapter against the floor at each size.
  const tracked = () => [
    ratioOf(per(rows[2]), per(rows[0])), ratioOf(per(rows[3]), per(rows[1])),
    ratioOf(per(rows[1]), per(rows[0])), ratioOf(per(rows[3]), per(rows[2])),
  ]
  const servers: Array<{ row: readonly [Kind, number]; server: Server }> = []
  const started = performance.now()
  try {
    for (const row of rows) servers.push({ row, server: await startServer(row[0], pin, row[1]) })
    for (const { server } of servers) await load(gen, server.port, 1, connections) // warm-up
    for (let r = 0; r < rule.maxRounds && !(r >= rule.minRounds && isSteady(tracked(), rule)); r++) {
      const order = r % 2 === 0 ? servers : [...servers].reverse()
      for (const { row, server } of order) {
        const before = await counters(server)
        const result = await load(gen, server.port, seconds, connections)
        const after = await counters(server)
        per(row).push({ ...result, cpuUs: (after.cpuUs - before.cpuUs) / (after.delivered - before.delivered), otherCpuUs: 0 })
      }
    }
  } finally {
    for (const { server } of servers) server.child.kill('SIGTERM')
  }
  const rounds = per(rows[0]).length
  const median = (rs: Round[], f: (x: Round) => number) => quantiles(rs.map(f)).median
  const lines = [
    `Body: actions-medium.json (${body.length} bytes); ${gen.name}, ${connections} connections; ${pin.note}. ` +
      `Each cluster is one primary (it hands out connections, round-robin) and N workers; CPU counts all of them.`,
    `${rounds} rounds × ${seconds} s per server (${fmt((performance.now() - started) / 60_000, 1)} min), the order reversed each round; ratios taken within each round.`,
    '',
    '| server | processes | req/s (median) | p99 ms | server CPU µs/request | 2 ÷ 1 process req/s (median, IQR) | req/s ÷ floor at the same size (median, IQR) |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ]
  for (const row of rows) {
    const [kind, n] = row
    const one = per([kind, 1] as const)
    const floorSame = per(['floor', n] as const)
    lines.push(`| ${kind} | ${n} | ${Math.round(median(per(row), (x) => x.rps))} | ${fmt(median(per(row), (x) => x.p99))} | ${fmt(median(per(row), (x) => x.cpuUs), 1)} | ` +
      `${n === 1 ? '1.00' : fmtRatio(ratioOf(per(row), one))} | ${kind === 'floor' ? '1.00' : fmtRatio(ratioOf(per(row), floorSame))} |`)
  }
  return lines.join('\n')
}

const ratioOf = (a: Round[], b: Round[]) => a.map((x, i) => x.rps / b[i]!.rps)

if (import.meta.url === `file://${process.argv[1]}`) {
  benchHttp(process.argv.includes('--quick')).then((table) => console.log(table), (error) => { console.error(error); process.exitCode = 1 })
}
