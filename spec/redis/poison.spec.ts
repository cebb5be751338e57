/**
 * Entries the work cannot get through (issue 22, items 2, 3 and 9): a delivery cap with a dead-letter stream, idle
 * consumers removed, entries trimmed while pending reported, and the worker's in-flight bytes bounded. Against a
 * real redis-server; where a process dies or memory is the claim, the worker runs in a child process.
 */
import { expect } from 'chai'
import { mergeMap } from 'rxjs'
import type { Payload } from '../../src/index.js'
import { parseEntries } from '../../src/redis/client.js'
import { fromRedisStream, redisAppender, type RedisDelivery } from '../../src/redis/index.js'
import type { RedisEntryRejection } from '../../src/redis/errors.js'
import { recordingLogger } from '../helpers/fixtures.js'
import { sleep } from '../helpers/http.js'
import { payloads, redisSuite, runProgram, until } from '../helpers/redis.js'
import { partitionOf } from '../../src/redis/partitions.js'

// The worker of docs/scaling.md, under a stable name; `work` exits the process on the poison.
const WORKER = `
  import { createClient } from 'redis'
  import { mergeMap } from 'rxjs'
  import { fromRedisStream } from 'autoplay-rx/redis'

  const redis = createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true })
  redis.on('error', (error) => console.error('redis:', error.message))
  await redis.connect()
  async function work(payload) {
    if (String(payload.forwarded_at) === process.env.POISON) process.exit(3) // a crash in the work
    await new Promise((resolve) => setTimeout(resolve, Number(process.env.WORK_MS)))
    console.log('processed', payload.forwarded_at)
  }
  const partitions = process.env.PARTITIONS ? { partitions: Number(process.env.PARTITIONS), leaseMs: 600 } : {}
  // One read connection for every partition: the reads are answered in the order they were sent.
  const reads = process.env.SHARED_READS ? redis.duplicate() : undefined
  await reads?.on('error', () => undefined).connect()
  fromRedisStream(redis, { stream: process.env.STREAM, group: 'workers', consumer: 'host-1', ...partitions,
    ...(reads ? { readClient: reads, blockMs: 100 } : {}) })
    .pipe(mergeMap(async (delivery) => {
      try {
        await work(delivery.payload)
        // Work kept in memory until its state is stored (a summarizer's way): held, not acknowledged.
        if ((process.env.HOLD ?? '').split(',').includes(String(delivery.payload.forwarded_at))) return void delivery.hold()
      } catch (error) {
        return delivery.release()
      }
      await delivery.ack()
    }, 8))
    .subscribe({ error: (error) => console.error('worker stopped:', error) })
  console.log('ready')
  process.once('SIGTERM', () => process.exit(0))
`

