/**
 * connectorStream vs the floor: the same SSE frames, from the same local
 * node:http server (a process of its own) over the same `fetch`, read,
 * split on blank lines and JSON.parse'd — nothing else. Paired rounds in
 * one run, per fixture, until the ratio is steady.
 *
 * `--attacks [--module=FILE] [--seconds=5]`: instead, re-runs the attacks of issue 10
 * (endless line, endless frame, `retry: 0` storm, dead URL) against the
 * source (or another version's `connectorStream` module) and prints what
 * each did to the client.
 */
import { spawn } from 'node:child_process'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { lastValueFrom, take, count } from 'rxjs'
import { silentLogger } from '../dist/esm/logger.js'
import { connectorStream } from '../dist/esm/sse/connectorStream.js'
import { utf8Chunks } from '../dist/esm/internal/utf8Chunks.js'
import { pinning, prefixed } from './pin.js'
import { fmt, fmtRatio, isSteady, quantiles, ratios, type SteadyRule } from './stats.js'

const fixtures = new URL('../spec/fixtures/', import.meta.url)
const TOKEN = 'bench-token'
/** Frames per run, sized so that one run takes tens of milliseconds. */
const cases = [
  { name: 'summary', frames: 20_000 },
  { name: 'actions-small', frames: 5_000 },
  { name: 'actions-medium', frames: 400 },
  { name: 'actions-large', frames: 40 },
] as const
const TARGET = 0.8
/** Each side runs back to back for about this long in every round, so that one GC or timer is a small part of it. */
const ROUND_MS = 150

/**
 * The SSE server, in a process of its own (pinned to core 1 where `taskset`
 * exists), so that this process's time is the client's alone: every
 * authorised GET gets the whole stream (the fixture as one frame, `frames`
 * times), then the end. It exits when its stdin closes, so it never
 * outlives the benchmark.
 */
async function serve(fixture: string, frames: number): Promise<{ url: string; frameBytes: number; close: () => Promise<void> }> {
  const script = `
    import http from 'node:http'
    import { readFileSync } from 'node:fs'
    const frame = 'data: ' + readFileSync(process.env.FIXTURE, 'utf8').trim() + '\\n\\n'
    const body = Buffer.from(frame.repeat(Number(process.env.FRAMES)), 'utf8')
    const server = http.createServer((req, res) => {
      if (req.headers.authorization !== 'Bearer ${TOKEN}') { res.writeHead(401).end(); return }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      res.end(body)
    })
    server.listen(0, '127.0.0.1', () => console.log(server.address().port + ' ' + Buffer.byteLength(frame)))
    process.stdin.on('end', () => process.exit(0)).resume()
  `
  const [command, args] = prefixed(pinning().load, process.execPath, ['--input-type=module', '-e', script])
  const child = spawn(command, args, {
    env: { ...process.env, FIXTURE: fileURLToPath(new URL(`${fixture}.json`, fixtures)), FRAMES: String(frames) },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const line = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('\n')) resolve(out.trim())
    })
    child.once('error', reject)
    void exited.then(() => reject(new Error(`the SSE server (${fixture}) exited before listening`)))
  })
  const [port, frameBytes] = line.split(' ').map(Number)
  return {
    url: `http://127.0.0.1:${port}/stream/prod_abc`,
    frameBytes: frameBytes!,
    close: () => {
      child.stdin.end()
      return exited
    },
  }
}

const request = (url: string) => fetch(url, { headers: { accept: 'text/event-stream', authorization: `Bearer ${TOKEN}` } })

/**
 * The floor: fetch, UTF-8 decode, split on blank lines, JSON.parse each
 * `data:` line. `decode` turns each chunk into text: one streaming
 * `TextDecoder` (the standard way), or connectorStream's own UTF-8 step.
 */
