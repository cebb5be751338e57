/**
 * The Redis bridge's own figure: how long `ack()` takes while the worker's
 * read blocks on an idle stream. Throughput through Redis (HTTP → receiver →
 * XADD → consumer group → worker) is the `redis-path` row of the HTTP table
 * (bench/http.ts), measured by the same method as every other HTTP row.
 * Needs redis-server on the PATH (Debian's package); starts its own.
 */
import { WebhookReceiver, silentLogger } from '../dist/esm/index.js'
import { fromRedisStream, redisAppender, type RedisDelivery } from '../dist/esm/redis/index.js'
import { generateEvents } from '../dist/esm/cli/generate.js'
import { connect, startRedis } from '../spec/helpers/redis.js'
import { installed } from './pin.js'
import { fmt } from './stats.js'

export async function benchRedis(): Promise<string> {
  if (!installed('redis-server')) return '(left out: `redis-server` is not installed)'
  const redis = await startRedis()
  try {
    const ackMs = await ackLatency(redis.url)
    return [
      `\`ack()\` on an idle stream, while the worker's read blocks (default \`blockMs\`, 2 s): median ${fmt(ackMs.median, 1)} ms, max ${fmt(ackMs.max, 1)} ms over ${ackMs.count} acks.`,
      '',
      'Throughput through Redis is the `redis-path` row of the HTTP table above.',
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

if (import.meta.url === `file://${process.argv[1]}`) {
  benchRedis().then((t) => console.log(t), (e) => { console.error(e); process.exitCode = 1 })
}
