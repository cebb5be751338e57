/**
 * Faults against real servers on 127.0.0.1: failing callbacks and consumer
 * pipelines, hanging callbacks, clients that abort, slow-loris clients,
 * oversized bodies, and an SSE server that keeps dropping the connection.
 * After each: no uncaught exception or unhandled rejection, the streams
 * still flow, and every accepted delivery reached the streams exactly once.
 *
 * What "a subscriber that throws" means here. RxJS 7 reports an error thrown
 * by a plain subscriber's `next` asynchronously, as an uncaught exception (a
 * crash in Node) unless `config.onUnhandledError` is patched, which this
 * library never does (STYLE.md: no global state). The receiver's streams are
 * unaffected (other subscribers still get every value; a spec below
 * shows it in a child process), but the consumer's process is not. So a
 * consumer's failing work belongs inside its pipeline, as an error
 * notification, where RxJS's own operators contain it: `catchError` per
 * item (the failing item goes to a dead letter, nothing is lost) or `retry()`
 * around the pipeline (the failing item is dropped from that pipeline, later
 * ones flow). Callbacks (`onActions`, `onSummary`) are the receiver's own
 * subscriptions, and it fences them: they may throw or reject freely.
 */
import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { Agent, createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { catchError, defer, EMPTY, firstValueFrom, mergeMap, of, retry, take, tap, timeout, toArray } from 'rxjs'
import { WebhookReceiver, connectorStream, sign, silentLogger, type IngestError, type Payload, type SummaryPayload } from '../../src/index.js'
import { type ConnectionEvent } from '../../src/sse/lifecycle.js'
import type { AdapterOptions } from '../../src/adapters/options.js'
import { createNodeMiddleware } from '../../src/adapters/node.js'
import { recordingLogger, SECRET } from '../helpers/fixtures.js'
import { send, sleep } from '../helpers/http.js'
import { ADAPTERS, watchProcessFaults, type Running, type Start } from '../helpers/servers.js'
import { listen } from '../helpers/http.js'

// ---------------------------------------------------------------------------
// Deliveries and a receiver behind a real server.

const summaryBody = (session: string) => JSON.stringify({ type: 'summary', product_id: 'prod_f', session_id: session, summary: `summary of ${session}`, forwarded_at: 1 })
const actionsBody = (session: string) => JSON.stringify({
  type: 'actions', product_id: 'prod_f', session_id: session, forwarded_at: 1,
  actions: [{ index: 0, type: 'click', description: `clicked in ${session}` }],
})
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}_${i}`)

interface Rig {
  readonly receiver: WebhookReceiver
  readonly logger: ReturnType<typeof recordingLogger>
  readonly running: Running
  readonly agent: Agent
  /** Session ids of every payload on payloads$, in order. */
  readonly seen: string[]
  readonly rejected: IngestError[]
  /** POSTs each body, signed, all at once; resolves with the statuses in order. */
  post(bodies: string[]): Promise<number[]>
}

const rigs: Rig[] = []

/** `maxBodyBytes` goes to the receiver, its one owner; the rest to the adapter. */
async function rig(start: Start, { maxBodyBytes, ...options }: AdapterOptions & { maxBodyBytes?: number } = {}, setup: (receiver: WebhookReceiver) => void = () => undefined): Promise<Rig> {
  const logger = recordingLogger()
  const receiver = new WebhookReceiver({ secret: SECRET, logger, ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }) })
  const seen: string[] = []
  const rejected: IngestError[] = []
  receiver.payloads$.subscribe((p) => seen.push(p.session_id ?? ''))
  receiver.rejected$.subscribe((e) => rejected.push(e))
  setup(receiver)
  const running = await start(receiver, options)
  const agent = new Agent({ keepAlive: true, maxSockets: 32 })
  const post = async (bodies: string[]) => (await Promise.all(bodies.map((body) =>
    send(running.url, body, { agent, headers: { 'x-connector-signature': sign(body, SECRET) } })))).map((r) => r.status)
  const made: Rig = { receiver, logger, running, agent, seen, rejected, post }
  rigs.push(made)
  return made
}

/** The streams still flow: 20 fresh deliveries are answered 200 and each reaches payloads$ exactly once. */
async function expectStillFlowing(r: Rig, tag: string): Promise<void> {
  const fresh = ids(`after_${tag}`, 20)
  const before = r.seen.length
  expect(await r.post(fresh.map(summaryBody))).to.deep.equal(fresh.map(() => 200))
  expect(r.seen.slice(before).sort()).to.deep.equal([...fresh].sort())
}

/** Resolves once the server holds no connection (within `ms`): nothing left open by a fault. */
async function expectNoConnections(server: Running['server'], ms = 2000): Promise<void> {
  const until = Date.now() + ms
  let open = -1
  while (Date.now() < until) {
    open = await new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)))
    if (open === 0) return
    await sleep(20)
  }
  expect(open, 'connections still open').to.equal(0)
}

/**
 * A raw client: writes `head` at once, then `trickle` one byte every
 * `intervalMs`, and collects what the server sends until it closes the
 * connection (or `limitMs` passes, which a test then reports).
 */
function rawClient(url: string, head: string, trickle: string, intervalMs: number, limitMs = 5000): Promise<{ text: string; ms: number; closedByServer: boolean }> {
  const { port, hostname } = new URL(url)
  const started = Date.now()
  return new Promise((resolve) => {
    let text = ''
    let sent = 0
    let timer: ReturnType<typeof setInterval> | undefined
    const socket = connect(Number(port), hostname, () => {
      if (head !== '') socket.write(head)
      timer = setInterval(() => { if (sent < trickle.length && socket.writable) socket.write(trickle[sent++]!) }, intervalMs)
    })
    const limit = setTimeout(() => { socket.destroy(); finish(false) }, limitMs)
    const finish = (closedByServer: boolean) => {
      clearInterval(timer)
      clearTimeout(limit)
      resolve({ text, ms: Date.now() - started, closedByServer })
    }
    socket.on('data', (d) => { text += d.toString('latin1') })
    socket.on('close', () => finish(true))
    socket.on('error', () => undefined)
  })
}

let watch: ReturnType<typeof watchProcessFaults>
beforeEach(() => { watch = watchProcessFaults() })
afterEach(async () => {
  for (const r of rigs.splice(0)) { r.agent.destroy(); await r.running.close() }
  await sleep(10) // let any late asynchronous report land inside the watch
  watch.stop()
  expect(watch.faults, 'uncaught exceptions or unhandled rejections').to.deep.equal([])
})

describe('reliability: faults', function () {
  this.timeout(20_000)

  for (const [name, start] of ADAPTERS) {
    describe(name, () => {
      it('onActions throwing on every tenth event: every delivery answered 200 and emitted, 10 failures logged', async () => {
        let calls = 0
        const r = await rig(start, {}, (receiver) => receiver.onActions(() => {
          calls++
          if (calls % 10 === 0) throw new Error(`callback failed on call ${calls}`)
        }))
        const sessions = ids('throw', 100)
        expect(await r.post(sessions.map(actionsBody))).to.deep.equal(sessions.map(() => 200))
        expect([...r.seen].sort()).to.deep.equal([...sessions].sort())
        expect(calls).to.equal(100)
        expect(r.logger.lines.filter((l) => l.level === 'error').map((l) => l.message)).to.deep.equal(Array(10).fill('onActions callback failed'))
        await expectStillFlowing(r, 'throw')
      })

      it('async onSummary rejecting every other time: answered 200 after the callbacks, no unhandled rejection', async () => {
        let calls = 0
        const r = await rig(start, {}, (receiver) => receiver.onSummary(async () => {
          const call = ++calls
          await sleep(1)
          if (call % 2 === 0) throw new Error(`rejected on call ${call}`)
        }))
        const sessions = ids('reject', 60)
        expect(await r.post(sessions.map(summaryBody))).to.deep.equal(sessions.map(() => 200))
        expect(r.seen).to.have.length(60)
        expect(r.logger.lines.filter((l) => l.level === 'error')).to.have.length(30)
        await expectStillFlowing(r, 'reject')
      })

      it('with retryOnCallbackError, exactly the deliveries whose callback failed are answered 500 (the connector retries them)', async () => {
        const r = await rig(start, { retryOnCallbackError: true }, (receiver) => receiver.onSummary(async (p) => {
          await sleep(1)
          if (Number(p.session_id?.split('_')[1]) % 3 === 0) throw new Error('downstream down')
        }))
        const sessions = ids('retry', 60)
        const statuses = await r.post(sessions.map(summaryBody))
        expect(statuses).to.deep.equal(sessions.map((_, i) => (i % 3 === 0 ? 500 : 200)))
        expect(r.seen).to.have.length(60) // emitted all the same: a retry is deduplicated downstream
      })

      it('a callback that hangs: 202 after ackTimeoutMs for each, other deliveries flow, and the work completes later', async () => {
        let release!: () => void
        const gate = new Promise<void>((resolve) => { release = resolve })
        let finished = 0
        const r = await rig(start, { ackTimeoutMs: 50 }, (receiver) => receiver.onActions(async () => { await gate; finished++ }))
        const sessions = ids('hang', 50)
        const started = Date.now()
        const replies = Promise.all(sessions.map((s) => send(r.running.url, actionsBody(s), { agent: r.agent, headers: { 'x-connector-signature': sign(actionsBody(s), SECRET) } })))
        // Meanwhile a summary, which has no hanging callback, is answered at once.
        expect(await r.post([summaryBody('hang_other')])).to.deep.equal([200])
        const answered = await replies
        expect(answered.map((a) => [a.status, a.json.code])).to.deep.equal(sessions.map(() => [202, 'processing']))
        expect(Date.now() - started).to.be.lessThan(3000)
        expect(finished).to.equal(0)
        release()
        await sleep(20)
        expect(finished).to.equal(50)
        expect(r.seen).to.have.length(51)
        expect(r.logger.lines.filter((l) => l.level === 'warn' && l.message === 'Callbacks still running after 50 ms; answered 202')).to.have.length(50)
        await expectStillFlowing(r, 'hang')
      })

      it('200 clients aborting mid-body beside 100 valid deliveries: every valid one delivered once, no connection left open', async () => {
        const r = await rig(start, { bodyTimeoutMs: 2000 })
        const { port, hostname, pathname } = new URL(r.running.url)
        const aborts = Array.from({ length: 200 }, (_, i) => new Promise<void>((resolve) => {
          const socket = connect(Number(port), hostname, () => {
            const body = summaryBody(`abort_${i}`)
            socket.write(`POST ${pathname} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n` +
              `X-Connector-Signature: ${sign(body, SECRET)}\r\n\r\n${body.slice(0, i % body.length)}`)
            setTimeout(() => socket.destroy(), i % 25)
          })
          socket.on('close', () => resolve())
          socket.on('error', () => undefined)
        }))
        const valid = ids('valid', 100)
        const [statuses] = await Promise.all([r.post(valid.map(summaryBody)), Promise.all(aborts)])
        expect(statuses).to.deep.equal(valid.map(() => 200))
        await sleep(50)
        expect([...r.seen].sort()).to.deep.equal([...valid].sort())
        expect(r.rejected).to.deep.equal([]) // a client that went away is not a refused delivery
        r.agent.destroy()
        await expectNoConnections(r.running.server)
        await expectStillFlowing(r, 'abort')
      })

      it('a slow-loris body (one byte per 100 ms) is cut at bodyTimeoutMs with 503, while others are served', async () => {
        const r = await rig(start, { bodyTimeoutMs: 300 })
        const { pathname } = new URL(r.running.url)
        const body = summaryBody('loris')
        const loris = rawClient(r.running.url,
          `POST ${pathname} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nX-Connector-Signature: ${sign(body, SECRET)}\r\n\r\n`,
          body, 100)
        await sleep(50)
        expect(await r.post(ids('beside_loris', 10).map(summaryBody))).to.deep.equal(Array(10).fill(200))
        const { text, ms, closedByServer } = await loris
        expect(text).to.match(/^HTTP\/1\.1 503 /)
        expect(text).to.include('"code":"body_timeout"')
        expect(closedByServer).to.equal(true)
        expect(ms).to.be.within(280, 1500)
        expect(r.seen).to.not.include('loris')
        await expectStillFlowing(r, 'loris')
      })

      it('20 bodies of 4 MiB against a 64 KiB limit, in parallel: 413 each, the rest never read, valid ones delivered', async () => {
        const limit = 64 * 1024
        const r = await rig(start, { maxBodyBytes: limit })
        let bytesRead = 0
        r.running.server.on('connection', (socket) => socket.on('close', () => { bytesRead += socket.bytesRead }))
        const { pathname } = new URL(r.running.url)
        const big = 'x'.repeat(4 * 1024 * 1024)
        const oversized = Array.from({ length: 20 }, (_, i) => new Promise<string>((resolve) => {
          const { port, hostname } = new URL(r.running.url)
          let text = ''
          const socket = connect(Number(port), hostname, () => {
            // Half declare their length (refused before reading), half stream chunked (refused while reading).
            const framing = i % 2 === 0 ? `Content-Length: ${big.length}` : 'Transfer-Encoding: chunked'
            socket.write(`POST ${pathname} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${framing}\r\nX-Connector-Signature: sha256=${'0'.repeat(64)}\r\n\r\n`)
            for (let at = 0; at < big.length && socket.writable; at += 64 * 1024) {
              const piece = big.slice(at, at + 64 * 1024)
              socket.write(i % 2 === 0 ? piece : `${piece.length.toString(16)}\r\n${piece}\r\n`)
            }
          })
          socket.on('data', (d) => { text += d.toString('latin1') })
          socket.on('close', () => resolve(text))
          socket.on('error', () => undefined)
        }))
        const valid = ids('under_limit', 20)
        const [answers, statuses] = await Promise.all([Promise.all(oversized), r.post(valid.map(summaryBody))])
        expect(answers.map((a) => a.slice(0, 12))).to.deep.equal(Array(20).fill('HTTP/1.1 413'))
        expect(answers.every((a) => a.includes('"code":"body_too_large"'))).to.equal(true)
        expect(statuses).to.deep.equal(valid.map(() => 200))
        expect(r.rejected.map((e) => e._tag)).to.deep.equal(Array(20).fill('BodyTooLarge'))
        expect([...r.seen].sort()).to.deep.equal([...valid].sort())
        r.agent.destroy()
        await expectNoConnections(r.running.server)
        // 80 MiB were offered; the server read under a tenth (about 1.6 MiB here) before closing the connections.
        expect(bytesRead).to.be.lessThan(8 * 1024 * 1024)
      })
    })
  }

  describe('node:http server timeouts bound the header and the whole request', () => {
    /** createNodeMiddleware on a node server with small header and request timeouts. */
    async function timedServer(bodyTimeoutMs: number) {
      const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
      const seen: Payload[] = []
      receiver.payloads$.subscribe((p) => seen.push(p))
      const server = createServer({ headersTimeout: 400, requestTimeout: 1000, connectionsCheckingInterval: 50 },
        // minBodyRate 1 B/s: node's own timers are what is measured here (the rate check: spec/adapters/peers.spec.ts).
        createNodeMiddleware(receiver, { path: '/events', bodyTimeoutMs, minBodyRate: 1 }))
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`
      return { url, seen, server, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }) }
    }

    it('headers sent one byte per 100 ms: headersTimeout (400 ms) answers 408 and closes; others are served meanwhile', async () => {
      const s = await timedServer(10_000)
      try {
        const body = summaryBody('header_loris')
        const loris = rawClient(s.url, '', `POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 100)
        await sleep(100)
        const other = summaryBody('beside_header_loris')
        expect((await send(s.url, other, { headers: { 'x-connector-signature': sign(other, SECRET) } })).status).to.equal(200)
        const { text, ms, closedByServer } = await loris
        expect(text).to.equal('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n')
        expect(closedByServer).to.equal(true)
        expect(ms).to.be.within(380, 1500)
        expect(s.seen.map((p) => p.session_id)).to.deep.equal(['beside_header_loris'])
      } finally {
        await s.close()
      }
    })

    it('a body sent one byte per 100 ms with a long bodyTimeoutMs: requestTimeout (1000 ms) answers 408 and closes', async () => {
      const s = await timedServer(60_000)
      try {
        const body = summaryBody('request_loris')
        const { text, ms, closedByServer } = await rawClient(s.url,
          `POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nX-Connector-Signature: ${sign(body, SECRET)}\r\n\r\n`,
          body, 100)
        expect(text).to.equal('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n')
        expect(closedByServer).to.equal(true)
        expect(ms).to.be.within(950, 2500)
        expect(s.seen).to.deep.equal([])
      } finally {
        await s.close()
      }
    })
  })

  describe('consumer pipelines that fail (see the module comment for what RxJS allows)', () => {
    it('a pipeline step throwing on every tenth event: catchError per item dead-letters exactly those, retry() drops only those, a plain subscriber sees all', async () => {
      const processed: string[] = []
      const deadLetters: string[] = []
      const retried: string[] = []
      const plain: string[] = []
      const failsOn = (p: Payload) => Number(p.session_id!.split('_')[1]) % 10 === 9
      const work = (p: Payload) => {
        if (failsOn(p)) throw new Error(`work failed for ${p.session_id}`)
        return p.session_id!
      }
      const r = await rig(ADAPTERS[0]![1], {}, (receiver) => {
        // Per item: the failure is contained to its own inner Observable.
        receiver.actions$.pipe(mergeMap((p) => defer(() => of(work(p))).pipe(catchError(() => { deadLetters.push(p.session_id!); return EMPTY }))))
          .subscribe((id) => processed.push(id))
        // Whole pipeline: the error ends this subscription and retry() subscribes again to the hot stream.
        receiver.actions$.pipe(tap((p) => { if (failsOn(p)) throw new Error('step failed') }), retry())
          .subscribe((p) => retried.push(p.session_id!))
        receiver.actions$.subscribe((p) => plain.push(p.session_id!))
      })
      const sessions = ids('pipe', 100)
      const failing = sessions.filter((_, i) => i % 10 === 9)
      expect(await r.post(sessions.map(actionsBody))).to.deep.equal(sessions.map(() => 200))
      expect(processed.length + deadLetters.length).to.equal(100)
      expect([...deadLetters].sort()).to.deep.equal([...failing].sort())
      expect([...processed, ...deadLetters].sort()).to.deep.equal([...sessions].sort())
      expect([...retried].sort()).to.deep.equal(sessions.filter((s) => !failing.includes(s)).sort())
      expect([...plain].sort()).to.deep.equal([...sessions].sort())
      // Each pipeline keeps going after its failures: pipe_100 … pipe_109, of which pipe_109 fails again.
      const more = Array.from({ length: 10 }, (_, i) => `pipe_${100 + i}`)
      expect(await r.post(more.map(actionsBody))).to.deep.equal(more.map(() => 200))
      expect([processed.length, deadLetters.length, retried.length, plain.length]).to.deep.equal([99, 11, 99, 110])
      expect(deadLetters.at(-1)).to.equal('pipe_109')
    })

    it('a plain subscriber that throws: the delivery is accepted, other subscribers get it, and RxJS reports the error as uncaught (so Node exits 1)', async () => {
      // In a child: an uncaught exception here would be mocha's, not the one under study.
      const source = `
        import { WebhookReceiver, sign, silentLogger } from './src/index.js'
        const receiver = new WebhookReceiver({ secret: 's', logger: silentLogger })
        receiver.payloads$.subscribe(() => { throw new Error('consumer bug') })
        receiver.payloads$.subscribe((p) => console.log('other subscriber got', p.session_id))
        const body = JSON.stringify({ type: 'summary', session_id: 'ps_1' })
        console.log('ingest', receiver.ingest(body, sign(body, 's'))._tag)
      `
      const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source],
          { cwd: fileURLToPath(new URL('../../', import.meta.url)), timeout: 15_000 },
          (error, out, err) => resolve({ code: error ? (error as { code?: number }).code ?? null : 0, stdout: out, stderr: err }))
      })
      expect(stdout).to.equal('other subscriber got ps_1\ningest Right\n')
      expect(code).to.equal(1)
      expect(stderr).to.include('Error: consumer bug')
    })
  })

  describe('SSE: a server that drops the connection every three frames', () => {
    it('with event ids, connectorStream reconnects with Last-Event-ID and loses nothing, twice nothing', async () => {
      const total = 30
      const requests: Array<string | undefined> = []
      const { port, close } = await listen((req: IncomingMessage, res: ServerResponse) => {
        const last = req.headers['last-event-id'] as string | undefined
        requests.push(last)
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
        const from = last === undefined ? 1 : Number(last) + 1
        let out = ''
        for (let id = from; id < from + 3 && id <= total; id++) {
          out += `id: ${id}\ndata: ${summaryBody(`sse_${id}`)}\n\n`
        }
        const next = from + 3
        // Alternate the ways a connection dies: half a frame then a reset, or a clean end between frames.
        if (requests.length % 2 === 1 && next <= total) {
          res.write(out + `id: ${next}\ndata: ${summaryBody(`sse_${next}`).slice(0, 20)}`, () => res.destroy())
        } else if (next <= total) {
          res.end(out)
        } else {
          res.write(out) // the last frames: keep the stream open
        }
      })
      const events: ConnectionEvent[] = []
      try {
        const received = await firstValueFrom(connectorStream({
          url: `http://127.0.0.1:${port}/stream/prod_f`, token: 'tok', initialBackoffMs: 5, minBackoffMs: 5, random: () => 0, logger: silentLogger,
          events: (e) => { if (e._tag !== 'FrameRejected') events.push(e) },
        }).pipe(take(total), toArray(), timeout(8000)))
        expect(received.map((p) => (p as SummaryPayload).session_id)).to.deep.equal(Array.from({ length: total }, (_, i) => `sse_${i + 1}`))
        expect(requests).to.deep.equal([undefined, ...Array.from({ length: 9 }, (_, i) => String(3 * (i + 1)))])
        expect(events.filter((e) => e._tag === 'Disconnected')).to.have.length(9)
      } finally {
        await close()
      }
    })
  })
})
