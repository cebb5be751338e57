/**
 * The attacks on 0.1's HTTP adapters, each small and bounded, with real
 * sockets on 127.0.0.1 (docs/reliability.md, "HTTP adapters", has the full
 * size runs and their figures):
 *
 * - bodies that declare nearly the limit and stall, with no secret: 0.1
 *   buffered each one (4,000 took a server to 3.5 GiB); now a read holds
 *   what arrived, within the default budget of 32 MiB (spec/adapters/contract.ts
 *   and spec/adapters/peers.spec.ts hold it to that), and is cut at the body timeout;
 * - a slow callback behind a small pool: 0.1 answered 200/202 and queued the
 *   work without bound; now past `maxPendingCallbacks` the answer is 503 and
 *   the connector's retry brings the delivery later, so nothing is lost;
 * - sockets that never send a byte: Node keeps them open forever, whatever
 *   `headersTimeout` and `requestTimeout` say; `hardenServer` closes them.
 */
import { expect } from 'chai'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebhookReceiver, sign, silentLogger } from '../../src/index.js'
import { InFlightBudget } from '../../src/adapters/budget.js'
import { createHardenedServer, createNodeMiddleware, hardenServer } from '../../src/adapters/node.js'
import { sendDeliveries } from '../../src/cli/send.js'
import { SECRET } from '../helpers/fixtures.js'
import { closeServer, postHead, rawRequest, send, sleep, waitFor, type RawRequest } from '../helpers/http.js'
import { ADAPTERS, startFetch, startNode, watchProcessFaults } from '../helpers/servers.js'

const summary = (id: string) => JSON.stringify({ type: 'summary', product_id: 'prod_a', session_id: id, summary: `summary of ${id}` })

let watch: ReturnType<typeof watchProcessFaults>
beforeEach(() => { watch = watchProcessFaults() })
afterEach(() => {
  watch.stop()
  expect(watch.faults, 'uncaught exceptions or unhandled rejections').to.deep.equal([])
})

