import { expect } from 'chai'
import { firstValueFrom, mergeMap, take, toArray, VirtualTimeScheduler } from 'rxjs'
import { WebhookReceiver, dedupeDeliveries, deliveryKey, match, silentLogger, type ActionsPayload, type Payload, type UsertourTriggerPayload } from '../../src/index.js'
import { createNodeMiddleware } from '../../src/adapters/node.js'
import { fromRedisStream, redisAppender, redisDedupeStore, type RedisDelivery } from '../../src/redis/index.js'
import type { RedisEntryError } from '../../src/redis/errors.js'
import { type RedisCommandClient } from '../../src/redis/client.js'
import { generateEvents } from '../../src/cli/generate.js'
import { sendDeliveries } from '../../src/cli/send.js'
import { recordingLogger, SECRET } from '../helpers/fixtures.js'
import { listen, sleep } from '../helpers/http.js'
import { connect, payloads, redisSuite, until } from '../helpers/redis.js'

describe('redis/fromRedisStream (real redis-server)', function () {
  this.timeout(30_000)
  const suite = redisSuite()
  const { name, client, keep } = suite

  it('two receivers, two workers in one group: every unique delivery processed exactly once, retried duplicates included', async () => {
    const writer = await client()
    const stream = name('events')
    const servers = await Promise.all([0, 1].map(async () => {
      const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
      const server = await listen(createNodeMiddleware(receiver, { persist: redisAppender(writer, { stream }) }))
      return { ...server, url: `http://127.0.0.1:${server.port}/` }
    }))
    const store = redisDedupeStore(writer, { prefix: `${stream}:seen:` })
    const processed: Array<{ worker: string; key: string }> = []
    for (const worker of ['w1', 'w2']) {
      const reader = await client()
      keep(fromRedisStream(reader, { stream, group: 'workers', consumer: worker, startAt: '0', blockMs: 100, batchSize: 20 }).pipe(
        mergeMap(async (d: RedisDelivery) => { await d.ack(); return d.payload }),
        dedupeDeliveries({ store }),
      ).subscribe((p) => processed.push({ worker, key: deliveryKey(p) })))
    }
    const bodies = generateEvents({ type: 'actions', count: 300, sessions: 17, seed: 3 }).map((t) => Buffer.from(t))
    const duplicates = bodies.filter((_, i) => i % 10 === 0)
    try {
      const [a, b] = await Promise.all([
        sendDeliveries({ url: servers[0]!.url, secret: SECRET, deliveries: [...bodies.slice(0, 150), ...duplicates].map((body) => ({ body })), concurrency: 16, retries: 0 }),
        sendDeliveries({ url: servers[1]!.url, secret: SECRET, deliveries: [...bodies.slice(150), ...duplicates].map((body) => ({ body })), concurrency: 16, retries: 0 }),
      ])
      expect([a.accepted, b.accepted]).to.deep.equal([180, 180])
      const expected = new Set(bodies.map((body) => deliveryKey(new WebhookReceiver({ secret: '', logger: silentLogger }).parse(body)!)))
      for (let waited = 0; processed.length < expected.size && waited < 10_000; waited += 50) await sleep(50)
      await sleep(300) // nothing more may arrive
      expect(processed.length).to.equal(expected.size)
      expect(new Set(processed.map((p) => p.key))).to.deep.equal(expected)
      expect(new Set(processed.map((p) => p.worker))).to.deep.equal(new Set(['w1', 'w2']))
      expect(Number(await writer.sendCommand(['XLEN', stream]))).to.equal(360)
    } finally {
      for (const s of servers) await s.close()
    }
  })

  it('usertour_trigger entries go to usertourTriggers, never out as deliveries: acknowledged once it succeeds; a throw, a rejection or a hang releases the entry, which comes back', async () => {
    const writer = await client()
    const stream = name('triggers')
    const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
    const server = await listen(createNodeMiddleware(receiver, { persist: redisAppender(writer, { stream }) }))
    const trigger = (flow: string) => Buffer.from(JSON.stringify({ type: 'usertour_trigger', product_id: 'p', flow_id: flow, session_id: 'ps_1' }))
    const [summary] = generateEvents({ type: 'summary', count: 1, sessions: 1, seed: 4 })
    try {
      const report = await sendDeliveries({ url: `http://127.0.0.1:${server.port}/`, secret: SECRET, retries: 0, concurrency: 1,
        deliveries: ['throws', 'rejects', 'hangs', 'fine'].map(trigger).concat(Buffer.from(summary!)).map((body) => ({ body })) })
      expect(report.statuses).to.deep.equal([200, 200, 200, 200, 200])
    } finally {
      await server.close()
    }
    const calls: string[] = []
    const logger = recordingLogger()
    const deliveries: string[] = []
    keep(fromRedisStream(await client(), { stream, group: 'g', consumer: 'c', blockMs: 100, claimIdleMs: 300, logger,
      usertourTriggers: async (t, entry) => {
        calls.push(`${t.flow_id}${entry.claimed ? ' again' : ''}`)
        if (entry.claimed) return
        if (t.flow_id === 'throws') throw new Error('the app\'s bug')
        if (t.flow_id === 'rejects') await Promise.reject(new Error('down'))
        if (t.flow_id === 'hangs') await new Promise(() => {})
      } }).subscribe((d) => { deliveries.push(d.payload.type); void d.ack() }))
    const pending = async (group: string) => Number((await writer.sendCommand(['XPENDING', stream, group]) as unknown[])[0])
    await until(async () => calls.length === 7 && await pending('g') === 0, 'every trigger done and acknowledged', 10_000)
    expect(deliveries).to.deep.equal(['summary'])
    expect(calls.slice(0, 4)).to.deep.equal(['throws', 'rejects', 'hangs', 'fine'])
    expect(calls.slice(4).sort()).to.deep.equal(['hangs again', 'rejects again', 'throws again'])
    // One line per 10 s at most: the first failure's, with its entry id; the next would say how many it stands for.
    expect(logger.lines.filter((l) => l.level === 'error').map((l) => [l.message, typeof l.context?.['id']]))
      .to.deep.equal([['usertourTriggers failed; the entry comes back', 'string']])

    const quiet = recordingLogger()
    keep(fromRedisStream(await client(), { stream, group: 'h', consumer: 'c', blockMs: 100, logger: quiet })
      .subscribe((d) => { deliveries.push(d.payload.type); void d.ack() }))
    await until(async () => deliveries.length === 2 && await pending('h') === 0, 'the second group done')
    expect(quiet.lines.map((l) => [l.level, l.message])).to.deep.equal([['warn',
      'usertour_trigger entries acknowledged and dropped: no usertourTriggers']])
    expect(() => fromRedisStream(writer, { stream, group: 'x', consumer: 'c', usertourTriggers: 1 as never }))
      .to.throw(TypeError, /usertourTriggers must be a function/)
  })

  it('a worker killed mid-batch: its pending entries are claimed by the other, none lost', async () => {
    const writer = await client()
    const stream = name('claim')
    const append = redisAppender(writer, { stream })
    const sent = payloads(40, 4, 9)
    for (const p of sent) await append(p)
    // Worker A takes a batch, acknowledges half, then its process dies (connection gone, nothing acked).
    const victim = await connect(suite.redis.url)
    const taken = await firstValueFrom(fromRedisStream(victim, { stream, group: 'g', consumer: 'A', startAt: '0', batchSize: 40, blockMs: 100 }).pipe(take(40), toArray()))
    for (const d of taken.slice(0, 20)) await d.ack()
    await victim.destroy()
    const pending = await writer.sendCommand(['XPENDING', stream, 'g']) as [number, ...unknown[]]
    expect(Number(pending[0])).to.equal(20)
    // Worker B claims what A left once it has been idle claimIdleMs.
    const rescued = await firstValueFrom(fromRedisStream(await client(), { stream, group: 'g', consumer: 'B', claimIdleMs: 200, blockMs: 100 }).pipe(
      take(20), mergeMap(async (d) => { await d.ack(); return d }), toArray()))
    expect(rescued.every((d) => d.claimed)).to.equal(true)
    expect([...taken.slice(0, 20), ...rescued].map((d) => d.payload).sort(byForwardedAt)).to.deep.equal([...sent].sort(byForwardedAt))
    expect(Number((await writer.sendCommand(['XPENDING', stream, 'g']) as [number])[0])).to.equal(0)
  })

  it('lingerMs: after a read that found a few entries, the next waits, so a trickle is read in batches (fewer XREADGROUPs), every entry once', async () => {
    const writer = await client()
    const stream = name('linger')
    const reads = async () => Number(/cmdstat_xreadgroup:calls=(\d+)/.exec(String(await writer.sendCommand(['INFO', 'commandstats'])))?.[1] ?? 0)
    const run = async (group: string, lingerMs: number) => {
      const got: string[] = []
      const subscription = fromRedisStream(await client(), { stream, group, consumer: 'c', blockMs: 100, lingerMs, startAt: '$' })
        .subscribe((d) => { got.push(d.id); void d.ack() })
      await sleep(150) // the group is there, reading live
      const before = await reads()
      const append = redisAppender(writer, { stream })
      for (const p of payloads(60, 6, 50 + lingerMs)) {
        await append(p)
        await sleep(2)
      }
      await until(() => got.length === 60, `sixty read (lingerMs ${lingerMs})`)
      const count = await reads() - before
      subscription.unsubscribe()
      expect(new Set(got).size).to.equal(60)
      return count
    }
    const eager = await run('eager', 0)
    const lingering = await run('lingering', 50)
    expect(lingering, `${lingering} reads with lingerMs 50, ${eager} without`).to.be.below(eager / 2)
    expect(() => fromRedisStream(writer, { stream, group: 'g', consumer: 'c', lingerMs: -1 })).to.throw(TypeError, /lingerMs must be an integer from 0 to 1000/)
  })

  it('a read blocking longer than node-redis\' 5 s default timer per command is not cut: no error in 6.5 s of blockMs 6000, and an entry then is read', async function () {
    this.timeout(15_000)
    const writer = await client()
    const stream = name('long-block')
    const logger = recordingLogger()
    const got: string[] = []
    keep(fromRedisStream(await client(), { stream, group: 'g', consumer: 'c', blockMs: 6000, logger })
      .subscribe((d) => { got.push(d.id); void d.ack() }))
    await sleep(6500)
    expect(logger.lines.map((l) => l.message)).to.deep.equal([])
    const id = await redisAppender(writer, { stream })(payloads(1, 1, 61)[0]!)
    await until(() => got.length === 1, 'the entry read')
    expect(got).to.deep.equal([id])
  })

  it('acks asked for in one turn go out as one XACK of all their ids; each caller learns its own entry was taken', async () => {
    const writer = await client()
    const stream = name('batched-acks')
    for (const p of payloads(20, 2, 41)) await redisAppender(writer, { stream })(p)
    const deliveries = await firstValueFrom(fromRedisStream(await client(), { stream, group: 'g', consumer: 'c', startAt: '0', blockMs: 100 }).pipe(take(20), toArray()))
    const xacks = async () => Number(/cmdstat_xack:calls=(\d+)/.exec(String(await writer.sendCommand(['INFO', 'commandstats'])))?.[1] ?? 0)
    const before = await xacks()
    const taken = await Promise.all(deliveries.map((d) => d.ack()))
    expect(taken).to.deep.equal(deliveries.map(() => true))
    expect(await xacks() - before).to.equal(1)
    expect(Number((await writer.sendCommand(['XPENDING', stream, 'g']) as [number])[0])).to.equal(0)
    // A repeated ack is answered from the first: no second command.
    expect(await deliveries[0]!.ack()).to.equal(true)
    expect(await xacks() - before).to.equal(1)
  })

  it('a consumer that comes back under its name gets its own pending entries first', async () => {
    const writer = await client()
    const stream = name('resume')
    for (const p of payloads(5, 1, 4)) await redisAppender(writer, { stream })(p)
    const first = await firstValueFrom(fromRedisStream(await client(), { stream, group: 'g', consumer: 'A', startAt: '0', blockMs: 100 }).pipe(take(5), toArray()))
    const again = await firstValueFrom(fromRedisStream(await client(), { stream, group: 'g', consumer: 'A', blockMs: 100 }).pipe(take(5), toArray()))
    expect(again.map((d) => d.id)).to.deep.equal(first.map((d) => d.id))
    expect(again.every((d) => d.claimed)).to.equal(true)
  })

  it('hands out its own pending entries once each after a restart, even while their work is slow', async () => {
    const writer = await client()
    const stream = name('pending-once')
    for (const p of payloads(12, 2, 6)) await redisAppender(writer, { stream })(p)
    // A first life reads all twelve and dies without acknowledging any.
    await firstValueFrom(fromRedisStream(await client(), { stream, group: 'g', consumer: 'A', startAt: '0', blockMs: 50 }).pipe(take(12), toArray()))
    const ids: string[] = []
    keep(fromRedisStream(await client(), { stream, group: 'g', consumer: 'A', blockMs: 50, batchSize: 5 }).pipe(
      mergeMap(async (d) => { ids.push(d.id); await sleep(300); await d.ack() }, 20),
    ).subscribe())
    await sleep(900)
    expect(ids).to.have.length(12)
    expect(new Set(ids).size).to.equal(12)
  })

  it('pauses reading at maxInFlight unacknowledged entries, and resumes on ack', async () => {
    const writer = await client()
    const stream = name('inflight')
    for (const p of payloads(12, 2, 5)) await redisAppender(writer, { stream })(p)
    const seen: RedisDelivery[] = []
    keep(fromRedisStream(await client(), { stream, group: 'g', consumer: 'c', startAt: '0', maxInFlight: 5, batchSize: 3, blockMs: 50 })
      .subscribe((d) => seen.push(d)))
    await sleep(300)
    expect(seen.length).to.equal(5)
    for (const d of seen.slice(0, 5)) await d.ack()
    await sleep(300)
    expect(seen.length).to.equal(10)
  })

  it('work that fails and releases frees its room: an entry failing three times under maxInFlight 2 does not stop new entries', async () => {
    const writer = await client()
    const stream = name('failing')
    const append = redisAppender(writer, { stream })
    const [bad, ...good] = payloads(7, 2, 31)
    await append(bad!)
    const handed: number[] = []
    const done: number[] = []
    let failures = 0
    keep(fromRedisStream(await client(), { stream, group: 'g', consumer: 'c', startAt: '0', maxInFlight: 2, claimIdleMs: 100, blockMs: 50, logger: silentLogger }).pipe(
      mergeMap(async (d) => {
        handed.push(d.payload.forwarded_at)
        try {
          if (d.payload.forwarded_at === bad!.forwarded_at && failures++ < 3) throw new Error('work failed')
        } catch {
          return d.release() // the taught pattern: not acknowledged, comes back after claimIdleMs
        }
        if (await d.ack()) done.push(d.payload.forwarded_at)
      }, 8),
    ).subscribe())
    // New entries arrive while the bad one keeps failing (0.1: each redelivery took one more room, and reading stopped).
    for (const p of good.slice(0, 3)) await append(p)
    await until(() => failures >= 2, 'the bad entry to fail twice')
    for (const p of good.slice(3)) await append(p)
    await until(() => done.length === 7, 'every entry to be done', 8000)
    expect(new Set(done)).to.deep.equal(new Set([bad!, ...good].map((p) => p.forwarded_at)))
    expect(handed.filter((at) => at === bad!.forwarded_at)).to.have.length(4)
    expect(Number((await writer.sendCommand(['XPENDING', stream, 'g']) as [number])[0])).to.equal(0)
  })

  it('work slower than claimIdleMs is handed out once by its consumer (its claims are not handed out again)', async () => {
    const writer = await client()
    const stream = name('slow')
    for (const p of payloads(3, 1, 32)) await redisAppender(writer, { stream })(p)
    const handed: string[] = []
    let acked = 0
    keep(fromRedisStream(await client(), { stream, group: 'g', consumer: 'c', startAt: '0', claimIdleMs: 100, blockMs: 50 }).pipe(
      mergeMap(async (d) => { handed.push(d.id); await sleep(700); if (await d.ack()) acked++ }, 8),
    ).subscribe())
    await until(() => acked === 3, 'the slow work to be acknowledged')
    await sleep(200) // several claim rounds ran while the work was under way; nothing more may come
    expect(handed).to.have.length(3)
    expect(new Set(handed).size).to.equal(3)
    expect(Number((await writer.sendCommand(['XPENDING', stream, 'g']) as [number])[0])).to.equal(0)
  })

  it('logs a warning every claimIdleMs while reading is paused by deliveries neither acknowledged nor released', async () => {
    const writer = await client()
    const stream = name('stalled')
    for (const p of payloads(2, 1, 33)) await redisAppender(writer, { stream })(p)
    const logger = recordingLogger()
    const handed: string[] = []
    keep(fromRedisStream(await client(), { stream, group: 'g', consumer: 'c', startAt: '0', maxInFlight: 1, claimIdleMs: 100, blockMs: 50, logger })
      .subscribe((d) => handed.push(d.id))) // never acks nor releases
    const warnings = () => logger.lines.filter((l) => l.level === 'warn')
    await until(() => warnings().length >= 2, 'two warnings')
    expect(warnings()[0]!.message).to.equal('Reading paused for 100 ms: 1 deliveries neither acknowledged nor released (call release() when work fails)')
    expect(warnings()[0]!.context).to.deep.equal({ stream, group: 'g', consumer: 'c' })
    expect(handed).to.have.length(1)
  })

  it('acknowledges and reports an entry that does not decode, and goes on', async () => {
    const writer = await client()
    const stream = name('poison')
    await writer.sendCommand(['XADD', stream, '*', 'payload', '{"type":"actions","actions":5}'])
    await writer.sendCommand(['XADD', stream, '*', 'other', 'x'])
    await redisAppender(writer, { stream })(payloads(1)[0]!)
    const rejected: string[] = []
    const why = match<RedisEntryError, string>({
      MalformedJson: (e) => `json ${e.reason}`, InvalidPayload: (e) => `shape ${e.eventType}`,
      UnknownEventType: (e) => `type ${e.eventType}`, MissingPayloadField: () => 'foreign',
      DeliveryLimit: (e) => `dead ${e.deliveries}`, EntryTrimmed: () => 'lost',
    })
    const good = await firstValueFrom(fromRedisStream(await client(), {
      stream, group: 'g', consumer: 'c', startAt: '0', blockMs: 50,
      rejected: (r) => rejected.push(`${r.error._tag === 'MissingPayloadField'} ${why(r.error)} ${r.error._tag}: ${r.error.message}`),
    }).pipe(take(1)))
    await good.ack()
    expect(rejected).to.deep.equal([
      'false shape actions InvalidPayload: Invalid actions payload: actions: expected Array<SlimAction>, got number',
      'true foreign MissingPayloadField: Entry has no "body" or "payload" field',
    ])
    await sleep(50)
    expect(Number((await writer.sendCommand(['XPENDING', stream, 'g']) as [number])[0])).to.equal(0)
  })

  it('a rolling upgrade: one stream holding entries of both formats (the verified body, the payload JSON) is read in order, deliveries and triggers alike; a body or payload that does not decode is reported with its text', async () => {
    const writer = await client()
    const stream = name('formats')
    const append = redisAppender(writer, { stream })
    const [a, b, c] = payloads(3, 2, 21)
    const trigger: UsertourTriggerPayload = { type: 'usertour_trigger', product_id: 'p', flow_id: 'f', session_id: 'ps_1', reason: '', user_id: null }
    // As receivers before the upgrade wrote them (payload JSON), then as they write now (the body, BOM and spaces kept).
    await append(a!)
    await append(trigger)
    await append(b!, Buffer.from(`\ufeff ${JSON.stringify(b, null, 2)} `))
    await append(trigger, Buffer.from(JSON.stringify({ ...trigger, flow_id: 'g' }, null, 1)))
    await append(c!, Buffer.from('{"type":"actions","actions":5}'))
    await writer.sendCommand(['XADD', stream, '*', 'payload', '{"type":"actions"'])
    await append(c!)
    const flows: string[] = []
    const rejected: string[] = []
    const read = await firstValueFrom(fromRedisStream(await client(), {
      stream, group: 'g', consumer: 'c', blockMs: 50, usertourTriggers: (t) => { flows.push(t.flow_id) },
      rejected: (r) => rejected.push(`${r.error._tag} ${r.text}`),
    }).pipe(take(3), mergeMap(async (d) => (await d.ack(), d.payload)), toArray()))
    expect(read).to.deep.equal([a, b, c])
    expect(flows).to.deep.equal(['f', 'g'])
    expect(rejected).to.deep.equal(['InvalidPayload {"type":"actions","actions":5}', 'MalformedJson {"type":"actions"'])
    await until(async () => Number((await writer.sendCommand(['XPENDING', stream, 'g']) as [number])[0]) === 0, 'every entry acknowledged')
  })

  it('maxInFlightBytes counts the bytes an entry holds, in both formats: three entries of 3 kB of "€" (1 kB of characters) under 6 kB: two in flight, not three', async () => {
    const writer = await client()
    const [p] = payloads(1, 1, 23) as [ActionsPayload]
    const heavy = (n: number) => ({ ...p, forwarded_at: n, actions: [{ ...p.actions[0]!, title: '€'.repeat(1000) }] })
    const seen: Record<string, number[]> = {}
    for (const [format, stream] of [['body', name('bytes')], ['payload', name('bytes')]] as const) {
      for (const n of [1, 2, 3]) await redisAppender(writer, { stream })(heavy(n), format === 'body' ? Buffer.from(JSON.stringify(heavy(n))) : undefined)
      seen[format] = []
      keep(fromRedisStream(await client(), { stream, group: 'g', consumer: 'c', blockMs: 50, maxInFlightBytes: 6000 })
        .subscribe((d) => seen[format]!.push(d.payload.forwarded_at)))
    }
    await sleep(300)
    expect(seen).to.deep.equal({ body: [1, 2], payload: [1, 2] })
  })

  it('a worker keeps consuming across a Redis restart (group recreated, no error notification)', async () => {
    const stream = name('restart')
    const reader = await client()
    const received: Payload[] = []
    let failed: unknown
    keep(fromRedisStream(reader, { stream, group: 'g', consumer: 'c', startAt: '0', blockMs: 50, logger: silentLogger })
      .subscribe({ next: (d) => { received.push(d.payload); void d.ack() }, error: (e) => { failed = e } }))
    const before = payloads(3, 1, 21)
    const writer = await client()
    for (const p of before) await redisAppender(writer, { stream })(p)
    for (let waited = 0; received.length < 3 && waited < 5000; waited += 25) await sleep(25)
    await suite.redis.stop()
    await sleep(300)
    await suite.redis.start()
    for (let waited = 0; !(writer.isReady && reader.isReady) && waited < 5000; waited += 25) await sleep(25)
    const after = payloads(4, 1, 22)
    for (const p of after) await redisAppender(writer, { stream })(p)
    for (let waited = 0; received.length < 7 && waited < 8000; waited += 25) await sleep(25)
    expect(failed).to.equal(undefined)
    expect(received).to.deep.equal([...before, ...after])
  })

  it('a Redis that does not answer: each call fails after its bound (blockMs + timeoutMs for a read), is logged and retried; once Redis answers, every entry is handed out and acknowledged, and unsubscribing ends it at once', async () => {
    const [writer, admin] = [await client(), await client()]
    const stream = name('paused')
    const append = redisAppender(writer, { stream })
    const sent = payloads(6, 2, 61)
    for (const p of sent.slice(0, 3)) await append(p)
    const logger = recordingLogger()
    const done: number[] = []
    const reading = fromRedisStream(await client(), { stream, group: 'g', consumer: 'c', blockMs: 50, timeoutMs: 200, logger, backoff: { initialMs: 50, maxMs: 100 } })
      .pipe(mergeMap(async (d) => { if (await d.ack()) done.push(d.payload.forwarded_at); else d.release() }, 8))
      .subscribe()
    keep(reading)
    await until(() => done.length === 3, 'the first entries')
    // XREADGROUP, XGROUP CREATE, the claim script and XACK are writes: each waits 1.5 s.
    await admin.sendCommand(['CLIENT', 'PAUSE', '1500', 'WRITE'])
    const paused = Date.now()
    const appended = Promise.all(sent.slice(3).map((p) => append(p))) // stored once the pause is over
    const failures = () => logger.lines.filter((l) => l.level === 'error').map((l) => l.message)
    await until(() => failures().length >= 2, 'two failed reads logged', 1200)
    expect(Date.now() - paused).to.be.below(1500)
    expect(failures()[0]).to.match(/^Redis read failed: Redis did not answer within (1?\d{1,2}|2[0-4]\d|250) ms; retry 1 in \d+ ms$/)
    await appended
    await until(() => done.length === 6, 'every entry handed out and acknowledged once Redis answers', 4000)
    expect([...done].sort()).to.deep.equal(sent.map((p) => p.forwarded_at).sort())
    expect(Number((await writer.sendCommand(['XPENDING', stream, 'g']) as [number])[0])).to.equal(0)
    // Paused again: unsubscribing closes the read connection at once, and nothing more is logged.
    const clients = async () => String(await admin.sendCommand(['CLIENT', 'LIST'])).trim().split('\n').length
    const before = await clients()
    await admin.sendCommand(['CLIENT', 'PAUSE', '1000', 'WRITE'])
    await sleep(300)
    reading.unsubscribe()
    const lines = logger.lines.length
    await until(async () => await clients() === before - 1, 'the read connection to close', 200)
    await sleep(700)
    expect(logger.lines.length).to.equal(lines)
  })

  it('errors the Observable when its client is closed by its owner (no endless retries)', async () => {
    const reader = await connect(suite.redis.url)
    const failure = new Promise<Error>((resolve) => {
      keep(fromRedisStream(reader, { stream: name('closed'), group: 'g', consumer: 'c', blockMs: 50, logger: silentLogger })
        .subscribe({ error: resolve }))
    })
    await sleep(100)
    await reader.destroy()
    expect((await failure).message).to.match(/client is closed|Disconnects client/)
  })

})

