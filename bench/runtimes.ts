/**
 * The fetch handler on every runtime against that runtime's own floor (bench/runtimes/floor.ts:
 * HMAC with its fastest API + JSON.parse), over HTTP with the HTTP bench's load generator, body
 * actions-medium.json. Both are bundled with esbuild as a user's build would
 * (spec/runtimes/launch.ts) and each runs in a server process of its own, pinned like the HTTP
 * bench's. workerd is timed from outside, over HTTP: inside it the clock does not advance during
 * a request. Every round runs the floor and the handler of each runtime in alternation (the order
 * reversed each round); the figure is floor req/s ÷ handler req/s of the same round (time per
 * delivery relative to the floor), median and IQR, rounds until every IQR is within ±5 % of its
 * median or 12. `npm run bench -- --only=runtimes [--quick]`; `BENCH_RUNTIMES=workerd,bun` to pick.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundle, KINDS, type Kind } from '../spec/runtimes/launch.js'
import { generator, load, type LoadResult } from './http.js'
import { pinning, prefixed } from './pin.js'
import { STEADY, fmt, fmtRatio, isSteady, quantiles, type SteadyRule } from './stats.js'

const TARGET = 1.25
const secret = readFileSync(new URL('../spec/fixtures/SECRET.txt', import.meta.url), 'utf8').trim()

interface Server { readonly port: number; readonly child: ChildProcess }

function serve(command: string, args: string[]): Promise<Server> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const port = /listening (\d+)/.exec(out)?.[1]
      if (port !== undefined) resolve({ port: Number(port), child })
    })
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)))
  })
}

/**
 * Runs the runtime comparison and returns it as markdown.
 *
 * @param quick - 2 rounds of 2 s (a smoke run: its ratios are not steady)
 */
export async function benchRuntimes(quick: boolean): Promise<string> {
  const seconds = quick ? 2 : 5
  const connections = 50
  const rule: SteadyRule = quick ? { minRounds: 2, maxRounds: 2, tolerance: STEADY.tolerance } : STEADY
  const kinds = (process.env.BENCH_RUNTIMES?.split(',') ?? KINDS) as Kind[]
  const pin = pinning()
  const gen = generator(pin)
  const dir = mkdtempSync(join(tmpdir(), 'autoplay-rx-runtimes-'))
  const launcher = fileURLToPath(new URL('./runtime-server.ts', import.meta.url))
  const servers = new Map<Kind, { floor: Server; handler: Server }>()
  const results = new Map<Kind, { floor: LoadResult[]; handler: LoadResult[] }>(kinds.map((k) => [k, { floor: [], handler: [] }]))
  const ratios = (kind: Kind) => results.get(kind)!.floor.map((f, i) => f.rps / results.get(kind)!.handler[i]!.rps)
  const started = performance.now()
  try {
    for (const kind of kinds) {
      const start = async (app: string) => {
        const file = await bundle(kind, dir, { RUNTIME_SECRET: secret }, fileURLToPath(new URL(`./runtimes/${app}.ts`, import.meta.url)))
        return serve(...prefixed(pin.server, process.execPath, ['--import', 'tsx', launcher, kind, file, dir]))
      }
      servers.set(kind, { floor: await start('floor'), handler: await start('handler') })
    }
    for (const { floor, handler } of servers.values()) for (const s of [floor, handler]) await load(gen, s.port, 1, connections) // warm-up
    for (let r = 0; r < rule.maxRounds && !(r >= rule.minRounds && isSteady(kinds.map(ratios), rule)); r++) {
      for (const kind of kinds) {
        const { floor, handler } = servers.get(kind)!
        const order = r % 2 === 0 ? ([['floor', floor], ['handler', handler]] as const) : ([['handler', handler], ['floor', floor]] as const)
        for (const [name, s] of order) results.get(kind)![name].push(await load(gen, s.port, seconds, connections))
      }
    }
  } finally {
    for (const { floor, handler } of servers.values()) for (const s of [floor, handler]) s.child.kill('SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  }
  const lines = [
    `Body: actions-medium.json; ${gen.name}, ${connections} connections; ${pin.note}. ` +
      `${results.get(kinds[0]!)!.floor.length} rounds × ${seconds} s per server (${fmt((performance.now() - started) / 60_000, 1)} min).`,
    '',
    '| runtime | floor HMAC | floor req/s | handler req/s | non-2xx | time ÷ floor (median, IQR, ±half-width) | target | met |',
    '|---|---|---:|---:|---:|---:|---:|:-:|',
  ]
  for (const kind of kinds) {
    const { floor, handler } = results.get(kind)!
    const median = quantiles(ratios(kind)).median
    lines.push(`| ${kind} | ${kind === 'workerd' || kind === 'edge' ? 'WebCrypto' : 'node:crypto'} | ${Math.round(quantiles(floor.map((x) => x.rps)).median)} | ` +
      `${Math.round(quantiles(handler.map((x) => x.rps)).median)} | ${[...floor, ...handler].reduce((a, x) => a + x.non2xx, 0)} | ` +
      `${fmtRatio(ratios(kind))} | ≤ ${TARGET} | ${median <= TARGET ? 'yes' : 'no'}${quick ? ' (quick run)' : ''} |`)
  }
  return lines.join('\n')
}
