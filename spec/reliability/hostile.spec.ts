/**
 * Hostile input, property-based, over `receiver.ingest` and every adapter
 * (node:http, Express 5 and Fastify 5 on real sockets, the Fetch handler with
 * real Request objects). Each case is checked against an oracle written from
 * SPEC.md and the README's status table (spec/helpers/hostile.ts): the exact
 * tag, reason, status and code; nothing unsigned accepted; nothing thrown;
 * no prototype changed (checked within one test and in a child process, so
 * independent of test order). The number of cases per target is printed at the end.
 */
import { expect } from 'chai'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { execFile } from 'node:child_process'
import { Agent, request, type OutgoingHttpHeaders } from 'node:http'
import { fileURLToPath } from 'node:url'
import { WebhookReceiver, type IngestError, type Payload, type UsertourTriggerPayload } from '../../src/index.js'
import { createFetchHandler } from '../../src/adapters/web.js'
import { recordingLogger, SECRET } from '../helpers/fixtures.js'
import {
  bodyForm, genuineSignature, headerAsReceived, hostileCase, LIMIT, oracle, pollutionSince, PROTOTYPE_BODIES, PROTOTYPE_EVENTS, prototypeSnapshot,
  type Expected, type HostileCase,
} from '../helpers/hostile.js'
import { startExpress, startFastify, startNode, watchProcessFaults, type Running, type Start } from '../helpers/servers.js'

/**
 * Cases per target: in-process targets run many, HTTP targets fewer (each is
 * a round trip). FC_SCALE multiplies them for a longer exploration outside
 * `npm test` (docs/reliability.md records one such run).
 */
const SCALE = Number(process.env.FC_SCALE ?? 1)
const RUNS = { ingest: 3000 * SCALE, fetch: 1000 * SCALE, http: 300 * SCALE }
/** A fixed seed makes the suite's case counts and coverage repeatable; FC_SEED explores others. */
const SEED = process.env.FC_SEED === undefined ? 20_240_607 : Number(process.env.FC_SEED)

interface Tally { cases: number; readonly outcomes: Record<string, number>; readonly categories: Record<string, number> }
const tallies = new Map<string, Tally>()

function tally(target: string, category: string, e: Pick<Expected, 'outcome' | 'reason'>): void {
  const t = tallies.get(target) ?? { cases: 0, outcomes: {}, categories: {} }
  tallies.set(target, t)
  t.cases++
  const outcome = e.reason ? `${e.outcome}(${e.reason})` : e.outcome
  t.outcomes[outcome] = (t.outcomes[outcome] ?? 0) + 1
  t.categories[category] = (t.categories[category] ?? 0) + 1
}

/** What a receiver emitted since the last call. */
function recorder(receiver: WebhookReceiver) {
  const payloads: Array<Payload | UsertourTriggerPayload> = []
  const rejected: IngestError[] = []
  receiver.payloads$.subscribe((p) => payloads.push(p))
  receiver.usertourTrigger$.subscribe((t) => payloads.push(t))
  receiver.rejected$.subscribe((e) => rejected.push(e))
  return () => ({ payloads: payloads.splice(0), rejected: rejected.splice(0) })
}

const ACTIONS_KEYS = ['actions', 'conversation_id', 'count', 'email', 'forwarded_at', 'product_id', 'session_id', 'type', 'user_id']
const SUMMARY_KEYS = ['forwarded_at', 'product_id', 'replaces', 'session_id', 'summary', 'type']
const TRIGGER_KEYS = ['flow_id', 'product_id', 'reason', 'session_id', 'type', 'user_id']
const ACTION_KEYS = ['canonical_url', 'conversation_id', 'description', 'email', 'index', 'raw_url', 'session_id', 'timestamp_end', 'timestamp_start', 'title', 'type', 'user_id']

