/**
 * Throughput through Redis, end to end, next to the same path without it:
 * connector-like HTTP deliveries → createNodeMiddleware → (XADD → consumer
 * group → worker, ack) vs → an in-process subscriber; and bare ingest.
 * Needs redis-server on the PATH (Debian's package); starts its own.
 */
import { mergeMap } from 'rxjs'
import { WebhookReceiver, silentLogger, sign } from '../dist/esm/index.js'
import { createNodeMiddleware } from '../dist/esm/adapters/node.js'
import { fromRedisStream, redisAppender, type RedisDelivery } from '../dist/esm/redis/index.js'
import { generateEvents } from '../dist/esm/cli/generate.js'
import { sendDeliveries } from '../dist/esm/cli/send.js'
import { listen } from '../spec/helpers/http.js'
import { connect, startRedis } from '../spec/helpers/redis.js'
import { fmt } from './stats.js'

const SECRET = 'bench-secret'

export async function benchRedis(quick: boolean): Promise<string> {
  const total = quick ? 5_000 : 20_000
  const bodies = generateEvents({ type: 'actions', count: total, sessions: 500, seed: 5 }).map((t) => Buffer.from(t))
  const rows: string[] = []

  // 1. ingest alone, in process.
  {
    const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
    let seen = 0
    receiver.payloads$.subscribe(() => { seen++ })
    const signatures = bodies.map((b) => sign(b, SECRET))
    const t0 = performance.now()
    for (let i = 0; i < bodies.length; i++) receiver.ingest(bodies[i]!, signatures[i])
    const s = (performance.now() - t0) / 1000
    if (seen !== total) throw new Error('lost deliveries in process')
    rows.push(`| in process: ingest → subscriber | ${total} | ${Math.round(total / s)} |`)
  }

  // 2. HTTP → receiver → subscriber.
  {
    const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
    let seen = 0
    receiver.payloads$.subscribe(() => { seen++ })
    const server = await listen(createNodeMiddleware(receiver))
    const report = await sendDeliveries({ url: `http://127.0.0.1:${server.port}/`, secret: SECRET, deliveries: bodies.map((body) => ({ body })), concurrency: 64, retries: 0 })
    await server.close()
    if (seen !== total || report.accepted !== total) throw new Error('lost deliveries over HTTP')
    rows.push(`| HTTP → receiver → subscriber | ${total} | ${Math.round(total / (report.durationMs / 1000))} |`)
  }

  // 3. HTTP → receiver → XADD (acknowledged once stored) → consumer group → worker (XACK).
  const redis = await startRedis()
  let ackMs = { median: 0, max: 0, count: 0 }
  try {
    const writer = await connect(redis.url)
    const reader = await connect(redis.url)
    const stream = 'bench:events'
    const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
    const server = await listen(createNodeMiddleware(receiver, { persist: redisAppender(writer, { stream }) }))
    let worked = 0
    let lastAck = 0
    let subscription: { unsubscribe(): void } | undefined
    const done = new Promise<void>((resolve) => {
      subscription = fromRedisStream(reader, { stream, group: 'bench', consumer: 'w1', startAt: '0', batchSize: 200, blockMs: 100, maxInFlight: 1000 })
        .pipe(mergeMap(async (d) => { await d.ack(); return d }, 64))
        .subscribe(() => { worked++; if (worked === total) { lastAck = performance.now(); resolve() } })
    })
    const t0 = performance.now()
    const report = await sendDeliveries({ url: `http://127.0.0.1:${server.port}/`, secret: SECRET, deliveries: bodies.map((body) => ({ body })), concurrency: 64, retries: 0 })
    await done
    subscription?.unsubscribe()
    const s = (lastAck - t0) / 1000
    await server.close()
    await writer.destroy()
    await reader.destroy()
    if (report.accepted !== total) throw new Error('deliveries refused')
    rows.push(`| HTTP → receiver → Redis (XADD) → worker (XREADGROUP, XACK) | ${total} | ${Math.round(total / s)} |`)
    ackMs = await ackLatency(redis.url)
  } finally {
    await redis.stop()
  }
  return [
    `Generated actions batches (3 actions, ~1.4 KB each), 500 sessions; HTTP load from this process at 64 connections (autoplay-rx send); one worker. ${fmt(total / 1000, 0)}k deliveries per row.`,
    '',
    '| path | deliveries | events/s |',
    '|---|---:|---:|',
    ...rows,
    '',
    `\`ack()\` on an idle stream, while the worker's read blocks (default \`blockMs\`, 2 s): median ${fmt(ackMs.median, 1)} ms, max ${fmt(ackMs.max, 1)} ms over ${ackMs.count} acks.`,
  ].join('\n')
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

if (import.meta.url === `file://${process.argv[1]}`) {
  benchRedis(process.argv.includes('--quick')).then((t) => console.log(t), (e) => { console.error(e); process.exitCode = 1 })
}