function byForwardedAt(a: Payload, b: Payload): number {
  return a.forwarded_at - b.forwarded_at
}

/**
 * The read loop's clock, in virtual time: a scripted connection (a BLOCK read
 * answers after its block time on the scheduler) shows when each command is
 * sent, so the retry backoff and the claim interval are checked exactly,
 * without waiting.
 */
describe('redis/fromRedisStream: retry backoff and claim interval (virtual time)', () => {
  /** Runs the scheduler's timers one instant at a time, letting the loop's promises settle in between. */
  async function runUntil(scheduler: VirtualTimeScheduler, done: () => boolean): Promise<void> {
    for (let step = 0; step < 1000 && !done(); step++) {
      await new Promise((resolve) => setImmediate(resolve))
      const next = scheduler.actions[0]
      if (done() || next === undefined) continue
      scheduler.maxFrames = next.delay
      scheduler.flush()
    }
    if (!done()) throw new Error(`stuck at ${scheduler.now()} ms of virtual time`)
  }

  /** A connection that logs `<ms> <command>` and answers as `answer` says (an Error rejects). */
  function scripted(scheduler: VirtualTimeScheduler, answer: (at: number, args: string[]) => unknown): RedisCommandClient & { log: string[] } {
    const log: string[] = []
    return {
      log,
      sendCommand: (args) => {
        const at = scheduler.now()
        const block = args.indexOf('BLOCK')
        // EVAL: the pending script, on this consumer's own entries (`own`) or claiming idle ones (`claim`, from its cursor).
        const what = args[0] === 'EVAL' ? (args[13] === '' ? 'EVAL own' : `EVAL claim${args[8] !== '-' ? ` from ${args[8]}` : ''}`) : args[0]
        log.push(`${at} ${what}${block > 0 ? ` BLOCK ${args[block + 1]}` : ''}`)
        const reply = answer(at, args)
        if (reply instanceof Error) return Promise.reject(reply)
        if (block < 0) return Promise.resolve(reply)
        return new Promise((resolve) => scheduler.schedule(() => resolve(reply), Number(args[block + 1])))
      },
    }
  }

  it('retries on the one backoff (100, 200, 300 capped, reset by a read that answered), keeps its cursor, and claims every claimIdleMs / 2', async () => {
    const scheduler = new VirtualTimeScheduler()
    const logger = recordingLogger()
    const lost = new Error('connection lost')
    const reads = scripted(scheduler, (at, [command]) => {
      if (command === 'XGROUP') return 'OK'
      if (at < 900 || (at === 1900 && command === 'EVAL')) return lost
      return command === 'EVAL' ? ['-', [], [], [], 0] : null
    })
    const subscription = fromRedisStream({ sendCommand: async ([command]) => (command === 'EVAL' ? 0 : 1) }, {
      stream: 's', group: 'g', consumer: 'c', readClient: reads, claimIdleMs: 1000, blockMs: 2000, logger, scheduler,
      backoff: { initialMs: 100, maxMs: 300, jitter: 0 },
    }).subscribe()
    try {
      await runUntil(scheduler, () => reads.log.includes('2500 XREADGROUP BLOCK 500')).catch((e) => { console.log(reads.log.slice(0, 30)); throw e })
    } finally {
      subscription.unsubscribe()
    }
    expect(reads.log).to.deep.equal([
      '0 XGROUP', '0 EVAL own',
      '100 XGROUP', '100 EVAL own',
      '300 XGROUP', '300 EVAL own',
      '600 XGROUP', '600 EVAL own',
      // Back: its own pending entries (none), a claim, then new entries, blocking only until the next claim is due.
      '900 XGROUP', '900 EVAL own', '900 EVAL claim', '900 XREADGROUP BLOCK 500',
      '1400 EVAL claim', '1400 XREADGROUP BLOCK 500',
      '1900 EVAL claim',
      // One failure after reads that answered: the backoff starts over, and its pending entries are not read again.
      '2000 XGROUP', '2000 EVAL claim', '2000 XREADGROUP BLOCK 500',
      '2500 EVAL claim', '2500 XREADGROUP BLOCK 500',
    ])
    expect(logger.lines.map((l) => `${l.level}: ${l.message}`)).to.deep.equal([[1, 100], [2, 200], [3, 300], [4, 300], [1, 100]]
      .map(([attempt, ms]) => `error: Redis read failed: connection lost; retry ${attempt} in ${ms} ms`))
    // The message, not the error: an outage is one line, without a stack.
    expect(logger.lines.every((l) => JSON.stringify(l.context) === '{"stream":"s","group":"g","consumer":"c"}')).to.equal(true)
  })

  it('claims again at once, from its cursor, while Redis says the scan goes on, then waits claimIdleMs / 2 (at least 50 ms)', async () => {
    const scheduler = new VirtualTimeScheduler()
    let backlog = 5
    const reads = scripted(scheduler, (_, args) => {
      const command = args[0]
      if (command !== 'EVAL') return command === 'XGROUP' ? 'OK' : null
      if (args[13] === '') return ['-', [], [], [], 0]
      const taken = Math.min(2, backlog)
      backlog -= taken
      return [backlog > 0 ? `(1-${backlog}` : '-', Array.from({ length: taken }, (_, i) => [`1-${backlog + i}`, ['payload', '{}']]), [], [], 0]
    })
    const subscription = fromRedisStream({ sendCommand: async ([command]) => (command === 'EVAL' ? 0 : 1) }, {
      stream: 's', group: 'g', consumer: 'c', readClient: reads, claimIdleMs: 60, batchSize: 2, maxInFlight: 100, scheduler, rejected: () => undefined,
    }).subscribe()
    try {
      await runUntil(scheduler, () => reads.log.includes('100 XREADGROUP BLOCK 50'))
    } finally {
      subscription.unsubscribe()
    }
    expect(reads.log).to.deep.equal([
      '0 XGROUP', '0 EVAL own',
      '0 EVAL claim', '0 EVAL claim from (1-3', '0 EVAL claim from (1-1', '0 XREADGROUP BLOCK 50',
      '50 EVAL claim', '50 XREADGROUP BLOCK 50',
      '100 EVAL claim', '100 XREADGROUP BLOCK 50',
    ])
  })
})
