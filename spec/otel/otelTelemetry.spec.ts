/**
 * otelTelemetry seen through a real SDK (sdk-metrics with an in-memory
 * exporter, sdk-trace-base with an in-memory span exporter): exact values
 * for every instrument family after known traffic, through the real
 * components on loopback.
 */
import { context, diag, DiagLogLevel, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Meter, type MeterProvider as MeterProviderApi, type ContextManager, type TextMapPropagator, type TracerProvider } from '@opentelemetry/api'
import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import { connect as netConnect } from 'node:net'
import { from, lastValueFrom, toArray } from 'rxjs'
import { createNodeMiddleware, InFlightBudget } from '../../src/adapters/node.js'
import { ContextStore, dedupeDeliveries, SessionSummarizer, silentLogger, WebhookReceiver, type ActionsPayload, type Payload } from '../../src/index.js'
import { notRawBody } from '../../src/errors.js'
import { otelTelemetry } from '../../src/otel/index.js'
import { predicateTrigger, proactive } from '../../src/proactive/index.js'
import type { Telemetry } from '../../src/telemetry.js'
import { fixture, SECRET, signed } from '../helpers/fixtures.js'
import { listen, send, waitFor, type Reply } from '../helpers/http.js'
import { collected, otelHarness, type OtelHarness } from '../helpers/otel.js'
import { readFileSync } from 'node:fs'
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { INSTRUMENTS } from '../../src/otel/index.js'
import { closeServers, frame, openSse, startServer, TOKEN, write } from '../sse/helpers.js'
import { connectorStream } from '../../src/sse/connectorStream.js'
import { fromRedisStream, redisAppender, type RedisDelivery } from '../../src/redis/index.js'
import { PAYLOAD_FIELD } from '../../src/redis/append.js'
import { payloads, redisSuite, until } from '../helpers/redis.js'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT_ID = '00f067aa0ba902b7'

/** The same traffic, every time: what each request is, and the answer it must get. */
const traffic = () => {
  const actions = signed(fixture('actions-small'))
  const summary = signed(fixture('summary'))
  const unknown = signed(fixture('unknown-type'))
  const notJson = signed('not json')
  const notAnEvent = signed('[]')
  const large = signed(fixture('actions-medium'))
  type Request = { body: Buffer | string; headers?: Record<string, string>; method?: string; status: number }
  const requests: Request[] = [
    ...[1, 2, 3].map((): Request => ({ body: actions.body, headers: { 'x-connector-signature': actions.signature }, status: 200 })),
    ...[1, 2].map((): Request => ({ body: summary.body, headers: { 'x-connector-signature': summary.signature }, status: 200 })),
    ...[1, 2].map((): Request => ({ body: actions.body, headers: { 'x-connector-signature': `sha256=${'0'.repeat(64)}` }, status: 401 })),
    { body: notJson.body, headers: { 'x-connector-signature': notJson.signature }, status: 400 },
    { body: notAnEvent.body, headers: { 'x-connector-signature': notAnEvent.signature }, status: 400 },
    { body: unknown.body, headers: { 'x-connector-signature': unknown.signature }, status: 200 },
    { body: large.body, headers: { 'x-connector-signature': large.signature }, status: 413 }, // declared over 10,000 bytes: refused from the head
    { body: actions.body, method: 'PUT', status: 405 },
    { body: actions.body, headers: { 'content-type': 'text/plain' }, status: 415 },
  ]
  return requests
}

async function serve(telemetry: Telemetry | undefined, setup: (receiver: WebhookReceiver) => void = () => {}) {
  const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger, maxBodyBytes: 10_000, telemetry })
  setup(receiver)
  const server = await listen(createNodeMiddleware(receiver, { path: '/events' }))
  return { receiver, url: `http://127.0.0.1:${server.port}/events`, close: server.close }
}

async function sendAll(url: string): Promise<Array<{ status: number; code: unknown }>> {
  const answers: Array<{ status: number; code: unknown }> = []
  for (const r of traffic()) {
    const reply: Reply = await send(url, r.body, { method: r.method, headers: r.headers })
    expect(reply.status, JSON.stringify(reply.json)).to.equal(r.status)
    answers.push({ status: reply.status, code: reply.json.code })
  }
  return answers
}