async function floor(url: string, decode: (chunk: Uint8Array) => string): Promise<number> {
  const response = await fetch(url, { headers: { accept: 'text/event-stream', authorization: `Bearer ${TOKEN}` } })
  let pending = ''
  let parsed = 0
  let sink: unknown
  for await (const chunk of response.body!) {
    pending += decode(chunk as Uint8Array)
    let start = 0
    let end: number
    while ((end = pending.indexOf('\n\n', start)) !== -1) {
      sink = JSON.parse(pending.slice(start + 6, end)) // 'data: '.length
      parsed++
      start = end + 2
    }
    pending = pending.slice(start)
  }
  void sink
  return parsed
}

/** One streaming `TextDecoder`: on Node it leaves its fast path once called with `{ stream: true }`. */
function streamingDecoder(): (chunk: Uint8Array) => string {
  const decoder = new TextDecoder()
  return (chunk) => decoder.decode(chunk, { stream: true })
}

/** connectorStream, taking exactly the frames served (so it never reconnects). */
function stream(url: string, frames: number): Promise<number> {
  return lastValueFrom(connectorStream({ url, token: TOKEN, logger: silentLogger }).pipe(take(frames), count()))
}

/** Wall and CPU time (user + system of this process) of one round's runs, in ms. */
interface Timing { readonly wall: number; readonly cpu: number }

