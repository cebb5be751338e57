/**
 * The behaviour every adapter must show against a real server on 127.0.0.1:
 * each row of the status table, limits, acknowledgement, disconnects and
 * concurrency. Each adapter spec runs it with its own server.
 */
import { expect } from 'chai'
import { connect } from 'node:net'
import { Agent } from 'node:http'
import { firstValueFrom, take, toArray } from 'rxjs'
import { WebhookReceiver, sign, silentLogger, type IngestError, type Payload } from '../../src/index.js'
import { InFlightBudget } from '../../src/adapters/budget.js'
import type { AdapterOptions } from '../../src/adapters/options.js'
import { fixture, SECRET, signed } from '../helpers/fixtures.js'
import { postHead, rawRequest, send, sleep, waitFor } from '../helpers/http.js'

/** Starts a server for `receiver` and returns the delivery URL and a way to stop it. */
export type StartServer = (receiver: WebhookReceiver, options: AdapterOptions) => Promise<{ url: string; close: () => Promise<void> }>

export function adapterContract(name: string, start: StartServer): void {
  describe(`${name}: adapter contract`, function () {
    this.timeout(20_000)
    let receiver: WebhookReceiver
    let server: { url: string; close: () => Promise<void> }
    let payloads: Payload[]
    let rejected: IngestError[]

    async function boot(options: AdapterOptions = {}, extra: Partial<ConstructorParameters<typeof WebhookReceiver>[0]> = {}) {
      if (server) await server.close()
      receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger, ...extra })
      payloads = []
      rejected = []
      receiver.payloads$.subscribe((p) => payloads.push(p))
      receiver.rejected$.subscribe((e) => rejected.push(e))
      server = await start(receiver, options)
    }
    const post = (body: Uint8Array | string, signature: string | undefined, headers: Record<string, string> = {}) =>
      send(server.url, body, { headers: { ...(signature ? { 'x-connector-signature': signature } : {}), authorization: `Bearer ${SECRET}`, ...headers } })

    beforeEach(() => boot())
    after(async () => { if (server) await server.close() })

    it('200 {"status":"ok"} for accepted actions and summaries, emitted once each', async () => {
      for (const f of ['actions-small', 'summary'] as const) {
        const { body, signature } = signed(fixture(f))
        const reply = await post(body, signature)
        expect([reply.status, reply.text]).to.deep.equal([200, '{"status":"ok"}'])
        expect(reply.headers['content-type']).to.equal('application/json; charset=utf-8')
      }
      expect(payloads.map((p) => p.type)).to.deep.equal(['actions', 'summary'])
    })

    it('200 for an unknown event type, ignored but visible on rejected$', async () => {
      const { body, signature } = signed(fixture('unknown-type'))
      const reply = await post(body, signature)
      expect([reply.status, reply.json]).to.deep.equal([200, { status: 'ok', code: 'ignored' }])
      expect(payloads).to.deep.equal([])
      expect(rejected.map((e) => e._tag === 'UnknownEventType' && e.eventType)).to.deep.equal(['session_started'])
    })

    it('200 for a usertour_trigger, on usertourTrigger$ and on no payload stream', async () => {
      const triggers: string[] = []
      receiver.usertourTrigger$.subscribe((t) => triggers.push(`${t.session_id} ${t.flow_id}`))
      const { body, signature } = signed(fixture('usertour-trigger'))
      const reply = await post(body, signature)
      expect([reply.status, reply.text]).to.deep.equal([200, '{"status":"ok"}'])
      expect([triggers, payloads, rejected]).to.deep.equal([['ps_abc123 flow_42'], [], []])
    })

    it('401 for a bad or missing signature, never echoing the secret or the expected signature', async () => {
      const body = fixture('actions-small')
      const expected = sign(body, SECRET)
      for (const signature of [sign(body, 'not-the-secret'), undefined, 'sha256=short']) {
        const reply = await post(body, signature)
        expect(reply.status).to.equal(401)
        expect(reply.json.code).to.equal('invalid_signature')
        expect(reply.text).to.not.include(SECRET)
        expect(reply.text).to.not.include(expected.slice(7))
      }
      expect(payloads).to.deep.equal([])
      expect(rejected.map((e) => e._tag === 'InvalidSignature' && e.reason)).to.deep.equal(['mismatch', 'missing', 'malformed'])
    })

    it('400 for malformed JSON and for an invalid payload, with a stable code', async () => {
      const malformed = signed('{"type":"actions",')
      const invalid = signed('{"type":"actions","actions":[{"title":5}]}')
      const a = await post(malformed.body, malformed.signature)
      const b = await post(invalid.body, invalid.signature)
      expect([a.status, a.json.code, b.status, b.json.code]).to.deep.equal([400, 'malformed_json', 400, 'invalid_payload'])
      expect(b.json.message).to.equal('Invalid actions payload: actions.0.title: expected string, got number')
      expect(rejected.map((e) => e._tag)).to.deep.equal(['MalformedJson', 'InvalidPayload'])
    })

    it('404 for another path, nothing read, nothing emitted', async () => {
      const { body, signature } = signed(fixture('summary'))
      const other = new URL('/other', server.url).href
      const reply = await send(other, body, { headers: { 'x-connector-signature': signature } })
      expect(reply.status).to.equal(404)
      expect([payloads, rejected]).to.deep.equal([[], []])
    })

    it('405 with Allow: POST for another method', async () => {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const reply = await send(server.url, null, { method })
        expect([reply.status, reply.headers.allow, reply.json.code]).to.deep.equal([405, 'POST', 'method_not_allowed'])
      }
    })

    it('415 for a content type that is present and not JSON; JSON variants and a missing type are read', async () => {
      const { body, signature } = signed(fixture('summary'))
      const text = await post(body, signature, { 'content-type': 'text/plain' })
      expect([text.status, text.json.code]).to.deep.equal([415, 'unsupported_media_type'])
      const charset = await post(body, signature, { 'content-type': 'application/json; charset=utf-8' })
      const vendor = await post(body, signature, { 'content-type': 'application/vnd.autoplay+json' })
      expect([charset.status, vendor.status]).to.deep.equal([200, 200])
      const none = await send(server.url, body, { headers: { 'x-connector-signature': signature, 'content-type': '' } })
      expect(none.status).to.equal(200)
      expect(payloads).to.have.length(3)
    })

    it('413 just over the limit (declared or streamed), 200 just under, recorded on rejected$', async () => {
      await boot({}, { maxBodyBytes: 2000 })
      const under = `{"type":"summary","summary":"${'x'.repeat(2000 - 31)}"}`
      expect(Buffer.byteLength(under)).to.equal(2000)
      const over = `{"type":"summary","summary":"${'x'.repeat(2001 - 31)}"}`
      const ok = await post(under, sign(under, SECRET))
      expect(ok.status).to.equal(200)
      const declared = await post(over, sign(over, SECRET))
      expect([declared.status, declared.json.code]).to.deep.equal([413, 'body_too_large'])
      const big = 'x'.repeat(3 * 1024 * 1024)
      const streamed = await send(server.url, big, { chunked: true, headers: { 'x-connector-signature': sign(big, SECRET) } })
      expect([streamed.status, streamed.json.code]).to.deep.equal([413, 'body_too_large'])
      expect(rejected.map((e) => e._tag === 'BodyTooLarge' && e.limit)).to.deep.equal([2000, 2000])
      expect(payloads).to.have.length(1)
    })

    it('verifies multi-byte UTF-8 (emoji, CJK) over the exact bytes', async () => {
      const text = JSON.stringify({ type: 'summary', session_id: 's-😀', summary: '用户导出了 CSV 报表 🚀 — done' })
      const reply = await post(text, sign(text, SECRET))
      expect(reply.status).to.equal(200)
      expect(payloads.map((p) => p.type === 'summary' && [p.session_id, p.summary])).to.deep.equal([['s-😀', '用户导出了 CSV 报表 🚀 — done']])
    })

    it('by default answers after the callbacks; a failed callback is 500 only with retryOnCallbackError', async () => {
      const { body, signature } = signed(fixture('summary'))
      let done = false
      receiver.onSummary(async () => { await sleep(50); done = true })
      const reply = await post(body, signature)
      expect([reply.status, done]).to.deep.equal([200, true])

      receiver.onSummary(() => { throw new Error('downstream failed') })
      expect((await post(body, signature)).status).to.equal(200)
      await boot({ retryOnCallbackError: true })
      receiver.onSummary(() => { throw new Error('downstream failed') })
      const retry = await post(body, signature)
      expect([retry.status, retry.json.code]).to.deep.equal([500, 'callback_failed'])
    })

    it('answers 202 when callbacks outlast ackTimeoutMs, and lets them finish', async () => {
      await boot({ ackTimeoutMs: 50 })
      let finished = false
      receiver.onSummary(async () => { await sleep(300); finished = true })
      const { body, signature } = signed(fixture('summary'))
      const reply = await post(body, signature)
      expect([reply.status, reply.json, finished]).to.deep.equal([202, { status: 'accepted', code: 'processing' }, false])
      await sleep(400)
      expect(finished).to.equal(true)
    })

    it("with ack: 'on-accept' answers before the callbacks finish", async () => {
      await boot({ ack: 'on-accept' })
      let release!: () => void
      const gate = new Promise<void>((r) => { release = r })
      receiver.onSummary(() => gate)
      const { body, signature } = signed(fixture('summary'))
      const reply = await post(body, signature)
      expect(reply.status).to.equal(200)
      release()
    })

    it('a client that disconnects mid-body: nothing delivered, nothing rejected, no crash, the server keeps serving', async () => {
      const { port, hostname, pathname } = new URL(server.url)
      for (let i = 0; i < 5; i++) {
        await new Promise<void>((resolve) => {
          const socket = connect(Number(port), hostname, () => {
            socket.write(`POST ${pathname} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"type":"sum`)
            setTimeout(() => { socket.destroy(); resolve() }, 30)
          })
          socket.on('error', () => resolve())
        })
      }
      await sleep(50)
      const { body, signature } = signed(fixture('summary'))
      expect((await post(body, signature)).status).to.equal(200)
      expect(payloads).to.have.length(1)
      expect(rejected).to.deep.equal([])
    })

    it('503 when the body does not arrive within bodyTimeoutMs', async () => {
      await boot({ bodyTimeoutMs: 100 })
      const { port, hostname, pathname } = new URL(server.url)
      const head = await new Promise<string>((resolve) => {
        let text = ''
        const socket = connect(Number(port), hostname, () => {
          socket.write(`POST ${pathname} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"type"`)
        })
        socket.on('data', (d) => { text += d.toString() })
        socket.on('close', () => resolve(text))
        socket.on('error', () => resolve(text))
        setTimeout(() => socket.destroy(), 3000)
      })
      expect(head).to.match(/^HTTP\/1\.1 503 /)
      expect(head).to.include('"code":"body_timeout"')
    })

    it('a body that does not fit the budget: 503 overloaded at once, connection closed; the accounting stays within it and returns to zero after end, abort and timeout', async () => {
      const budget = new InFlightBudget({ maxBytes: 3000, maxRequests: 4 })
      await boot({ budget, bodyTimeoutMs: 800 })
      const peak = { bytes: 0, requests: 0 }
      const sampler = setInterval(() => {
        peak.bytes = Math.max(peak.bytes, budget.bytes)
        peak.requests = Math.max(peak.requests, budget.requests)
      }, 1)
      try {
        // Three bodies declaring 1,000 bytes that stall one byte short: each holds what arrived (999 bytes;
        // the fetch handler holds a small declared length from the start, as it reads it in one call).
        const stalled = [0, 1, 2].map(() => rawRequest(server.url, `${postHead(server.url, 1000)}${' '.repeat(999)}`))
        await waitFor(() => budget.bytes >= 2997 && budget.requests === 3, 'three stalled reads')
        const each = budget.bytes / 3
        const refused = await rawRequest(server.url, `${postHead(server.url, 1000)}{"type"`).done
        expect(refused.text).to.match(/^HTTP\/1\.1 503 /)
        expect(refused.text).to.include('"code":"overloaded"')
        expect(refused.closedByServer).to.equal(true)
        const { body, signature } = signed(fixture('summary'))
        const full = await post(body, signature)
        expect([full.status, full.json.code]).to.deep.equal([503, 'overloaded'])
        // An abort gives its bytes back; then a delivery fits and is served.
        stalled[0]!.destroy()
        await waitFor(() => budget.bytes === 2 * each && budget.requests === 2, 'the aborted read to be released')
        expect((await post(body, signature)).status).to.equal(200)
        expect([budget.bytes, budget.requests]).to.deep.equal([2 * each, 2])
        // A chunked body is counted as it arrives: one that outgrows the 1,000 bytes left is cut with 503.
        const chunked = rawRequest(server.url, postHead(server.url, 'chunked'))
        await waitFor(() => budget.requests === 3, 'the chunked read to start')
        chunked.write(`258\r\n${' '.repeat(600)}\r\n`)
        await waitFor(() => budget.bytes === 2 * each + 600, 'the first chunk to be held')
        chunked.write(`258\r\n${' '.repeat(600)}\r\n`)
        const cut = await chunked.done
        expect(cut.text).to.match(/^HTTP\/1\.1 503 /)
        expect(cut.text).to.include('"code":"overloaded"')
        // The other two time out, and everything comes back.
        for (const timedOut of await Promise.all(stalled.slice(1).map((s) => s.done))) {
          expect(timedOut.text).to.include('"code":"body_timeout"')
        }
        await waitFor(() => budget.bytes === 0 && budget.requests === 0, 'every read to be released')
        expect(peak.bytes).to.be.at.most(3000)
        expect(peak.requests).to.be.at.most(4)
        expect(payloads).to.have.length(1)
      } finally {
        clearInterval(sampler)
      }
    })

    it('the read slots of the budget: past maxRequests, 503 overloaded even for an empty declared length', async () => {
      const budget = new InFlightBudget({ maxRequests: 2 })
      await boot({ budget, bodyTimeoutMs: 2000 })
      const stalled = [0, 1].map(() => rawRequest(server.url, postHead(server.url, 'chunked')))
      await waitFor(() => budget.requests === 2, 'two reads')
      const refused = await rawRequest(server.url, postHead(server.url, 10)).done
      expect(refused.text).to.include('"code":"overloaded"')
      for (const s of stalled) s.destroy()
      await waitFor(() => budget.requests === 0, 'the aborted reads to be released')
      const { body, signature } = signed(fixture('summary'))
      expect((await post(body, signature)).status).to.equal(200)
    })

    for (const ack of ['after-callbacks', 'on-accept'] as const) {
      it(`ack '${ack}': past maxPendingCallbacks a delivery is 503 overloaded and not emitted; every 2xx has its callbacks run`, async () => {
        const budget = new InFlightBudget({ maxPendingCallbacks: 3 })
        await boot({ budget, ack, ackTimeoutMs: 50 })
        let release!: () => void
        const gate = new Promise<void>((r) => { release = r })
        const ran: string[] = []
        receiver.onSummary(async (p) => { ran.push(p.session_id ?? ''); await gate })
        const deliveries = ['s0', 's1', 's2', 's3', 's4'].map((id) => signed(JSON.stringify({ type: 'summary', session_id: id, summary: id })))
        const replies = []
        for (const d of deliveries) replies.push(await post(d.body, d.signature))
        const answered = ack === 'on-accept' ? 200 : 202
        expect(replies.map((r) => r.status)).to.deep.equal([answered, answered, answered, 503, 503])
        expect(replies[3]!.json.code).to.equal('overloaded')
        expect(payloads.map((p) => p.session_id)).to.deep.equal(['s0', 's1', 's2'])
        expect(budget.pendingCallbacks).to.equal(3)
        release()
        await waitFor(() => budget.pendingCallbacks === 0, 'the callbacks to settle')
        const retried = await post(deliveries[3]!.body, deliveries[3]!.signature)
        expect(retried.status).to.equal(200)
        expect(ran).to.deep.equal(['s0', 's1', 's2', 's3'])
        expect(budget.pendingCallbacks).to.equal(0)
      })
    }

    it('2,000 signed POSTs in parallel: each delivered exactly once, none lost', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 200 })
      const total = 2000
      const seen = firstValueFrom(receiver.actions$.pipe(take(total), toArray()))
      const replies = await Promise.all(Array.from({ length: total }, (_, i) => {
        const text = JSON.stringify({ type: 'actions', product_id: 'p', session_id: `s${i}`, forwarded_at: i, actions: [{ index: 0, type: 'click' }] })
        return send(server.url, text, { agent, headers: { 'x-connector-signature': sign(text, SECRET) } })
      }))
      agent.destroy()
      expect(replies.filter((r) => r.status === 200)).to.have.length(total)
      const sessions = (await seen).map((p) => p.session_id)
      expect(new Set(sessions).size).to.equal(total)
      expect(payloads).to.have.length(total)
    })
  })
}