/** A decoded payload is fresh plain data: Object.prototype, exactly the modelled keys, whatever the body held. */
function expectPlainData(payload: Payload | UsertourTriggerPayload): void {
  expect(Object.getPrototypeOf(payload)).to.equal(Object.prototype)
  const keys = { actions: ACTIONS_KEYS, summary: SUMMARY_KEYS, usertour_trigger: TRIGGER_KEYS }[payload.type]
  expect(Object.keys(payload).sort()).to.deep.equal(keys)
  if (payload.type === 'actions') {
    expect(Object.getPrototypeOf(payload.actions)).to.equal(Array.prototype)
    expect(payload.count).to.equal(payload.actions.length)
    for (const action of payload.actions) {
      expect(Object.getPrototypeOf(action)).to.equal(Object.prototype)
      expect(Object.keys(action).sort()).to.deep.equal(ACTION_KEYS)
    }
  }
}

/**
 * The emissions of one case: exactly one payload when accepted (and only
 * with the genuine signature), exactly one rejection with the expected tag
 * and reason otherwise (none for 405/415, answered before the receiver).
 */
function expectEmitted(c: HostileCase, e: Expected, emitted: { payloads: Array<Payload | UsertourTriggerPayload>; rejected: IngestError[] }, signature: string | undefined): void {
  if (emitted.payloads.length > 0) expect(signature, 'accepted without the genuine signature').to.equal(genuineSignature(c.body))
  if (e.outcome === 'Accepted') {
    expect(emitted.payloads).to.have.length(1)
    expectPlainData(emitted.payloads[0]!)
    expect(emitted.rejected).to.deep.equal([])
    return
  }
  expect(emitted.payloads).to.deep.equal([])
  expect(emitted.rejected.map((r) => r._tag)).to.deep.equal(e.onRejected ? [e.outcome] : [])
  const rejection = emitted.rejected[0]
  if (e.reason !== undefined) expect(rejection && 'reason' in rejection ? rejection.reason : undefined).to.equal(e.reason)
  if (rejection?._tag === 'BodyTooLarge') expect([rejection.limit, rejection.size > LIMIT]).to.deep.equal([LIMIT, true])
}

/** The answer's status and body are those of the README's table, and never hold the secret or the expected digest. */
function expectAnswer(c: HostileCase, e: Expected, status: number, text: string, allow: string | null): void {
  expect(status).to.equal(e.status)
  if (e.outcome === 'Accepted') expect(text).to.equal('{"status":"ok"}')
  else if (e.outcome === 'UnknownEventType') expect(JSON.parse(text)).to.deep.equal({ status: 'ok', code: 'ignored' })
  else {
    const json = JSON.parse(text) as { status: string; code: string; message: string }
    expect([json.status, json.code, typeof json.message]).to.deep.equal(['error', e.code, 'string'])
  }
  if (e.outcome === 'MethodNotAllowed') expect(allow).to.equal('POST')
  expect(text).to.not.include(SECRET)
  expect(text).to.not.include(genuineSignature(c.body).slice(7))
}

/** One case over HTTP, exactly as generated: repeated header lines, chunked or with a Content-Length. */
function sendCase(url: string, c: HostileCase, agent: Agent): Promise<{ status: number; text: string; allow: string | null }> {
  return new Promise((resolve, reject) => {
    const headers: OutgoingHttpHeaders = {}
    if (c.contentType !== undefined) headers['content-type'] = c.contentType
    if (c.signatures.length > 0) headers['x-connector-signature'] = c.signatures.length === 1 ? c.signatures[0]! : [...c.signatures]
    for (const [name, value] of c.extraHeaders) headers[name] = value
    // Explicit framing: Node's client would send a DELETE body unframed (no chunked encoding by default for DELETE).
    if (c.chunks === null) headers['content-length'] = c.body.byteLength
    else headers['transfer-encoding'] = 'chunked'
    const req = request(url, { method: c.method, headers, agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (d: Buffer) => chunks.push(d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), allow: (res.headers.allow as string | undefined) ?? null }))
      res.on('error', reject)
    })
    req.on('error', reject)
    if (c.chunks === null) {
      req.end(c.body)
    } else {
      let at = 0
      for (const size of c.chunks) { req.write(c.body.subarray(at, at + size)); at += size }
      req.end()
    }
  })
}

function newReceiver() {
  const logger = recordingLogger()
  const receiver = new WebhookReceiver({ secret: SECRET, logger, maxBodyBytes: LIMIT })
  return { receiver, logger, emitted: recorder(receiver) }
}

