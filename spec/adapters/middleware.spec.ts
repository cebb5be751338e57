import { expect } from 'chai'
import { WebhookReceiver, silentLogger, type IngestError } from '../../src/index.js'
import { checkHead, createMiddleware, type BodyOutcome, type Runtime } from '../../src/adapters/middleware.js'
import { resolveOptions } from '../../src/adapters/options.js'
import type { AdapterResponse } from '../../src/adapters/status.js'
import { fixture, recordingLogger, SECRET, signed } from '../helpers/fixtures.js'
import { runChild, sourceModule } from '../sse/helpers.js'

describe('adapters/middleware', () => {
  describe('checkHead', () => {
    const receiver = new WebhookReceiver({ secret: 's', logger: silentLogger, maxBodyBytes: 100 })
    const options = resolveOptions(receiver)

    it('decides 405, 415 and 413 from the head alone, else reads on', () => {
      expect(checkHead(receiver, 'GET', undefined, NaN, options)?.status).to.equal(405)
      expect(checkHead(receiver, 'POST', 'text/plain', 5, options)?.status).to.equal(415)
      expect(checkHead(receiver, 'POST', 'application/json', 101, options)?.status).to.equal(413)
      for (const type of ['application/json', 'APPLICATION/JSON; charset=utf-8', 'application/cloudevents+json', '', undefined, null]) {
        expect(checkHead(receiver, 'POST', type, 100, options), String(type)).to.equal(null)
      }
      expect(checkHead(receiver, 'POST', 'application/jsonx', NaN, options)?.status).to.equal(415)
    })
  })

  describe('createMiddleware, fed by a runtime of plain objects (no HTTP)', () => {
    interface Req { readonly method: string; readonly path: string; readonly headers: Record<string, string>; readonly outcome: () => BodyOutcome }
    const runtime: Runtime<Req> = {
      method: (req) => req.method,
      path: (req) => req.path,
      header: (req, name) => req.headers[name],
      readBody: (req, _declared, _limits, _deadlines, done) => done(req.outcome()),
    }
    const setup = () => {
      const logger = recordingLogger()
      const receiver = new WebhookReceiver({ secret: SECRET, logger })
      const rejected: IngestError[] = []
      receiver.rejected$.subscribe((e) => rejected.push(e))
      const handle = createMiddleware(receiver, { path: '/events' }, runtime)
      const run = (req: Partial<Req>) => new Promise<{ answer: AdapterResponse | null; calls: number; sync: number }>((resolve) => {
        let calls = 0
        let answer: AdapterResponse | null = null
        handle({ method: 'POST', path: '/events', headers: {}, outcome: () => ({ _tag: 'Aborted' }), ...req }, (a) => { calls++; answer = a })
        const sync = calls
        setImmediate(() => resolve({ answer, calls, sync }))
      })
      return { logger, rejected, run }
    }

    it('a signed body: 200, answered once, synchronously when nothing had to wait', async () => {
      const { run } = setup()
      const { body, signature } = signed(fixture('summary'))
      const { answer, calls, sync } = await run({ headers: { 'x-connector-signature': signature }, outcome: () => ({ _tag: 'Body', bytes: body }) })
      expect([answer?.status, answer?.body, calls, sync]).to.deep.equal([200, '{"status":"ok"}', 1, 1])
    })

    it('another path: 404 without reading the body; a client gone: null', async () => {
      const { run } = setup()
      let read = 0
      const other = await run({ path: '/other', outcome: () => { read++; return { _tag: 'Aborted' } } })
      expect([other.answer?.status, read]).to.deep.equal([404, 0])
      expect((await run({})).answer).to.equal(null)
    })

    it('NotRaw: 500 body_not_raw, the refusal built once, on rejected$ and logged as an error, with the runtime\'s hint', async () => {
      const { run, rejected, logger } = setup()
      const { answer } = await run({ outcome: () => ({ _tag: 'NotRaw', received: { parsed: true }, hint: 'Pass the raw body.' }) })
      expect([answer?.status, JSON.parse(answer!.body)]).to.deep.equal([500, { status: 'error', code: 'body_not_raw', message: 'Pass the raw body.' }])
      expect(rejected.map((e) => e._tag === 'NotRawBody' && [e.received, e.message])).to.deep.equal([['object', 'Pass the raw body.']])
      expect(logger.lines.filter((l) => l.level === 'error').map((l) => l.message)).to.deep.equal(['Pass the raw body.'])
    })

    it('a reply that throws, answered at once or after a promise: called once, logged, and the process lives (in a process of its own)', async function () {
      this.timeout(15_000)
      // 0.1 called a throwing reply a second time (sync) and left answer.then(reply) rejected, unhandled: exit 1.
      const { stdout } = await runChild(10_000, `
        import { createMiddleware } from '${sourceModule('adapters/middleware.ts')}'
        import { WebhookReceiver } from '${sourceModule('receiver.ts')}'
        import { sign } from '${sourceModule('signature.ts')}'
        const logged = []
        const receiver = new WebhookReceiver({ secret: 'k', logger: { error: (message) => logged.push(message) } })
        const runtime = {
          method: () => 'POST', path: () => '/', header: (req, name) => req.headers[name],
          readBody: (req, _declared, _limits, _deadlines, done) => done({ _tag: 'Body', bytes: req.body }),
        }
        const body = '{"type":"summary","session_id":"s","summary":"x"}'
        const req = { body, headers: { 'x-connector-signature': sign(body, 'k') } }
        const calls = []
        const throwing = (kind) => (answer) => { calls.push(kind + ' ' + answer.status); throw new Error('write after destroy') }
        createMiddleware(receiver, { persist: async () => {} }, runtime)(req, throwing('after a promise'))
        createMiddleware(receiver, {}, runtime)(req, throwing('at once'))
        await new Promise((resolve) => setTimeout(resolve, 50))
        console.log(JSON.stringify({ calls, logged }))
      `)
      expect(JSON.parse(stdout)).to.deep.equal({
        calls: ['at once 200', 'after a promise 200'],
        logged: ['autoplay-rx adapter could not write its answer', 'autoplay-rx adapter could not write its answer'],
      })
    })

    it('a runtime that throws while reading: 500, logged, answered once, nothing thrown to the caller', async () => {
      const { run, logger } = setup()
      const { answer, calls } = await run({ outcome: () => { throw new Error('reader bug') } })
      expect([answer?.status, calls]).to.deep.equal([500, 1])
      expect(logger.lines.some((l) => l.level === 'error' && l.message === 'autoplay-rx adapter failed')).to.equal(true)
    })
  })
})
