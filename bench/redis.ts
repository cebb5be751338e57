/**
 * The Redis bridge's own figures: a worker alone draining a pre-filled stream
 * (deliveries per second per core of its CPU time, and redis-server's CPU per
 * delivery), and how long `ack()` takes while the worker's read blocks on an
 * idle stream. Throughput through Redis (HTTP → receiver → XADD → consumer
 * group → worker) is the `redis-path` row of the HTTP table (bench/http.ts).
 * Needs redis-server on the PATH (Debian's package); starts its own.
 * `BENCH_BASE=<another build's dist/esm>` drains with that build too, in the same rounds.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { lastValueFrom, mergeMap, take } from 'rxjs'
import { WebhookReceiver, silentLogger } from '../dist/esm/index.js'
import { fromRedisStream, redisAppender, type RedisDelivery } from '../dist/esm/redis/index.js'
import { generateEvents } from '../dist/esm/cli/generate.js'
import { connect, startRedis } from '../spec/helpers/redis.js'
import { workByHand } from './byHand.js'
import { installed } from './pin.js'
import { fmt, fmtRatio, quantiles } from './stats.js'

type Client = Awaited<ReturnType<typeof connect>>
type RedisLib = { fromRedisStream: typeof fromRedisStream }
const body = readFileSync(new URL('../spec/fixtures/actions-medium.json', import.meta.url))

/** redis-server's CPU time so far, in µs (INFO cpu). */
async function redisCpu(client: Client): Promise<number> {
  const info = String(await client.info('cpu'))
  const seconds = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN)
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6
}

/**
 * One drain, in a process of its own (`drain-one <dist/esm> <count> <url>`: two builds in one process share its
 * heap and JIT, which made the second 1.47× slower in an A/A run): `count` entries of actions-medium (the verified
 * body, as `persist` stores it) written beforehand, then read by one worker (batchSize 200, 64 at a time) that
 * acknowledges each. CPU per delivery, of the process and of Redis, after a warm-up drain of 1,000.
 */
async function drainOne(dist: string, count: number, url: string): Promise<Drained> {
  const lib = dist === BY_HAND ? undefined : await import(join(dist, 'redis/index.js')) as RedisLib
  const [client, reader] = [await connect(url), await connect(url)]
  const once = async (stream: string, n: number) => {
    for (let i = 0; i < n; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => client.sendCommand(['XADD', stream, '*', 'body', body])))
    }
    const [redis0, own0, t0] = [await redisCpu(client), process.cpuUsage(), performance.now()]
    if (lib === undefined) await drainByHand(reader, stream, n)
    else {
      await lastValueFrom(lib.fromRedisStream(reader, { stream, group: 'drain', consumer: 'w1', batchSize: 200, maxInFlight: 1000, logger: silentLogger })
        .pipe(mergeMap(async (d) => { await d.ack() }, 64), take(n)))
    }
    const own = process.cpuUsage(own0)
    const [wallMs, redisUs] = [performance.now() - t0, await redisCpu(client) - redis0]
    await client.sendCommand(['DEL', stream])
    return { nodeUs: (own.user + own.system) / n, redisUs: redisUs / n, perSecond: n / (wallMs / 1000) }
  }
  try {
    await once(`bench:warm:${process.pid}`, 1000)
    return await once(`bench:drain:${process.pid}`, count)
  } finally {
    await client.destroy()
    await reader.destroy()
  }
}

interface Drained { nodeUs: number; redisUs: number; perSecond: number }

const BY_HAND = 'by-hand'

/** The same drain by hand (bench/byHand.ts). */
async function drainByHand(reader: Client, stream: string, n: number): Promise<void> {
  await reader.sendCommand(['XGROUP', 'CREATE', stream, 'drain', '0'])
  let done = 0
  await workByHand(reader, stream, 'drain', () => done >= n, (k) => { done += k })
}

function drainProcess(dist: string, count: number, url: string): Promise<Drained> {
  const script = fileURLToPath(import.meta.url)
  return new Promise((resolve, reject) => execFile(process.execPath, ['--import', 'tsx', script, 'drain-one', dist, String(count), url],
    (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout) as Drained))))
}