describe('reliability: hostile input (property-based)', function () {
  this.timeout(60_000 * SCALE)
  let watch: ReturnType<typeof watchProcessFaults>
  beforeEach(() => { watch = watchProcessFaults() })
  afterEach(() => {
    watch.stop()
    expect(watch.faults, 'uncaught exceptions or unhandled rejections').to.deep.equal([])
  })
  after(() => {
    const lines = ['', '    hostile input, cases run per target:']
    for (const [target, t] of tallies) {
      lines.push(`      ${target}: ${t.cases} cases`)
      lines.push(`        by category: ${Object.entries(t.categories).map(([k, n]) => `${k} ${n}`).join(', ')}`)
      lines.push(`        by outcome:  ${Object.entries(t.outcomes).sort().map(([k, n]) => `${k} ${n}`).join(', ')}`)
    }
    console.log(lines.join('\n'))
  })

  it(`receiver.ingest: ${RUNS.ingest} cases, each with the oracle's tag and reason, never a throw`, () => {
    const { receiver, logger, emitted } = newReceiver()
    fc.assert(fc.property(hostileCase, (c) => {
      const e = oracle(c, 'ingest')
      const signature = c.signatures.length === 0 ? undefined : c.signatures.join(', ')
      const result = receiver.ingest(bodyForm(c), signature)
      expect(E.isRight(result) ? 'Accepted' : result.left._tag).to.equal(e.outcome)
      expectEmitted(c, e, emitted(), signature)
      expect(logger.lines.splice(0).filter((l) => l.level === 'error')).to.deep.equal([])
      tally('receiver.ingest', c.category, e)
    }), { numRuns: RUNS.ingest, seed: SEED })
    expect(tallies.get('receiver.ingest')?.cases).to.equal(RUNS.ingest)
  })

  it(`receiver.ingest: ${RUNS.ingest / 3} signature headers beyond Latin-1 (as a framework decoding headers as UTF-8 hands them over): never accepted`, () => {
    // HTTP cannot carry these (Node and Fetch refuse them), so they are for ingest alone.
    const { receiver, emitted } = newReceiver()
    const body = new TextEncoder().encode('{"type":"summary","session_id":"s"}')
    const digest = genuineSignature(body).slice(7)
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat({ max: 63 }), fc.integer({ min: 1, max: 0xff })), { minLength: 1, maxLength: 8 }),
      (changes) => {
        // Each changed character keeps the low byte of the right one and gains a high byte.
        const chars = [...digest]
        for (const [at, high] of changes) chars[at] = String.fromCharCode((high << 8) | digest.charCodeAt(at))
        const header = `sha256=${chars.join('')}`
        const result = receiver.ingest(body, header)
        expect(E.isLeft(result) && result.left._tag === 'InvalidSignature' && result.left.reason).to.equal('malformed')
        expect(emitted().payloads).to.deep.equal([])
        tally('receiver.ingest (headers beyond Latin-1)', 'lookalike digest', { outcome: 'InvalidSignature', reason: 'malformed' })
      }), { numRuns: RUNS.ingest / 3, seed: SEED })
  })

  it(`Fetch handler with Request objects: ${RUNS.fetch} cases, each with the right status, code and tag`, async () => {
    const { receiver, logger, emitted } = newReceiver()
    const handler = createFetchHandler(receiver, { path: '/events' })
    await fc.assert(fc.asyncProperty(hostileCase, async (c) => {
      const e = oracle(c, 'http')
      const headers = new Headers()
      if (c.contentType !== undefined) headers.set('content-type', c.contentType)
      for (const s of c.signatures) headers.append('x-connector-signature', s)
      for (const [name, value] of c.extraHeaders) headers.append(name, value)
      let body: Uint8Array | ReadableStream<Uint8Array> = c.body
      if (c.chunks !== null) {
        const parts = c.chunks.map((size, i) => c.body.subarray(c.chunks!.slice(0, i).reduce((a, b) => a + b, 0)).subarray(0, size))
        body = new ReadableStream<Uint8Array>({ pull(controller) { const next = parts.shift(); if (next) controller.enqueue(next); else controller.close() } })
      }
      const response = await handler(new Request('http://x.test/events', { method: c.method, headers, body, duplex: 'half' } as RequestInit))
      expectAnswer(c, e, response.status, await response.text(), response.headers.get('allow'))
      expectEmitted(c, e, emitted(), headers.get('x-connector-signature') ?? undefined)
      expect(logger.lines.splice(0).filter((l) => l.level === 'error')).to.deep.equal([])
      tally('Fetch handler (Request objects)', c.category, e)
    }), { numRuns: RUNS.fetch, seed: SEED })
    expect(tallies.get('Fetch handler (Request objects)')?.cases).to.equal(RUNS.fetch)
  })

  const servers: Array<readonly [string, Start]> = [['node:http', startNode], ['Express 5', startExpress], ['Fastify 5', startFastify]]
  for (const [name, start] of servers) {
    it(`${name} on 127.0.0.1: ${RUNS.http} cases, each with the right status, code and tag`, async () => {
      const { receiver, logger, emitted } = newReceiver()
      let server: Running | undefined
      const agent = new Agent({ keepAlive: true, maxSockets: 1 })
      try {
        server = await start(receiver)
        const url = server.url
        await fc.assert(fc.asyncProperty(hostileCase, async (c) => {
          const e = oracle(c, 'http')
          const reply = await sendCase(url, c, agent)
          expectAnswer(c, e, reply.status, reply.text, reply.allow)
          expectEmitted(c, e, emitted(), headerAsReceived(c.signatures))
          expect(logger.lines.splice(0).filter((l) => l.level === 'error')).to.deep.equal([])
          tally(name, c.category, e)
        }), { numRuns: RUNS.http, seed: SEED })
      } finally {
        agent.destroy()
        await server?.close()
      }
      expect(tallies.get(name)?.cases).to.equal(RUNS.http)
    })
  }

  it('prototype-polluting bodies change no built-in prototype, checked within this test whatever ran before', () => {
    const before = prototypeSnapshot()
    const { receiver } = newReceiver()
    const outcomes = PROTOTYPE_BODIES.map((text) => {
      const body = new TextEncoder().encode(text)
      const result = receiver.ingest(body, genuineSignature(body))
      receiver.parse(body)
      return E.isRight(result) ? 'Accepted' : result.left._tag
    })
    expect(outcomes).to.deep.equal(['Accepted', 'Accepted', 'Accepted', 'Accepted', 'InvalidPayload', 'UnknownEventType', 'UnknownEventType'])
    const accepted = PROTOTYPE_EVENTS.filter((text) => E.isRight(receiver.ingest(text, genuineSignature(new TextEncoder().encode(text)))))
    expect(accepted).to.have.length(PROTOTYPE_EVENTS.length)
    expect(pollutionSince(before)).to.deep.equal([])
  })

  it('no prototype pollution in a fresh child process either, whose check sees a real pollution (so it can fail)', async () => {
    // A process of its own: no earlier test can have polluted it, nor can this one pollute mocha's.
    const source = `
      import { WebhookReceiver, silentLogger } from './src/index.js'
      import { genuineSignature, pollutionSince, PROTOTYPE_BODIES, PROTOTYPE_EVENTS, prototypeSnapshot } from './spec/helpers/hostile.js'
      import { SECRET } from './spec/helpers/fixtures.js'
      const before = prototypeSnapshot()
      const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
      let accepted = 0
      for (const text of [...PROTOTYPE_BODIES, ...PROTOTYPE_EVENTS]) {
        const body = new TextEncoder().encode(text)
        if (receiver.ingest(body, genuineSignature(body))._tag === 'Right') accepted++
        receiver.parse(body)
      }
      const found = pollutionSince(before)
      Object.prototype.polluted = 1
      const control = pollutionSince(before)
      console.log(JSON.stringify({ accepted, found, control }))
    `
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source],
        { cwd: fileURLToPath(new URL('../../', import.meta.url)), timeout: 30_000 },
        (error, out, err) => resolve({ code: error ? (error as { code?: number }).code ?? null : 0, stdout: out, stderr: err }))
    })
    expect({ code, stderr }).to.deep.equal({ code: 0, stderr: '' })
    expect(JSON.parse(stdout)).to.deep.equal({
      accepted: 4 + PROTOTYPE_EVENTS.length,
      found: [],
      control: ['Object.prototype.polluted', '{} inherits polluted', '{}.polluted'],
    })
  })
})
