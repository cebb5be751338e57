import { expect } from 'chai'
import { serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebhookReceiver, silentLogger } from '../../src/index.js'
import { createHardenedServer, createNodeMiddleware, InFlightBudget } from '../../src/adapters/node.js'
import { createFastifyPlugin } from '../../src/adapters/fastify.js'
import { createFetchHandler } from '../../src/adapters/web.js'
import { fixture, SECRET, signed } from '../helpers/fixtures.js'
import { closeServer, rawRequest, postHead } from '../helpers/http.js'
import { lockout } from '../helpers/lockout.js'

type Started = { port: number; close: () => Promise<void> }
const receiver = () => new WebhookReceiver({ secret: SECRET, logger: silentLogger })
const listening = (server: Server) => new Promise<Started>((resolve) => {
  server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port, close: () => closeServer(server) }))
})

/** Each adapter as its docs show it, with default options, on `/events`. */
export const LOCKOUT_TARGETS: ReadonlyArray<readonly [string, () => Promise<Started>]> = [
  ['node:http behind createHardenedServer', () => listening(createHardenedServer(createNodeMiddleware(receiver(), { path: '/events' })))],
  ['Express', () => {
    const app = express()
    app.post('/events', createNodeMiddleware(receiver()))
    return new Promise((resolve) => {
      const server: Server = app.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port, close: () => closeServer(server) }))
    })
  }],
  ['Fastify', async () => {
    const app = Fastify()
    await app.register(createFastifyPlugin, { receiver: receiver(), path: '/events' })
    await app.listen({ port: 0, host: '127.0.0.1' })
    return { port: (app.server.address() as AddressInfo).port, close: () => app.close() }
  }],
  ['the fetch handler behind @hono/node-server', () => {
    const handler = createFetchHandler(receiver(), { peer: (_request, c) => getConnInfo(c as never).remote.address })
    const app = new Hono()
    app.post('/events', (c) => handler(c.req.raw, c))
    return new Promise((resolve) => {
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve({
        port: info.port, close: () => new Promise<void>((r) => { (server as Server).closeAllConnections(); server.close(() => r()) }),
      }))
    })
  }],
]

describe('adapters: one remote address cannot lock the others out', function () {
  this.timeout(15_000)

  for (const [name, start] of LOCKOUT_TARGETS) {
    it(`${name}: 32 sockets declaring 1 MiB and sending nothing from 127.0.0.1; deliveries from 127.0.0.2 answered 2xx`, async () => {
      const { port, close } = await start()
      try {
        const result = await lockout({ port, path: '/events', hostile: 32, seconds: 2, intervalMs: 50 })
        expect(result.sent).to.be.greaterThan(20)
        expect(result.ok / result.sent, JSON.stringify(result)).to.be.at.least(0.99)
      } finally {
        await close()
      }
    })
  }

  it('an address alone may use the whole budget: its concurrent bodies up to maxBytes are all read', async () => {
    const budget = new InFlightBudget({ maxBytes: 64 * 1024, maxRequests: 4 })
    const { port, close } = await listening(createHardenedServer(createNodeMiddleware(receiver(), { path: '/events', budget })))
    try {
      // Four reads at once, each holding 15 KiB of padding before its body ends: 60 KiB of 64, all from one address.
      const { body: padded, signature } = signed(Buffer.concat([Buffer.alloc(15 * 1024, 0x20), fixture('actions-small')]))
      const url = `http://127.0.0.1:${port}/events`
      const head = postHead(url, padded.length, signature).replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')
      const reads = Array.from({ length: 4 }, () => rawRequest(url, head + padded.subarray(0, 15 * 1024).toString('latin1')))
      await new Promise((r) => setTimeout(r, 200))
      expect(budget.requests).to.equal(4)
      for (const read of reads) read.write(padded.subarray(15 * 1024))
      const answers = await Promise.all(reads.map((read) => read.done))
      expect(answers.map((a) => a.text.slice(0, 12))).to.deep.equal(Array(4).fill('HTTP/1.1 200'))
    } finally {
      await close()
    }
  })
})
