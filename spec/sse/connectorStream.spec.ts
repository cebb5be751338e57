import { expect } from 'chai'
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { firstValueFrom, merge, Subject, take, tap, timeout, toArray } from 'rxjs'
import type { SummaryPayload } from '../../src/codecs.js'
import { WebhookReceiver } from '../../src/receiver.js'
import { sign } from '../../src/signature.js'
import { silentLogger } from '../../src/logger.js'
import { connectorStream } from '../../src/sse/connectorStream.js'
import type { FetchFunction } from '../../src/sse/fetch.js'
import { ConnectorStreamError, FatalStatusError, RetriesExhaustedError } from '../../src/sse/errors.js'
import type { ConnectionEvent, ConnectorStreamEvent } from '../../src/sse/lifecycle.js'
import { sleep } from '../helpers/http.js'
import {
  closeServers, failure, frame, openSse, run, runChild, show, sourceModule, startServer, summary, TOKEN, write,
} from './helpers.js'

const fixtures = new URL('../fixtures/', import.meta.url)
const fixture = (name: string) => readFileSync(new URL(name, fixtures), 'utf8').trim()
const utf8 = new TextEncoder()

/** A comment, a heartbeat that carries data, and one payload spread over two data lines with 2-, 3- and 4-byte UTF-8. */
function richFrame(eol: string): string {
  return [
    ': keep-alive comment', '',
    'event: heartbeat', 'data: {"ts":1700000000}', '',
    'id: 7',
    'data: {"type":"summary","product_id":"prod_ü",',
    'data:  "session_id":"ps_☃","summary":"Exporté CSV — 😀 done"}',
    '', '',
  ].join(eol)
}
const richPayload: SummaryPayload =
  { type: 'summary', product_id: 'prod_ü', session_id: 'ps_☃', summary: 'Exporté CSV — 😀 done', replaces: 0, forwarded_at: 0 }

/** A `fetch` that serves one response whose body arrives in exactly these chunks. */
function chunkedFetch(chunks: Uint8Array[]): FetchFunction {
  return async () => ({
    status: 200,
    headers: { get: (name: string) => (name === 'content-type' ? 'text/event-stream' : null) },
    body: (async function* () { yield* chunks })(),
  })
}

/** The frame repeated once per split point, each copy cut in two at a different byte. */
function splitAtEveryByte(bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = []
  for (let i = 1; i < bytes.length; i++) chunks.push(bytes.subarray(0, i), bytes.subarray(i))
  return chunks
}