/** A worker draining a pre-filled stream, paired rounds (this build, and BENCH_BASE's when given), each a process. */
export async function benchDrain(quick: boolean): Promise<string> {
  if (!installed('redis-server')) return '(left out: `redis-server` is not installed)'
  const count = quick ? 2000 : 10_000
  const rounds = quick ? 2 : 7
  const base = process.env.BENCH_BASE
  const libs: Array<[string, string]> = [['this build', fileURLToPath(new URL('../dist/esm', import.meta.url))], ['by hand', BY_HAND]]
  if (base !== undefined) libs.push(['BENCH_BASE', base])
  const redis = await startRedis()
  const results = libs.map(() => [] as Drained[])
  try {
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? libs.map((_, i) => i) : libs.map((_, i) => i).reverse()
      for (const i of order) results[i]!.push(await drainProcess(libs[i]![1], count, redis.url))
    }
  } finally {
    await redis.stop()
  }
  const lines = [
    `${rounds} rounds of ${count} entries of actions-medium (${body.length} bytes, the \`body\` field) each, written beforehand; one worker ` +
      '(`batchSize: 200`, `maxInFlight: 1000`, 64 deliveries at a time) acknowledges each, a process per build and round; nothing pinned; ' +
      '"by hand" is the same drain written on the client alone.',
    '',
    '| build | deliveries/s per core (worker CPU) | worker CPU µs/delivery | redis-server CPU µs/delivery | deliveries/s (wall) |',
    '|---|---:|---:|---:|---:|',
  ]
  const median = (i: number, f: (x: Drained) => number) => quantiles(results[i]!.map(f)).median
  libs.forEach(([name], i) => lines.push(`| ${name} | ${Math.round(median(i, (x) => 1e6 / x.nodeUs))} | ${fmt(median(i, (x) => x.nodeUs), 1)} | ` +
    `${fmt(median(i, (x) => x.redisUs), 1)} | ${Math.round(median(i, (x) => x.perSecond))} |`))
  const over = (j: number) => fmtRatio(results[0]!.map((x, i) => x.nodeUs / results[j]![i]!.nodeUs))
  lines.push('', `This build ÷ by hand (XREADGROUP, JSON.parse, XACK; no claims, no bounds), worker CPU per delivery per round: ${over(1)}.`)
  if (libs.length > 2) lines.push(`This build ÷ BENCH_BASE, worker CPU per delivery per round: ${over(2)}.`)
  return lines.join('\n')
}

export async function benchRedis(quick = false): Promise<string> {
  if (!installed('redis-server')) return '(left out: `redis-server` is not installed)'
  const drain = await benchDrain(quick)
  const redis = await startRedis()
  try {
    const ackMs = await ackLatency(redis.url)
    return [
      drain,
      '',
      `\`ack()\` on an idle stream, while the worker's read blocks (default \`blockMs\`, 2 s): median ${fmt(ackMs.median, 1)} ms, max ${fmt(ackMs.max, 1)} ms over ${ackMs.count} acks.`,
      '',
      'Throughput through Redis is the `persist` and `redis-path` rows of the HTTP table above.',
    ].join('\n')
  } finally {
    await redis.stop()
  }
}

/** How long `ack()` takes while the read loop sits in a blocking XREADGROUP on an idle stream (0.1: about blockMs). */
async function ackLatency(url: string): Promise<{ median: number; max: number; count: number }> {
  const count = 20
  const writer = await connect(url)
  const reader = await connect(url)
  const deliveries: RedisDelivery[] = []
  const subscription = fromRedisStream(reader, { stream: 'bench:idle', group: 'bench', consumer: 'w1', logger: silentLogger }).subscribe((d) => deliveries.push(d))
  const append = redisAppender(writer, { stream: 'bench:idle' })
  const payload = new WebhookReceiver({ secret: '', logger: silentLogger }).parse(generateEvents({ type: 'actions', count: 1, sessions: 1, seed: 6 })[0]!)!
  const times: number[] = []
  try {
    for (let i = 0; i < count; i++) {
      await append(payload)
      while (deliveries.length <= i) await new Promise((resolve) => setTimeout(resolve, 1))
      await new Promise((resolve) => setTimeout(resolve, 20)) // the loop is back in its blocking read
      const t0 = performance.now()
      if (!(await deliveries[i]!.ack())) throw new Error('ack failed')
      times.push(performance.now() - t0)
    }
  } finally {
    subscription.unsubscribe()
    await writer.destroy()
    await reader.destroy()
  }
  times.sort((a, b) => a - b)
  return { median: times[count >> 1]!, max: times[count - 1]!, count }
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv[2] === 'drain-one') {
  const [dist, count, url] = process.argv.slice(3)
  drainOne(dist!, Number(count), url!).then((r) => console.log(JSON.stringify(r)), (e) => { console.error(e); process.exitCode = 1 })
} else if (import.meta.url === `file://${process.argv[1]}`) {
  (process.argv[2] === 'drain' ? benchDrain(process.argv.includes('--quick')) : benchRedis(process.argv.includes('--quick'))).then((t) => console.log(t), (e) => { console.error(e); process.exitCode = 1 })
}
