/**
 * Every adapter option takes an explicit `undefined`: a user's file that passes one to each compiles under
 * `exactOptionalPropertyTypes` against the package's declarations, and the adapters treat it as "not given".
 */
import { expect } from 'chai'
import Fastify from 'fastify'
import { WebhookReceiver, silentLogger } from '../../src/index.js'
import { InFlightBudget } from '../../src/adapters/budget.js'
import { createFastifyPlugin } from '../../src/adapters/fastify.js'
import { createHardenedServer } from '../../src/adapters/harden.js'
import { resolveOptions } from '../../src/adapters/options.js'
import { strictCompile } from '../helpers/strictUser.js'

/** A user's file: each option given as `undefined` (what optional fields of their own produce). */
const USER_FILE = `
import { WebhookReceiver } from './types/index.js'
import { InFlightBudget, createHardenedServer, createNodeMiddleware, hardenServer, type AdapterOptions } from './types/adapters/node.js'
import { createFetchHandler, type FetchHandler } from './types/adapters/web.js'
import { createFastifyPlugin, type FastifyAdapterOptions } from './types/adapters/fastify.js'

const none = undefined
const receiver = new WebhookReceiver({ secret: 's' })
const budget = new InFlightBudget({ maxBytes: none, maxRequests: none, maxPendingCallbacks: none })
const options: AdapterOptions = {
  path: none, ack: none, ackTimeoutMs: none, retryOnCallbackError: none, bodyTimeoutMs: none, persist: none,
  persistTimeoutMs: none, budget: none,
}
const server = createHardenedServer(createNodeMiddleware(receiver, options), {
  headersTimeoutMs: none, requestTimeoutMs: none, idleTimeoutMs: none, keepAliveTimeoutMs: none, maxConnections: none,
  connectionsCheckingIntervalMs: none,
})
hardenServer(server, { idleTimeoutMs: none })
const handler: FetchHandler = createFetchHandler(receiver, { ...options, budget })
const fastify: FastifyAdapterOptions = { ...options, receiver, path: '/events' }
void [handler, fastify, createFastifyPlugin]

`

describe('adapter options under exactOptionalPropertyTypes', function () {
  this.timeout(60_000)

  it('a user\'s strict project passes undefined to every adapter option and compiles', async () => {
    expect(await strictCompile(USER_FILE, ['dom'])).to.equal('')
  })

  it('an explicit undefined is "not given": the defaults apply', async () => {
    const none = undefined
    const receiver = new WebhookReceiver({ secret: 's', logger: silentLogger })
    const given = resolveOptions(receiver.maxBodyBytes, {
      path: none, ack: none, ackTimeoutMs: none, retryOnCallbackError: none, bodyTimeoutMs: none, persist: none,
      persistTimeoutMs: none, budget: none,
    })
    const { budget, ...rest } = given
    const { budget: _, ...defaults } = resolveOptions(receiver.maxBodyBytes)
    expect(rest).to.deep.equal(defaults)
    const limits = (b: InFlightBudget) => [b.maxBytes, b.maxRequests, b.maxPendingCallbacks]
    expect(limits(budget)).to.deep.equal(limits(new InFlightBudget()))
    expect(limits(new InFlightBudget({ maxBytes: none, maxRequests: none, maxPendingCallbacks: none })))
      .to.deep.equal([32 * 1024 * 1024, 1024, 512])
    const server = createHardenedServer(undefined, { headersTimeoutMs: none, idleTimeoutMs: none, maxConnections: none })
    expect([server.headersTimeout, server.timeout, server.maxConnections]).to.deep.equal([10_000, 15_000, 1024])
    const app = Fastify()
    await app.register(createFastifyPlugin, { receiver, path: '/events', ackTimeoutMs: none, budget: none })
    expect((await app.inject({ method: 'GET', url: '/events' })).statusCode).to.equal(405)
    await app.close()
  })
})