describe('redis/fromRedisStream: poison entries, dead letters, lost entries, bytes in flight', function () {
  this.timeout(60_000)
  const suite = redisSuite()
  const { name, client, keep } = suite
  // -1 while the group is not there yet.
  const pendingCount = async (redis: { sendCommand(args: string[]): Promise<unknown> }, stream: string) =>
    Number(((await redis.sendCommand(['XPENDING', stream, 'workers']).catch(() => [-1])) as [number])[0])

  /** The poison worker restarted as a supervisor would; `held`: indexes of entries it holds (hold()) and never acknowledges. */
  async function poisonRun(partitions: number | undefined, held: number[]) {
    const stream = name('poison')
    const writer = await client()
    const sent = payloads(12, 12, 41)
    const poison = sent[5]!
    for (const p of sent) await redisAppender(writer, { stream, partitions })(p)
    // The streams the entries are in: one, or the 4 partitions (each with its own dead letters).
    const streams = partitions === undefined ? [stream] : [0, 1, 2, 3].map((p) => `${stream}:{${p}}`)
    // NaN while a stream has no group yet (a partition no run has read yet): never equal to a count.
    const pending = async () => (await Promise.all(streams.map((s) => pendingCount(writer, s))))
      .reduce((a, b) => (b < 0 ? Number.NaN : a + b), 0)
    const dead = async () => (await Promise.all(streams.map(async (s) => Number(await writer.sendCommand(['XLEN', `${s}:dead`]))))).reduce((a, b) => a + b)
    const processed = new Set<string>()
    let runs = 0
    let done = false
    // Restarted as a supervisor would, at most 8 times (9 runs); main: it dies every time.
    while (!done && runs < 9) {
      runs++
      const program = runProgram(WORKER, { REDIS_URL: suite.redis.url, STREAM: stream, POISON: String(poison.forwarded_at), WORK_MS: '5',
        PARTITIONS: String(partitions ?? ''), HOLD: held.map((i) => String(sent[i]!.forwarded_at)).join(',') }, 40_000)
      const collect = () => { for (const line of program.out().split('\n')) if (line.startsWith('processed ')) processed.add(line.slice(10)) }
      // Done: every entry but the poison processed (a held one pending may not be done yet), the poison dead.
      const finished = async () => (collect(), processed.size === sent.length - 1) && (await pending()) === held.length && (await dead()) === 1
      await until(async () => !program.alive() || (program.out().includes('ready') && await finished()), 'the worker to die or be done', 35_000)
      collect()
      done = program.alive()
      program.kill('SIGTERM')
      await program.exited
    }
    expect(done, `done within ${runs} runs`).to.equal(true)
    expect([...processed].sort()).to.deep.equal(sent.filter((p) => p !== poison).map((p) => String(p.forwarded_at)).sort())
    const deadIds = async () => (await Promise.all(streams.map(async (s) =>
      parseEntries(await writer.sendCommand(['XRANGE', `${s}:dead`, '-', '+'])).map((e) => `${e.fields['dead:deliveries']}:${e.fields['body'] ?? e.fields['payload']}`.slice(0, 80))))).flat()
    expect(await pending(), `dead letters: ${JSON.stringify(await deadIds())}`).to.equal(held.length)
    // What is still pending is the held entries: re-read after each crash, yet counted from their hold, so none
    // neared maxDeliveries (without the restart of their counts they are dead-lettered with the poison).
    for (const s of streams) {
      const rows = await writer.sendCommand(['XPENDING', s, 'workers', '-', '+', '100']) as unknown as Array<[string, string, number, number]>
      for (const row of rows) expect(Number(row[3])).to.be.below(5)
    }
    const deadStream = partitions === undefined ? stream : `${stream}:{${partitionOf(poison, partitions)}}`
    const [letter] = parseEntries(await writer.sendCommand(['XRANGE', `${deadStream}:dead`, '-', '+']))
    expect(JSON.parse(letter!.fields['payload']!)).to.deep.equal(poison)
    expect(letter!.fields).to.include({ 'dead:why': 'maxDeliveries', 'dead:deliveries': '5', 'dead:group': 'workers' })
    expect(runs).to.equal(6) // 5 deliveries, then the one that dead-letters it
  }

  it('a poison entry that kills the worker is dead-lettered after maxDeliveries; the 11 others are processed, 0 pending', async function () {
    this.timeout(120_000)
    await poisonRun(undefined, [])
  })

  it('the same with 4 partitions, the worker taking its leases back: only the poison dead-lettered (one poison suspect out per worker)', async function () {
    this.timeout(120_000)
    await poisonRun(4, [])
  })

  it('the same with 3 entries held (hold()) while the poison kills the worker: not dead-lettered, still pending, their counts restarted at each hold', async function () {
    this.timeout(120_000)
    await poisonRun(4, [1, 2, 9])
  })

  it('a suspect goes out only once Redis restarted the count of an entry just held: its crash does not count toward the held one', async () => {
    const stream = name('forgive')
    const writer = await client()
    // Two sessions of one partition: `held` (read once) before the poison (handed out twice already: a suspect).
    const sent = payloads(12, 12, 47)
    const [held, poison] = sent.filter((p) => partitionOf(p, 4) === partitionOf(sent[0]!, 4))
    const s = `${stream}:{${partitionOf(held!, 4)}}`
    const [heldId, poisonId] = [await redisAppender(writer, { stream, partitions: 4 })(held!), await redisAppender(writer, { stream, partitions: 4 })(poison!)]
    await writer.sendCommand(['XGROUP', 'CREATE', s, 'workers', '0'])
    await writer.sendCommand(['XREADGROUP', 'GROUP', 'workers', 'host-1', 'STREAMS', s, '>'])
    await writer.sendCommand(['XCLAIM', s, 'workers', 'host-1', '0', poisonId!, 'RETRYCOUNT', '2', 'JUSTID'])
    // `held` goes out and is worked (slowly); the poison, read meanwhile, waits alone until it is held, then kills the worker.
    const program = runProgram(WORKER, { REDIS_URL: suite.redis.url, STREAM: stream, POISON: String(poison!.forwarded_at), WORK_MS: '500',
      PARTITIONS: '4', HOLD: String(held!.forwarded_at) }, 20_000)
    expect(await program.exited, program.err().slice(0, 500)).to.equal(3)
    const rows = await writer.sendCommand(['XPENDING', s, 'workers', '-', '+', '10']) as unknown as Array<[string, string, number, number]>
    // Without waiting for the restart of its count, `held` keeps the 2 of its claim, and crashes like this one add up to a dead letter.
    expect(rows.map((row) => [row[0], Number(row[3])])).to.deep.equal([[heldId, 0], [poisonId, 3]])
  })

  it('a suspect read while another partition\'s is out is not counted until its turn: the poison\'s crashes do not dead-letter it', async function () {
    this.timeout(60_000)
    const stream = name('suspects')
    const writer = await client()
    // The poison in a partition before the innocent's: its read is answered first, the innocent's already sent.
    const sent = payloads(12, 12, 48)
    const poison = sent.find((p) => partitionOf(p, 4) < 3)!
    const innocent = sent.find((p) => partitionOf(p, 4) > partitionOf(poison, 4))!
    const streams: string[] = []
    const ids: string[] = []
    // Both handed out before, the innocent 4 times (one more and it is dead-lettered), the poison twice.
    for (const [p, n] of [[poison, '2'], [innocent, '4']] as const) {
      const s = `${stream}:{${partitionOf(p, 4)}}`
      ids.push(await redisAppender(writer, { stream, partitions: 4 })(p))
      streams.push(s)
      await writer.sendCommand(['XGROUP', 'CREATE', s, 'workers', '0'])
      await writer.sendCommand(['XREADGROUP', 'GROUP', 'workers', 'host-1', 'STREAMS', s, '>'])
      await writer.sendCommand(['XCLAIM', s, 'workers', 'host-1', '0', ids.at(-1)!, 'RETRYCOUNT', n, 'JUSTID'])
    }
    const deadIds = async () => (await Promise.all(streams.map(async (s) =>
      parseEntries(await writer.sendCommand(['XRANGE', `${s}:dead`, '-', '+'])).map((e) => e.fields['dead:id'])))).flat()
    let runs = 0
    let done = false
    while (!done && runs < 6) {
      runs++
      const program = runProgram(WORKER, { REDIS_URL: suite.redis.url, STREAM: stream, POISON: String(poison.forwarded_at), WORK_MS: '5',
        PARTITIONS: '4', SHARED_READS: '1', HOLD: String(innocent.forwarded_at) }, 20_000)
      // Done: the poison dead-lettered, and the innocent dead-lettered too or processed and held (its count restarted).
      const counts = async () => (await writer.sendCommand(['XPENDING', streams[1]!, 'workers', '-', '+', '1']) as Array<[string, string, number, number]>).map((row) => Number(row[3]))
      const finished = async () => (await deadIds()).includes(ids[0]!) && ((await deadIds()).includes(ids[1]!) || (await counts()).join() === '0')
      await until(async () => !program.alive() || await finished(), 'the worker to die or be done', 15_000)
      done = program.alive()
      program.kill('SIGTERM')
      await program.exited
    }
    expect(await deadIds(), `within ${runs} runs`).to.deep.equal([ids[0]])
    expect(done).to.equal(true)
    expect(runs).to.equal(4) // the poison's 3rd, 4th and 5th deliveries, then it is dead-lettered
  })

  it('work that throws and releases: handed out maxDeliveries times, then dead-lettered (one log line, reported, acknowledged)', async () => {
    const stream = name('release')
    const writer = await client()
    const [bad] = payloads(1, 1, 42)
    const id = await redisAppender(writer, { stream })(bad!)
    const logger = recordingLogger()
    const rejected: RedisEntryRejection[] = []
    const handed: string[] = []
    keep(fromRedisStream(await client(), { stream, group: 'workers', consumer: 'c', claimIdleMs: 500, blockMs: 50, logger, rejected: (r) => rejected.push(r) })
      .subscribe((d) => { handed.push(d.id); d.release() }))
    await until(() => rejected.length > 0 || handed.length > 5, 'the entry to be dead-lettered', 8000)
    await sleep(300)
    expect(handed).to.deep.equal(Array(5).fill(id))
    expect(rejected.map((r) => [r.id, r.error._tag, r.error._tag === 'DeliveryLimit' && r.error.deliveries])).to.deep.equal([[id, 'DeliveryLimit', 5]])
    expect(logger.lines.map((l) => `${l.level}: ${l.message}`)).to.deep.equal([`warn: Entry ${id} dead-lettered after 5 deliveries`])
    expect(await pendingCount(writer, stream)).to.equal(0)
    const letters = parseEntries(await writer.sendCommand(['XRANGE', `${stream}:dead`, '-', '+']))
    expect(letters.map((l) => [l.fields['dead:id'], l.fields['dead:deliveries'], JSON.parse(l.fields['payload']!).forwarded_at])).to.deep.equal([[id, '5', bad!.forwarded_at]])
  })

  it('the dead-letter stream keeps the newest deadLetterMaxLen dead letters', async () => {
    const stream = name('dead-cap')
    const writer = await client()
    const ids: string[] = []
    for (const p of payloads(3, 1, 46)) ids.push(await redisAppender(writer, { stream })(p))
    let dead = 0
    keep(fromRedisStream(await client(), {
      stream, group: 'workers', consumer: 'c', claimIdleMs: 50, blockMs: 50, maxDeliveries: 1, deadLetterMaxLen: 2, logger: {}, rejected: () => { dead++ },
    }).subscribe((d) => d.release()))
    await until(() => dead === 3, 'three dead letters')
    const letters = parseEntries(await writer.sendCommand(['XRANGE', `${stream}:dead`, '-', '+']))
    expect(letters.map((l) => l.fields['dead:id'])).to.deep.equal(ids.slice(1))
  })

  it('entries trimmed while pending in a dead consumer are each reported when claimed (log line, rejected), and leave the PEL', async () => {
    const stream = name('trimmed')
    const writer = await client()
    const ids: string[] = []
    for (const p of payloads(10, 2, 43)) ids.push(await redisAppender(writer, { stream })(p))
    await writer.sendCommand(['XGROUP', 'CREATE', stream, 'workers', '0'])
    await writer.sendCommand(['XREADGROUP', 'GROUP', 'workers', 'dead', 'COUNT', '10', 'STREAMS', stream, '>'])
    await writer.sendCommand(['XTRIM', stream, 'MAXLEN', '4']) // the 6 oldest, still pending, are gone
    const logger = recordingLogger()
    const rejected: RedisEntryRejection[] = []
    const claimed: RedisDelivery[] = []
    keep(fromRedisStream(await client(), { stream, group: 'workers', consumer: 'c', claimIdleMs: 100, blockMs: 50, logger, rejected: (r) => rejected.push(r) })
      .subscribe((d) => claimed.push(d)))
    await until(() => claimed.length === 4, 'the 4 left to be claimed')
    for (const d of claimed) await d.ack()
    expect(claimed.map((d) => d.id)).to.deep.equal(ids.slice(6))
    expect(rejected.map((r) => `${r.id} ${r.error._tag}`)).to.deep.equal(ids.slice(0, 6).map((id) => `${id} EntryTrimmed`))
    expect(logger.lines.map((l) => l.message)).to.deep.equal(ids.slice(0, 6).map((id) => `Entry ${id} was trimmed while pending: lost`))
    expect(await pendingCount(writer, stream)).to.equal(0)
  })

  it('removes consumers idle for idleConsumerMs with nothing pending; keeps those with pending entries', async () => {
    const stream = name('idle')
    const writer = await client()
    await redisAppender(writer, { stream })(payloads(1, 1, 44)[0]!)
    await writer.sendCommand(['XGROUP', 'CREATE', stream, 'workers', '0'])
    await writer.sendCommand(['XGROUP', 'CREATECONSUMER', stream, 'workers', 'gone'])
    await writer.sendCommand(['XREADGROUP', 'GROUP', 'workers', 'busy', 'COUNT', '1', 'STREAMS', stream, '>'])
    await sleep(300)
    keep(fromRedisStream(await client(), { stream, group: 'workers', consumer: 'c', idleConsumerMs: 200, blockMs: 50 }).subscribe())
    const names = async () => ((await writer.sendCommand(['XINFO', 'CONSUMERS', stream, 'workers'])) as unknown[][]).map((c) => String(Array.isArray(c) ? c[1] : (c as { name?: unknown }).name)).sort()
    // 'c' reads nothing new, so Redis 7.0 makes no consumer of it.
    await until(async () => (await names()).join() === 'busy', 'the idle consumer to be removed')
  })

  it('bounds the bytes in flight: 100 entries of 1 MiB, slow work, reader defaults, a worker with a 128 MiB heap processes them all', async () => {
    const stream = name('bytes')
    const writer = await client()
    const [base] = payloads(1, 1, 45) as [Extract<Payload, { type: 'actions' }>]
    const big = (n: number) => ({ ...base, forwarded_at: base.forwarded_at + n, actions: [{ ...base.actions[0]!, description: `${n}`.padEnd(2 ** 20, 'x') }] })
    for (let n = 0; n < 100; n++) await redisAppender(writer, { stream })(big(n) as Payload)
    const program = runProgram(`
      import { createClient } from 'redis'
      import { mergeMap } from 'rxjs'
      import { fromRedisStream } from 'autoplay-rx/redis'
      const redis = createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true })
      redis.on('error', () => undefined)
      await redis.connect()
      let done = 0
      fromRedisStream(redis, { stream: process.env.STREAM, group: 'workers', consumer: 'w' })
        .pipe(mergeMap(async (delivery) => {
          await new Promise((resolve) => setTimeout(resolve, 20))
          if (await delivery.ack()) console.log('done', ++done)
        }, 8))
        .subscribe()
      process.once('SIGTERM', () => process.exit(0))
    `, { REDIS_URL: suite.redis.url, STREAM: stream, NODE_OPTIONS: '--max-old-space-size=128' }, 50_000)
    try {
      await until(() => !program.alive() || program.out().includes('done 100'), 'the 100 entries', 45_000)
      expect(program.alive(), program.err().slice(0, 500)).to.equal(true)
    } finally {
      program.kill('SIGTERM')
      await program.exited
    }
  })
})
