/**
 * One server of the HTTP benchmark, in its own process so the load
 * generator never shares its event loop: `node --import tsx bench/http-server.ts KIND`.
 * Prints the port once listening; every kind counts what it delivered and
 * reports its CPU time (the redis kind adds redis-server's, which it started
 * and which therefore runs on the same pinned core).
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { getRequestListener } from '@hono/node-server'
import { Webhooks, createNodeMiddleware as octokitMiddleware } from '@octokit/webhooks'
import Fastify from 'fastify'
import { mergeMap } from 'rxjs'
import { WebhookReceiver, silentLogger } from '../dist/esm/index.js'
import { createNodeMiddleware } from '../dist/esm/adapters/node.js'
import { createFastifyPlugin } from '../dist/esm/adapters/fastify.js'
import { createFetchHandler } from '../dist/esm/adapters/web.js'
import { otelTelemetry } from '../dist/esm/otel/index.js'
import type { Telemetry } from '../dist/esm/index.js'
import { registerMeterProvider } from './otel.js'
import { connect, startRedis } from '../spec/helpers/redis.js'
import { noTimer, workByHand } from './byHand.js'

const secret = process.env.BENCH_SECRET ?? 'whsec_test_5f1c0ffee'
let delivered = 0
/** CPU time outside this process that serving costs, in µs (redis-server's). */
let otherCpu: () => Promise<number> = async () => 0
/** Deliveries a worker took out of Redis and acknowledged (redis kind). */
let worked = 0
const cleanups: Array<() => Promise<unknown>> = []

function counted(telemetry?: Telemetry): WebhookReceiver {
  const receiver = new WebhookReceiver({ secret, logger: silentLogger, telemetry })
  receiver.payloads$.subscribe(() => { delivered++ })
  return receiver
}

function readAll(req: IncomingMessage, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))
}

const ok = (res: ServerResponse, status = 200, body = '{"status":"ok"}') => {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

/** The library's parts a Redis server uses: this build's, or BENCH_BASE's. */
interface Lib {
  readonly redis: typeof import('../dist/esm/redis/index.js')
  readonly node: { createNodeMiddleware: typeof createNodeMiddleware }
  readonly main: { WebhookReceiver: typeof WebhookReceiver }
}
const lib: Lib = { redis: await import('../dist/esm/redis/index.js'), node: { createNodeMiddleware }, main: { WebhookReceiver } }

/** A redis-server of the kind's own, its CPU counted as the kind's (INFO cpu). */
async function ownRedis() {
  const redis = await startRedis()
  cleanups.push(() => redis.stop())
  const writer = await connect(redis.url)
  otherCpu = async () => {
    const info = String(await writer.info('cpu'))
    const seconds = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN)
    return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6
  }
  return { url: redis.url, writer }
}

/** The node adapter persisting to a redis-server of its own (its CPU counted too), with a worker or without. */
async function redisServer({ redis: from, node, main }: Lib, withWorker: boolean): Promise<RequestListener> {
  const { url, writer } = await ownRedis()
  // Trimmed so that minutes of 19 KB deliveries stay a few hundred MB at most.
  const append = from.redisAppender(writer, { stream: 'bench:events', maxLen: 10_000, logger: silentLogger })
  const receiver = new main.WebhookReceiver({ secret, logger: silentLogger })
  if (withWorker) {
    const reader = await connect(url)
    from.fromRedisStream(reader, { stream: 'bench:events', group: 'bench', consumer: 'w1', batchSize: Number(process.env.BENCH_BATCH ?? 200), blockMs: 100, maxInFlight: 1000, logger: silentLogger })
      .pipe(mergeMap(async (d) => { await d.ack(); worked++ }, 64))
      .subscribe()
  }
  return node.createNodeMiddleware(receiver, { persist: async (payload, body) => { await append(payload, body); delivered++ } }) as unknown as RequestListener
}

/**
 * The least a durable path can do, by hand: the floor's checks, one XADD of the raw body (trimmed as the appender
 * trims), and with a worker one XREADGROUP of up to 200, JSON.parse of each, one XACK per read: what the targets of
 * persist and redis-path can be held against.
 */
async function redisFloor(withWorker: boolean): Promise<RequestListener> {
  const { url, writer } = await ownRedis()
  const stream = 'bench:events'
  if (withWorker) {
    const reader = await connect(url)
    await reader.sendCommand(['XGROUP', 'CREATE', stream, 'bench', '$', 'MKSTREAM'])
    // The server stopping ends the loop.
    workByHand(reader, stream, 'bench', () => false, (n) => { worked += n }).catch(() => undefined)
  }
  return floorHandler(async (body) => {
    await writer.sendCommand(['XADD', stream, 'MAXLEN', '~', '10000', '*', 'body', body], noTimer)
  })
}

/** The last payload a floor handed on: what keeps each alive as long as a real receiver or worker would. */
let seen: unknown
/**
 * HMAC over the raw bytes, constant-time compare, JSON.parse; then `then` (the floor's own: nothing more). A payload
 * waiting for `then` is kept until it ends, as the adapters keep it to emit once stored.
 */
