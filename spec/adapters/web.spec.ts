import { expect } from 'chai'
import { WebhookReceiver, sign, silentLogger, type IngestError, type Payload } from '../../src/index.js'
import { createFetchHandler, InFlightBudget } from '../../src/adapters/web.js'
import { fixture, SECRET, signed } from '../helpers/fixtures.js'
import { adapterContract } from './contract.js'
import { startFetch } from '../helpers/servers.js'

adapterContract('Fetch handler behind node:http', startFetch)

describe('Fetch handler with Request objects', () => {
  const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger, maxBodyBytes: 4096 })
  const handler = createFetchHandler(receiver, { path: '/events' })
  const seen: Payload[] = []
  const rejected: IngestError[] = []
  receiver.payloads$.subscribe((p) => seen.push(p))
  receiver.rejected$.subscribe((e) => rejected.push(e))
  // A string body makes Request default to text/plain: say JSON, as the connector does.
  const post = (body: string | Uint8Array | null, headers: Record<string, string>, url = 'http://x.test/events') =>
    handler(new Request(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } }))

  it('accepts a signed delivery and emits it', async () => {
    const { body, signature } = signed(fixture('actions-small'))
    const response = await post(body, { 'content-type': 'application/json', 'x-connector-signature': signature })
    expect([response.status, await response.text()]).to.deep.equal([200, '{"status":"ok"}'])
    expect(seen.at(-1)?.type).to.equal('actions')
  })

  it('a POST with no body at all is read as empty: signed, it is malformed JSON (400), and nothing is held', async () => {
    const budget = new InFlightBudget()
    const empty = createFetchHandler(receiver, { path: '/events', budget })
    const response = await empty(new Request('http://x.test/events', {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-connector-signature': signed('').signature },
    }))
    expect([response.status, (await response.json() as { code: string }).code]).to.deep.equal([400, 'malformed_json'])
    expect([budget.bytes, budget.requests]).to.deep.equal([0, 0])
  })

  it('reads a streamed body and enforces the limit while streaming', async () => {
    const chunks = Array.from({ length: 100 }, () => Buffer.alloc(3000, 0x20))
    let pulled = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks[pulled++]
        if (next) controller.enqueue(next)
        else controller.close()
      },
    })
    const response = await handler(new Request('http://x.test/events', {
      method: 'POST', body: stream, duplex: 'half', headers: { 'content-type': 'application/json', 'x-connector-signature': 'sha256=00' },
    } as RequestInit))
    expect([response.status, ((await response.json()) as { code: string }).code]).to.deep.equal([413, 'body_too_large'])
    // Reading stopped at the second chunk (the stream may have pulled one ahead): the other 97 were never read.
    expect(pulled).to.be.within(2, 3)
  })

  it('verifies emoji and CJK bodies', async () => {
    const text = JSON.stringify({ type: 'summary', summary: '導出 ✅ 😀' })
    const response = await post(text, { 'x-connector-signature': sign(text, SECRET) })
    expect(response.status).to.equal(200)
    expect(seen.at(-1)).to.deep.include({ summary: '導出 ✅ 😀' })
  })

  it('405, 415, 401 and 404 from Request objects', async () => {
    const get = await handler(new Request('http://x.test/events'))
    expect([get.status, get.headers.get('allow')]).to.deep.equal([405, 'POST'])
    expect((await post('{}', { 'content-type': 'text/xml' })).status).to.equal(415)
    expect((await post('{}', { 'x-connector-signature': 'sha256=' + 'a'.repeat(64) })).status).to.equal(401)
    expect((await post('{}', {}, 'http://x.test/elsewhere')).status).to.equal(404)
  })

  it('500 (the server\'s fault, so the connector retries) when the body was already read, naming what helps, on rejected$', async () => {
    rejected.length = 0
    const request = new Request('http://x.test/events', { method: 'POST', body: '{"type":"summary"}', headers: { 'content-type': 'application/json' } })
    await request.text()
    const response = await handler(request)
    const answer = (await response.json()) as { code: string; message: string }
    expect([response.status, answer.code]).to.deep.equal([500, 'body_not_raw'])
    expect(answer.message).to.include('pass the Request untouched, or request.clone()')
    expect(rejected.map((e) => e._tag === 'NotRawBody' && [e.received, e.message])).to.deep.equal([['ReadableStream', answer.message]])
  })

  it('a body another reader holds (locked, not yet read): 500 body_not_raw on rejected$, answered, nothing held', async () => {
    rejected.length = 0
    const budget = new InFlightBudget()
    const guarded = createFetchHandler(receiver, { path: '/events', budget })
    const { body, signature } = signed(fixture('summary'))
    const request = new Request('http://x.test/events', { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-connector-signature': signature } })
    request.body!.getReader()
    const response = await guarded(request)
    expect([response.status, ((await response.json()) as { code: string }).code]).to.deep.equal([500, 'body_not_raw'])
    expect(rejected.map((e) => e._tag)).to.deep.equal(['NotRawBody'])
    expect([budget.bytes, budget.requests]).to.deep.equal([0, 0])
  })

  describe('a body of declared length (read in one call, request.body untouched)', () => {
    const post = (body: Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string>) =>
      new Request('http://x.test/events', { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, duplex: 'half' } as RequestInit)

    it('locked by another reader: 500 body_not_raw on rejected$, nothing held', async () => {
      rejected.length = 0
      const budget = new InFlightBudget()
      const guarded = createFetchHandler(receiver, { path: '/events', budget })
      const { body, signature } = signed(fixture('summary'))
      const request = post(body, { 'content-length': String(body.length), 'x-connector-signature': signature })
      request.body!.getReader()
      const response = await guarded(request)
      expect([response.status, ((await response.json()) as { code: string }).code]).to.deep.equal([500, 'body_not_raw'])
      expect(rejected.map((e) => e._tag)).to.deep.equal(['NotRawBody'])
      expect([budget.bytes, budget.requests]).to.deep.equal([0, 0])
    })

    it('a Request built by hand whose body outgrows its declared length: 413 all the same', async () => {
      const small = createFetchHandler(new WebhookReceiver({ secret: SECRET, logger: silentLogger, maxBodyBytes: 100 }), { path: '/events' })
      const { body, signature } = signed(fixture('summary'))
      const response = await small(post(body, { 'content-length': '10', 'x-connector-signature': signature }))
      expect([response.status, ((await response.json()) as { code: string }).code]).to.deep.equal([413, 'body_too_large'])
    })

    it('a body that breaks off mid-way is a broken delivery (503, connection closed), not a body_not_raw, and nothing is held', async () => {
      rejected.length = 0
      const budget = new InFlightBudget()
      const guarded = createFetchHandler(receiver, { path: '/events', budget })
      const broken = new ReadableStream<Uint8Array>({
        start: (c) => c.enqueue(new TextEncoder().encode('{"type":')),
        pull: (c) => c.error(new Error('connection reset')),
      })
      const response = await guarded(post(broken, { 'content-length': '1000', 'x-connector-signature': sign('x', SECRET) }))
      expect([response.status, response.headers.get('connection'), ((await response.json()) as { code: string }).code]).to.deep.equal([503, 'close', 'body_timeout'])
      expect(rejected).to.deep.equal([])
      expect([budget.bytes, budget.requests]).to.deep.equal([0, 0])
    })

    it('a body that stalls: 503 body_timeout at the deadline, the budget given back', async () => {
      const budget = new InFlightBudget()
      const slow = createFetchHandler(receiver, { path: '/events', budget, bodyTimeoutMs: 100 })
      const stalled = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(new TextEncoder().encode('{"type":')) })
      const response = await slow(post(stalled, { 'content-length': '1000', 'x-connector-signature': sign('x', SECRET) }))
      expect([response.status, ((await response.json()) as { code: string }).code]).to.deep.equal([503, 'body_timeout'])
      expect([budget.bytes, budget.requests]).to.deep.equal([0, 0])
    })
  })
})
