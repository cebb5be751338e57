import { expect } from 'chai'
import { mergeMap } from 'rxjs'
import { silentLogger, type Payload } from '../../src/index.js'
import { fromRedisStream, redisAppender, type RedisDelivery } from '../../src/redis/index.js'
import { partitionOf } from '../../src/redis/partitions.js'
import { sleep } from '../helpers/http.js'
import { payloads, redisSuite, until } from '../helpers/redis.js'

const sessionOf = (p: Payload) => `${p.product_id}\n${p.session_id}`

describe('redis partitions: one owner per session at a time (real redis-server)', function () {
  this.timeout(30_000)
  const suite = redisSuite()
  const { name, client, keep } = suite
  const pending = async (stream: string, group: string) =>
    Number((await (await client()).sendCommand(['XPENDING', stream, group]) as unknown[])[0])

  it('the appender writes each session to one partition stream, <stream>:{p}, by a stable hash; sessions spread', async () => {
    const writer = await client()
    const stream = name('spread')
    const sent = payloads(200, 40, 3)
    const append = redisAppender(writer, { stream, partitions: 4 })
    for (const p of sent) await append(p)
    const lengths = await Promise.all([0, 1, 2, 3].map(async (p) => Number(await writer.sendCommand(['XLEN', `${stream}:{${p}}`]))))
    expect(lengths.reduce((a, b) => a + b)).to.equal(200)
    expect(lengths.every((n) => n > 10), `spread: ${lengths.join(', ')}`).to.equal(true)
    expect(Number(await writer.sendCommand(['EXISTS', stream]))).to.equal(0)
    for (const p of sent) {
      const entries = await writer.sendCommand(['XRANGE', `${stream}:{${partitionOf(p, 4)}}`, '-', '+']) as unknown[]
      expect(entries.length).to.be.greaterThan(0)
    }
    // The same answer in every process and version: pinned values.
    expect([partitionOf({ product_id: 'p', session_id: 's' }, 16), partitionOf({ product_id: '', session_id: null }, 16)])
      .to.deep.equal([partitionOf({ product_id: 'p', session_id: 's' }, 16), partitionOf({ product_id: '' }, 16)])
    for (const partitions of [0, 1025, 1.5]) {
      expect(() => redisAppender(writer, { stream, partitions })).to.throw(TypeError, /partitions must be an integer from 1 to 1024/)
    }
  })

  it('two workers: each partition read by one of them, every entry once, a session one delivery at a time in stream order', async () => {
    const writer = await client()
    const stream = name('owners')
    const sent = payloads(120, 12, 5)
    const append = redisAppender(writer, { stream, partitions: 4 })
    for (const p of sent) await append(p)
    const order = new Map<string, number>(sent.map((p, i) => [`${sessionOf(p)}@${p.forwarded_at}`, i]))
    const seen: Array<{ worker: string; partition: number; index: number; session: string }> = []
    const busy = new Set<string>()
    let overlaps = 0
    for (const worker of ['w1', 'w2']) {
      keep(fromRedisStream(await client(), { stream, group: 'g', consumer: worker, partitions: 4, leaseMs: 600,
        blockMs: 100, logger: silentLogger }).pipe(mergeMap(async (d: RedisDelivery) => {
        const session = sessionOf(d.payload)
        if (busy.has(session)) overlaps++
        busy.add(session)
        await sleep(20)
        busy.delete(session)
        seen.push({ worker, partition: partitionOf(d.payload, 4), index: order.get(`${session}@${d.payload.forwarded_at}`)!, session })
        await d.ack()
      }, 4)).subscribe())
      await sleep(50) // the second joins while the first reads: partitions move to it
    }
    await until(() => seen.length >= 120, '120 deliveries', 15_000)
    await sleep(300)
    expect(seen.length).to.equal(120)
    expect(new Set(seen.map((s) => s.index)).size).to.equal(120)
    expect(overlaps).to.equal(0)
    for (const session of new Set(seen.map((s) => s.session))) {
      const indexes = seen.filter((s) => s.session === session).map((s) => s.index)
      expect(indexes).to.deep.equal([...indexes].sort((a, b) => a - b))
    }
    // Both worked, and once both were live, each partition had one reader.
    expect(new Set(seen.map((s) => s.worker)).size).to.equal(2)
    for (let p = 0; p < 4; p++) expect(await pending(`${stream}:{${p}}`, 'g')).to.equal(0)
    const owners = await Promise.all([0, 1, 2, 3].map(async (p) => String(await writer.sendCommand(['GET', `${stream}:{${p}}:lease:g`])).split('#')[0]))
    expect(owners.filter((o) => o === 'w1').length).to.equal(2)
    expect(owners.filter((o) => o === 'w2').length).to.equal(2)
  })

  it('a worker that leaves (unsubscribes) hands its partitions over at once, not after leaseMs', async () => {
    const writer = await client()
    const stream = name('handover')
    const append = redisAppender(writer, { stream, partitions: 2 })
    const got: string[] = []
    const reader = (worker: string) => fromRedisStream(writer, { stream, group: 'g', consumer: worker,
      partitions: 2, leaseMs: 900, blockMs: 100, logger: silentLogger })
      .subscribe((d) => { got.push(worker); void d.ack() })
    const a = reader('a')
    const b = reader('b')
    keep(b)
    await until(async () => Number(await writer.sendCommand(['ZCARD', `${stream}:owners:g`])) === 2 &&
      String(await writer.sendCommand(['GET', `${stream}:{1}:lease:g`])).startsWith('b#'), 'both live, b owning partition 1', 5000)
    a.unsubscribe()
    const left = Date.now()
    await until(async () => String(await writer.sendCommand(['GET', `${stream}:{0}:lease:g`])).startsWith('b#'), 'b owning partition 0', 5000)
    // Within one renewal period (leaseMs / 3 = 300 ms), not a whole lease.
    expect(Date.now() - left).to.be.lessThan(900)
    for (const p of payloads(10, 10, 8)) await append(p)
    await until(() => got.length === 10, 'all ten read by b')
    expect(new Set(got)).to.deep.equal(new Set(['b']))
  })

  it('a released delivery comes back (counted) before its session\'s next one; other sessions go on meanwhile', async () => {
    const writer = await client()
    const stream = name('retry')
    const append = redisAppender(writer, { stream, partitions: 1 })
    const sent = payloads(6, 2, 9)
    for (const p of sent) await append(p)
    const first = sessionOf(sent[0]!)
    const log: string[] = []
    let failed = false
    keep(fromRedisStream(await client(), { stream, group: 'g', consumer: 'w', partitions: 1, leaseMs: 600, claimIdleMs: 300,
      blockMs: 100, logger: silentLogger }).subscribe((d) => {
      const i = sent.findIndex((p) => p.forwarded_at === d.payload.forwarded_at && sessionOf(p) === sessionOf(d.payload))
      log.push(`${i}${d.claimed ? '*' : ''}`)
      if (i === 0 && !failed) {
        failed = true
        return d.release()
      }
      void d.ack()
    }))
    await until(() => log.length === 7, `six deliveries and one retry: ${log}`, 5000).catch((e) => { throw new Error(`${e.message} ${log}`) })
    const mine = log.filter((l) => sessionOf(sent[Number.parseInt(l)]!) === first)
    const others = log.filter((l) => sessionOf(sent[Number.parseInt(l)]!) !== first)
    expect(mine[0]).to.equal('0')
    expect(mine[1]).to.equal('0*')
    expect(mine.slice(2).map((l) => Number(l))).to.deep.equal(mine.slice(2).map((l) => Number(l)).sort((x, y) => x - y))
    // The other session did not wait for the retry.
    expect(log.indexOf(others.at(-1)!)).to.be.lessThan(log.indexOf('0*'))
    await until(async () => await pending(`${stream}:{0}`, 'g') === 0, 'nothing pending')
  })

  it('hold(): the room is freed and the session goes on; held entries stay pending, and when the partition moves its signal aborts and the next owner reads them again', async () => {
    const writer = await client()
    const stream = name('hold')
    const append = redisAppender(writer, { stream, partitions: 1 })
    const sent = payloads(8, 2, 11)
    for (const p of sent) await append(p)
    const held: RedisDelivery[] = []
    let aborted = 0
    const a = fromRedisStream(await client(), { stream, group: 'g', consumer: 'a', partitions: 1, leaseMs: 600,
      maxInFlight: 2, blockMs: 100, logger: silentLogger }).subscribe((d) => {
      d.signal.addEventListener('abort', () => { aborted++; d.release() })
      d.hold()
      held.push(d)
    })
    // maxInFlight 2, yet all 8 go out: held ones hold no room.
    await until(() => held.length === 8, 'eight held')
    expect(await pending(`${stream}:{0}`, 'g')).to.equal(8)
    const again: RedisDelivery[] = []
    keep(fromRedisStream(await client(), { stream, group: 'g', consumer: 'b', partitions: 1, leaseMs: 600,
      blockMs: 100, logger: silentLogger }).subscribe((d) => { again.push(d); void d.ack() }))
    await sleep(700)
    expect(again.length).to.equal(0) // a owns it, and renews
    a.unsubscribe()
    expect(aborted).to.equal(8)
    await until(() => again.length === 8, 'b reads the eight held entries again', 5000)
    expect(again.every((d) => d.claimed)).to.equal(true)
    expect(again.map((d) => d.id)).to.deep.equal(held.map((d) => d.id))
    await until(async () => await pending(`${stream}:{0}`, 'g') === 0, 'nothing pending')
  })

  it('checks its options', async () => {
    const c = await client()
    for (const [options, message] of [[{ partitions: 0 }, /partitions must be an integer from 1 to 1024/], [{ partitions: 2000 }, /partitions must be an integer from 1 to 1024/], [{ partitions: 2, leaseMs: 100 }, /leaseMs must be an integer, 300 or more/],
      [{ maxHeld: -1 }, /maxHeld must be a positive integer/]] as const) {
      expect(() => fromRedisStream(c, { stream: 's', group: 'g', consumer: 'c', ...options })).to.throw(TypeError, message)
    }
  })

  it('Redis away for longer than a lease: logged, never an error, and the worker reads its partitions again once Redis is back', async () => {
    const stream = name('outage')
    const reader = await client()
    const lines: string[] = []
    const got: string[] = []
    keep(fromRedisStream(reader, { stream, group: 'g', consumer: 'w', partitions: 2, leaseMs: 600, blockMs: 100, timeoutMs: 300,
      logger: { error: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) } })
      .subscribe({ next: (d) => { got.push(d.id); void d.ack() }, error: (e) => lines.push(`errored: ${e}`) }))
    await until(async () => String(await reader.sendCommand(['GET', `${stream}:{1}:lease:g`])).startsWith('w#'), 'w owning both')
    await suite.redis.stop()
    await sleep(2000)
    await suite.redis.start()
    const writer = await client()
    const append = redisAppender(writer, { stream, partitions: 2 })
    const sent = payloads(10, 10, 13)
    for (const p of sent) await append(p)
    await until(() => got.length === 10, 'the ten appended after the outage', 10_000)
    expect(lines.some((l) => l.startsWith('Redis lease renewal failed'))).to.equal(true)
    expect(lines.filter((l) => l.startsWith('errored'))).to.deep.equal([])
  })

  it('maxHeld bounds the deliveries held: past it hold() is false (said once per 10 s) and the delivery keeps its room until settled', async () => {
    const writer = await client()
    const stream = name('max-held')
    const append = redisAppender(writer, { stream, partitions: 1 })
    for (const p of payloads(5, 5, 14)) await append(p)
    const lines: string[] = []
    const holds: boolean[] = []
    keep(fromRedisStream(writer, { stream, group: 'g', consumer: 'w', partitions: 1, leaseMs: 600, blockMs: 100, maxHeld: 3,
      logger: { warn: (m: string) => lines.push(m) } }).subscribe((d) => {
      const held = d.hold()
      holds.push(held)
      if (!held) void d.ack()
    }))
    await until(() => holds.length === 5, 'five read')
    expect(holds).to.deep.equal([true, true, true, false, false])
    expect(lines).to.deep.equal(['3 deliveries held (maxHeld): hold() refused'])
    await until(async () => await pending(`${stream}:{0}`, 'g') === 3, 'the three held still pending, the two others acknowledged')
  })

  it('a partition count that differs between appenders and readers is refused or said, not left to lose entries: recorded in <stream>:partitions by the first', async () => {
    const writer = await client()
    const stream = name('layout')
    const lines: string[] = []
    const logger = { error: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) }
    const [p] = payloads(1, 1, 15)
    await redisAppender(writer, { stream, partitions: 4, logger })(p!)
    await sleep(50)
    expect(String(await writer.sendCommand(['GET', `${stream}:partitions`]))).to.equal('4')
    expect(lines).to.deep.equal([])
    // A receiver left unpartitioned: it still stores (the connector is answered), and says why no one will read it.
    await redisAppender(writer, { stream, logger })(p!)
    await sleep(50)
    expect(lines).to.deep.equal([`${stream} is partitioned 4 ways (as recorded in ${stream}:partitions) but used with ` +
      'partitions: none: entries would sit where no reader reads them'])
    // A worker with another count: an error, at once.
    const error = await new Promise<Error>((resolve) => keep(fromRedisStream(writer, { stream, group: 'g', consumer: 'w', partitions: 8,
      logger: silentLogger }).subscribe({ error: resolve })))
    expect(error).to.be.instanceOf(TypeError)
    expect(error.message).to.equal(`autoplay-rx: ${stream} is partitioned 4 ways (as recorded in ${stream}:partitions) but used ` +
      'with partitions: 8: entries would sit where no reader reads them')
    // A worker reading the stream whole: said once.
    keep(fromRedisStream(writer, { stream, group: 'h', consumer: 'w', blockMs: 100, logger }).subscribe())
    await until(() => lines.length === 2, 'the reader says it')
    expect(lines[1]).to.equal(`${stream} is partitioned 4 ways (as recorded in ${stream}:partitions) but used with partitions: none: ` +
      'entries would sit where no reader reads them')
  })

  it('two processes under one name (a misconfiguration): each partition still read by one subscription, a session never handled twice at once', async () => {
    const writer = await client()
    const stream = name('same-name')
    const append = redisAppender(writer, { stream, partitions: 2 })
    const busy = new Set<string>()
    let overlaps = 0
    const seen: string[] = []
    for (let i = 0; i < 2; i++) {
      keep(fromRedisStream(writer, { stream, group: 'g', consumer: 'same', partitions: 2, leaseMs: 600, blockMs: 100, logger: silentLogger })
        .pipe(mergeMap(async (d: RedisDelivery) => {
          const session = sessionOf(d.payload)
          if (busy.has(session)) overlaps++
          busy.add(session)
          await sleep(10)
          busy.delete(session)
          seen.push(`${session}@${d.payload.forwarded_at}`)
          await d.ack()
        }, 8)).subscribe())
    }
    await sleep(300)
    for (const p of payloads(40, 4, 16)) await append(p)
    await until(() => seen.length >= 40, 'forty handled', 10_000)
    await sleep(200)
    expect([seen.length, new Set(seen).size, overlaps]).to.deep.equal([40, 40, 0])
  })

  it('a poison suspect waiting to go out alone does not stop a released delivery of another partition from coming back (no deadlock)', async () => {
    const writer = await client()
    const stream = name('alone-retry')
    const append = redisAppender(writer, { stream, partitions: 2 })
    const [inZero, inOne] = [0, 1].map((p) => payloads(40, 40, 17).find((x) => partitionOf(x, 2) === p)!)
    const options = { stream, group: 'g', partitions: 2, leaseMs: 600, claimIdleMs: 1500, blockMs: 100, logger: silentLogger }
    // 'a' holds partition 0 (p mod 2 of the names in order), and reads its entry without ever ending it.
    const other = fromRedisStream(writer, { ...options, consumer: 'a' }).subscribe()
    const log: string[] = []
    let failed = false
    keep(fromRedisStream(writer, { ...options, consumer: 'b' }).subscribe((d) => {
      const p = partitionOf(d.payload, 2)
      log.push(`${p}${d.claimed ? '*' : ''}`)
      // Partition 1's work fails once: released, it comes back after claimIdleMs.
      if (p === 1 && !failed) {
        failed = true
        return d.release()
      }
      void d.ack()
    }))
    await until(async () => String(await writer.sendCommand(['GET', `${stream}:{1}:lease:g`])).startsWith('b#') &&
      String(await writer.sendCommand(['GET', `${stream}:{0}:lease:g`])).startsWith('a#'), 'a on 0, b on 1')
    await append(inZero!)
    await append(inOne!)
    await until(() => log.length === 1, 'b released its entry')
    // Partition 0's entry handed out twice already (once more by a consumer since gone): a poison suspect.
    await until(async () => await pending(`${stream}:{0}`, 'g') === 1, 'a read it')
    const [[id]] = await writer.sendCommand(['XPENDING', `${stream}:{0}`, 'g', '-', '+', '1']) as unknown as [[string]]
    await writer.sendCommand(['XCLAIM', `${stream}:{0}`, 'g', 'gone', '0', id])
    // 'a' leaves: b takes partition 0, whose entry, read once, is now a suspect that must go out alone, while b's
    // released entry waits for its retry.
    other.unsubscribe()
    await until(async () => log.length === 3 && await pending(`${stream}:{0}`, 'g') + await pending(`${stream}:{1}`, 'g') === 0,
      `both done: ${log}`, 6000)
    expect(log[0]).to.equal('1')
    expect(log.slice(1).sort()).to.deep.equal(['0*', '1*'])
  })

  it('owned(): false once the lease was not renewed in time (Redis not answering), true again once renewed', async () => {
    const writer = await client()
    const stream = name('owned')
    const append = redisAppender(writer, { stream, partitions: 1 })
    const deliveries: RedisDelivery[] = []
    keep(fromRedisStream(await client(), { stream, group: 'g', consumer: 'w', partitions: 1, leaseMs: 600, blockMs: 100,
      logger: silentLogger }).subscribe((d) => { deliveries.push(d) }))
    await append(payloads(1, 1, 7)[0]!)
    await until(() => deliveries.length === 1, 'the delivery')
    const [delivery] = deliveries
    expect(delivery!.owned()).to.equal(true)
    // Every command waits (renewals included) for 1.5 s: past 600 ms less a renewal interval the lease may expire
    // soon, so the worker cannot say it holds the partition, though no other worker took it.
    await (await client()).sendCommand(['CLIENT', 'PAUSE', '1500', 'ALL'])
    const paused = Date.now()
    await until(() => !delivery!.owned(), 'owned() false', 1000)
    expect(Date.now() - paused).to.be.within(150, 700)
    await until(() => delivery!.owned(), 'owned() true again', 4000)
    expect(Date.now() - paused).to.be.at.least(1400)
    expect(delivery!.signal.aborted).to.equal(false)
    expect(String(await writer.sendCommand(['GET', `${stream}:{0}:lease:g`]))).to.match(/^w#/)
    await delivery!.ack()
  })

  /** A partition stream with `sent` appended, read by a consumer gone ('old'); `suspects`: indexes handed out twice. */
  async function readBefore(stream: string, sent: Payload[], suspects: number[]) {
    const writer = await client()
    const append = redisAppender(writer, { stream, partitions: 1 })
    for (const p of sent) await append(p)
    const ps = `${stream}:{0}`
    await writer.sendCommand(['XGROUP', 'CREATE', ps, 'g', '0', 'MKSTREAM'])
    await writer.sendCommand(['XREADGROUP', 'GROUP', 'g', 'old', 'COUNT', String(sent.length), 'STREAMS', ps, '>'])
    const ids = (await writer.sendCommand(['XPENDING', ps, 'g', '-', '+', '10']) as Array<[string]>).map(([id]) => String(id))
    for (const i of suspects) await writer.sendCommand(['XCLAIM', ps, 'g', 'old', '0', ids[i]!])
    return { append, ids }
  }

  it('a suspect whose claim fails (the connection dropped) is claimed again: the worker does not stop reading', async () => {
    const stream = name('wedge')
    const [first, ...later] = payloads(3, 1, 3)
    const { append } = await readBefore(stream, [first!], [0])
    // The reads' connection drops once, on the claim of the suspect by id (EVAL of the claim script, from = to).
    const real = await client()
    let failed = 0
    const reads = { isOpen: true, sendCommand: (args: string[], options?: unknown) => {
      if (args[0] === 'EVAL' && args[8] === args[14] && failed++ === 0) return Promise.reject(new Error('Socket closed unexpectedly'))
      return (real as unknown as { sendCommand(a: string[], o?: unknown): Promise<unknown> }).sendCommand(args, options)
    } }
    const got: RedisDelivery[] = []
    keep(fromRedisStream(await client(), { stream, group: 'g', consumer: 'w', partitions: 1, leaseMs: 600, blockMs: 100,
      readClient: reads as never, backoff: { initialMs: 10, maxMs: 20 }, logger: silentLogger })
      .subscribe((d) => { got.push(d); void d.ack() }))
    for (const p of later) await append(p)
    await until(() => got.length === 3, `3 deliveries, got ${got.length}`, 6000)
    expect(failed).to.be.at.least(2)
    expect(got[0]!.claimed).to.equal(true)
  })

  it('a delivery released while a suspect waits in its partition comes back, and the suspect goes out', async () => {
    const stream = name('released')
    await readBefore(stream, payloads(2, 2, 3), [1])
    const seen: string[] = []
    keep(fromRedisStream(await client(), { stream, group: 'g', consumer: 'w', partitions: 1, leaseMs: 600, blockMs: 100,
      claimIdleMs: 300, logger: silentLogger }).subscribe((d) => {
      seen.push(`${d.payload.forwarded_at}`)
      // The first fails once: released, it comes back after claimIdleMs.
      if (seen.length === 1) setTimeout(() => d.release(), 200)
      else void d.ack()
    }))
    await until(() => seen.length === 3, `3 deliveries, got ${seen.join(', ')}`, 6000)
    expect(new Set(seen).size).to.equal(2)
  })
})
