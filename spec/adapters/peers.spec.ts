import { expect } from 'chai'
import { serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { request, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { WebhookReceiver, silentLogger } from '../../src/index.js'
import { createHardenedServer, createNodeMiddleware, InFlightBudget } from '../../src/adapters/node.js'
import { createFastifyPlugin } from '../../src/adapters/fastify.js'
import { createFetchHandler } from '../../src/adapters/web.js'
import { fixture, SECRET, signed } from '../helpers/fixtures.js'
import { closeServer, rawRequest, postHead, waitFor } from '../helpers/http.js'
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

  /** A raw POST from `from` that sends its head, declaring 100 bytes, and `sent` of them; resolves with the answer. */
  const stall = (port: number, from: string, headers = '', sent = ' ') => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: from }, () => {
      socket.write(`POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n${headers}\r\n${sent}`)
    })
    let text = ''
    socket.on('data', (d) => { text += d.toString('latin1') })
    socket.on('error', () => {})
    const started = Date.now()
    return { socket, answer: new Promise<{ text: string; ms: number }>((r) => socket.on('close', () => r({ text, ms: Date.now() - started }))) }
  }

  describe('shares of the budget by remote address', () => {
    const setup = async (options: Parameters<typeof createNodeMiddleware>[1]) => {
      const budget = new InFlightBudget({ maxRequests: 8 })
      const started = await listening(createHardenedServer(createNodeMiddleware(receiver(), {
        path: '/events', budget, bodyTimeoutMs: 5000, minBodyRate: 0.001, ...options,
      })))
      return { budget, ...started }
    }
    /** One signed delivery from `from`: its status. */
    const post = (port: number, from: string) => new Promise<number>((resolve) => {
      const { body, signature } = signed(fixture('summary'))
      const req = request({
        port, host: '127.0.0.1', localAddress: from, method: 'POST', path: '/events', agent: false,
        headers: { 'content-type': 'application/json', 'x-connector-signature': signature },
      }, (res) => { res.resume(); resolve(res.statusCode!) })
      req.on('error', () => resolve(0))
      req.end(body)
    })

    it('under contention an address holds at most its share of the reads (half, with two addresses); the other is served', async () => {
      const { budget, port, close } = await setup({})
      try {
        expect(await post(port, '127.0.0.2')).to.equal(200) // 127.0.0.2 is seen: two addresses now
        const hog = Array.from({ length: 8 }, () => stall(port, '127.0.0.1'))
        const refused = await Promise.all(hog.slice(4).map((h) => h.answer))
        expect(refused.map((r) => r.text.match(/"code":"(\w+)"/)?.[1])).to.deep.equal(Array(4).fill('overloaded'))
        expect(budget.requests).to.equal(4)
        expect(await post(port, '127.0.0.2')).to.equal(200)
        for (const h of hog) h.socket.destroy()
      } finally {
        await close()
      }
    })

    it('a trusted peer holds no share; X-Forwarded-For counts only from a trusted proxy', async () => {
      const { budget, port, close } = await setup({ trustedPeers: ['127.0.0.3'], trustedProxies: ['127.0.0.2'] })
      try {
        expect(await post(port, '127.0.0.4')).to.equal(200)
        // Spoofed forwarded-for addresses from a peer that is no trusted proxy: one address, half the reads.
        const spoofed = Array.from({ length: 8 }, (_, i) => stall(port, '127.0.0.1', `X-Forwarded-For: 10.0.0.${i}\r\n`))
        await Promise.all(spoofed.slice(4).map((h) => h.answer))
        expect(budget.requests).to.equal(4)
        for (const h of spoofed) h.socket.destroy()
        await waitFor(() => budget.requests === 0, 'the spoofed reads to end')
        // The same through the trusted proxy: eight clients, one read each, all held.
        const proxied = Array.from({ length: 8 }, (_, i) => stall(port, '127.0.0.2', `X-Forwarded-For: 9.9.9.9, 10.0.0.${i}\r\n`))
        await waitFor(() => budget.requests === 8, 'eight proxied reads')
        for (const h of proxied) h.socket.destroy()
        await waitFor(() => budget.requests === 0, 'the proxied reads to end')
        // A trusted peer alone may hold every slot even with others seen.
        const trusted = Array.from({ length: 8 }, () => stall(port, '127.0.0.3'))
        await waitFor(() => budget.requests === 8, 'eight trusted reads')
        for (const h of trusted) h.socket.destroy()
      } finally {
        await close()
      }
    })

    it('a body slower than minBodyRate is cut once its first second is over, long before bodyTimeoutMs', async () => {
      const { port, close } = await setup({ minBodyRate: 100 })
      try {
        const { text, ms } = await stall(port, '127.0.0.1', '', '{"type"').answer
        expect(text).to.match(/^HTTP\/1\.1 503 /)
        expect(text).to.include('"code":"body_timeout","message":"Body slower than 100 B/s"')
        expect(ms).to.be.within(900, 2500)
      } finally {
        await close()
      }
    })

    it('the fetch handler takes the remote address from options.peer, and holds it to its share', async () => {
      const budget = new InFlightBudget({ maxRequests: 2 })
      const handler = createFetchHandler(receiver(), { budget, peer: (request) => request.headers.get('x-peer') ?? undefined })
      const { body, signature } = signed(fixture('summary'))
      const headers = { 'content-type': 'application/json', 'x-connector-signature': signature }
      expect((await handler(new Request('http://x/', { method: 'POST', body, headers: { ...headers, 'x-peer': 'b' } }))).status).to.equal(200)
      const never = () => new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) })
      const stalled = (peer: string) => handler(new Request('http://x/', {
        method: 'POST', body: never(), duplex: 'half', headers: { ...headers, 'x-peer': peer },
      } as RequestInit))
      void stalled('a')
      const second = await stalled('a')
      expect([second.status, ((await second.json()) as { code: string }).code, budget.requests]).to.deep.equal([503, 'overloaded', 1])
      // A peer that throws: the handler still answers, the request counted without an address.
      const throwing = createFetchHandler(receiver(), { peer: () => { throw new Error('no address') } })
      expect((await throwing(new Request('http://x/', { method: 'POST', body, headers }))).status).to.equal(200)
    })
  })
})
