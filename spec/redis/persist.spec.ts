import { expect } from 'chai'
import { WebhookReceiver, silentLogger, type ActionsPayload, type Payload, type UsertourTriggerPayload } from '../../src/index.js'
import { createNodeMiddleware } from '../../src/adapters/node.js'
import { RESP_TYPES } from 'redis'
import { firstValueFrom, take, toArray } from 'rxjs'
import { createFetchHandler } from '../../src/adapters/web.js'
import { fromRedisStream, redisAppender } from '../../src/redis/index.js'
import { generateEvents } from '../../src/cli/generate.js'
import { sendDeliveries } from '../../src/cli/send.js'
import { SECRET, signed } from '../helpers/fixtures.js'
import { listen } from '../helpers/http.js'
import { redisSuite, until } from '../helpers/redis.js'

describe('persist: a delivery reaches the in-process streams once stored, and only then (real redis-server)', function () {
  this.timeout(30_000)
  const suite = redisSuite()

  it('Redis down, the connector retrying the same delivery: 503 each time and nothing in-process; once back, one 2xx, one emission, XLEN 1', async () => {
    const stream = suite.name('persist')
    const writer = await suite.client()
    const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
    const seen: Payload[] = []
    const called: Payload[] = []
    suite.keep(receiver.payloads$.subscribe((p) => seen.push(p)))
    suite.keep(receiver.actions$.subscribe((p) => seen.push(p)))
    receiver.onActions((p) => { called.push(p) })
    const persist = redisAppender(writer, { stream })
    const server = await listen(createNodeMiddleware(receiver, { persist, persistTimeoutMs: 300 }))
    const url = `http://127.0.0.1:${server.port}/`
    const body = Buffer.from(generateEvents({ type: 'actions', count: 1, sessions: 1, seed: 7 })[0]!)
    try {
      await suite.redis.stop()
      const outage = await sendDeliveries({ url, secret: SECRET, deliveries: [1, 2, 3, 4].map(() => ({ body })), retries: 0, concurrency: 1 })
      expect(outage.statuses).to.deep.equal([503, 503, 503, 503])
      expect(seen).to.have.length(0)
      expect(called).to.have.length(0)
      await suite.redis.start()
      await suite.reconnected()
      const retry = await sendDeliveries({ url, secret: SECRET, deliveries: [{ body }], retries: 0 })
      expect(retry.statuses).to.deep.equal([200])
      await until(() => called.length === 1, 'the callback')
      expect(seen.map((p) => p.forwarded_at)).to.deep.equal([1, 2].map(() => JSON.parse(body.toString()).forwarded_at))
      expect(called).to.have.length(1)
      expect(Number(await writer.sendCommand(['XLEN', stream]))).to.equal(1)
    } finally {
      await server.close()
    }
  })

  it('a usertour_trigger is stored like a payload: 503 and nothing on usertourTrigger$ while Redis is down; once back, one 2xx, one emission', async () => {
    const stream = suite.name('persist-trigger')
    const writer = await suite.client()
    const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
    const seen: string[] = []
    suite.keep(receiver.usertourTrigger$.subscribe((t) => seen.push(t.flow_id)))
    const server = await listen(createNodeMiddleware(receiver, { persist: redisAppender(writer, { stream }), persistTimeoutMs: 300 }))
    const url = `http://127.0.0.1:${server.port}/`
    const body = Buffer.from(JSON.stringify({ type: 'usertour_trigger', flow_id: 'flow_1', session_id: 'ps_1' }))
    try {
      await suite.redis.stop()
      const outage = await sendDeliveries({ url, secret: SECRET, deliveries: [{ body }, { body }], retries: 0, concurrency: 1 })
      expect([outage.statuses, seen]).to.deep.equal([[503, 503], []])
      await suite.redis.start()
      await suite.reconnected()
      const retry = await sendDeliveries({ url, secret: SECRET, deliveries: [{ body }], retries: 0 })
      expect([retry.statuses, seen]).to.deep.equal([[200], ['flow_1']])
      const [[, fields]] = await writer.sendCommand(['XRANGE', stream, '-', '+']) as [[string, string[]]]
      expect(JSON.parse(fields[1]!)).to.deep.include({ type: 'usertour_trigger', flow_id: 'flow_1' })
    } finally {
      await server.close()
    }
  })

  it('persist is given the bytes the signature was checked over: redisAppender stores them byte for byte (node and fetch adapters, a body of many chunks), and a worker reads the same payloads', async () => {
    const stream = suite.name('persist-body')
    const writer = await suite.client()
    const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
    const given: number[] = []
    const append = redisAppender(writer, { stream })
    const persist = (event: Payload | UsertourTriggerPayload, body: Uint8Array) => (given.push(body.byteLength), append(event, body))
    const node = await listen(createNodeMiddleware(receiver, { persist }))
    const fetchHandler = createFetchHandler(receiver, { persist })
    const [small, large] = generateEvents({ type: 'actions', count: 2, sessions: 1, seed: 9 }).map((t) => JSON.parse(t) as ActionsPayload)
    // Spaced out and padded to ~300 KB: what a re-serialisation would not give back, over many socket reads.
    const bodies = [Buffer.from(`\ufeff${JSON.stringify(small, null, 1)}\n`),
      Buffer.from(JSON.stringify({ ...large, actions: Array(1500).fill(large!.actions[0]) }, null, 4))]
    const fetched = Buffer.from(JSON.stringify(small, null, 3))
    try {
      const report = await sendDeliveries({ url: `http://127.0.0.1:${node.port}/`, secret: SECRET, retries: 0, concurrency: 1, deliveries: bodies.map((body) => ({ body })) })
      const request = new Request('http://x.test/', { method: 'POST', body: fetched, headers: { 'x-connector-signature': signed(fetched).signature } })
      expect([report.statuses, (await fetchHandler(request)).status]).to.deep.equal([[200, 200], 200])
    } finally {
      await node.close()
    }
    expect(given).to.deep.equal([bodies[0]!.length, bodies[1]!.length, fetched.length])
    const bytes = writer.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
    const entries = await bytes.sendCommand(['XRANGE', stream, '-', '+']) as Array<[Buffer, Buffer[]]>
    expect(entries.map(([, [field, value]]) => [field!.toString(), value!.toString('hex')]))
      .to.deep.equal([...bodies, fetched].map((body) => ['body', body.toString('hex')]))
    const read = await firstValueFrom(fromRedisStream(await suite.client(), { stream, group: 'g', consumer: 'c', blockMs: 50 }).pipe(take(3), toArray()))
    expect(read.map((d) => d.payload)).to.deep.equal([...bodies, fetched].map((b) => receiver.parse(b)))
  })
})
