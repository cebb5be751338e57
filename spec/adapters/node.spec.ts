import { expect } from 'chai'
import { WebhookReceiver, silentLogger } from '../../src/index.js'
import { createNodeMiddleware, type AdapterOptions } from '../../src/adapters/node.js'
import { fixture, SECRET, signed } from '../helpers/fixtures.js'
import { listen, send } from '../helpers/http.js'
import { adapterContract } from './contract.js'
import { startNode } from '../helpers/servers.js'
import { runChild, sourceModule } from '../sse/helpers.js'

adapterContract('node:http', startNode)

describe('node:http adapter', () => {
  it('answers 404 for other paths when used as a plain server with a path', async () => {
    const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
    const { port, close } = await listen(createNodeMiddleware(receiver, { path: '/events' }))
    try {
      const { body, signature } = signed(fixture('summary'))
      const other = await send(`http://127.0.0.1:${port}/other`, body, { headers: { 'x-connector-signature': signature } })
      const query = await send(`http://127.0.0.1:${port}/events?x=1`, body, { headers: { 'x-connector-signature': signature } })
      expect([other.status, query.status]).to.deep.equal([404, 200])
    } finally {
      await close()
    }
  })

  it('an answer whose write throws, at once or after a promise: written once, logged, and the process lives (in a process of its own)', async function () {
    this.timeout(15_000)
    const { stdout } = await runChild(10_000, `
      import { createServer, request } from 'node:http'
      import { createNodeMiddleware } from '${sourceModule('adapters/node.ts')}'
      import { WebhookReceiver } from '${sourceModule('receiver.ts')}'
      import { sign } from '${sourceModule('signature.ts')}'
      const logged = []
      const receiver = new WebhookReceiver({ secret: 'k', logger: { error: (message) => logged.push(message) } })
      const body = '{"type":"summary","session_id":"s","summary":"x"}'
      const now = createNodeMiddleware(receiver)
      const later = createNodeMiddleware(receiver, { persist: async () => {} })
      const calls = []
      const results = []
      const server = createServer(async (req, res) => {
        const kind = req.url === '/now' ? 'at once' : 'after a promise'
        res.writeHead = (status) => { calls.push(kind + ' ' + status); res.destroy(); throw new Error('write after destroy') }
        if (req.url === '/now') req.rawBody = body // held: answered synchronously
        results.push(await (req.url === '/now' ? now : later)(req, res))
      })
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
      for (const path of ['/now', '/later']) {
        await new Promise((resolve) => {
          const client = request({ port: server.address().port, host: '127.0.0.1', path, method: 'POST',
            headers: { 'x-connector-signature': sign(body, 'k'), 'content-type': 'application/json' } }, resolve)
          client.on('error', resolve)
          client.end(body)
        })
      }
      server.close()
      console.log(JSON.stringify({ calls, logged, results }))
    `)
    expect(JSON.parse(stdout)).to.deep.equal({
      calls: ['at once 200', 'after a promise 200'],
      logged: ['autoplay-rx adapter could not write its answer', 'autoplay-rx adapter could not write its answer'],
      results: [null, null],
    })
  })

  it('refuses options that cannot work', () => {
    const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
    expect(() => createNodeMiddleware(receiver, { ackTimeoutMs: 0 })).to.throw(TypeError, 'ackTimeoutMs')
    expect(() => createNodeMiddleware(receiver, { ack: 'later' as 'on-accept' })).to.throw(TypeError, 'ack must be')
    expect(() => createNodeMiddleware(receiver, { path: 'events' })).to.throw(TypeError, 'path must be a string starting with /')
    // The body limit has one owner, the receiver: an adapter option for it is refused, never silently ignored.
    expect(() => createNodeMiddleware(receiver, { maxBodyBytes: 2000 } as AdapterOptions))
      .to.throw(TypeError, 'autoplay-rx: maxBodyBytes must be set on the WebhookReceiver only')
  })
})
