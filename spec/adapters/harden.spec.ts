import { expect } from 'chai'
import { createServer, request, type Server } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { createHardenedServer, hardenServer, type HardenOptions } from '../../src/adapters/harden.js'
import { closeServer, rawRequest, send } from '../helpers/http.js'

/** The settings a server holds, read back from Node's own properties. */
const settings = (server: Server) => ({
  headersTimeout: server.headersTimeout,
  requestTimeout: server.requestTimeout,
  timeout: server.timeout,
  keepAliveTimeout: server.keepAliveTimeout,
  maxConnections: server.maxConnections,
  connectionsCheckingInterval: (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval,
})

describe('adapters/harden', () => {
  const servers: Server[] = []
  const listen = (server: Server) => new Promise<string>((resolve) => {
    servers.push(server)
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/events`))
  })
  after(async () => { await Promise.all(servers.map(closeServer)) })

  describe('createHardenedServer', () => {
    it('applies every default, connectionsCheckingInterval included, and serves with the handler given', async () => {
      const server = createHardenedServer((_req, res) => res.end('served'))
      const url = await listen(server)
      expect(settings(server)).to.deep.equal({
        headersTimeout: 10_000, requestTimeout: 30_000, timeout: 15_000, keepAliveTimeout: 5_000, maxConnections: 1024, connectionsCheckingInterval: 1_000,
      })
      expect((await send(url, null, { method: 'GET' })).text).to.equal('served')
    })

    it('applies every setting given', async () => {
      const server = createHardenedServer(undefined, {
        headersTimeoutMs: 2_000, requestTimeoutMs: 2_000, idleTimeoutMs: 3_000, keepAliveTimeoutMs: 700, maxConnections: 9, connectionsCheckingIntervalMs: 250,
      })
      await listen(server)
      expect(settings(server)).to.deep.equal({
        headersTimeout: 2_000, requestTimeout: 2_000, timeout: 3_000, keepAliveTimeout: 700, maxConnections: 9, connectionsCheckingInterval: 250,
      })
    })
  })

  describe('hardenServer', () => {
    it('changes the server given in place and returns it; Node keeps its own connectionsCheckingInterval (30 s)', async () => {
      const server = createServer()
      expect(hardenServer(server, { maxConnections: 3 })).to.equal(server)
      await listen(server)
      expect(settings(server)).to.deep.equal({
        headersTimeout: 10_000, requestTimeout: 30_000, timeout: 15_000, keepAliveTimeout: 5_000, maxConnections: 3, connectionsCheckingInterval: 30_000,
      })
    })

    it('idleTimeoutMs alone closes a socket that never sends a byte, with nothing written to it', async function () {
      this.timeout(10_000)
      // The header timeout is only checked every 30 s here, so the close can only come from the idle timeout.
      const server = hardenServer(createServer(), { idleTimeoutMs: 200 })
      const url = await listen(server)
      const answer = await rawRequest(url, '', 8000).done
      expect([answer.closedByServer, answer.text]).to.deep.equal([true, ''])
    })
  })

  describe('shares of the connections by remote address', () => {
    const get = (url: string, from: string) => new Promise<number>((resolve) => {
      const req = request(url, { localAddress: from, agent: false }, (res) => { res.resume(); resolve(res.statusCode!) })
      req.on('error', () => resolve(0))
      req.end()
    })
    /** Opens `n` silent sockets from `from`; resolves with those still open after the server had its say. */
    const hold = async (url: string, from: string, n: number) => {
      const { port } = new URL(url)
      const sockets = await Promise.all(Array.from({ length: n }, () => new Promise<Socket>((resolve) => {
        const socket = connect({ port: Number(port), host: '127.0.0.1', localAddress: from }, () => resolve(socket))
        socket.on('error', () => {})
      })))
      await new Promise((r) => setTimeout(r, 100))
      return sockets.filter((s) => !s.destroyed && s.readyState === 'open' && !s.readableEnded)
    }

    it('under contention an address holds at most its share of maxConnections; the other address is still served', async () => {
      const url = await listen(createHardenedServer((_req, res) => res.end('served'), { maxConnections: 8 }))
      expect(await get(url, '127.0.0.2')).to.equal(200)
      const open = await hold(url, '127.0.0.1', 8)
      expect(open).to.have.length(4)
      expect(await get(url, '127.0.0.2')).to.equal(200)
      for (const s of open) s.destroy()
    })

    it('an address alone, or a trusted one, may hold every connection', async () => {
      const alone = await hold(await listen(createHardenedServer(undefined, { maxConnections: 8 })), '127.0.0.1', 8)
      expect(alone).to.have.length(8)
      const url = await listen(createHardenedServer((_req, res) => res.end(), { maxConnections: 8, trustedPeers: ['127.0.0.1'] }))
      expect(await get(url, '127.0.0.2')).to.equal(200)
      const trusted = await hold(url, '127.0.0.1', 8)
      expect(trusted).to.have.length(8)
      for (const s of [...alone, ...trusted]) s.destroy()
    })
  })

  describe('option checks', () => {
    it('refuses each setting that is not a positive integer, naming it, and leaves the server untouched', () => {
      const keys = ['headersTimeoutMs', 'requestTimeoutMs', 'idleTimeoutMs', 'keepAliveTimeoutMs', 'maxConnections', 'connectionsCheckingIntervalMs'] as const
      for (const key of keys) {
        for (const value of [0, -1, 1.5, Number.NaN, Infinity, '10']) {
          const options = { [key]: value } as HardenOptions
          const message = `autoplay-rx: ${key} must be a positive integer`
          expect(() => createHardenedServer(undefined, options), `${key}: ${String(value)}`).to.throw(TypeError).with.property('message', message)
          const server = createServer()
          const before = settings(server)
          expect(() => hardenServer(server, options), `${key}: ${String(value)}`).to.throw(TypeError).with.property('message', message)
          expect(settings(server)).to.deep.equal(before)
        }
      }
    })

    it('refuses a header timeout above the request timeout (Node would never apply it), and takes them equal', () => {
      const message = 'autoplay-rx: headersTimeoutMs must not exceed requestTimeoutMs (Node would never apply it)'
      expect(() => hardenServer(createServer(), { headersTimeoutMs: 30_001 })).to.throw(TypeError).with.property('message', message)
      expect(() => createHardenedServer(undefined, { requestTimeoutMs: 9_999 })).to.throw(TypeError).with.property('message', message)
      expect(settings(hardenServer(createServer(), { headersTimeoutMs: 500, requestTimeoutMs: 500 }))).to.include({ headersTimeout: 500, requestTimeout: 500 })
    })

    it('refuses wrong settings on either entry point', () => {
      expect(() => hardenServer(createServer(), { headersTimeoutMs: 5000, requestTimeoutMs: 1000 })).to.throw(TypeError, 'headersTimeoutMs')
      expect(() => createHardenedServer(undefined, { idleTimeoutMs: 0 })).to.throw(TypeError, 'idleTimeoutMs must be a positive integer')
    })
  })
})
