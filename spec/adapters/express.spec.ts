import { expect } from 'chai'
import express5 from 'express'
import express4 from 'express4'
import type { AddressInfo } from 'node:net'
import { WebhookReceiver, silentLogger, type IngestError } from '../../src/index.js'
import { createNodeMiddleware } from '../../src/adapters/node.js'
import { fixture, recordingLogger, SECRET, signed } from '../helpers/fixtures.js'
import { send, waitFor } from '../helpers/http.js'
import { sendDeliveries } from '../../src/cli/send.js'
import { adapterContract } from './contract.js'
import { expressStarter } from '../helpers/servers.js'

type AnyExpress = typeof express5

function serve(app: ReturnType<AnyExpress>): Promise<{ url: string; close: () => Promise<void> }> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()) }),
    }))
  })
}

for (const [name, express] of [['Express 5', express5], ['Express 4', express4 as unknown as AnyExpress]] as const) {
  adapterContract(name, expressStarter(express))

  describe(`${name} specifics`, () => {
    const { body, signature } = signed(fixture('actions-small'))

    it('app.use with options.path: other routes are reached through next()', async () => {
      const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
      const app = express()
      app.use(createNodeMiddleware(receiver, { path: '/hooks/autoplay' }))
      app.get('/health', (_req, res) => { res.send('up') })
      const { url, close } = await serve(app)
      try {
        const hook = await send(`${url}/hooks/autoplay`, body, { headers: { 'x-connector-signature': signature } })
        const health = await send(`${url}/health`, null, { method: 'GET' })
        expect([hook.status, health.status, health.text]).to.deep.equal([200, 200, 'up'])
      } finally {
        await close()
      }
    })

    it('app.use without a path: a POST is a delivery, every other request goes on to next() (GET /health is not a 405)', async () => {
      const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
      let delivered = 0
      receiver.payloads$.subscribe(() => { delivered++ })
      const app = express()
      app.use(createNodeMiddleware(receiver))
      app.get('/health', (_req, res) => { res.send('up') })
      app.put('/items', (_req, res) => { res.status(204).end() })
      const { url, close } = await serve(app)
      try {
        const health = await send(`${url}/health`, null, { method: 'GET' })
        const put = await send(`${url}/items`, null, { method: 'PUT' })
        const hook = await send(`${url}/`, body, { headers: { 'x-connector-signature': signature } })
        expect([health.status, health.text, put.status, hook.status, delivered]).to.deep.equal([200, 'up', 204, 200, 1])
      } finally {
        await close()
      }
    })

    it('express.json() mounted first: fails fast with 500 (the server\'s fault, retried), names what helps, never verifies a re-serialised body', async () => {
      const logger = recordingLogger()
      const receiver = new WebhookReceiver({ secret: SECRET, logger })
      const rejected: IngestError[] = []
      receiver.rejected$.subscribe((e) => rejected.push(e))
      const app = express()
      app.use(express.json())
      app.post('/events', createNodeMiddleware(receiver, { bodyTimeoutMs: 60_000 }))
      const { url, close } = await serve(app)
      try {
        const started = Date.now()
        const reply = await send(`${url}/events`, body, { headers: { 'x-connector-signature': signature } })
        expect(Date.now() - started).to.be.lessThan(1000)
        expect([reply.status, reply.json.code]).to.deep.equal([500, 'body_not_raw'])
        const hint = String(reply.json.message)
        // What helps once express.json() has consumed the stream; express.raw() mounted later cannot.
        for (const fix of ['mount the receiver before any body parser', 'before express.json()', 'exclude its path',
          'express.json({ verify: (req, _res, buf) => { req.rawBody = buf } })']) expect(hint).to.include(fix)
        expect(hint).to.not.include('express.raw')
        expect(rejected.map((e) => e._tag === 'NotRawBody' && e.received)).to.deep.equal(['object'])
        expect(logger.lines.some((l) => l.level === 'error' && l.message === hint)).to.equal(true)
      } finally {
        await close()
      }
    })

    it('a deploy with express.json() first loses nothing: the connector retries the 500s, and once fixed every delivery arrives once', async () => {
      const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
      const seen: string[] = []
      receiver.payloads$.subscribe((p) => seen.push(p.session_id ?? ''))
      let misconfigured = true
      let refusedWhileMisconfigured = 0
      const json = express.json()
      const app = express()
      app.use((req, res, next) => {
        if (!misconfigured) return next()
        res.on('finish', () => { if (res.statusCode === 500) refusedWhileMisconfigured++ })
        json(req, res, next)
      })
      app.post('/events', createNodeMiddleware(receiver))
      const { url, close } = await serve(app)
      try {
        const sessions = ['fix_0', 'fix_1', 'fix_2', 'fix_3', 'fix_4']
        const deliveries = sessions.map((id) => ({ body: Buffer.from(JSON.stringify({ type: 'summary', session_id: id, summary: id })) }))
        const sending = sendDeliveries({ url: `${url}/events`, secret: SECRET, deliveries, concurrency: 5, retries: 20, backoffMs: 10, maxBackoffMs: 50 })
        await waitFor(() => refusedWhileMisconfigured >= 5, 'each delivery to be refused once')
        expect(seen).to.deep.equal([])
        misconfigured = false // the deploy is fixed
        const report = await sending
        expect([report.accepted, report.failed, report.rejectedByStatus]).to.deep.equal([5, 0, {}])
        expect([...seen].sort()).to.deep.equal(sessions)
      } finally {
        await close()
      }
    })

    it('a raw body a parser kept (express.json verify → req.rawBody, or express.raw) is used as is', async () => {
      const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
      let count = 0
      receiver.actions$.subscribe(() => { count++ })
      const app = express()
      app.post('/json', express.json({ verify: (req, _res, buf) => { (req as unknown as { rawBody: Buffer }).rawBody = buf } }),
        createNodeMiddleware(receiver))
      app.post('/raw', express.raw({ type: 'application/json' }), createNodeMiddleware(receiver))
      const { url, close } = await serve(app)
      try {
        const a = await send(`${url}/json`, body, { headers: { 'x-connector-signature': signature } })
        const b = await send(`${url}/raw`, body, { headers: { 'x-connector-signature': signature } })
        expect([a.status, b.status, count]).to.deep.equal([200, 200, 2])
      } finally {
        await close()
      }
    })
  })
}
