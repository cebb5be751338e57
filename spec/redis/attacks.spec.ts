/**
 * The attacks on the 0.1 Redis bridge (issue 10), each against a real
 * redis-server that is SIGKILLed and restarted. Where a crash is the point,
 * the code runs in a child process without mocha's handlers.
 */
import { expect } from 'chai'
import { rmSync } from 'node:fs'
import type { Subscription } from 'rxjs'
import type { Payload } from '../../src/index.js'
import { fromRedisStream, redisAppender, type RedisDelivery } from '../../src/redis/index.js'
import { recordingLogger } from '../helpers/fixtures.js'
import { sleep } from '../helpers/http.js'
import { connect, payloads, redisSuite, runProgram, scratchDir, startRedis, until } from '../helpers/redis.js'

describe('Redis bridge: the attacks on 0.1 (issue 10)', function () {
  this.timeout(30_000)
  const suite = redisSuite()
  const { name, client, keep } = suite

  it('ack() during a Redis SIGKILL does not crash the natural usage (child process), and the worker goes on after the restart', async function () {
    this.timeout(60_000)
    const stream = name('crash')
    // 0.1's README usage: a reading client of its own, an 'error' listener on each, work then ack in mergeMap.
    const program = runProgram(`
      import { createClient } from 'redis'
      import { mergeMap } from 'rxjs'
      import { fromRedisStream } from 'autoplay-rx/redis'

      const redis = createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true, socket: { reconnectStrategy: (n) => Math.min(50 * (n + 1), 300) } })
      redis.on('error', () => undefined)
      await redis.connect()
      const reader = redis.duplicate()
      reader.on('error', () => undefined)
      await reader.connect()
      const subscription = fromRedisStream(reader, { stream: process.env.STREAM!, group: 'g', consumer: 'c', logger: {} })
        .pipe(mergeMap(async (delivery) => {
          console.log('working on', delivery.payload.forwarded_at)
          await new Promise((resolve) => setTimeout(resolve, 400))
          console.log('acked', await delivery.ack(), delivery.payload.forwarded_at)
        }, 8))
        .subscribe()
      console.log('ready')
      process.once('SIGTERM', () => {
        subscription.unsubscribe()
        void Promise.all([redis.close(), reader.close()])
      })
    `, { REDIS_URL: suite.redis.url, STREAM: stream }, 50_000)
    try {
      const lines = () => program.out().split('\n')
      const running = (check: () => boolean) => () => {
        if (!program.alive()) throw new Error(`the program ended: ${program.err()}`)
        return check()
      }
      await until(running(() => lines().includes('ready')), 'the program to start', 25_000) // tsx compiles it first: slow on a busy machine
      const writer = await client()
      const before = payloads(16, 3, 1)
      for (const p of before) await redisAppender(writer, { stream })(p)
      await until(running(() => before.every((p) => lines().includes(`working on ${p.forwarded_at}`))), 'the first entries to be handed out', 10_000)
      // Their acks come while Redis is down (0.1: each a rejection, and the first one ends the process).
      await suite.redis.stop()
      await until(running(() => before.every((p) => lines().some((l) => l.startsWith('acked') && l.endsWith(` ${p.forwarded_at}`)))), 'the acks during the outage to be answered', 10_000)
      await suite.redis.start()
      await suite.reconnected()
      const after = payloads(8, 3, 2)
      for (const p of after) await redisAppender(writer, { stream })(p)
      await until(running(() => after.every((p) => lines().includes(`acked true ${p.forwarded_at}`))), 'the entries stored after the restart to be acknowledged', 10_000)
      expect(program.alive()).to.equal(true)
      program.kill('SIGTERM')
      expect(await program.exited).to.equal(0)
      expect(program.err()).to.equal('')
    } finally {
      program.kill('SIGKILL')
    }
  })

  it('ack() does not wait behind a blocking read on an idle stream', async () => {
    const stream = name('ack-latency')
    const deliveries: RedisDelivery[] = []
    keep(fromRedisStream(await client(), { stream, group: 'g', consumer: 'c', blockMs: 5000 }).subscribe((d) => deliveries.push(d)))
    await redisAppender(await client(), { stream })(payloads(1, 3, 3)[0]!)
    await until(() => deliveries.length === 1, 'the delivery')
    await sleep(100) // the loop is back in a blocking read
    const started = Date.now()
    const acked = await deliveries[0]!.ack()
    expect(Date.now() - started).to.be.below(1000) // 0.1: about 4,900 ms, behind the 5 s read
    expect(acked).to.equal(true)
  })

  it('ack() resolves false while Redis is down; the entry stays pending and is handed out again once it is back (AOF)', async () => {
    const dir = scratchDir('aof-')
    const durable = await startRedis({ dir })
    const [reader, writer] = [await connect(durable.url), await connect(durable.url)]
    let subscription: Subscription | undefined
    try {
      const stream = name('ack-false')
      const logger = recordingLogger()
      const deliveries: RedisDelivery[] = []
      subscription = fromRedisStream(reader, { stream, group: 'g', consumer: 'c', claimIdleMs: 300, blockMs: 100, logger }).subscribe((d) => deliveries.push(d))
      const [sent] = payloads(1, 3, 4)
      await redisAppender(writer, { stream })(sent!)
      await until(() => deliveries.length === 1, 'the delivery')
      await durable.stop()
      expect(await deliveries[0]!.ack()).to.equal(false)
      expect(logger.lines.some((l) => l.level === 'warn' && /XACK failed/.test(l.message))).to.equal(true)
      await durable.start()
      await until(() => deliveries.length === 2, 'the entry to be handed out again', 10_000)
      expect(deliveries[1]!.id).to.equal(deliveries[0]!.id)
      expect(deliveries[1]!.payload).to.deep.equal(sent)
      expect(deliveries[1]!.claimed).to.equal(true)
      expect(await deliveries[1]!.ack()).to.equal(true)
      expect(await deliveries[1]!.ack()).to.equal(true)
      expect(Number((await writer.sendCommand(['XPENDING', stream, 'g']) as [number])[0])).to.equal(0)
    } finally {
      subscription?.unsubscribe()
      for (const c of [reader, writer]) c.destroy()
      await durable.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('entries stored before the first worker started are processed (the group starts at 0)', async () => {
    const stream = name('stored-first')
    const writer = await client()
    const stored = payloads(22, 3, 5)
    for (const p of stored) await redisAppender(writer, { stream })(p)
    const received: Payload[] = []
    keep(fromRedisStream(await client(), { stream, group: 'g', consumer: 'c', blockMs: 100 })
      .subscribe((d) => { received.push(d.payload); void d.ack() }))
    await until(() => received.length >= 22, 'the 22 stored entries', 5000)
    expect(received).to.deep.equal(stored)
  })

  it("startAt '$' is the opt-in for live only: stored entries are skipped, new ones read", async () => {
    const stream = name('live-only')
    const writer = await client()
    for (const p of payloads(3, 3, 6)) await redisAppender(writer, { stream })(p)
    const received: Payload[] = []
    keep(fromRedisStream(await client(), { stream, group: 'g', consumer: 'c', blockMs: 50, startAt: '$' })
      .subscribe((d) => { received.push(d.payload); void d.ack() }))
    await until(async () => (await writer.sendCommand(['XINFO', 'GROUPS', stream]) as unknown as unknown[]).length === 1, 'the group')
    const live = payloads(2, 3, 7)
    for (const p of live) await redisAppender(writer, { stream })(p)
    await until(() => received.length >= 2, 'the live entries')
    await sleep(100)
    expect(received).to.deep.equal(live)
  })

  it('entries stored after a Redis restart without persistence, before the worker reads again, are processed', async () => {
    const stream = name('restart-gap')
    const received: Payload[] = []
    const logger = recordingLogger()
    keep(fromRedisStream(await client(), { stream, group: 'g', consumer: 'c', blockMs: 100, logger })
      .subscribe((d) => { received.push(d.payload); void d.ack() }))
    const writer = await client()
    const first = payloads(3, 3, 8)
    for (const p of first) await redisAppender(writer, { stream })(p)
    await until(() => received.length === 3, 'the first entries')
    await suite.redis.stop()
    await sleep(300) // the reader backs off meanwhile
    await suite.redis.start()
    // Stored at once by a fresh connection, well before the worker's next read recreates the group.
    const gap = await connect(suite.redis.url)
    const stored = payloads(30, 3, 9)
    try {
      for (const p of stored) await redisAppender(gap, { stream })(p)
    } finally {
      gap.destroy()
    }
    await until(() => received.length >= 33, 'the entries stored during the restart', 10_000)
    expect(received).to.deep.equal([...first, ...stored])
    expect(logger.lines.some((l) => /Redis read failed/.test(l.message))).to.equal(true)
  })
})