describe('reliability: attacks on 0.1, bounded', function () {
  this.timeout(20_000)

  it('bodies declaring 1 MiB − 1 that stall after a few bytes, 40 per adapter at once: each holds what arrived, so all 40 are read and time out, twice', async () => {
    const MiB = 1024 * 1024
    const servers = await Promise.all(ADAPTERS.map(async ([name, start]) => {
      const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
      return { name, running: await start(receiver, { bodyTimeoutMs: 1000 }) }
    }))
    try {
      /** 40 stalled bodies: resolves with how many were refused 503 overloaded before the others timed out. */
      const round = async (url: string) => {
        const clients: RawRequest[] = Array.from({ length: 40 }, () => rawRequest(url, `${postHead(url, MiB - 1)}{"type":"summary","summary":"`))
        const answers = await Promise.all(clients.map((c) => c.done))
        const overloaded = answers.filter((a) => a.text.includes('"code":"overloaded"'))
        const timedOut = answers.filter((a) => a.text.includes('"code":"body_timeout"'))
        // Refused at once, before any held body timed out; every answer came with the server closing.
        const firstTimeout = Math.min(...timedOut.map((a) => a.ms))
        expect(overloaded.every((a) => a.ms < firstTimeout && /^HTTP\/1\.1 503 /.test(a.text))).to.equal(true)
        expect(answers.every((a) => a.closedByServer)).to.equal(true)
        return [overloaded.length, timedOut.length]
      }
      const results = await Promise.all(servers.map(async ({ name, running }) => [name, await round(running.url), await round(running.url)]))
      expect(results).to.deep.equal(servers.map(({ name }) => [name, [0, 40], [0, 40]]))
    } finally {
      await Promise.all(servers.map(({ running }) => running.close()))
    }
  })

  it('one budget shared by two adapters: bodies held by one leave no room in the other', async () => {
    const budget = new InFlightBudget({ maxBytes: 10_000 })
    const node = await startNode(new WebhookReceiver({ secret: SECRET, logger: silentLogger }), { budget, bodyTimeoutMs: 2000 })
    const fetch = await startFetch(new WebhookReceiver({ secret: SECRET, logger: silentLogger }), { budget, bodyTimeoutMs: 2000 })
    try {
      const stalled = rawRequest(node.url, `${postHead(node.url, 9990)}${'{"type"'.padEnd(9989)}`)
      await waitFor(() => budget.bytes === 9989, 'the stalled body on the node adapter')
      const body = summary('shared')
      const full = await send(fetch.url, body, { headers: { 'x-connector-signature': sign(body, SECRET) } })
      expect([full.status, full.json.code]).to.deep.equal([503, 'overloaded'])
      stalled.destroy()
      await waitFor(() => budget.bytes === 0, 'the aborted body to be released')
      expect((await send(fetch.url, body, { headers: { 'x-connector-signature': sign(body, SECRET) } })).status).to.equal(200)
    } finally {
      await Promise.all([node.close(), fetch.close()])
    }
  })

  it("a slow callback behind a 4-slot pool, ack 'on-accept', 200 deliveries from a retrying connector: queued work never exceeds maxPendingCallbacks, every delivery's callback runs exactly once", async () => {
    const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
    // The user's pool: 4 slots, 5 ms of work each; what waits for a slot is the queue 0.1 let grow without bound.
    let running = 0
    let peakQueued = 0
    const waiting: Array<() => void> = []
    const ran = new Map<string, number>()
    receiver.onSummary(async (p) => {
      ran.set(p.session_id ?? '', (ran.get(p.session_id ?? '') ?? 0) + 1)
      peakQueued = Math.max(peakQueued, running + waiting.length + 1)
      if (running >= 4) await new Promise<void>((r) => waiting.push(r))
      running++
      await sleep(5)
      running--
      waiting.shift()?.()
    })
    const budget = new InFlightBudget({ maxPendingCallbacks: 32 })
    const server = await startNode(receiver, { ack: 'on-accept', budget })
    try {
      const sessions = Array.from({ length: 200 }, (_, i) => `slow_${i}`)
      const report = await sendDeliveries({
        url: server.url, secret: SECRET, concurrency: 64, retries: 100, backoffMs: 5, maxBackoffMs: 40,
        deliveries: sessions.map((id) => ({ body: Buffer.from(summary(id)) })),
      })
      expect([report.accepted, report.failed, report.rejectedByStatus]).to.deep.equal([200, 0, {}])
      expect(report.retried, 'some deliveries were answered 503 and retried').to.be.greaterThan(0)
      await waitFor(() => budget.pendingCallbacks === 0, 'the pool to drain')
      expect(peakQueued).to.be.at.most(32)
      expect([...ran.keys()].sort()).to.deep.equal([...sessions].sort())
      expect([...ran.values()].every((n) => n === 1)).to.equal(true)
    } finally {
      await server.close()
    }
  })

  describe('server settings that close idle connections', () => {
    const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
    const middleware = createNodeMiddleware(receiver, { path: '/events' })
    const listen = (server: ReturnType<typeof createServer>) => new Promise<string>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/events`)))
    const silent = (url: string, n: number) => Array.from({ length: n }, () => rawRequest(url, '', 6000))
    const connections = (server: ReturnType<typeof createServer>) => new Promise<number>((r) => server.getConnections((_e, n) => r(n)))

    it('createHardenedServer: 200 silent sockets, an idle keep-alive one and a header slow-loris are all closed in bounded time while deliveries are served', async () => {
      const server = createHardenedServer(middleware, {
        idleTimeoutMs: 500, headersTimeoutMs: 300, requestTimeoutMs: 1000, keepAliveTimeoutMs: 200, connectionsCheckingIntervalMs: 50,
      })
      const url = await listen(server)
      try {
        const sockets = silent(url, 200)
        const loris = rawRequest(url, 'POST /events HTTP/1.1\r\nHost: x\r\n')
        const body = summary('hardened')
        const served = await send(url, body, { headers: { 'x-connector-signature': sign(body, SECRET), connection: 'keep-alive' } })
        expect(served.status).to.equal(200)
        const idle = rawRequest(url, `${postHead(url, Buffer.byteLength(body), sign(body, SECRET))}${body}`)
        const [answers, lorisAnswer, idleAnswer] = await Promise.all([Promise.all(sockets.map((s) => s.done)), loris.done, idle.done])
        // headersTimeout answers them 408 (Node counts a silent socket as a request whose headers are late).
        expect(answers.every((a) => a.closedByServer && a.text.startsWith('HTTP/1.1 408'))).to.equal(true)
        expect(Math.max(...answers.map((a) => a.ms))).to.be.within(250, 1500)
        expect([lorisAnswer.closedByServer, lorisAnswer.text.slice(0, 12)]).to.deep.equal([true, 'HTTP/1.1 408'])
        expect(lorisAnswer.ms).to.be.within(250, 1500)
        // Answered 200, then closed after keepAliveTimeout (Node 20.20 adds about a second of grace).
        expect([idleAnswer.closedByServer, idleAnswer.text.slice(0, 12)]).to.deep.equal([true, 'HTTP/1.1 200'])
        expect(idleAnswer.ms).to.be.within(150, 2500)
      } finally {
        await closeServer(server)
      }
    })

    it('hardenServer on an existing server: maxConnections closes connections beyond it at once', async () => {
      const server = hardenServer(createServer(middleware), { maxConnections: 5, idleTimeoutMs: 5000 })
      const url = await listen(server)
      try {
        const held = silent(url, 5)
        let open = 0
        while (open < 5) {
          await sleep(5)
          open = await connections(server)
        }
        const extra = await rawRequest(url, '').done
        expect([extra.closedByServer, extra.text]).to.deep.equal([true, ''])
        expect(extra.ms).to.be.lessThan(1000)
        for (const s of held) s.destroy()
      } finally {
        await closeServer(server)
      }
    })
  })
})
