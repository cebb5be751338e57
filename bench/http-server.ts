/**
 * One server of the HTTP benchmark, in its own process so the load
 * generator never shares its event loop: `node --import tsx bench/http-server.ts KIND`.
 * Prints the port once listening; every kind counts what it delivered.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhooks, createNodeMiddleware as octokitMiddleware } from '@octokit/webhooks'
import { WebhookReceiver, silentLogger } from '../dist/esm/index.js'
import { createNodeMiddleware } from '../dist/esm/adapters/node.js'

const secret = process.env.BENCH_SECRET ?? 'whsec_test_5f1c0ffee'
let delivered = 0

function readAll(req: IncomingMessage, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))
}

const ok = (res: ServerResponse, status = 200, body = '{"status":"ok"}') => {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

const handlers: Record<string, () => RequestListener> = {
  /** Reads the body and answers 200: the ceiling of node:http itself. */
  bare: () => (req, res) => readAll(req, () => { delivered++; ok(res) }),
  /** The floor of a correct receiver: HMAC over the raw bytes, constant-time compare, JSON.parse. */
  floor: () => (req, res) => readAll(req, (body) => {
    const expected = Buffer.from('sha256=' + createHmac('sha256', secret).update(body).digest('hex'))
    const given = Buffer.from(String(req.headers['x-connector-signature'] ?? ''))
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return ok(res, 401, '{"status":"error"}')
    try { JSON.parse(body.toString('utf8')) } catch { return ok(res, 400, '{"status":"error"}') }
    delivered++
    ok(res)
  }),
  /** autoplay-rx: verify, decode with the codecs, emit to a subscriber. */
  'autoplay-rx': () => {
    const receiver = new WebhookReceiver({ secret, logger: silentLogger })
    receiver.payloads$.subscribe(() => { delivered++ })
    return createNodeMiddleware(receiver) as unknown as RequestListener
  },
  /** receiver.ingest inside a hand-written handler: what the adapter adds is the difference to autoplay-rx. */
  'ingest-in-handler': () => {
    const receiver = new WebhookReceiver({ secret, logger: silentLogger })
    receiver.payloads$.subscribe(() => { delivered++ })
    return (req, res) => readAll(req, (body) => {
      const result = receiver.ingest(body, req.headers['x-connector-signature'] as string | undefined)
      if (result._tag === 'Left') return ok(res, 400, '{"status":"error"}')
      ok(res)
    })
  },
  /** @octokit/webhooks: the same HMAC scheme under GitHub's header names. */
  octokit: () => {
    const webhooks = new Webhooks({ secret })
    webhooks.on('push', () => { delivered++ })
    const middleware = octokitMiddleware(webhooks, { path: '/', log: { debug() {}, info() {}, warn() {}, error() {} } })
    return (req, res) => { void middleware(req, res) }
  },
}

const kind = process.argv[2] ?? ''
const make = handlers[kind]
if (!make) {
  console.error(`usage: http-server.ts ${Object.keys(handlers).join('|')}`)
  process.exit(2)
}
const server = createServer(make())
server.keepAliveTimeout = 30_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`)
})
process.on('message', (message) => {
  if (message === 'count') process.send?.({ delivered, cpu: process.cpuUsage() })
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