describe('otel/otelTelemetry', () => {
  let otel: OtelHarness
  beforeEach(() => { otel = otelHarness() })
  afterEach(() => otel.shutdown())

  describe('push deliveries through the node adapter', () => {
    it('counts deliveries by outcome, answers by status and code, and times each ingest: exact values', async () => {
      const { url, close } = await serve(otel.telemetry)
      try {
        await sendAll(url)
      } finally {
        await close()
      }
      expect(await otel.values('autoplay_rx.deliveries')).to.deep.equal({
        'autoplay_rx.delivery.outcome=accepted,autoplay_rx.payload.type=actions': 3,
        'autoplay_rx.delivery.outcome=accepted,autoplay_rx.payload.type=summary': 2,
        'autoplay_rx.delivery.outcome=BodyTooLarge': 1,
        'autoplay_rx.delivery.outcome=InvalidPayload': 1,
        'autoplay_rx.delivery.outcome=InvalidSignature': 2,
        'autoplay_rx.delivery.outcome=MalformedJson': 1,
        'autoplay_rx.delivery.outcome=UnknownEventType': 1,
      })
      expect(await otel.values('autoplay_rx.http.server.request.duration')).to.deep.equal({
        'autoplay_rx.response.code=body_too_large,http.response.status_code=413': 1,
        'autoplay_rx.response.code=ignored,http.response.status_code=200': 1,
        'autoplay_rx.response.code=invalid_payload,http.response.status_code=400': 1,
        'autoplay_rx.response.code=invalid_signature,http.response.status_code=401': 2,
        'autoplay_rx.response.code=malformed_json,http.response.status_code=400': 1,
        'autoplay_rx.response.code=method_not_allowed,http.response.status_code=405': 1,
        'autoplay_rx.response.code=ok,http.response.status_code=200': 5,
        'autoplay_rx.response.code=unsupported_media_type,http.response.status_code=415': 1,
      })
      // Every delivery whose body reached ingest (not the 413 decided from the head, nor 405/415).
      const [ingest] = await otel.points('autoplay_rx.ingest.duration')
      expect(ingest!.attributes).to.deep.equal({})
      expect(ingest!.count).to.equal(10)
      expect(ingest!.sum).to.be.greaterThan(0).and.lessThan(10) // seconds, not milliseconds
      // The advised buckets reach the SDK: microseconds for ingest, milliseconds for answers.
      expect(ingest!.boundaries).to.deep.equal(INSTRUMENTS['autoplay_rx.ingest.duration']!.buckets)
      expect(ingest!.boundaries![0]).to.equal(0.000005)
      const [answer] = await otel.points('autoplay_rx.http.server.request.duration')
      expect(answer!.boundaries).to.deep.equal(INSTRUMENTS['autoplay_rx.http.server.request.duration']!.buckets)
      expect(answer!.boundaries![0]).to.equal(0.0001)
      // No callback registered: no callback durations.
      expect(await otel.points('autoplay_rx.callbacks.duration')).to.deep.equal([])
    })

    it('a usertour_trigger is counted as accepted under its own type, answered 200 ok, with no callback time', async () => {
      const { url, close } = await serve(otel.telemetry, (receiver) => receiver.onSummary(() => {}))
      const trigger = signed(fixture('usertour-trigger'))
      try {
        const reply = await send(url, trigger.body, { headers: { 'x-connector-signature': trigger.signature } })
        expect([reply.status, reply.json.code]).to.deep.equal([200, undefined])
      } finally {
        await close()
      }
      expect(await otel.values('autoplay_rx.deliveries')).to.deep.equal({
        'autoplay_rx.delivery.outcome=accepted,autoplay_rx.payload.type=usertour_trigger': 1,
      })
      expect(await otel.points('autoplay_rx.callbacks.duration')).to.deep.equal([])
    })

    it('another route\'s request is no delivery: nothing counted, no span', async () => {
      const { receiver, close } = await serve(otel.telemetry)
      const server = await listen(createNodeMiddleware(receiver, { path: '/events' }))
      try {
        expect((await send(`http://127.0.0.1:${server.port}/elsewhere`, '{}')).status).to.equal(404)
      } finally {
        await server.close()
        await close()
      }
      expect(await otel.points('autoplay_rx.http.server.request.duration')).to.deep.equal([])
      expect(otel.spans()).to.deep.equal([])
    })

    it('ingestDuration: false leaves out the ingest histogram and nothing else (callbacks still timed)', async () => {
      const lean = otelHarness({ ingestDuration: false })
      try {
        const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger, telemetry: lean.telemetry })
        receiver.onSummary(() => {})
        const { body, signature } = signed(fixture('summary'))
        receiver.ingest(body, signature)
        receiver.ingest(body, 'sha256=00')
        expect(await lean.points('autoplay_rx.ingest.duration')).to.deep.equal([])
        expect(await lean.values('autoplay_rx.deliveries')).to.deep.equal({
          'autoplay_rx.delivery.outcome=accepted,autoplay_rx.payload.type=summary': 1, 'autoplay_rx.delivery.outcome=InvalidSignature': 1,
        })
        const [callbacks] = await lean.points('autoplay_rx.callbacks.duration')
        expect(callbacks!.count).to.equal(1)
        expect(callbacks!.sum).to.be.lessThan(1)
      } finally {
        await lean.shutdown()
      }
    })

    it('a hand-written adapter that makes its probe without headers is timed from the ingest, never from 0', async () => {
      const probe = otel.telemetry.delivery()
      probe.ingest()
      probe.answered(204, 'ok')
      probe.finish()
      const [point] = await otel.points('autoplay_rx.http.server.request.duration')
      expect([point!.attributes, point!.count]).to.deep.equal([{ 'http.response.status_code': 204, 'autoplay_rx.response.code': 'ok' }, 1])
      expect(point!.sum).to.be.lessThan(1)
    })

    it('counts ingest called by hand, and reject called by hand, as deliveries too', async () => {
      const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger, telemetry: otel.telemetry })
      const { body, signature } = signed(fixture('summary'))
      expect(E.isRight(receiver.ingest(body, signature))).to.equal(true)
      expect(E.isLeft(receiver.ingest(body, 'sha256=00'))).to.equal(true)
      receiver.reject(notRawBody({ parsed: true }))
      expect(await otel.values('autoplay_rx.deliveries')).to.deep.equal({
        'autoplay_rx.delivery.outcome=accepted,autoplay_rx.payload.type=summary': 1,
        'autoplay_rx.delivery.outcome=InvalidSignature': 1,
        'autoplay_rx.delivery.outcome=NotRawBody': 1,
      })
      expect((await otel.points('autoplay_rx.ingest.duration'))[0]!.count).to.equal(2)
      expect(otel.spans().map((s) => [s.kind, s.attributes['autoplay_rx.delivery.outcome']])).to.deep.equal([
        [SpanKind.INTERNAL, 'accepted'], [SpanKind.INTERNAL, 'InvalidSignature'], [SpanKind.INTERNAL, 'NotRawBody'],
      ])
    })
  })

  describe('callbacks and the budget', () => {
    it('times callbacks, counts their failures by callback, and shows pending callbacks against the bound', async () => {
      const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger, telemetry: otel.telemetry })
      let fail = 2
      receiver.onSummary(() => { if (fail-- > 0) throw new Error('boom') })
      const releases: Array<() => void> = []
      receiver.onActions(() => new Promise<void>((resolve) => releases.push(resolve)))
      const budget = new InFlightBudget({ maxPendingCallbacks: 4, maxBytes: 50_000 })
      const server = await listen(createNodeMiddleware(receiver, { path: '/events', ack: 'on-accept', budget }))
      const url = `http://127.0.0.1:${server.port}/events`
      try {
        const summary = signed(fixture('summary'))
        for (let i = 0; i < 3; i++) await send(url, summary.body, { headers: { 'x-connector-signature': summary.signature } })
        const actions = signed(fixture('actions-small'))
        for (let i = 0; i < 2; i++) await send(url, actions.body, { headers: { 'x-connector-signature': actions.signature } })
        expect(await otel.values('autoplay_rx.callbacks.pending')).to.deep.equal({ '': 2 })
        expect(await otel.values('autoplay_rx.callbacks.pending.limit')).to.deep.equal({ '': 4 })
        expect(await otel.values('autoplay_rx.callbacks.failures')).to.deep.equal({ 'autoplay_rx.callback=onSummary': 2 })
        // The three summaries' callbacks settled at once; the two actions' still run.
        expect(await otel.values('autoplay_rx.callbacks.duration')).to.deep.equal({ 'autoplay_rx.payload.type=summary': 3 })

        // A body that stalls holds what arrived in the budget while it is read.
        const socket = netConnect(server.port, '127.0.0.1')
        socket.write(`POST /events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n${'{"type":'.padEnd(999)}`)
        await waitFor(() => budget.bytes === 999, 'the read to start')
        expect(await otel.values('autoplay_rx.budget.body.size')).to.deep.equal({ '': 999 })
        expect(await otel.values('autoplay_rx.budget.body.size.limit')).to.deep.equal({ '': 50_000 })
        expect(await otel.values('autoplay_rx.budget.reads')).to.deep.equal({ '': 1 })
        expect(await otel.values('autoplay_rx.budget.reads.limit')).to.deep.equal({ '': 1024 })
        socket.write(' ') // the rest arrives: answered 401 (unsigned), the bytes given back
        await waitFor(() => budget.bytes === 0, 'the read to end')
        socket.destroy()
        expect(await otel.values('autoplay_rx.budget.body.size')).to.deep.equal({ '': 0 })

        for (const release of releases) release()
        await waitFor(() => budget.pendingCallbacks === 0, 'the callbacks to settle')
        expect(await otel.values('autoplay_rx.callbacks.pending')).to.deep.equal({ '': 0 })
        expect(await otel.values('autoplay_rx.callbacks.duration')).to.deep.equal({ 'autoplay_rx.payload.type=actions': 2, 'autoplay_rx.payload.type=summary': 3 })
      } finally {
        await server.close()
      }
    })

    it('counts a budget shared by two adapters once', async () => {
      const receiver = new WebhookReceiver({ secret: 'k', logger: silentLogger, telemetry: otel.telemetry })
      const budget = new InFlightBudget({ maxBytes: 1234 })
      createNodeMiddleware(receiver, { budget })
      createNodeMiddleware(receiver, { budget })
      expect(await otel.values('autoplay_rx.budget.body.size.limit')).to.deep.equal({ '': 1234 })
    })
  })

  describe('dedupeDeliveries', () => {
    it('counts every check, hits (repeats dropped) apart', async () => {
      const a = { type: 'summary', session_id: 'a', summary: 'x' } as unknown as Payload
      const b = { type: 'summary', session_id: 'b', summary: 'y' } as unknown as Payload
      const passed = await lastValueFrom(from([a, a, b, a, b]).pipe(dedupeDeliveries({ key: (p) => p.session_id ?? '', telemetry: otel.telemetry }), toArray()))
      expect(passed).to.deep.equal([a, b])
      expect(await otel.values('autoplay_rx.dedupe.checks')).to.deep.equal({ 'autoplay_rx.dedupe.hit=false': 2, 'autoplay_rx.dedupe.hit=true': 3 })
    })
  })

  describe('SessionSummarizer', () => {
    it('counts each summary ended, by outcome: made, or the failure tag', async () => {
      const batch = (session: string, n: number): ActionsPayload => ({
        type: 'actions', session_id: session, product_id: 'p', user_id: null, email: null, conversation_id: null, forwarded_at: 1, count: n,
        actions: Array.from({ length: n }, (_, i) => ({ title: `t${i}`, description: '', type: 'click', canonical_url: '', raw_url: '', index: i, timestamp_start: 0, timestamp_end: 0, session_id: session, user_id: null, email: null, conversation_id: null })),
      } as unknown as ActionsPayload)
      let calls = 0
      const store = new ContextStore()
      const summarizer = new SessionSummarizer({
        threshold: 2, logger: silentLogger, telemetry: otel.telemetry,
        llm: () => { calls++; if (calls === 2) throw new Error('model down'); return `summary ${calls}` },
        target: { add: (b) => store.add(b), onSummary: (id, text, at) => { if (id === 'refuses') throw new Error('store down'); return store.onSummary(id, text, at) } },
      })
      summarizer.add(batch('a', 2)) // summarised
      summarizer.add(batch('b', 2)) // the LLM fails
      summarizer.add(batch('refuses', 2)) // made, not stored
      await summarizer.complete()
      new SessionSummarizer({ llm: () => 'x', prompt: 'no placeholder', threshold: 1, logger: silentLogger, telemetry: otel.telemetry }).add(batch('c', 1))
      expect(await otel.values('autoplay_rx.summarizer.summaries')).to.deep.equal({
        'autoplay_rx.summarizer.outcome=LlmFailed': 1, 'autoplay_rx.summarizer.outcome=PromptWithoutActions': 1,
        'autoplay_rx.summarizer.outcome=Summarized': 1, 'autoplay_rx.summarizer.outcome=TargetFailed': 1,
      })
    })
  })

  describe('proactive', () => {
    it('counts offers by trigger and outcome: fired, or why one was held', () => {
      const at = Date.now() / 1000
      const of1 = (session: string) => ({ type: 'actions', product_id: 'p', session_id: session, user_id: null,
        email: null, conversation_id: null, forwarded_at: at, count: 1, actions: [] }) as unknown as ActionsPayload
      const always = predicateTrigger({ id: 'always', body: 'Hello?', when: () => true })
      from([of1('s1'), of1('s2')]).pipe(proactive({ triggers: [always], telemetry: otel.telemetry, logger: silentLogger,
        rateLimits: { perProductPerMinute: 1 } })).subscribe().unsubscribe()
      return otel.values('autoplay_rx.proactive.offers').then((values) => expect(values).to.deep.equal({
        'autoplay_rx.proactive.outcome=fired,autoplay_rx.proactive.trigger=always': 1,
        'autoplay_rx.proactive.outcome=rateLimit,autoplay_rx.proactive.trigger=always': 1,
      }))
    })
  })

  describe('connectorStream', () => {
    afterEach(closeServers)

    it('shows the connection state, and counts reconnects, disconnects by reason and frames by outcome: exact values', async () => {
      const server = await startServer(async (_req, res, index) => {
        if (index === 1) return void res.writeHead(503).end()
        openSse(res)
        if (index === 0) {
          await write(res, `${frame('one')}${frame('two')}data: not json\n\nevent: heartbeat\ndata: {}\n\ndata: {"type":"session_started"}\n\n`)
          return void res.end()
        }
        await write(res, frame('three'))
      })
      const seen: string[] = []
      const subscription = connectorStream({
        url: server.url, token: TOKEN, initialBackoffMs: 10, minBackoffMs: 1, random: () => 0, logger: silentLogger, telemetry: otel.telemetry,
      }).subscribe((p) => seen.push(p.type === 'summary' ? p.summary : p.type))
      try {
        await waitFor(() => seen.length === 3, 'three payloads', 10_000)
        expect(seen).to.deep.equal(['one', 'two', 'three'])
        expect(await otel.values('autoplay_rx.sse.frames')).to.deep.equal({
          'autoplay_rx.frame.outcome=accepted': 3, 'autoplay_rx.frame.outcome=MalformedJson': 1, 'autoplay_rx.frame.outcome=UnknownEventType': 1,
        })
        expect(await otel.values('autoplay_rx.sse.reconnects')).to.deep.equal({ '': 2 })
        expect(await otel.values('autoplay_rx.sse.disconnects')).to.deep.equal({ 'autoplay_rx.sse.reason=HttpStatus': 1, 'autoplay_rx.sse.reason=StreamEnded': 1 })
        expect(await otel.values('autoplay_rx.sse.streams')).to.deep.equal({
          'autoplay_rx.sse.state=connected': 1, 'autoplay_rx.sse.state=connecting': 0, 'autoplay_rx.sse.state=waiting': 0,
        })
      } finally {
        subscription.unsubscribe()
      }
      expect(await otel.values('autoplay_rx.sse.streams')).to.deep.equal({
        'autoplay_rx.sse.state=connected': 0, 'autoplay_rx.sse.state=connecting': 0, 'autoplay_rx.sse.state=waiting': 0,
      })
    })

    it('a stream backing off after a failure is waiting; its events observer still hears everything', async () => {
      const server = await startServer((_req, res) => void res.writeHead(500).end())
      const events: string[] = []
      const subscription = connectorStream({
        url: server.url, token: TOKEN, initialBackoffMs: 60_000, random: () => 0, logger: silentLogger, telemetry: otel.telemetry,
        events: (event) => events.push(event._tag),
      }).subscribe()
      try {
        await waitFor(() => events.includes('Retrying'), 'the first retry to be scheduled')
        expect(events).to.deep.equal(['Connecting', 'Disconnected', 'Retrying'])
        expect(await otel.values('autoplay_rx.sse.streams')).to.deep.equal({ 'autoplay_rx.sse.state=connecting': 0, 'autoplay_rx.sse.state=waiting': 1 })
      } finally {
        subscription.unsubscribe()
      }
    })
  })

  describe('the Redis bridge (real redis-server)', function () {
    this.timeout(30_000)
    const suite = redisSuite()

    it('times appends by outcome, counts entries read, claimed, acknowledged and rejected, and reads the group\'s pending count and lag', async () => {
      const writer = await suite.client()
      const stream = suite.name('otel')
      const append = redisAppender(writer, { stream, telemetry: otel.telemetry })
      for (const payload of payloads(5)) await append(payload)
      await writer.sendCommand(['XADD', stream, '*', 'not-' + PAYLOAD_FIELD, 'x']) // a foreign entry: rejected
      expect(await otel.values('autoplay_rx.redis.append.duration')).to.deep.equal({ [`autoplay_rx.redis.outcome=ok,autoplay_rx.redis.stream=${stream}`]: 5 })

      // Two in flight at most, none acknowledged: reading stops after two.
      const group = 'workers'
      const attributes = `autoplay_rx.redis.group=${group},autoplay_rx.redis.stream=${stream}`
      const first: RedisDelivery[] = []
      const options = { stream, group, consumer: 'w1', batchSize: 2, maxInFlight: 2, blockMs: 50, claimIdleMs: 60_000, logger: silentLogger, telemetry: otel.telemetry }
      const reading = fromRedisStream(await suite.client(), options).subscribe((d) => first.push(d))
      await until(() => first.length === 2, 'two deliveries')
      await until(async () => (await otel.values('autoplay_rx.redis.group.lag'))[attributes] === 4, 'the lag to show the four entries left')
      expect(await otel.values('autoplay_rx.redis.group.pending')).to.deep.equal({ [attributes]: 2 })
      expect(await otel.values('autoplay_rx.redis.entries.read')).to.deep.equal({ [attributes]: 2 })
      // Restarted under the same name without acknowledging: its two pending entries come back, claimed.
      reading.unsubscribe()
      const all: RedisDelivery[] = []
      suite.keep(fromRedisStream(await suite.client(), { ...options, maxInFlight: 10 }).subscribe((d) => { all.push(d); void d.ack() }))
      await until(() => all.length === 5, 'every good entry')
      await until(async () => (await otel.values('autoplay_rx.redis.group.pending'))[attributes] === 0, 'every entry acknowledged')
      expect(await otel.values('autoplay_rx.redis.group.lag')).to.deep.equal({ [attributes]: 0 })
      expect(await otel.values('autoplay_rx.redis.entries.read')).to.deep.equal({ [attributes]: 5 })
      expect(await otel.values('autoplay_rx.redis.entries.claimed')).to.deep.equal({ [attributes]: 2 })
      expect(await otel.values('autoplay_rx.redis.entries.rejected')).to.deep.equal({ [`autoplay_rx.redis.group=${group},autoplay_rx.redis.reason=MissingPayloadField,autoplay_rx.redis.stream=${stream}`]: 1 })
      // Five acknowledged by the worker, and the rejected entry by the reader itself.
      expect(await otel.values('autoplay_rx.redis.entries.acked')).to.deep.equal({ [`autoplay_rx.redis.group=${group},autoplay_rx.redis.outcome=ok,autoplay_rx.redis.stream=${stream}`]: 6 })
    })

    it('a Redis that is down: appends fail and are counted, the gauges are skipped, the rest is collected', async () => {
      const writer = await suite.client()
      const stream = suite.name('down')
      const append = redisAppender(writer, { stream, telemetry: otel.telemetry })
      await append(payloads(1)[0]!)
      const reads: RedisDelivery[] = []
      suite.keep(fromRedisStream(await suite.client(), { stream, group: 'g', consumer: 'c', blockMs: 50, logger: silentLogger, telemetry: otel.telemetry }).subscribe((d) => reads.push(d)))
      await until(() => reads.length === 1, 'the entry')
      await suite.redis.stop()
      try {
        let failed: unknown
        await append(payloads(1)[0]!).catch((error: unknown) => { failed = error })
        expect(failed).to.be.instanceOf(Error)
        const metrics = await otel.collect()
        expect(metrics.has('autoplay_rx.redis.group.pending')).to.equal(false)
        expect(metrics.has('autoplay_rx.redis.group.lag')).to.equal(false)
        expect(await otel.values('autoplay_rx.redis.append.duration')).to.deep.equal({
          [`autoplay_rx.redis.outcome=error,autoplay_rx.redis.stream=${stream}`]: 1,
          [`autoplay_rx.redis.outcome=ok,autoplay_rx.redis.stream=${stream}`]: 1,
        })
        expect(await otel.values('autoplay_rx.redis.entries.read')).to.deep.equal({ [`autoplay_rx.redis.group=g,autoplay_rx.redis.stream=${stream}`]: 1 })
      } finally {
        await suite.redis.start()
        await suite.reconnected()
      }
    })
  })

  describe('options', () => {
    it('an option given as undefined is its default; a redisTimeoutMs that is not a positive number is refused', async () => {
      const given = otelHarness({ ingestDuration: undefined, redisTimeoutMs: undefined })
      try {
        const probe = given.telemetry.delivery()
        probe.ingest()
        probe.refused(notRawBody({ parsed: true }))
        probe.finish()
        expect((await given.points('autoplay_rx.ingest.duration'))[0]!.count).to.equal(1)
      } finally {
        await given.shutdown()
      }
      for (const redisTimeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => otelTelemetry({ redisTimeoutMs }), String(redisTimeoutMs)).to.throw(TypeError, 'redisTimeoutMs')
      }
    })

    it('redisTimeoutMs: a group whose Redis does not answer in time is skipped; one that answers (RESP3 map) is read', async () => {
      const quick = otelHarness({ redisTimeoutMs: 100 })
      try {
        const silent = { sendCommand: () => new Promise<never>(() => {}) }
        const resp3 = { sendCommand: async () => [new Map<string, unknown>([['name', 'g'], ['pending', 3], ['lag', 7]])] }
        const reader = quick.telemetry.redisReader({ client: silent, stream: 'slow', group: 'g' })
        quick.telemetry.redisReader({ client: resp3, stream: 'fast', group: 'g' })
        const started = performance.now()
        expect(await quick.values('autoplay_rx.redis.group.pending')).to.deep.equal({ 'autoplay_rx.redis.group=g,autoplay_rx.redis.stream=fast': 3 })
        expect(performance.now() - started).to.be.lessThan(1000) // the default wait is 2000 ms: this was the 100 given
        expect(await quick.values('autoplay_rx.redis.group.lag')).to.deep.equal({ 'autoplay_rx.redis.group=g,autoplay_rx.redis.stream=fast': 7 })
        reader.closed()
      } finally {
        await quick.shutdown()
      }
    })
  })

  describe('traces', () => {
    it('one root span per delivery, with events, outcome and answer; a signed one links the sender\'s traceparent', async () => {
      const { url, close } = await serve(otel.telemetry)
      const { body, signature } = signed(fixture('actions-small'))
      const notJson = signed('not json')
      try {
        await send(url, body, { headers: { 'x-connector-signature': signature, traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, tracestate: 'vendor=opaque' } })
        await send(url, body, { headers: { 'x-connector-signature': 'sha256=00', traceparent: `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01` } })
        // Not sampled by the sender: the span is still made (a root's sampling is this side's), its link says so.
        await send(url, notJson.body, { headers: { 'x-connector-signature': notJson.signature, traceparent: `00-${TRACE_ID}-${PARENT_ID}-00` } })
        // Signed, but an upper-case traceparent is invalid (W3C): nothing to link.
        await send(url, body, { headers: { 'x-connector-signature': signature, traceparent: `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01` } })
      } finally {
        await close()
      }
      const spans = otel.spans()
      expect(spans.map((s) => [s.kind, s.parentSpanContext, s.spanContext().traceId === TRACE_ID])).to.deep.equal([
        [SpanKind.SERVER, undefined, false], [SpanKind.SERVER, undefined, false], [SpanKind.SERVER, undefined, false],
        [SpanKind.SERVER, undefined, false],
      ])
      // Each link as the SDK keeps it (any field besides its context shows), its trace state as text.
      const links = spans.map((s) => s.links.map(({ context: { traceState, ...rest }, ...link }) =>
        ({ ...link, ...rest, traceState: traceState?.serialize() })))
      expect(links).to.deep.equal([
        [{ traceId: TRACE_ID, spanId: PARENT_ID, traceFlags: 1, isRemote: true, traceState: 'vendor=opaque' }],
        [],
        [{ traceId: TRACE_ID, spanId: PARENT_ID, traceFlags: 0, isRemote: true, traceState: undefined }],
        [],
      ])
      const [accepted, refused, malformed] = spans
      expect(accepted!.name).to.equal('autoplay_rx.delivery')
      expect(accepted!.events.map((e) => e.name)).to.deep.equal(['autoplay_rx.verified', 'autoplay_rx.accepted'])
      expect(accepted!.attributes).to.deep.equal({
        'autoplay_rx.delivery.outcome': 'accepted', 'autoplay_rx.payload.type': 'actions',
        'http.response.status_code': 200, 'autoplay_rx.response.code': 'ok',
      })
      expect(accepted!.status.code).to.equal(SpanStatusCode.UNSET)
      expect(refused!.events).to.deep.equal([])
      expect(refused!.attributes).to.deep.equal({
        'autoplay_rx.delivery.outcome': 'InvalidSignature', 'error.type': 'InvalidSignature',
        'http.response.status_code': 401, 'autoplay_rx.response.code': 'invalid_signature',
      })
      // Signed by the connector, refused later: the sender is known, so its trace is linked.
      expect(malformed!.events.map((e) => e.name)).to.deep.equal(['autoplay_rx.verified'])
      expect(malformed!.attributes['autoplay_rx.delivery.outcome']).to.equal('MalformedJson')
    })

    it('a request not signed gets a root span with no link, whatever sampled traceparent it carries', async () => {
      const { url, close } = await serve(otel.telemetry)
      const { body } = signed(fixture('actions-small'))
      const traceparent = `00-${TRACE_ID}-${PARENT_ID}-01`
      const statuses: number[] = []
      try {
        statuses.push((await send(url, body, { headers: { traceparent } })).status)
        statuses.push((await send(url, body, { headers: { 'x-connector-signature': 'sha256=00', traceparent } })).status)
        statuses.push((await send(url, body, {
          headers: { 'x-connector-signature': `sha256=${'0'.repeat(64)}`, traceparent, tracestate: 'vendor=opaque' },
        })).status)
      } finally {
        await close()
      }
      expect(statuses).to.deep.equal([401, 401, 401])
      expect(otel.spans().map((s) => [
        s.kind, s.parentSpanContext, s.spanContext().traceId === TRACE_ID, s.links, s.attributes['autoplay_rx.delivery.outcome'],
      ])).to.deep.equal([
        [SpanKind.SERVER, undefined, false, [], 'InvalidSignature'],
        [SpanKind.SERVER, undefined, false, [], 'InvalidSignature'],
        [SpanKind.SERVER, undefined, false, [], 'InvalidSignature'],
      ])
    })

    it('inside an active recording span (an HTTP instrumentation\'s) the span is its child, with no link', async () => {
      // A synchronous stand-in for a context manager: the middleware makes its probe before it first awaits.
      let current = ROOT_CONTEXT
      const manager: ContextManager = {
        active: () => current,
        with: (ctx, fn, thisArg, ...args) => {
          const before = current
          current = ctx
          try { return fn.call(thisArg, ...args) } finally { current = before }
        },
        bind: (_ctx, target) => target,
        enable() { return this },
        disable() { return this },
      }
      const instrumentation = new BasicTracerProvider().getTracer('http')
      let outer: string | undefined
      const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger, telemetry: otel.telemetry })
      const middleware = createNodeMiddleware(receiver, { path: '/events' })
      context.setGlobalContextManager(manager)
      try {
        const server = await listen((req, res) => {
          const span = instrumentation.startSpan('POST /events')
          outer = span.spanContext().spanId
          res.on('finish', () => span.end())
          context.with(trace.setSpan(ROOT_CONTEXT, span), () => middleware(req, res))
        })
        const { body, signature } = signed(fixture('summary'))
        try {
          const headers = { 'x-connector-signature': signature, traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` }
          expect((await send(`http://127.0.0.1:${server.port}/events`, body, { headers })).status).to.equal(200)
        } finally {
          await server.close()
        }
      } finally {
        context.disable()
      }
      expect(otel.spans().map((s) => [s.kind, s.parentSpanContext?.spanId, s.links])).to.deep.equal([[SpanKind.INTERNAL, outer, []]])
    })

    it('with the global TracerProvider: no span while no SDK is registered, spans once one is (registered later)', () => {
      const spans = new InMemorySpanExporter()
      const telemetry = otelTelemetry({ meterProvider: new MeterProvider() }) // no tracerProvider: the global one
      const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger, telemetry })
      const { body, signature } = signed(fixture('summary'))
      receiver.ingest(body, signature)
      trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }))
      try {
        receiver.ingest(body, signature)
      } finally {
        trace.disable()
      }
      expect(spans.getFinishedSpans().map((s) => [s.name, s.attributes['autoplay_rx.delivery.outcome']])).to.deep.equal([['autoplay_rx.delivery', 'accepted']])
    })

    it('a registered propagator wins over the traceparent fallback (the link it reads), asked only once verified', async () => {
      const asked: unknown[] = []
      const fromHeader: TextMapPropagator = {
        inject: () => {},
        extract: (ctx, carrier, getter) => {
          const id = getter.get(carrier, 'x-parent')
          asked.push(id)
          // A stand-in for a vendor propagator: the parent span id from a header of its own.
          return typeof id === 'string' ? trace.setSpanContext(ctx, { traceId: TRACE_ID, spanId: id, traceFlags: 1, isRemote: true }) : ctx
        },
        fields: () => ['x-parent'],
      }
      propagation.setGlobalPropagator(fromHeader)
      try {
        const { url, close } = await serve(otel.telemetry)
        const { body, signature } = signed(fixture('summary'))
        try {
          await send(url, body, { headers: { 'x-connector-signature': 'sha256=00', 'x-parent': 'bbbbbbbbbbbbbbbb' } })
          await send(url, body, { headers: { 'x-connector-signature': signature, 'x-parent': 'aaaaaaaaaaaaaaaa', traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` } })
        } finally {
          await close()
        }
      } finally {
        propagation.disable()
      }
      expect(asked).to.deep.equal(['aaaaaaaaaaaaaaaa'])
      expect(otel.spans().map((s) => [s.parentSpanContext, s.links.map((l) => l.context.spanId)])).to.deep.equal([
        [undefined, []], [undefined, ['aaaaaaaaaaaaaaaa']],
      ])
    })

    it('a span waits for callbacks still running after the answer (ack on-accept), and records their failure', async () => {
      const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger, telemetry: otel.telemetry })
      let release!: () => void
      receiver.onSummary(() => new Promise<void>((_, reject) => { release = () => reject(new Error('late failure')) }))
      const server = await listen(createNodeMiddleware(receiver, { path: '/events', ack: 'on-accept' }))
      try {
        const { body, signature } = signed(fixture('summary'))
        expect((await send(`http://127.0.0.1:${server.port}/events`, body, { headers: { 'x-connector-signature': signature } })).status).to.equal(200)
        expect(otel.spans()).to.deep.equal([])
        release()
        await waitFor(() => otel.spans().length === 1, 'the span to end')
      } finally {
        await server.close()
      }
      const [span] = otel.spans()
      expect(span!.events.map((e) => [e.name, e.attributes])).to.deep.equal([
        ['autoplay_rx.verified', {}], ['autoplay_rx.accepted', {}], ['autoplay_rx.callbacks.settled', { 'autoplay_rx.callbacks.failures': 1 }],
      ])
      expect(span!.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: '1 callback(s) failed' })
    })
  })

  describe('a failing backend', () => {
    const throwing = () => { throw new Error('backend down') }
    const brokenMeter = new Proxy({}, { get: () => () => new Proxy({}, { get: () => throwing }) }) as Meter
    const cases: Array<[string, () => { meterProvider?: MeterProviderApi; tracerProvider?: TracerProvider }]> = [
      ['a MeterProvider that throws', () => ({ meterProvider: { getMeter: throwing } })],
      ['instruments that throw on every call', () => ({ meterProvider: { getMeter: () => brokenMeter } })],
      ['a tracer that throws', () => ({ tracerProvider: { getTracer: () => ({ startSpan: throwing, startActiveSpan: throwing }) } })],
    ]
    for (const [name, providers] of cases) {
      it(`${name} changes nothing: the same answers and streams as without telemetry, told once to diag`, async () => {
        const told: unknown[] = []
        diag.setLogger({ error: (...args) => told.push(args), warn: () => {}, info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.ERROR)
        try {
          const run = async (telemetry: Telemetry | undefined) => {
            const seen: string[] = []
            const { url, close } = await serve(telemetry, (r) => {
              r.payloads$.subscribe((p) => seen.push(p.type))
              r.rejected$.subscribe((e) => seen.push(e._tag))
              r.onSummary(() => { throw new Error('callback') })
            })
            try {
              return { answers: await sendAll(url), seen }
            } finally {
              await close()
            }
          }
          const broken = await run(otelTelemetry(providers()))
          expect(broken).to.deep.equal(await run(undefined))
          expect(told).to.have.length(1)
        } finally {
          diag.disable()
        }
      })
    }
  })
  // Last, on purpose: it reads what the SDK collected in every test above.
  describe('docs/observability.md', () => {
    it('its table is the instruments the code makes, and what a real SDK collected above: names, kinds, units, attributes', () => {
      const text = readFileSync(new URL('../../docs/observability.md', import.meta.url), 'utf8')
      const rows = text.split('\n').filter((line) => line.startsWith('| `autoplay_rx.')).map((line) => {
        const [name, kind, unit, attributes] = line.split(' | ').map((cell) => cell.replace(/^\| /, ''))
        const list = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)
        return { name: list(name!)[0]!, kind: kind!, unit: list(unit!)[0]!, attributes: list(attributes!) }
      })
      expect(rows.map((r) => r.name)).to.deep.equal(Object.keys(INSTRUMENTS))
      for (const row of rows) {
        const spec = INSTRUMENTS[row.name]!
        expect({ kind: row.kind, unit: row.unit, attributes: row.attributes }, row.name).to.deep.equal({ kind: spec.kind, unit: spec.unit, attributes: [...spec.attributes] })
        const seen = collected.get(row.name)
        expect(seen, `${row.name} was never collected`).to.not.equal(undefined)
        expect({ kind: seen!.kind, unit: seen!.unit, attributes: [...seen!.attributes].sort() }, row.name)
          .to.deep.equal({ kind: row.kind, unit: row.unit, attributes: [...row.attributes].sort() })
      }
    })
  })
})

