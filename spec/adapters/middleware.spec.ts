import { expect } from 'chai'
import { WebhookReceiver, silentLogger, type IngestError } from '../../src/index.js'
import { ABORTED, type BodyOutcome } from '../../src/adapters/body.js'
import { checkHead, createMiddleware, type Runtime } from '../../src/adapters/middleware.js'
import { NOT_FOUND } from '../../src/adapters/status.js'
import { fixture, recordingLogger, SECRET, signed } from '../helpers/fixtures.js'

describe('adapters/middleware', () => {
  describe('checkHead', () => {
    it('decides 405 and 415 from the head alone, else reads on', () => {
      expect(checkHead('GET', undefined)?.status).to.equal(405)
      expect(checkHead('POST', 'text/plain')?.status).to.equal(415)
      for (const type of ['application/json', 'APPLICATION/JSON; charset=utf-8', 'application/cloudevents+json', ' application/json ', ' ', '', undefined, null]) {
        expect(checkHead('POST', type), String(type)).to.equal(null)
      }
      expect(checkHead('POST', 'application/jsonx')?.status).to.equal(415)
    })
  })

  describe('createMiddleware, fed by a runtime of plain objects (no HTTP)', () => {
    interface Req {
      readonly method: string; readonly path: string; readonly headers: Record<string, string>
      readonly outcome: () => BodyOutcome | Promise<BodyOutcome>
    }
    const runtime: Runtime<Req> = {
      method: (req) => req.method,
      path: (req) => req.path,
      header: (req, name) => req.headers[name],
      readBody: (req) => req.outcome(),
    }
    const setup = (path: string | null = '/events') => {
      const logger = recordingLogger()
      const receiver = new WebhookReceiver({ secret: SECRET, logger })
      const rejected: IngestError[] = []
      receiver.rejected$.subscribe((e) => rejected.push(e))
      const handle = createMiddleware(receiver, { path: path ?? undefined }, runtime)
      const run = async (req: Partial<Req>, passOn = false) => {
        const answer = handle({ method: 'POST', path: '/events', headers: {}, outcome: () => ABORTED, ...req }, passOn, undefined)
        return { sync: !(answer instanceof Promise), answer: await answer }
      }
      return { logger, rejected, run }
    }

    it('a signed body: 200, returned at once when nothing had to wait; a body still arriving: a promise of it', async () => {
      const { run } = setup()
      const { body, signature } = signed(fixture('summary'))
      const headers = { 'x-connector-signature': signature }
      const held = await run({ headers, outcome: () => ({ _tag: 'Body', bytes: body }) })
      expect([held.answer?.status, held.answer?.body, held.sync]).to.deep.equal([200, '{"status":"ok"}', true])
      const streamed = await run({ headers, outcome: async () => ({ _tag: 'Body', bytes: body }) })
      expect([streamed.answer?.status, streamed.sync]).to.deep.equal([200, false])
    })

    it('a declared length over the limit: 413 without reading the body, on rejected$ as BodyTooLarge with that size', async () => {
      const { run, rejected } = setup()
      let read = 0
      const over = await run({ headers: { 'content-length': String(1024 * 1024 + 1) }, outcome: () => { read++; return ABORTED } })
      expect([over.answer?.status, over.answer?.code, over.answer?.headers.connection, read]).to.deep.equal([413, 'body_too_large', 'close', 0])
      expect(rejected.map((e) => [e._tag, e._tag === 'BodyTooLarge' && e.size])).to.deep.equal([['BodyTooLarge', 1024 * 1024 + 1]])
    })

    it('another path: 404 without reading the body; a client gone: null', async () => {
      const { run } = setup()
      let read = 0
      const other = await run({ path: '/other', outcome: () => { read++; return ABORTED } })
      expect([other.answer?.status, read]).to.deep.equal([404, 0])
      expect((await run({})).answer).to.equal(null)
    })

    it('with a next handler and no path, any method but POST is not ours (NOT_FOUND, handed on); without one, 405', async () => {
      const { run } = setup(null)
      expect((await run({ method: 'GET', path: '/health' }, true)).answer).to.equal(NOT_FOUND)
      expect((await run({ method: 'GET', path: '/health' }, false)).answer?.status).to.equal(405)
      const withPath = setup('/events')
      expect((await withPath.run({ method: 'GET' }, true)).answer?.status).to.equal(405)
    })

    it('NotRaw: 500 body_not_raw, the refusal built once, on rejected$ and logged as an error, with the runtime\'s hint', async () => {
      const { run, rejected, logger } = setup()
      const { answer } = await run({ outcome: () => ({ _tag: 'NotRaw', received: { parsed: true }, hint: 'Pass the raw body.' }) })
      expect([answer?.status, JSON.parse(answer!.body)]).to.deep.equal([500, { status: 'error', code: 'body_not_raw', message: 'Pass the raw body.' }])
      expect(rejected.map((e) => e._tag === 'NotRawBody' && [e.received, e.message])).to.deep.equal([['object', 'Pass the raw body.']])
      expect(logger.lines.filter((l) => l.level === 'error').map((l) => l.message)).to.deep.equal(['Pass the raw body.'])
    })

    it('a runtime that throws while reading, at once or in its promise: 500, logged, nothing thrown nor rejected', async () => {
      const { run, logger } = setup()
      const thrown = await run({ outcome: () => { throw new Error('reader bug') } })
      const rejectedRead = await run({ outcome: () => Promise.reject(new Error('reader bug')) })
      expect([thrown.answer?.status, rejectedRead.answer?.status]).to.deep.equal([500, 500])
      expect(logger.lines.filter((l) => l.level === 'error' && l.message === 'autoplay-rx adapter failed')).to.have.length(2)
    })
  })
})
