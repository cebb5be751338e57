import { expect } from 'chai'
import Fastify from 'fastify'
import { WebhookReceiver, silentLogger } from '../../src/index.js'
import { createFastifyPlugin, type FastifyAdapterOptions } from '../../src/adapters/fastify.js'
import { fixture, SECRET, signed } from '../helpers/fixtures.js'
import { send } from '../helpers/http.js'
import { adapterContract } from './contract.js'
import { startFastify } from '../helpers/servers.js'

adapterContract('Fastify 5', startFastify)

describe('Fastify 5 plugin specifics', () => {
  it('other routes keep the JSON parser', async () => {
    const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
    const app = Fastify()
    await app.register(createFastifyPlugin, { receiver, path: '/events' })
    app.post('/echo', async (request) => ({ parsed: request.body }))
    const address = await app.listen({ port: 0, host: '127.0.0.1' })
    try {
      const { body, signature } = signed(fixture('summary'))
      const hook = await send(`${address}/events`, body, { headers: { 'x-connector-signature': signature } })
      const echo = await send(`${address}/echo`, '{"a":[1,2]}')
      expect([hook.status, echo.status]).to.deep.equal([200, 200])
      expect(echo.json).to.deep.equal({ parsed: { a: [1, 2] } })
    } finally {
      await app.close()
    }
  })

  it('works under a prefix: the path is relative to it', async () => {
    const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
    const app = Fastify()
    await app.register(createFastifyPlugin, { receiver, path: '/events', prefix: '/hooks' })
    const address = await app.listen({ port: 0, host: '127.0.0.1' })
    try {
      const { body, signature } = signed(fixture('summary'))
      const reply = await send(`${address}/hooks/events`, body, { headers: { 'x-connector-signature': signature } })
      expect(reply.status).to.equal(200)
    } finally {
      await app.close()
    }
  })

  it('refuses bad options at registration', async () => {
    const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
    for (const [options, message] of [
      [{ receiver, path: '/events', ackTimeoutMs: -1 }, 'autoplay-rx: ackTimeoutMs must be a positive number'],
      // No invented default route: where the plugin is mounted is said by its caller.
      [{ receiver }, "autoplay-rx: the Fastify plugin needs a path starting with / (e.g. { receiver, path: '/events' })"],
    ] as const) {
      const app = Fastify()
      app.register(createFastifyPlugin, options as FastifyAdapterOptions)
      const error = await app.ready().then(() => null, (e: Error) => e)
      expect(error?.message).to.equal(message)
      await app.close().catch(() => undefined)
    }
  })
})