const cpuMs = (): number => {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

async function time(run: () => Promise<number>, runs: number, expected: number): Promise<Timing> {
  const wall = performance.now()
  const cpu = cpuMs()
  for (let i = 0; i < runs; i++) {
    const seen = await run()
    if (seen !== expected) throw new Error(`expected ${expected} frames, got ${seen}`)
  }
  return { wall: performance.now() - wall, cpu: cpuMs() - cpu }
}

/**
 * Frames per second decoded by `connectorStream` against the floor, per
 * fixture, as a markdown table: the median and interquartile range of the
 * per-round throughput ratio (floor wall time ÷ stream wall time; higher is
 * better, target ≥ 0.8), the same ratio in CPU time of this process (the
 * server runs in another), and the throughput ratio against the floor with
 * connectorStream's own UTF-8 step (src/internal/utf8Chunks.ts), which
 * leaves what the rest of the stream costs. Rounds go on until both throughput
 * ratios' IQRs are within ±5 % of their medians (at least 9, at most 41).
 *
 * @param quick - three rounds, for a smoke run
 * @returns the markdown table
 *
 * @example
 * ```ts
 * console.log(await benchSse(false))
 * ```
 */
export async function benchSse(quick: boolean): Promise<string> {
  const rule: SteadyRule = quick ? { minRounds: 3, maxRounds: 3, tolerance: 0.05 } : { minRounds: 9, maxRounds: 41, tolerance: 0.05 }
  const lines = [
    '| fixture | frame bytes | frames/run | runs/round | rounds | floor frames/s | connectorStream frames/s | stream ÷ floor throughput (median, IQR, ±half-width) | in CPU time | target | met | stream ÷ floor with the stream\'s UTF-8 step (median, IQR) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|:-:|---:|',
  ]
  for (const { name, frames } of cases) {
    const server = await serve(name, frames)
    try {
      const candidates = [
        { name: 'floor', run: () => floor(server.url, streamingDecoder()) },
        { name: 'fast', run: () => floor(server.url, utf8Chunks()) },
        { name: 'stream', run: () => stream(server.url, frames) },
      ]
      for (const c of candidates) await time(c.run, 3, frames) // warm-up
      // Runs per round: enough for the floor to take ROUND_MS (the median of three single runs).
      const walls: number[] = []
      for (let i = 0; i < 3; i++) walls.push((await time(candidates[0]!.run, 1, frames)).wall)
      const single = quantiles(walls).median
      const runs = Math.max(1, Math.ceil(ROUND_MS / single))
      const times = new Map<string, Timing[]>(candidates.map((c) => [c.name, []]))
      const of = (side: string, key: keyof Timing) => times.get(side)!.map((t) => t[key])
      // Throughput ratio = floor time ÷ stream time, per round.
      const throughput = (floorSide: string) => ratios(of(floorSide, 'wall'), of('stream', 'wall'))
      for (let r = 0; r < rule.maxRounds && !(r >= rule.minRounds && isSteady([throughput('floor'), throughput('fast')], rule)); r++) {
        // Alternate the order so no side always runs after the same one.
        const order = r % 2 === 0 ? candidates : [...candidates].reverse()
        for (const c of order) times.get(c.name)!.push(await time(c.run, runs, frames))
      }
      const ratio = quantiles(throughput('floor'))
      const fast = quantiles(throughput('fast'))
      const perSecond = (side: string) => Math.round((frames * runs * 1000) / quantiles(of(side, 'wall')).median).toLocaleString('en-US')
      lines.push(`| ${name} | ${server.frameBytes} | ${frames} | ${runs} | ${of('floor', 'wall').length} | ${perSecond('floor')} | ${perSecond('stream')} | ` +
        `${fmtRatio(throughput('floor'))} | ${fmt(quantiles(ratios(of('floor', 'cpu'), of('stream', 'cpu'))).median)} | ≥ ${TARGET} | ${ratio.median >= TARGET ? 'yes' : 'no'} | ` +
        `${fmt(fast.median)} (${fmt(fast.p25)}–${fmt(fast.p75)}) |`)
    } finally {
      await server.close()
    }
  }
  lines.push('',
    `Each round runs the floor, the floor with connectorStream's UTF-8 step, and connectorStream (in an order that reverses each round) ${'`runs/round`'} times back to back, about ${ROUND_MS} ms of the floor; ` +
    `rounds stop once the IQR of both per-round throughput ratios is within ±${rule.tolerance * 100} % of its median (at least ${rule.minRounds}, at most ${rule.maxRounds} rounds). ` +
    `The server is a process of its own (${pinning().load.length > 0 ? 'pinned to core 1 with `taskset -c 1`, this client floating' : pinning().note}); ` +
    '"in CPU time" is the target ratio in user + system time of the client process. The floor decodes with one streaming `TextDecoder` (which on Node leaves its ' +
    'fast path); connectorStream decodes each chunk whole and holds back only a character cut off at its end (src/internal/utf8Chunks.ts). The last column gives the floor that step too, so it shows what the rest of the stream (SSE parsing, validation, RxJS) costs.')
  return lines.join('\n')
}

// ---------------------------------------------------------------------------
// The attacks of issue 10 on the SSE source, re-run for their figures.

/** One hostile server: what it does with each request. */
interface Attack {
  readonly name: string
  /** null: no server at all, the port is closed (a dead URL). */
  readonly serve: ((res: http.ServerResponse) => Promise<void> | void) | null
  /** Whether the client passes a lifecycle observer (else it relies on its logger). */
  readonly lifecycle: boolean
}

/** Writes `chunk` again and again, as fast as the client reads, until the connection closes. */
async function flood(res: http.ServerResponse, chunk: Buffer): Promise<void> {
  while (!res.destroyed) {
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => { res.off('drain', done); res.off('close', done); resolve() }
        res.on('drain', done)
        res.on('close', done)
      })
    }
  }
}

