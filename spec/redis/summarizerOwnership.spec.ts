import { expect } from 'chai'
import { SessionSummarizer, silentLogger, type ActionsPayload } from '../../src/index.js'
import { fromRedisStream, redisAppender, RedisContextStore, type RedisDelivery } from '../../src/redis/index.js'
import { sleep } from '../helpers/http.js'
import { connect, payloads, redisSuite, until } from '../helpers/redis.js'

/** The batches' times in one prompt: which batches a summary holds. */
const timesIn = (prompt: string) => [...prompt.matchAll(/@(\d+(?:\.\d+)?)\|/g)].map((m) => Number(m[1]))
const format = (batches: readonly ActionsPayload[]) => batches.map((b) => `@${b.forwarded_at}|${b.actions.length}`).join('\n')

describe('SessionSummarizer on a partitioned Redis stream: acknowledged once the summary is stored (real redis-server)', function () {
  this.timeout(30_000)
  const suite = redisSuite()
  const { name, client, keep } = suite
  const pending = async (stream: string) => Number((await (await client()).sendCommand(['XPENDING', stream, 'g']) as unknown[])[0])
  const one = (n: number, seed: number) => payloads(n, 1, seed) as ActionsPayload[]

  it('entries stay pending until the summary holding them is stored, then are acknowledged together', async () => {
    const writer = await client()
    const stream = name('acked-when-stored')
    const append = redisAppender(writer, { stream, partitions: 1 })
    const batches = one(5, 21)
    const actions = batches.reduce((n, b) => n + b.actions.length, 0)
    const prompts: string[] = []
    let write: () => void = () => undefined
    const target = { add: () => undefined, onSummary: () => new Promise<boolean>((resolve) => { write = () => resolve(true) }) }
    const summarizer = new SessionSummarizer({ llm: (prompt) => (prompts.push(prompt), 'summary'), threshold: actions,
      formatActions: format, target, logger: silentLogger })
    keep(fromRedisStream(await client(), { stream, group: 'g', consumer: 'w', partitions: 1, leaseMs: 600, blockMs: 100,
      maxInFlight: 2, logger: silentLogger }).subscribe((d) => summarizer.add(d.payload as ActionsPayload, d)))
    for (const b of batches) await append(b)
    await until(() => prompts.length === 1, 'one prompt')
    // Made, being written: nothing acknowledged yet (maxInFlight 2, yet five went in: held deliveries hold no room).
    expect(await pending(`${stream}:{0}`)).to.equal(5)
    write()
    await until(async () => await pending(`${stream}:{0}`) === 0, 'all five acknowledged once stored')
    expect(timesIn(prompts[0]!)).to.deep.equal(batches.map((b) => b.forwarded_at))
  })

  it('a partition that moves: the history held is released, the next owner rebuilds it from the entries and one summary holds every batch', async () => {
    const writer = await client()
    const stream = name('moved')
    const append = redisAppender(writer, { stream, partitions: 1 })
    const batches = one(6, 22)
    const threshold = batches.reduce((n, b) => n + b.actions.length, 0)
    const summaries: Array<{ worker: string; times: number[] }> = []
    const worker = (name: string) => {
      const summarizer = new SessionSummarizer({ llm: (prompt) => (summaries.push({ worker: name, times: timesIn(prompt) }), 's'),
        threshold, formatActions: format, logger: silentLogger })
      return fromRedisStream(writer, { stream, group: 'g', consumer: name, partitions: 1, leaseMs: 600, blockMs: 100,
        logger: silentLogger }).subscribe((d: RedisDelivery) => summarizer.add(d.payload as ActionsPayload, d))
    }
    const a = worker('a')
    for (const b of batches.slice(0, 4)) await append(b)
    await sleep(300)
    expect(await pending(`${stream}:{0}`)).to.equal(4)
    keep(worker('b'))
    await sleep(400) // b is live; a keeps the partition (p mod 2 = 0: 'a')
    a.unsubscribe() // a leaves: its four held entries are released, not acknowledged
    for (const b of batches.slice(4)) await append(b)
    await until(() => summaries.length === 1, 'one summary', 5000)
    await sleep(200)
    expect(summaries).to.deep.equal([{ worker: 'b', times: batches.map((b) => b.forwarded_at) }])
    await until(async () => await pending(`${stream}:{0}`) === 0, 'nothing pending')
  })

  it('a summary under way when the partition moves is not stored; its batches go to the next owner', async () => {
    const writer = await client()
    const stream = name('revoked-under-way')
    const append = redisAppender(writer, { stream, partitions: 1 })
    const batches = one(2, 23)
    const threshold = batches[0]!.actions.length
    let answer: (text: string) => void = () => undefined
    const stored: string[] = []
    const slow = new SessionSummarizer({ llm: () => new Promise<string>((resolve) => { answer = resolve }), threshold,
      formatActions: format, target: { add: () => undefined, onSummary: (_id, text) => (stored.push(text), true) }, logger: silentLogger })
    const a = fromRedisStream(writer, { stream, group: 'g', consumer: 'a', partitions: 1, leaseMs: 600, blockMs: 100,
      logger: silentLogger }).subscribe((d) => slow.add(d.payload as ActionsPayload, d))
    await append(batches[0]!)
    await sleep(300)
    a.unsubscribe()
    answer('from a, too late')
    const fresh = new SessionSummarizer({ llm: (prompt) => `from b: ${timesIn(prompt).join(',')}`, threshold,
      formatActions: format, target: { add: () => undefined, onSummary: (_id, text) => (stored.push(text), true) }, logger: silentLogger })
    keep(fromRedisStream(writer, { stream, group: 'g', consumer: 'b', partitions: 1, leaseMs: 600, blockMs: 100,
      logger: silentLogger }).subscribe((d) => fresh.add(d.payload as ActionsPayload, d)))
    await append(batches[1]!)
    await until(() => stored.length === 2, 'two summaries stored', 5000)
    expect(stored).to.deep.equal([`from b: ${batches[0]!.forwarded_at}`, `from b: ${batches[1]!.forwarded_at}`])
    await until(async () => await pending(`${stream}:{0}`) === 0, 'nothing pending')
  })

  it('a worker dying after its summary was stored but before the acknowledgement: the next owner acknowledges those batches, not summarising them twice', async () => {
    const writer = await client()
    const stream = name('stored-not-acked')
    const append = redisAppender(writer, { stream, partitions: 1 })
    const batches = one(3, 24)
    const threshold = batches.reduce((n, b) => n + b.actions.length, 0)
    const store = new RedisContextStore(writer, { prefix: `${stream}:ctx:`, logger: silentLogger })
    const dying = await connect(suite.redis.url)
    const prompts: string[] = []
    const a = new SessionSummarizer({ llm: (prompt) => (prompts.push(prompt), 'from a'), threshold, formatActions: format, logger: silentLogger,
      target: { add: () => undefined, summaryTime: (id) => store.summaryTime(id),
        onSummary: async (id, text, at) => { const ok = await store.onSummary(id, text, at); dying.destroy(); return ok } } })
    fromRedisStream(dying, { stream, group: 'g', consumer: 'a', partitions: 1, leaseMs: 600, blockMs: 100, logger: silentLogger })
      .subscribe({ next: (d) => a.add(d.payload as ActionsPayload, d), error: () => undefined })
    for (const b of batches) await append(b)
    await until(() => prompts.length === 1 && !dying.isOpen, 'a stored its summary and died')
    expect(await pending(`${stream}:{0}`)).to.equal(3)
    const b = new SessionSummarizer({ llm: (prompt) => (prompts.push(prompt), 'from b'), threshold, formatActions: format,
      target: store, logger: silentLogger })
    const claimed: boolean[] = []
    keep(fromRedisStream(writer, { stream, group: 'g', consumer: 'b', partitions: 1, leaseMs: 600, blockMs: 100, logger: silentLogger })
      .subscribe((d) => { claimed.push(d.claimed); b.add(d.payload as ActionsPayload, d) }))
    await until(async () => await pending(`${stream}:{0}`) === 0, 'the three acknowledged by b', 5000)
    expect(claimed).to.deep.equal([true, true, true])
    expect(prompts.length).to.equal(1)
    expect(await store.get(batches[0]!.session_id!)).to.match(/from a/)
  })

  it('without partitions hold() is false: the summarizer acknowledges each delivery at once, and a small maxInFlight never stalls it', async () => {
    const writer = await client()
    const stream = name('unpartitioned')
    const append = redisAppender(writer, { stream })
    const sent = payloads(30, 10, 25) as ActionsPayload[]
    for (const p of sent) await append(p)
    const holds: boolean[] = []
    const summarizer = new SessionSummarizer({ llm: () => 's', threshold: 1000, logger: silentLogger })
    keep(fromRedisStream(writer, { stream, group: 'g', consumer: 'w', blockMs: 100, maxInFlight: 2, logger: silentLogger })
      .subscribe((d) => { holds.push(d.hold()); summarizer.add(d.payload as ActionsPayload, d) }))
    await until(async () => holds.length === 30 && await pending(stream) === 0, 'thirty read and acknowledged')
    expect(holds.every((h) => h === false)).to.equal(true)
    expect(summarizer.activeSessions.length).to.equal(10)
  })

  it('batches a bound drops (maxPendingBytes) are acknowledged with the drop: held entries never outlive the history that holds them', async () => {
    const writer = await client()
    const stream = name('dropped')
    const append = redisAppender(writer, { stream, partitions: 1 })
    const batches = one(6, 26)
    let dropped = 0
    const summarizer = new SessionSummarizer({ llm: () => { throw new Error('down') }, threshold: 1000, maxPendingActions: 1000,
      maxPendingBytes: 4 * 1024, logger: silentLogger })
    summarizer.errors$.subscribe((e) => { if (e._tag === 'ActionsDropped') dropped += e.actions })
    keep(fromRedisStream(writer, { stream, group: 'g', consumer: 'w', partitions: 1, leaseMs: 600, blockMs: 100, logger: silentLogger })
      .subscribe((d) => summarizer.add(d.payload as ActionsPayload, d)))
    for (const b of batches) await append(b)
    await until(() => dropped > 0, 'a drop')
    await sleep(300)
    // The oldest batches wholly dropped are acknowledged; the rest, still (partly) in the history, stay pending.
    let wholly = 0
    for (let sum = 0; wholly < batches.length && (sum += batches[wholly]!.actions.length) <= dropped;) wholly++
    expect(wholly).to.be.greaterThan(0)
    expect(await pending(`${stream}:{0}`)).to.equal(batches.length - wholly)
  })

  it('a delivery given to add() after its partition moved is released, not held: the next owner summarises every batch, in order', async () => {
    const writer = await client()
    const stream = name('late-add')
    const append = redisAppender(writer, { stream, partitions: 1 })
    const batches = one(4, 27)
    const threshold = batches.reduce((n, b) => n + b.actions.length, 0)
    const prompts: Array<{ worker: string; times: number[] }> = []
    const summarizer = (worker: string) => new SessionSummarizer({ llm: (prompt) => (prompts.push({ worker, times: timesIn(prompt) }), 's'),
      threshold, formatActions: format, logger: silentLogger })
    const slow = summarizer('a')
    // The app hands each delivery on 300 ms later (a queue of its own): the partition moves meanwhile.
    const a = fromRedisStream(writer, { stream, group: 'g', consumer: 'a', partitions: 1, leaseMs: 600, blockMs: 100, logger: silentLogger })
      .subscribe((d) => setTimeout(() => slow.add(d.payload as ActionsPayload, d), 300))
    for (const b of batches.slice(0, 3)) await append(b)
    await sleep(100)
    a.unsubscribe()
    await sleep(400)
    expect(slow.activeSessions).to.deep.equal([])
    const fresh = summarizer('b')
    keep(fromRedisStream(writer, { stream, group: 'g', consumer: 'b', partitions: 1, leaseMs: 600, blockMs: 100, logger: silentLogger })
      .subscribe((d) => fresh.add(d.payload as ActionsPayload, d)))
    await append(batches[3]!)
    await until(() => prompts.length === 1, 'one summary')
    expect(prompts).to.deep.equal([{ worker: 'b', times: batches.map((b) => b.forwarded_at) }])
    await until(async () => await pending(`${stream}:{0}`) === 0, 'nothing pending')
  })

  it('a batch dated ahead of the clock, read again after a death between the summary\'s write and its XACK: summarised again rather than any batch lost', async () => {
    const writer = await client()
    const stream = name('future-read-again')
    const append = redisAppender(writer, { stream, partitions: 1 })
    const batches = one(6, 28)
    batches[0] = { ...batches[0]!, forwarded_at: 253_402_300_799 } // the year 9999, signed by the connector
    const threshold = batches.slice(0, 3).reduce((n, b) => n + b.actions.length, 0)
    const store = new RedisContextStore(writer, { prefix: `${stream}:ctx:`, logger: silentLogger })
    const dying = await connect(suite.redis.url)
    const summarised: number[][] = []
    const a = new SessionSummarizer({ llm: (prompt) => (summarised.push(timesIn(prompt)), 'from a'), threshold, formatActions: format,
      logger: silentLogger, target: { add: () => undefined, summaryTime: (id) => store.summaryTime(id),
        onSummary: async (id, text, at) => { const ok = await store.onSummary(id, text, at); dying.destroy(); return ok } } })
    fromRedisStream(dying, { stream, group: 'g', consumer: 'a', partitions: 1, leaseMs: 600, blockMs: 100, logger: silentLogger })
      .subscribe({ next: (d) => a.add(d.payload as ActionsPayload, d), error: () => undefined })
    for (const b of batches.slice(0, 3)) await append(b)
    await until(() => summarised.length === 1 && !dying.isOpen, 'a stored its summary and died')
    const b = new SessionSummarizer({ llm: (prompt) => (summarised.push(timesIn(prompt)), 'from b'), threshold: 1, formatActions: format,
      target: store, logger: silentLogger })
    keep(fromRedisStream(writer, { stream, group: 'g', consumer: 'b', partitions: 1, leaseMs: 600, blockMs: 100, logger: silentLogger })
      .subscribe((d) => b.add(d.payload as ActionsPayload, d)))
    for (const batch of batches.slice(3)) await append(batch)
    await until(async () => await pending(`${stream}:{0}`) === 0, 'all acknowledged', 5000)
    // Every batch is in a summary: the three read again among them (a second time), none skipped.
    expect(new Set(summarised.flat())).to.deep.equal(new Set(batches.map((x) => x.forwarded_at)))
  })
})
