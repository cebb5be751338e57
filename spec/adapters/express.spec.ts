import { expect } from 'chai'
import express5 from 'express'
import express4 from 'express4'
import type { AddressInfo } from 'node:net'
import { WebhookReceiver, silentLogger, type IngestError } from '../../src/index.js'
import { createNodeMiddleware } from '../../src/adapters/node.js'
import { fixture, recordingLogger, SECRET, signed } from '../helpers/fixtures.js'
import { send } from '../helpers/http.js'
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

    it('express.json() mounted first: fails fast with 400 and says how to mount, never verifying a re-serialised body', async () => {
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
        expect([reply.status, reply.json.code]).to.deep.equal([400, 'body_not_raw'])
        expect(reply.json.message).to.include('mount the receiver before any body parser')
        expect(rejected.map((e) => e._tag === 'NotRawBody' && e.received)).to.deep.equal(['object'])
        expect(logger.lines.some((l) => l.level === 'error' && l.message.includes('A JSON body parser ran before the receiver'))).to.equal(true)
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