const sseHead = (res: http.ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' })

const attacks: Attack[] = [
  {
    name: 'one endless line (`data: aaaa…`, never a newline)', lifecycle: true,
    serve: async (res) => { sseHead(res); res.write('data: '); await flood(res, Buffer.alloc(64 * 1024, 'a')) },
  },
  {
    name: '`data:` lines for ever, never a blank line', lifecycle: true,
    serve: async (res) => { sseHead(res); await flood(res, Buffer.from(`data: ${'x'.repeat(1017)}\n`.repeat(64))) },
  },
  { name: '200, `retry: 0`, closed at once', lifecycle: true, serve: (res) => { sseHead(res); res.end('retry: 0\n\n') } },
  { name: 'a dead URL (port closed), no events observer', lifecycle: false, serve: null },
]

interface AttackResult {
  readonly requests: number
  readonly peakRssMiB: number
  /** How the client process ended: 'alive' (stopped by us) or its exit code/signal and when. */
  readonly outcome: string
  readonly reasons: Record<string, number>
  readonly logLines: number
}

/**
 * Runs one attack for `durationMs`: a hostile server here, the client
 * (`connectorStream` from `module`, default options) in a child node
 * sampling its RSS every 50 ms.
 */
async function runAttack(attack: Attack, module: string, durationMs: number): Promise<AttackResult> {
  let requests = 0
  const server = http.createServer((_req, res) => {
    requests++
    void attack.serve?.(res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  if (attack.serve === null) await new Promise<void>((resolve) => server.close(() => resolve()))
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
    import { connectorStream } from ${JSON.stringify(pathToFileURL(module).href)}
    let peak = 0
    const sample = () => { peak = Math.max(peak, process.memoryUsage().rss); console.log('rss ' + peak) }
    const sampler = setInterval(sample, 50)
    const reasons = {}
    const observe = ${attack.lifecycle} ? (e) => { if (e._tag === 'Disconnected') reasons[e.reason._tag] = (reasons[e.reason._tag] ?? 0) + 1 } : undefined
    // events since the redesign; 0.1's module (--module=) reads lifecycle and ignores events.
    const subscription = connectorStream({
      url: 'http://127.0.0.1:${port}/stream/prod_attack', token: 't', events: observe, lifecycle: observe,
    }).subscribe({ error: (e) => console.log('error ' + e._tag) })
    setTimeout(() => { subscription.unsubscribe(); clearInterval(sampler); sample(); console.log('reasons ' + JSON.stringify(reasons)) }, ${durationMs})
  `], { cwd: fileURLToPath(new URL('../', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] })
  const started = performance.now()
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])))
  const elapsed = (performance.now() - started) / 1000
  server.closeAllConnections()
  server.close()
  const lines = stdout.split('\n')
  const peak = Math.max(0, ...lines.filter((l) => l.startsWith('rss ')).map((l) => Number(l.slice(4))))
  const reasons = lines.find((l) => l.startsWith('reasons '))
  return {
    requests,
    peakRssMiB: Math.round(peak / 2 ** 20),
    outcome: code === 0 && reasons !== undefined ? 'alive' : `died after ${elapsed.toFixed(1)} s (${signal ?? `exit ${code}`}${/heap out of memory/.test(stderr) ? ', heap out of memory' : ''})`,
    reasons: reasons === undefined ? {} : JSON.parse(reasons.slice('reasons '.length)) as Record<string, number>,
    logLines: stderr.split('\n').filter((l) => l.startsWith('[autoplay-rx]')).length,
  }
}

/**
 * The issue 10 attacks on the SSE source, each for `durationMs`, as a
 * markdown table: requests the server got, the client's peak RSS, whether
 * it survived, why its connections ended, and what it logged.
 *
 * @param module - the file exporting `connectorStream` (default this repository's source; 0.1's to compare)
 * @param durationMs - how long each attack runs
 * @returns the markdown table
 *
 * @example
 * ```ts
 * console.log(await sseAttacks('src/sse/connectorStream.ts', 5_000))
 * ```
 */
export async function sseAttacks(module: string, durationMs: number): Promise<string> {
  const lines = [
    `| attack (${durationMs / 1000} s each, default options) | requests | client peak RSS | client | disconnections | log lines |`,
    '|---|---:|---:|---|---|---:|',
  ]
  for (const attack of attacks) {
    const r = await runAttack(attack, module, durationMs)
    const reasons = Object.entries(r.reasons).map(([tag, n]) => `${n} ${tag}`).join(', ') || '—'
    lines.push(`| ${attack.name} | ${attack.serve === null ? '—' : r.requests} | ${r.peakRssMiB} MiB | ${r.outcome} | ${attack.lifecycle ? reasons : '(not observed)'} | ${r.logLines} |`)
  }
  return lines.join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--attacks')) {
    const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
    console.log(await sseAttacks(flag('module') ?? 'src/sse/connectorStream.ts', Number(flag('seconds') ?? 5) * 1000))
  } else {
    console.log(await benchSse(process.argv.includes('--quick')))
  }
}
