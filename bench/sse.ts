/**
 * connectorStream vs the floor: the same SSE frames, from the same local
 * node:http server over the same `fetch`, read, split on blank lines and
 * JSON.parse'd — nothing else. Paired rounds in one run, per fixture.
 */
import { readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { lastValueFrom, take, count } from 'rxjs'
import { silentLogger } from '../dist/esm/logger.js'
import { connectorStream } from '../dist/esm/sse/connectorStream.js'
import { fmt, quantiles, ratios } from './stats.js'

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

/** Serves `body` (the whole stream) to every authorised GET, then ends it. */
async function serve(body: Buffer): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401).end()
      return
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    res.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/stream/prod_abc`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

/** The floor: fetch, UTF-8 decode, split on blank lines, JSON.parse each `data:` line. */
async function floor(url: string): Promise<number> {
  const response = await fetch(url, { headers: { accept: 'text/event-stream', authorization: `Bearer ${TOKEN}` } })
  const decoder = new TextDecoder()
  let pending = ''
  let parsed = 0
  let sink: unknown
  for await (const chunk of response.body!) {
    pending += decoder.decode(chunk as Uint8Array, { stream: true })
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

/** connectorStream, taking exactly the frames served (so it never reconnects). */
function stream(url: string, frames: number): Promise<number> {
  return lastValueFrom(connectorStream({ url, token: TOKEN, logger: silentLogger }).pipe(take(frames), count()))
}

async function time(run: () => Promise<number>, expected: number): Promise<number> {
  const start = performance.now()
  const seen = await run()
  const elapsed = performance.now() - start
  if (seen !== expected) throw new Error(`expected ${expected} frames, got ${seen}`)
  return elapsed
}

/**
 * Frames per second decoded by `connectorStream` against the floor, per
 * fixture, as a markdown table (median and interquartile range of the
 * per-round ratio; higher is better, target ≥ 0.8).
 *
 * @param quick - fewer rounds, for a smoke run
 * @returns the markdown table
 *
 * @example
 * ```ts
 * console.log(await benchSse(false))
 * ```
 */
export async function benchSse(quick: boolean): Promise<string> {
  const rounds = quick ? 7 : 21
  const lines = [
    '| fixture | frame bytes | frames/run | floor frames/s | connectorStream frames/s | stream ÷ floor throughput (median, IQR) | target | met |',
    '|---|---:|---:|---:|---:|---:|---:|:-:|',
  ]
  for (const { name, frames } of cases) {
    const json = readFileSync(new URL(`${name}.json`, fixtures), 'utf8').trim()
    const frame = `data: ${json}\n\n`
    const server = await serve(Buffer.from(frame.repeat(frames), 'utf8'))
    try {
      const candidates = [
        { name: 'floor', run: () => floor(server.url) },
        { name: 'stream', run: () => stream(server.url, frames) },
      ]
      const times = new Map<string, number[]>(candidates.map((c) => [c.name, []]))
      for (const c of candidates) for (let i = 0; i < 2; i++) await time(c.run, frames) // warm-up
      for (let r = 0; r < rounds; r++) {
        // Alternate the order so neither side always runs after the other.
        const order = r % 2 === 0 ? candidates : [...candidates].reverse()
        for (const c of order) times.get(c.name)!.push(await time(c.run, frames))
      }
      const f = quantiles(times.get('floor')!)
      const s = quantiles(times.get('stream')!)
      // Throughput ratio = floor time ÷ stream time, per round.
      const r = quantiles(ratios(times.get('floor')!, times.get('stream')!))
      const perSecond = (ms: number) => Math.round((frames * 1000) / ms).toLocaleString('en-US')
      lines.push(`| ${name} | ${Buffer.byteLength(frame)} | ${frames} | ${perSecond(f.median)} | ${perSecond(s.median)} | ` +
        `${fmt(r.median)} (${fmt(r.p25)}–${fmt(r.p75)}) | ≥ ${TARGET} | ${r.median >= TARGET ? 'yes' : 'no'} |`)
    } finally {
      await server.close()
    }
  }
  return lines.join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await benchSse(process.argv.includes('--quick')))
}
