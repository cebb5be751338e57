/**
 * HTTP throughput, one run, side by side: bare node:http, the floor (HMAC +
 * compare + JSON.parse by hand), createNodeMiddleware, and @octokit/webhooks'
 * node middleware. Same body (medium fixture), same load generator, each
 * server in its own process on loopback; rounds alternate the servers and
 * ratios are taken within each round. The generator is wrk when installed
 * (Debian's `wrk`: C, so on two cores it leaves the server a whole core and
 * the server is the bottleneck, which is what we measure), else autocannon.
 */
import autocannon from 'autocannon'
import { execFile, execFileSync, fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sign } from '../dist/esm/index.js'
import { fmt, quantiles } from './stats.js'

const fixtures = new URL('../spec/fixtures/', import.meta.url)
const secret = readFileSync(new URL('SECRET.txt', fixtures), 'utf8').trim()
const body = readFileSync(new URL('actions-medium.json', fixtures))
const signature = sign(body, secret)
const KINDS = (process.env.BENCH_KINDS?.split(',') ?? ['bare', 'floor', 'ingest-in-handler', 'autoplay-rx', 'octokit']) as Kind[]
type Kind = 'bare' | 'floor' | 'ingest-in-handler' | 'autoplay-rx' | 'octokit'

interface Server { kind: Kind; port: number; child: ChildProcess }

async function startServer(kind: Kind): Promise<Server> {
  const child = fork(fileURLToPath(new URL('./http-server.ts', import.meta.url)), [kind], {
    execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'], env: { ...process.env, BENCH_SECRET: secret },
  })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)))
  })
  return { kind, port, child }
}

function delivered(server: Server): Promise<number> {
  return stats(server).then((s) => s.delivered)
}

function stats(server: Server): Promise<{ delivered: number; cpu: { user: number; system: number } }> {
  return new Promise((resolve) => {
    server.child.once('message', (m) => resolve(m as never))
    server.child.send('count')
  })
}

const headers: Record<string, string> = {
  'content-type': 'application/json', 'x-connector-signature': signature, authorization: `Bearer ${secret}`,
  // octokit reads GitHub's names for the same scheme.
  'x-hub-signature-256': signature, 'x-github-event': 'push', 'x-github-delivery': 'bench',
}

interface LoadResult { rps: number; p50: number; p99: number; non2xx: number; cpuUs?: number }

function hasWrk(): boolean {
  try { execFileSync('wrk', ['--version'], { stdio: 'ignore' }) } catch (e) { return (e as { status?: number }).status === 1 }
  return true
}

let wrkScript: string | undefined
function wrk(port: number, seconds: number, connections: number): Promise<LoadResult> {
  if (!wrkScript) {
    const dir = mkdtempSync(join(tmpdir(), 'autoplay-rx-wrk-'))
    writeFileSync(join(dir, 'body.json'), body)
    wrkScript = join(dir, 'post.lua')
    writeFileSync(wrkScript, [
      'wrk.method = "POST"',
      `local f = io.open("${join(dir, 'body.json')}", "rb"); wrk.body = f:read("*a"); f:close()`,
      ...Object.entries(headers).map(([k, v]) => `wrk.headers["${k}"] = "${v}"`),
      'local non2xx = 0',
      'function response(status) if status < 200 or status > 299 then non2xx = non2xx + 1 end end',
      'function done(summary, latency, requests)',
      '  io.write(string.format("RESULT %f %f %f %d\\n", summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status))',
      'end',
    ].join('\n'))
  }
  return new Promise((resolve, reject) => {
    execFile('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', wrkScript!, `http://127.0.0.1:${port}/`], (error, stdout) => {
      const m = /RESULT (\S+) (\S+) (\S+) (\d+)/.exec(stdout)
      if (error || !m) return reject(error ?? new Error(`wrk: ${stdout}`))
      resolve({ rps: Number(m[1]), p50: Number(m[2]), p99: Number(m[3]), non2xx: Number(m[4]) })
    })
  })
}

async function load(server: Server, seconds: number, connections: number, useWrk: boolean): Promise<LoadResult> {
  if (useWrk) return wrk(server.port, seconds, connections)
  const result = await autocannon({ url: `http://127.0.0.1:${server.port}/`, method: 'POST', body, connections, duration: seconds, headers })
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx }
}

export async function benchHttp(quick: boolean): Promise<string> {
  const rounds = quick ? 2 : 5
  const seconds = quick ? 2 : 4
  const connections = 32
  const useWrk = hasWrk()
  const servers: Server[] = []
  for (const kind of KINDS) servers.push(await startServer(kind))
  const results = new Map<Kind, LoadResult[]>(KINDS.map((k) => [k, []]))
  try {
    for (const s of servers) await load(s, 1, connections, useWrk) // warm-up
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? servers : [...servers].reverse()
      for (const s of order) {
        // The server's own CPU time per delivery: steadier than requests/s when the load generator shares the machine.
        const before = await stats(s)
        const r = await load(s, seconds, connections, useWrk)
        const after = await stats(s)
        const cpuUs = (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / (after.delivered - before.delivered)
        results.get(s.kind)!.push({ ...r, cpuUs })
      }
    }
    for (const s of servers) {
      const n = await delivered(s)
      if (n === 0) throw new Error(`${s.kind} delivered nothing`)
    }
  } finally {
    for (const s of servers) s.child.kill('SIGTERM')
  }
  const floor = results.get('floor')
  if (!floor) throw new Error('the floor server is the reference: keep it in BENCH_KINDS')
  const octokit = results.get('octokit')
  const lines = [
    `Body: actions-medium.json (${body.length} bytes); ${useWrk ? 'wrk (1 thread)' : 'autocannon'}, ${connections} connections, ${rounds} rounds × ${seconds} s per server, servers alternated each round.`,
    '',
    '| server | req/s (median) | p50 ms | p99 ms | non-2xx | server CPU µs/delivery | req/s ÷ floor | p99 ÷ floor p99 | req/s ÷ octokit |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ]
  for (const kind of KINDS) {
    const rs = results.get(kind)!
    const rps = quantiles(rs.map((x) => x.rps)).median
    const ratio = quantiles(rs.map((x, i) => x.rps / floor[i]!.rps)).median
    const p99ratio = quantiles(rs.map((x, i) => x.p99 / Math.max(1, floor[i]!.p99))).median
    const vsOctokit = octokit ? quantiles(rs.map((x, i) => x.rps / octokit[i]!.rps)).median : Number.NaN
    const non2xx = rs.reduce((a, x) => a + x.non2xx, 0)
    const cpu = quantiles(rs.map((x) => x.cpuUs ?? Number.NaN)).median
    lines.push(`| ${kind} | ${Math.round(rps)} | ${fmt(quantiles(rs.map((x) => x.p50)).median, 2)} | ${fmt(quantiles(rs.map((x) => x.p99)).median, 2)} | ${non2xx} | ${fmt(cpu, 1)} | ${fmt(ratio)} | ${fmt(p99ratio)} | ${fmt(vsOctokit)} |`)
  }
  return lines.join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchHttp(process.argv.includes('--quick')).then((table) => console.log(table), (error) => { console.error(error); process.exitCode = 1 })
}