describe('sse/connectorStream', () => {
  afterEach(closeServers)

  describe('framing', () => {
    for (const [name, eol] of [['LF', '\n'], ['CRLF', '\r\n'], ['CR', '\r']] as const) {
      it(`decodes a frame cut at every byte boundary, inside multi-byte UTF-8 too (${name}, exact chunks)`, async () => {
        const bytes = utf8.encode(richFrame(eol))
        const { result, rejections } = run({ url: 'http://connector.test/stream/p', fetch: chunkedFetch(splitAtEveryByte(bytes)) }, bytes.length - 1)
        const payloads = await result
        expect(payloads).to.have.length(bytes.length - 1)
        for (const payload of payloads) expect(payload).to.deep.equal(richPayload)
        expect(rejections).to.deep.equal([])
      })
    }

    it('drops a byte order mark that opens the stream, even cut over two chunks (else the first line would be no `data:` field)', async () => {
      const bytes = utf8.encode(`\ufeff${frame('first')}${frame('second')}`)
      const { result, rejections } = run({ url: 'http://connector.test/stream/p', fetch: chunkedFetch([bytes.subarray(0, 2), bytes.subarray(2)]) }, 2)
      expect(await result).to.deep.equal([summary('first'), summary('second')])
      expect(rejections).to.deep.equal([])
    })

    for (const [name, eol] of [['LF', '\n'], ['CRLF', '\r\n']] as const) {
      it(`decodes a frame cut at every byte boundary over TCP (${name})`, async () => {
        const bytes = utf8.encode(richFrame(eol))
        const server = await startServer(async (_req, res) => {
          openSse(res)
          for (let i = 1; i < bytes.length; i++) {
            await write(res, bytes.subarray(0, i))
            await sleep(1) // separate TCP segments, so that the client reads the halves apart
            await write(res, bytes.subarray(i))
          }
        })
        const { result, rejections } = run({ url: server.url }, bytes.length - 1, 8000)
        const payloads = await result
        expect(payloads).to.have.length(bytes.length - 1)
        for (const payload of payloads) expect(payload).to.deep.equal(richPayload)
        expect(rejections).to.deep.equal([])
        expect(server.requests).to.have.length(1)
      })
    }

    it('reports frames that do not decode, with their text and the push-mode error, and goes on', async () => {
      const usertour = fixture('unknown-type.json')
      const server = await startServer((_req, res) => {
        openSse(res)
        res.write('data: {"type":"summary",\n\n')
        res.write('id: 2\ndata: {"type":"summary","replaces":"twelve"}\n\n')
        res.write(`event: trigger\ndata: ${usertour}\n\n`)
        res.write('data: [1,2]\n\n')
        res.write(frame('ok'))
      })
      const { result, rejections } = run({ url: server.url }, 1)
      expect(await result).to.deep.equal([summary('ok')])
      expect(rejections.map((r) => [r.error._tag, r.data, r.event, r.id])).to.deep.equal([
        ['MalformedJson', '{"type":"summary",', null, null],
        ['InvalidPayload', '{"type":"summary","replaces":"twelve"}', null, '2'],
        ['UnknownEventType', usertour, 'trigger', null],
        ['InvalidPayload', '[1,2]', null, null],
      ])
      expect(rejections.map((r) => Buffer.from(r.error.body).toString('utf8'))).to.deep.equal(rejections.map((r) => r.data))
      const invalid = rejections[1]!.error
      expect(invalid._tag === 'InvalidPayload' && invalid.issues).to.deep.equal([{ path: 'replaces', expected: 'integer', got: 'string' }])
      const unknown = rejections[2]!.error
      expect(unknown._tag === 'UnknownEventType' && unknown.eventType).to.equal('session_started')
    })

    it('hands usertour_trigger frames to usertourTriggers, in stream order between the payloads; a throw or a rejection there is logged and the stream goes on', async () => {
      const trigger = fixture('usertour-trigger.json')
      const server = await startServer((_req, res) => {
        openSse(res)
        res.write(frame('one'))
        res.write(`event: trigger\ndata: ${trigger}\n\n`)
        res.write(`data: ${JSON.stringify({ type: 'usertour_trigger', flow_id: 'flow_7', session_id: 'ps_2', reason: 'dwell' })}\n\n`)
        res.write(`data: ${JSON.stringify({ type: 'usertour_trigger', session_id: 'ps_3' })}\n\n`)
        res.write(frame('two'))
      })
      const order: string[] = []
      const errors: string[] = []
      const logger = { ...silentLogger, error: (message: string) => { errors.push(message) } }
      const { result, rejections } = run({
        url: server.url, logger,
        usertourTriggers: (t) => {
          order.push(`trigger ${t.flow_id}@${t.session_id}:${t.reason}`)
          if (t.flow_id === 'flow_42') throw new Error('the app\'s bug')
          return Promise.reject(new Error('an async function that fails'))
        },
      }, 2)
      const unhandled: unknown[] = []
      const onUnhandled = (reason: unknown) => { unhandled.push(reason) }
      process.on('unhandledRejection', onUnhandled)
      const payloads = await result.finally(() => sleep(20)).finally(() => process.off('unhandledRejection', onUnhandled))
      expect(unhandled).to.deep.equal([])
      expect(payloads.map((p) => p.type === 'summary' && p.summary)).to.deep.equal(['one', 'two'])
      expect(order).to.deep.equal(['trigger flow_42@ps_abc123:', 'trigger flow_7@ps_2:dwell'])
      // One line per 10 s at most (the second failure is counted into the next line).
      expect(errors).to.deep.equal(['usertourTriggers failed'])
      // One without a flow_id is refused as any invalid frame.
      expect(rejections.map((r) => [r.error._tag, r.error._tag === 'InvalidPayload' && r.error.eventType]))
        .to.deep.equal([['InvalidPayload', 'usertour_trigger']])
    })

    it('gives triggers and payloads in the order the frames came', async () => {
      const trigger = (flow: string) => `data: ${JSON.stringify({ type: 'usertour_trigger', flow_id: flow })}\n\n`
      const server = await startServer((_req, res) => {
        openSse(res)
        res.write(trigger('a') + frame('one') + trigger('b') + trigger('c') + frame('two') + trigger('d') + frame('three'))
      })
      const seen: string[] = []
      const stream = connectorStream({ url: server.url, token: TOKEN, logger: silentLogger, usertourTriggers: (t) => { seen.push(t.flow_id) } })
      await firstValueFrom(stream.pipe(tap((p) => seen.push(p.type === 'summary' ? p.summary : p.type)), take(3), toArray(), timeout(4000)))
      expect(seen).to.deep.equal(['a', 'one', 'b', 'c', 'two', 'd', 'three'])
    })

    it('without usertourTriggers, drops usertour_trigger frames and says so once, at debug', async () => {
      const trigger = fixture('usertour-trigger.json')
      const server = await startServer((_req, res) => {
        openSse(res)
        res.write(`data: ${trigger}\n\ndata: ${trigger}\n\n`)
        res.write(frame('after'))
      })
      const lines: string[] = []
      const logger = { debug: (message: string) => { lines.push(message) } }
      const { result, rejections } = run({ url: server.url, logger }, 1)
      expect((await result).map((p) => p.type)).to.deep.equal(['summary'])
      expect(rejections).to.deep.equal([])
      expect(lines).to.deep.equal(['SSE usertour_trigger frames dropped: no usertourTriggers'])
    })

    it('refuses a usertourTriggers that is not a function when made', () => {
      expect(() => connectorStream({ url: 'http://connector.test/s', token: TOKEN, usertourTriggers: 'yes' as never }))
        .to.throw(TypeError, /usertourTriggers must be a function/)
    })

    it('applies the push-mode defaults and reconciles count, warning through the logger', async () => {
      const warnings: string[] = []
      const server = await startServer((_req, res) => {
        openSse(res)
        res.write(`data: ${JSON.stringify({ type: 'actions', count: 5, session_id: '', actions: [{ type: 'click' }] })}\n\n`)
        res.write(`data: ${fixture('actions-small.json')}\n\n`)
      })
      const { result } = run({ url: server.url, logger: { warn: (message) => warnings.push(message) } }, 2)
      const [first, second] = await result
      expect(first).to.deep.equal({
        type: 'actions', product_id: '', session_id: null, user_id: null, email: null, conversation_id: null,
        count: 1, forwarded_at: 0,
        actions: [{
          index: 0, type: 'click', title: '', description: '', canonical_url: '', raw_url: '',
          timestamp_start: 0, timestamp_end: 0, session_id: null, user_id: null, email: null, conversation_id: null,
        }],
      })
      expect(second).to.include({ type: 'actions', product_id: 'prod_abc', session_id: 'ps_abc123', count: 3 })
      expect(warnings).to.deep.equal(['Declared count 5 does not match the 1 actions received; count set to 1'])
    })
  })

  describe('requests', () => {
    it('sends Accept, the Bearer token and extra headers; ours win over the user\'s', async () => {
      const server = await startServer((req, res) => {
        if (req.headers.authorization !== `Bearer ${TOKEN}`) {
          res.writeHead(401).end()
          return
        }
        openSse(res)
        res.write(frame('authorised'))
      })
      const { result } = run({
        url: server.url,
        headers: { 'X-Trace': 'abc', Authorization: 'Bearer wrong', Accept: 'text/html', 'Last-Event-ID': 'forged' },
      }, 1)
      expect(await result).to.deep.equal([summary('authorised')])
      const headers = server.requests[0]!.headers
      expect([headers.accept, headers.authorization, headers['x-trace'], headers['last-event-id'], headers['cache-control']])
        .to.deep.equal(['text/event-stream', `Bearer ${TOKEN}`, 'abc', undefined, 'no-cache'])
    })

    it('is cold: each subscription opens its own connection', async () => {
      const server = await startServer((_req, res, index) => {
        openSse(res)
        res.write(frame(`for subscriber ${index}`))
      })
      const [a, b] = await Promise.all([run({ url: server.url }, 1).result, run({ url: server.url }, 1).result])
      expect([a, b].flat().map((p) => (p as SummaryPayload).summary).sort()).to.deep.equal(['for subscriber 0', 'for subscriber 1'])
      expect(server.requests).to.have.length(2)
    })
  })

  describe('reconnecting', () => {
    it('drops a frame cut by a lost connection and resumes with the next (no ids)', async () => {
      const server = await startServer(async (_req, res, index) => {
        openSse(res)
        if (index === 0) {
          await write(res, frame('one'))
          await write(res, frame('two').slice(0, 25))
          await sleep(20)
          res.socket!.destroy()
        } else {
          res.write(frame('three'))
        }
      })
      const { result, events } = run({ url: server.url }, 2)
      expect(await result).to.deep.equal([summary('one'), summary('three')])
      expect(server.requests.map((r) => r.headers['last-event-id'])).to.deep.equal([undefined, undefined])
      expect(events.map(show)).to.deep.equal([
        'Connecting retry=0 lastEventId=null', 'Connected retry=0 200',
        'Disconnected NetworkError', 'Retrying retry=1 in 10',
        'Connecting retry=1 lastEventId=null', 'Connected retry=1 200',
      ])
    })

    it('resumes from Last-Event-ID: the cut frame comes again, whole, and nothing twice', async () => {
      const log = ['one', 'two', 'three', 'four']
      const server = await startServer(async (req, res, index) => {
        openSse(res)
        const from = req.headers['last-event-id'] === undefined ? 0 : Number(req.headers['last-event-id'])
        if (index === 0) {
          await write(res, frame(log[0]!, '1') + frame(log[1]!, '2') + frame(log[2]!, '3').slice(0, 30))
          await sleep(20)
          res.end() // a clean end, mid-frame
        } else {
          for (let id = from + 1; id <= log.length; id++) res.write(frame(log[id - 1]!, String(id)))
        }
      })
      const { result, events } = run({ url: server.url }, 4)
      expect(await result).to.deep.equal(log.map(summary))
      expect(server.requests.map((r) => r.headers['last-event-id'])).to.deep.equal([undefined, '2'])
      expect(events.map(show)).to.deep.equal([
        'Connecting retry=0 lastEventId=null', 'Connected retry=0 200',
        'Disconnected StreamEnded', 'Retrying retry=1 in 10',
        'Connecting retry=1 lastEventId=2', 'Connected retry=1 200',
      ])
    })

    it('keeps the last id across frames without one, forgets it on an empty id, and counts heartbeat ids', async () => {
      const server = await startServer((_req, res, index) => {
        openSse(res)
        if (index === 0) res.end(frame('a', '10') + frame('b') + 'event: heartbeat\nid: 11\ndata: {}\n\n')
        else if (index === 1) res.end(frame('c', ''))
        else res.write(frame('d'))
      })
      const { result } = run({ url: server.url }, 4)
      expect(await result).to.deep.equal(['a', 'b', 'c', 'd'].map(summary))
      expect(server.requests.map((r) => r.headers['last-event-id'])).to.deep.equal([undefined, '11', undefined])
    })

    it('retries a 500, then connects', async () => {
      const server = await startServer((_req, res, index) => {
        if (index === 0) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end('boom')
          return
        }
        openSse(res)
        res.write(frame('after the 500'))
      })
      const { result, events } = run({ url: server.url }, 1)
      expect(await result).to.deep.equal([summary('after the 500')])
      expect(events.map(show)).to.deep.equal([
        'Connecting retry=0 lastEventId=null', 'Disconnected HttpStatus 500', 'Retrying retry=1 in 10',
        'Connecting retry=1 lastEventId=null', 'Connected retry=1 200',
      ])
    })

    it('retries a 2xx that is not an event stream', async () => {
      const server = await startServer((_req, res, index) => {
        if (index === 0) {
          res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>proxy</h1>')
          return
        }
        openSse(res)
        res.write(frame('real stream'))
      })
      const { result, events } = run({ url: server.url }, 1)
      expect(await result).to.deep.equal([summary('real stream')])
      const reason = events.find((e) => e._tag === 'Disconnected')
      expect(reason?._tag === 'Disconnected' && reason.reason).to.deep.include({ _tag: 'UnexpectedContentType', contentType: 'text/html' })
    })

    const hints: Record<number, string> = {
      401: 'check the token (missing, mistyped, expired or revoked)',
      403: "check the token's rights: it is not allowed this product's stream",
      404: 'check the URL and the product id in it',
    }
    for (const status of [401, 403, 404]) {
      it(`errors at once on HTTP ${status}, with a typed error carrying the body and what to check, and never retries`, async () => {
        const server = await startServer((_req, res) => { res.writeHead(status, { 'content-type': 'application/json' }).end('{"error":"nope"}\n') })
        const { result, events } = run({ url: server.url, initialBackoffMs: 0 }, 1)
        const error = await failure(result)
        expect(error).to.be.instanceOf(FatalStatusError).and.instanceOf(ConnectorStreamError)
        const fatal = error as FatalStatusError
        expect([fatal._tag, fatal.status, fatal.retry, fatal.url, fatal.body]).to.deep.equal(['FatalStatus', status, 0, server.url, '{"error":"nope"}'])
        expect(fatal.message).to.equal(`SSE stream ${server.url} refused with HTTP ${status}; not retried: ${hints[status]}; it said "{\\"error\\":\\"nope\\"}"`)
        await sleep(50)
        expect(server.requests).to.have.length(1)
        expect(events.map(show)).to.deep.equal(['Connecting retry=0 lastEventId=null', `Disconnected HttpStatus ${status}`])
      })
    }

    it('errors on a fatal status whose body stalls, within a second, with the bytes that came, not a retry', async () => {
      const server = await startServer((_req, res) => { res.writeHead(401).write('token expi') })
      const started = performance.now()
      const { result, events } = run({ url: server.url, connectTimeoutMs: 300 }, 1, 5000)
      const fatal = (await failure(result)) as FatalStatusError
      expect(performance.now() - started).to.be.within(900, 2000)
      expect([fatal._tag, fatal.status, fatal.body]).to.deep.equal(['FatalStatus', 401, 'token expi'])
      expect(events.map(show)).to.deep.equal(['Connecting retry=0 lastEventId=null', 'Disconnected HttpStatus 401'])
      await server.requests[0]!.closed
    })

    it('errors with a typed error once maxRetries reconnections in a row failed', async () => {
      const server = await startServer((_req, res) => { res.writeHead(503).end() })
      const { result, events } = run({ url: server.url, maxRetries: 2, initialBackoffMs: 1 }, 1)
      const error = await failure(result)
      expect(error).to.be.instanceOf(RetriesExhaustedError)
      const exhausted = error as RetriesExhaustedError
      expect([exhausted._tag, exhausted.retries, exhausted.lastReason._tag]).to.deep.equal(['RetriesExhausted', 2, 'HttpStatus'])
      expect(exhausted.message).to.equal(`SSE stream ${server.url}: gave up after 2 retries; last: The server answered HTTP 503`)
      expect(server.requests).to.have.length(3)
      expect(events.map(show)).to.deep.equal([
        'Connecting retry=0 lastEventId=null', 'Disconnected HttpStatus 503', 'Retrying retry=1 in 1',
        'Connecting retry=1 lastEventId=null', 'Disconnected HttpStatus 503', 'Retrying retry=2 in 2',
        'Connecting retry=2 lastEventId=null', 'Disconnected HttpStatus 503',
      ])
    })

    it('retries a refused connection as a network error', async () => {
      const server = await startServer(() => {})
      const url = server.url
      await server.close() // the port is now closed: connections are refused
      const { result, events } = run({ url, maxRetries: 1, initialBackoffMs: 1 }, 1)
      const error = (await failure(result)) as RetriesExhaustedError
      expect(error.lastReason._tag).to.equal('NetworkError')
      expect(error.lastReason.message).to.match(/ECONNREFUSED/)
      expect(events.map(show)).to.deep.equal([
        'Connecting retry=0 lastEventId=null', 'Disconnected NetworkError', 'Retrying retry=1 in 1',
        'Connecting retry=1 lastEventId=null', 'Disconnected NetworkError',
      ])
    })

    it('retries a fetch option that throws, or returns no promise or no response, as a network error, then connects', async () => {
      const server = await startServer((_req, res) => { openSse(res); res.write(frame('after a broken fetch')) })
      const broken: Array<() => unknown> = [() => { throw new Error('proxy misconfigured') }, () => undefined, () => 42, async () => ({ ok: true })]
      let calls = 0
      const flaky: FetchFunction = (url, init) => (calls < broken.length ? broken[calls++]!() as ReturnType<FetchFunction> : fetch(url, init))
      const { result, events } = run({ url: server.url, fetch: flaky, initialBackoffMs: 1 }, 1)
      expect(await result).to.deep.equal([summary('after a broken fetch')])
      const reasons = events.flatMap((e) => (e._tag === 'Disconnected' ? [e.reason] : []))
      expect(reasons.map((r) => r._tag)).to.deep.equal(['NetworkError', 'NetworkError', 'NetworkError', 'NetworkError'])
      expect(reasons[0]!.message).to.equal('Network error: proxy misconfigured')
      expect(reasons[3]!.message).to.match(/not a response/)
      expect(events.filter((e) => e._tag === 'Connected')).to.have.length(1)
    })

    it('reconnects a stream that stalls, while heartbeats and comments keep a live one open', async () => {
      const server = await startServer(async (_req, res, index) => {
        openSse(res)
        if (index === 0) {
          // 300 ms of keep-alives, each well within the 400 ms watchdog (8 times the gap: a loaded machine), then silence.
          for (let i = 0; i < 6; i++) {
            await write(res, i % 2 === 0 ? 'event: heartbeat\ndata: {}\n\n' : ': ping\n\n')
            await sleep(50)
          }
          await write(res, frame('before the stall'))
        } else {
          res.write(frame('after the stall'))
        }
      })
      const { result, events } = run({ url: server.url, stallTimeoutMs: 400 }, 2)
      expect(await result).to.deep.equal([summary('before the stall'), summary('after the stall')])
      expect(events.map(show)).to.deep.equal([
        'Connecting retry=0 lastEventId=null', 'Connected retry=0 200',
        'Disconnected Stalled', 'Retrying retry=1 in 10',
        'Connecting retry=1 lastEventId=null', 'Connected retry=1 200',
      ])
      const gap = server.requests[1]!.at - server.requests[0]!.at
      expect(gap).to.be.within(300 + 400, 300 + 400 + 600)
      await server.requests[0]!.closed // the stalled socket was closed, not left open
    })

    it('reads a stalled fatal body for half stallTimeoutMs when that is under a second, so the stall never wins', async () => {
      const server = await startServer((_req, res) => { res.writeHead(404).write('no such product') })
      const started = performance.now()
      const { result, events } = run({ url: server.url, stallTimeoutMs: 200 }, 1)
      const fatal = (await failure(result)) as FatalStatusError
      expect(performance.now() - started).to.be.within(90, 600) // well under the 1 s bound
      expect([fatal._tag, fatal.status, fatal.body]).to.deep.equal(['FatalStatus', 404, 'no such product'])
      expect(events.map(show)).to.deep.equal(['Connecting retry=0 lastEventId=null', 'Disconnected HttpStatus 404'])
    })

    it('keeps a quiet stream open while heartbeats without data:, blank lines and field lines arrive', async () => {
      const lines = ['event: heartbeat\n\n', '\n', 'event: heartbeat\n', 'id: 3\n']
      const server = await startServer(async (_req, res) => {
        openSse(res)
        // 400 ms of lines, each well within the 150 ms watchdog, none of them a payload.
        for (let i = 0; i < 10; i++) {
          await write(res, lines[i % lines.length]!)
          await sleep(40)
        }
        await write(res, frame('after the quiet'))
      })
      const { result, events } = run({ url: server.url, stallTimeoutMs: 150 }, 1)
      expect(await result).to.deep.equal([summary('after the quiet')])
      expect(events.map(show)).to.deep.equal(['Connecting retry=0 lastEventId=null', 'Connected retry=0 200'])
      expect(server.requests).to.have.length(1)
    })

    it('gives up on a server that sends no response headers within connectTimeoutMs', async () => {
      const server = await startServer((_req, res, index) => {
        if (index === 0) return // never answers
        openSse(res)
        res.write(frame('answered'))
      })
      const { result, events } = run({ url: server.url, connectTimeoutMs: 100 }, 1)
      expect(await result).to.deep.equal([summary('answered')])
      expect(events.map(show).slice(0, 3)).to.deep.equal([
        'Connecting retry=0 lastEventId=null', 'Disconnected ConnectTimeout', 'Retrying retry=1 in 10',
      ])
      await server.requests[0]!.closed
    })

    it('doubles the delay up to the cap, with jitter, and resets it after a successful connect', async () => {
      const server = await startServer((_req, res, index) => {
        if (index < 3) {
          res.writeHead(500).end()
          return
        }
        openSse(res)
        if (index === 3) res.end(frame('first'))
        else res.write(frame('second'))
      })
      const { result, events } = run({ url: server.url, initialBackoffMs: 40, maxBackoffMs: 100, random: () => 0.5 }, 2)
      expect(await result).to.deep.equal([summary('first'), summary('second')])
      expect(events.map(show)).to.deep.equal([
        'Connecting retry=0 lastEventId=null', 'Disconnected HttpStatus 500', 'Retrying retry=1 in 42',
        'Connecting retry=1 lastEventId=null', 'Disconnected HttpStatus 500', 'Retrying retry=2 in 84',
        'Connecting retry=2 lastEventId=null', 'Disconnected HttpStatus 500', 'Retrying retry=3 in 105',
        'Connecting retry=3 lastEventId=null', 'Connected retry=3 200',
        'Disconnected StreamEnded', 'Retrying retry=1 in 42',
        'Connecting retry=1 lastEventId=null', 'Connected retry=1 200',
      ])
      const at = server.requests.map((r) => r.at)
      const gaps = at.slice(1).map((t, i) => t - at[i]!)
      const delays = [42, 84, 105, 42]
      gaps.forEach((gap, i) => expect(gap, `gap ${i}`).to.be.within(delays[i]! - 1, delays[i]! + 150))
    })

    it('honours the server\'s retry: field as the base delay', async () => {
      const server = await startServer((_req, res, index) => {
        openSse(res)
        if (index === 0) res.end(`retry: 30\n\n${frame('one')}`)
        else res.write(frame('two'))
      })
      const { result, events } = run({ url: server.url, initialBackoffMs: 60_000 }, 2)
      expect(await result).to.deep.equal([summary('one'), summary('two')])
      expect(events.map(show)).to.include('Retrying retry=1 in 30')
      const gap = server.requests[1]!.at - server.requests[0]!.at
      expect(gap).to.be.within(29, 30 + 300)
    })
  })

  describe('unsubscribing', () => {
    it('closes the server-side socket at once, and says nothing more', async () => {
      const server = await startServer((_req, res) => {
        openSse(res)
        res.write(frame('only'))
      })
      const events: ConnectionEvent[] = []
      const received = new Subject<void>()
      const subscription = connectorStream({ url: server.url, token: TOKEN, events: (e) => { if (e._tag !== 'FrameRejected') events.push(e) } })
        .subscribe(() => received.next())
      await firstValueFrom(received.pipe(timeout(2000)))
      subscription.unsubscribe()
      const outcome = await Promise.race([server.requests[0]!.closed.then(() => 'closed'), sleep(1000).then(() => 'still open')])
      expect(outcome).to.equal('closed')
      await sleep(30)
      expect(events.map(show)).to.deep.equal(['Connecting retry=0 lastEventId=null', 'Connected retry=0 200'])
    })

    it('aborts a request still waiting for its response', async () => {
      const server = await startServer(() => {}) // never answers
      const subscription = connectorStream({ url: server.url, token: TOKEN }).subscribe()
      while (server.requests.length === 0) await sleep(5)
      subscription.unsubscribe()
      const outcome = await Promise.race([server.requests[0]!.closed.then(() => 'closed'), sleep(1000).then(() => 'still open')])
      expect(outcome).to.equal('closed')
    })

    it('cancels a pending retry: no further request', async () => {
      const server = await startServer((_req, res) => { res.writeHead(500).end() })
      const retrying = new Subject<void>()
      const subscription = connectorStream({
        url: server.url, token: TOKEN, initialBackoffMs: 50,
        events: (e) => { if (e._tag === 'Retrying') retrying.next() },
      }).subscribe()
      await firstValueFrom(retrying.pipe(timeout(2000)))
      subscription.unsubscribe()
      await sleep(120)
      expect(server.requests).to.have.length(1)
    })

    it('aborts the request and clears its timer in every phase, so that the process can exit', async function () {
      this.timeout(8000)
      // A child process, so that only the stream's timers can show (mocha, undici and node:http
      // keep timers of their own), with the default 10 s connect and 90 s stall timeouts and a
      // 60 s retry delay: any one of them left behind would hold the child past the deadline.
      const { stdout, elapsed } = await runChild(5000, `
        import { connectorStream } from ${JSON.stringify(sourceModule('sse/connectorStream.ts'))}
        const timers = () => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length
        const report = []
        for (const phase of ['response', 'stream', 'retry']) {
          const signals = []
          let reach
          const reached = new Promise((resolve) => { reach = resolve })
          const fetch = (_url, init) => {
            signals.push(init.signal)
            const aborted = new Promise((_resolve, reject) => init.signal.addEventListener('abort', () => reject(new Error('aborted'))))
            aborted.catch(() => {})
            if (phase === 'response') { reach(); return aborted }
            return Promise.resolve({
              status: phase === 'stream' ? 200 : 503,
              headers: { get: () => 'text/event-stream' },
              body: (async function* () { yield new TextEncoder().encode('data: {"type":"summary"}\\n\\n'); await aborted })(),
            })
          }
          const subscription = connectorStream({
            url: 'http://connector.test/stream/p', token: 't', fetch, initialBackoffMs: 60000,
            events: (e) => { if (e._tag === 'Retrying') reach() },
          }).subscribe(() => reach())
          await reached
          const during = timers()
          subscription.unsubscribe()
          report.push({ phase, during, after: timers(), aborted: signals.map((signal) => signal.aborted) })
        }
        console.log(JSON.stringify(report))
      `)
      expect(JSON.parse(stdout)).to.deep.equal([
        { phase: 'response', during: 1, after: 0, aborted: [true] },
        // While streaming, the stall watchdog and the timer that declares the connection stable.
        { phase: 'stream', during: 2, after: 0, aborted: [true] },
        { phase: 'retry', during: 1, after: 0, aborted: [true] },
      ])
      expect(elapsed).to.be.below(5000)
    })

    it('stops within the chunk when the consumer takes what it needs', async () => {
      const server = await startServer((_req, res) => {
        openSse(res)
        res.write(frame('a') + frame('b') + 'data: {bad\n\n' + frame('c'))
      })
      const { result, rejections } = run({ url: server.url }, 2)
      expect(await result).to.deep.equal([summary('a'), summary('b')])
      await server.requests[0]!.closed
      expect(rejections).to.deep.equal([])
    })
  })

  describe('composition', () => {
    it('merges the push receiver and the SSE stream, as in docs/sse.md', async () => {
      const secret = readFileSync(new URL('SECRET.txt', fixtures), 'utf8').trim()
      const server = await startServer((_req, res) => {
        openSse(res)
        res.write(`data: ${fixture('summary.json')}\n\n`)
      })
      const events$ = new Subject<ConnectorStreamEvent>()
      const tags: string[] = []
      events$.subscribe((event) => tags.push(event._tag))

      const receiver = new WebhookReceiver({ secret, logger: silentLogger })
      const both = firstValueFrom(
        merge(receiver.payloads$, connectorStream({ url: server.url, token: TOKEN, events: (e) => events$.next(e) })).pipe(take(2), toArray(), timeout(3000)),
      )
      const body = readFileSync(new URL('actions-small.json', fixtures))
      expect(receiver.ingest(body, sign(body, secret))._tag).to.equal('Right')
      const payloads = await both
      expect(payloads.map((p) => [p.type, p.session_id])).to.deep.equal([['actions', 'ps_abc123'], ['summary', 'ps_abc123']])
      expect(tags).to.deep.equal(['Connecting', 'Connected'])
    })
  })
})
