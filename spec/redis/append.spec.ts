import { expect } from 'chai'
import { RESP_TYPES } from 'redis'
import { firstValueFrom, mergeMap, Subject, take, toArray } from 'rxjs'
import { WebhookReceiver, silentLogger, type Payload } from '../../src/index.js'
import { createNodeMiddleware } from '../../src/adapters/node.js'
import { fromRedisStream, redisAppender, toRedisStream } from '../../src/redis/index.js'
import { generateEvents } from '../../src/cli/generate.js'
import { sendDeliveries } from '../../src/cli/send.js'
import { fixture, SECRET } from '../helpers/fixtures.js'
import { listen, sleep } from '../helpers/http.js'
import { payloads, redisSuite } from '../helpers/redis.js'

describe('redis/append: redisAppender and toRedisStream (real redis-server)', function () {
  this.timeout(30_000)
  const suite = redisSuite()
  const { name, client } = suite

  it('payloads round-trip unchanged, and toRedisStream emits each entry id', async () => {
    const writer = await client()
    const stream = name('roundtrip')
    const summary = new WebhookReceiver({ secret: '', logger: silentLogger }).parse(fixture('summary'))!
    const sent = [...payloads(20), summary, new WebhookReceiver({ secret: '', logger: silentLogger }).parse(fixture('actions-large'))!]
    const source = new Subject<Payload>()
    const ids = firstValueFrom(source.pipe(toRedisStream(writer, { stream }), toArray()))
    const reader = fromRedisStream(await client(), { stream, group: 'g', consumer: 'c', startAt: '0', blockMs: 200 })
    const read = firstValueFrom(reader.pipe(take(sent.length), mergeMap(async (d) => { await d.ack(); return d }), toArray()))
    for (const p of sent) source.next(p)
    source.complete()
    const entries = await ids
    expect(entries.map((e) => e.payload)).to.deep.equal(sent)
    expect(entries.every((e) => /^\d+-\d+$/.test(e.id))).to.equal(true)
    const received = await read
    expect(received.map((d) => d.payload)).to.deep.equal(sent)
    expect(received.map((d) => d.id)).to.deep.equal(entries.map((e) => e.id))
    expect(await writer.sendCommand(['XPENDING', stream, 'g'])).to.deep.include(0)
  })

  it('given the bytes that were verified, the entry holds them as they are in one field "body"; without, the payload JSON in "payload"', async () => {
    const writer = await client()
    const stream = name('body')
    const append = redisAppender(writer, { stream })
    const [payload] = payloads(1)
    // Bytes no re-serialisation gives back: a BOM, spaces, a multi-byte character, bytes that are not UTF-8, a NUL.
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(' { "x" : "€" }\r\n'), Buffer.from([0xff, 0, 0xc3])])
    // A plain Uint8Array viewing part of a larger buffer (the fetch adapter's kind of body).
    const wider = Buffer.concat([Buffer.from('head'), body, Buffer.from('tail')])
    const view = new Uint8Array(wider.buffer, wider.byteOffset + 4, body.length)
    await append(payload!, body)
    await append(payload!, view)
    await append(payload!)
    const bytes = writer.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
    const entries = await bytes.sendCommand(['XRANGE', stream, '-', '+']) as Array<[Buffer, Buffer[]]>
    expect(entries.map(([, fields]) => fields.length)).to.deep.equal([2, 2, 2])
    expect(entries.map(([, [field]]) => field!.toString())).to.deep.equal(['body', 'body', 'payload'])
    expect(entries.slice(0, 2).map(([, [, value]]) => value!.toString('hex'))).to.deep.equal([body.toString('hex'), body.toString('hex')])
    expect(JSON.parse(entries[2]![1][1]!.toString())).to.deep.equal(payload)
  })

  it('trims the stream to about maxLen (approximate MAXLEN)', async () => {
    const writer = await client()
    const stream = name('trim')
    const append = redisAppender(writer, { stream, maxLen: 100 })
    for (const p of payloads(1000, 3)) await append(p)
    const length = Number(await writer.sendCommand(['XLEN', stream]))
    expect(length).to.be.within(100, 200)
  })

  it('Redis stopped while deliveries arrive: 503, then, once it is back, the retries land and nothing is lost', async () => {
    const stream = name('outage')
    const writer = await client()
    const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
    const server = await listen(createNodeMiddleware(receiver, { persist: redisAppender(writer, { stream }), persistTimeoutMs: 300 }))
    const bodies = generateEvents({ type: 'actions', count: 40, sessions: 8, seed: 11 }).map((t) => Buffer.from(t))
    try {
      await suite.redis.stop()
      const statuses: number[] = []
      const outage = await sendDeliveries({ url: `http://127.0.0.1:${server.port}/`, secret: SECRET, deliveries: bodies.slice(0, 5).map((body) => ({ body })), retries: 0 })
      statuses.push(...outage.statuses)
      expect(statuses).to.deep.equal([503, 503, 503, 503, 503])
      // The connector retries with backoff; Redis comes back meanwhile.
      const sending = sendDeliveries({ url: `http://127.0.0.1:${server.port}/`, secret: SECRET, deliveries: bodies.map((body) => ({ body })), retries: 30, backoffMs: 100, maxBackoffMs: 400, concurrency: 8 })
      await sleep(700)
      await suite.redis.start()
      const report = await sending
      expect(report.accepted).to.equal(40)
      expect(report.retried).to.be.greaterThan(0)
      for (let waited = 0; !writer.isReady && waited < 5000; waited += 50) await sleep(50)
      const entries = await writer.sendCommand(['XRANGE', stream, '-', '+']) as Array<[string, string[]]>
      const stored = new Set(entries.map(([, fields]) => JSON.parse(fields[1]!).forwarded_at as number))
      const sentAt = new Set(bodies.map((b) => JSON.parse(b.toString()).forwarded_at as number))
      expect(stored).to.deep.equal(sentAt)
    } finally {
      await server.close()
      if (!writer.isReady) await suite.redis.start().catch(() => undefined)
    }
  })
})

function byForwardedAt(a: Payload, b: Payload): number {
  return a.forwarded_at - b.forwarded_at
}