function floorHandler(then: (body: Buffer) => Promise<void> | void): RequestListener {
  return (req, res) => readAll(req, (body) => {
    const expected = Buffer.from('sha256=' + createHmac('sha256', secret).update(body).digest('hex'))
    const given = Buffer.from(String(req.headers['x-connector-signature'] ?? ''))
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return ok(res, 401, '{"status":"error"}')
    let payload: unknown
    try { payload = JSON.parse(body.toString('utf8')) } catch { return ok(res, 400, '{"status":"error"}') }
    const done = then(body)
    if (!done) { delivered++; return ok(res) }
    done.then(() => { seen = payload; delivered++; ok(res) }, () => ok(res, 503, '{"status":"error"}'))
  })
}

const handlers: Record<string, () => RequestListener | Promise<RequestListener>> = {
  /** Reads the body and answers 200: the ceiling of node:http itself. */
  bare: () => (req, res) => readAll(req, () => { delivered++; ok(res) }),
  /** The floor of a correct receiver: HMAC over the raw bytes, constant-time compare, JSON.parse. */
  floor: () => floorHandler(() => undefined),
  /** The node adapter: verify, decode with the codecs, emit to a subscriber. */
  'node-adapter': () => createNodeMiddleware(counted()) as unknown as RequestListener,
  /** The same with telemetry on: `otelTelemetry()` over a global sdk-metrics MeterProvider (no TracerProvider). */
  'node-adapter-otel': () => {
    const provider = registerMeterProvider()
    cleanups.push(() => provider.shutdown())
    return createNodeMiddleware(counted(otelTelemetry())) as unknown as RequestListener
  },
  /** The Fastify plugin, on Fastify's own request handling (its server factory hands us the listener). */
  'fastify-adapter': async () => {
    let listener: RequestListener | undefined
    const app = Fastify({ serverFactory: (handler) => { listener = handler; return createServer() } })
    await app.register(createFastifyPlugin, { receiver: counted(), path: '/' })
    await app.ready()
    cleanups.push(() => app.close())
    return listener!
  },
  /** The fetch handler under Node, as @hono/node-server runs any fetch handler. */
  'fetch-adapter': () => getRequestListener(createFetchHandler(counted())),
  /**
   * The node adapter answering once Redis stored the delivery (XADD), and a
   * worker in the same process reading it back through a consumer group and
   * acknowledging it: the durable path end to end.
   */
  'redis-path': () => redisServer(lib, true),
  /** The receiving half alone: the node adapter with `persist: redisAppender(…)`, no worker in the process. */
  persist: () => redisServer(lib, false),
  /** Both by hand, for what any code on this client and this redis-server costs at least. */
  'persist-floor': () => redisFloor(false),
  'redis-path-floor': () => redisFloor(true),
  /** receiver.ingest inside a hand-written handler: what the adapter adds is the difference to node-adapter. */
  'ingest-in-handler': () => {
    const receiver = counted()
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

// BENCH_BASE=<another build's dist/esm>: the same adapters from that build, for a before/after in one run.
const baseDir = process.env.BENCH_BASE
if (baseDir !== undefined) {
  const from = (path: string) => import(join(baseDir, path))
  const [main, node, fastify, web, redis] = await Promise.all(
    ['index.js', 'adapters/node.js', 'adapters/fastify.js', 'adapters/web.js', 'redis/index.js'].map(from))
  const receiver = () => {
    const made = new main.WebhookReceiver({ secret, logger: main.silentLogger }) as WebhookReceiver
    made.payloads$.subscribe(() => { delivered++ })
    return made
  }
  handlers['node-adapter-base'] = () => node.createNodeMiddleware(receiver()) as RequestListener
  const baseLib = { redis, node, main } as Lib
  handlers['redis-path-base'] = () => redisServer(baseLib, true)
  handlers['persist-base'] = () => redisServer(baseLib, false)
  handlers['fetch-adapter-base'] = () => getRequestListener(web.createFetchHandler(receiver()))
  handlers['fastify-adapter-base'] = async () => {
    let listener: RequestListener | undefined
    const app = Fastify({ serverFactory: (handler) => { listener = handler; return createServer() } })
    await app.register(fastify.createFastifyPlugin, { receiver: receiver(), path: '/' })
    await app.ready()
    cleanups.push(() => app.close())
    return listener!
  }
}

const kind = process.argv[2] ?? ''
const make = handlers[kind]
if (!make) {
  console.error(`usage: http-server.ts ${Object.keys(handlers).join('|')}`)
  process.exit(2)
}
const server = createServer(await make())
server.keepAliveTimeout = 30_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`)
})
process.on('message', (message) => {
  if (message !== 'count') return
  const own = process.cpuUsage()
  void otherCpu().then((other) => process.send?.({ delivered, worked, cpuUs: own.user + own.system + other, otherCpuUs: other }))
})
// The parent gone (killed, crashed) must not leave a redis-server behind.
const stop = () => { server.closeAllConnections(); server.close(() => void Promise.allSettled(cleanups.map((c) => c())).then(() => process.exit(0))) }
process.on('SIGTERM', stop)
process.on('disconnect', stop)
