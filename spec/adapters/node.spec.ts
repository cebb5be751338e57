import { expect } from 'chai'
import { WebhookReceiver, silentLogger } from '../../src/index.js'
import { createNodeMiddleware, type AdapterOptions } from '../../src/adapters/node.js'
import { fixture, SECRET, signed } from '../helpers/fixtures.js'
import { listen, send } from '../helpers/http.js'
import { adapterContract } from './contract.js'
import { startNode } from '../helpers/servers.js'


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

  it('refuses options that cannot work', () => {
    const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
    expect(() => createNodeMiddleware(receiver, { ackTimeoutMs: 0 })).to.throw(TypeError, 'ackTimeoutMs')
    expect(() => createNodeMiddleware(receiver, { ack: 'later' as 'on-accept' })).to.throw(TypeError, 'ack must be')
    expect(() => createNodeMiddleware(receiver, { path: 'events' })).to.throw(TypeError, 'path must be a string starting with /')
    // The body limit has one owner, the receiver: an adapter option for it is refused, never silently ignored.
    expect(() => createNodeMiddleware(receiver, { maxBodyBytes: 2000 } as AdapterOptions))
      .to.throw(TypeError, 'autoplay-rx: maxBodyBytes is set on the WebhookReceiver only (new WebhookReceiver({ secret, maxBodyBytes }))')
  })
})
