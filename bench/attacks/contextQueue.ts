/**
 * Issue 22, item 4: `intoContext` while its store is down. A server process (heap capped at 256 MiB): node
 * adapter, `receiver.payloads$.pipe(intoContext(new RedisContextStore(redis)))`, the client as the store's doc
 * comment shows (offline queue on). This process sends ~920 signed 4 KB deliveries/s; after 5 s Redis is
 * SIGKILLed, and the server's backlog (payloads received, not yet out of intoContext) and heap are read at
 * +30 s and +60 s.
 */
import { request, Agent, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createClient } from 'redis'
import { WebhookReceiver, intoContext, sign } from '../../dist/esm/index.js'
import { createNodeMiddleware } from '../../dist/esm/adapters/node.js'
import { RedisContextStore } from '../../dist/esm/redis/index.js'
import { startRedis } from '../../spec/helpers/redis.js'
import { actionsBody, child, int, mib, row, sleep } from './common.js'

const SECRET = 'whsec_attack'
if (process.argv[2] === 'server') {
  const redis = createClient({ url: process.argv[3]! })
  redis.on('error', () => undefined)
  await redis.connect()
  const receiver = new WebhookReceiver({ secret: SECRET })
  const store = new RedisContextStore(redis, { maxActions: 30 })
  let received = 0
  let out = 0
  let errors = 0
  receiver.payloads$.subscribe(() => received++)
  receiver.payloads$.pipe(intoContext(store, { onError: () => errors++ })).subscribe(() => out++)
  const server = createServer(createNodeMiddleware(receiver))
  server.listen(0, '127.0.0.1', () => console.log(`PORT ${(server.address() as AddressInfo).port}`))
  setInterval(() => console.log(`STAT ${JSON.stringify({ received, out, errors, heap: process.memoryUsage().heapUsed })}`), 1000)
  setTimeout(() => process.exit(0), 100_000)
} else {
  const redis = await startRedis()
  let port = 0
  let stat = { received: 0, out: 0, errors: 0, heap: 0 }
  const server = child('contextQueue.ts', ['server', redis.url], { heapMiB: 256, limitMs: 110_000, onLine: (line) => {
    if (line.startsWith('PORT ')) port = Number(line.slice(5))
    else if (line.startsWith('STAT ')) stat = JSON.parse(line.slice(5))
  } })
  let ended = false
  void server.exited.then(() => { ended = true })
  while (port === 0 && !ended) await sleep(20)
  const agent = new Agent({ keepAlive: true, maxSockets: 32 })
  const bodies = Array.from({ length: 100 }, (_, i) => {
    const body = actionsBody(`ps_${i}`, 10, 'd'.repeat(300))
    return { body, signature: sign(body, SECRET) }
  })
  let sent = 0
  let inFlight = 0
  const answers: Record<string, number> = {}
  const post = (n: number) => {
    const { body, signature } = bodies[n % bodies.length]!
    inFlight++
    const req = request({ port, host: '127.0.0.1', method: 'POST', path: '/', agent, headers: {
      'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-connector-signature': signature,
    } }, (res) => { res.resume(); res.on('end', () => { inFlight--; answers[res.statusCode!] = (answers[res.statusCode!] ?? 0) + 1 }) })
    req.on('error', () => { inFlight--; answers.error = (answers.error ?? 0) + 1 })
    req.end(body)
  }
  const start = Date.now()
  const samples: Array<typeof stat> = []
  let killedAt = 0
  while (!ended && Date.now() - start < 66_000) {
    const due = Math.floor(((Date.now() - start) / 1000) * 920)
    while (sent < due && inFlight < 512) post(sent++)
    if (killedAt === 0 && Date.now() - start > 5000) { await redis.stop(); killedAt = Date.now() }
    if (killedAt !== 0 && samples.length < 2 && Date.now() - killedAt >= 30_000 * (samples.length + 1)) samples.push(stat)
    await sleep(5)
  }
  const rate = sent / ((Date.now() - start) / 1000)
  agent.destroy()
  server.kill()
  await redis.stop()
  const at = (s: typeof stat | undefined, when: string) =>
    s === undefined ? `${when}: server gone` : `${when}: backlog ${int(s.received - s.out)}, heap ${mib(s.heap)}`
  row({ item: '4', measure: `intoContext + RedisContextStore (offline queue on), Redis SIGKILLed under ${int(rate)} signed 4 KB deliveries/s`,
    figure: `${at(samples[0], '+30 s')}; ${at(samples[1], '+60 s')}; ${int(samples[1]?.errors ?? 0)} reported to onError`,
    target: 'backlog ≤ 10,000 and heap flat from +30 s to +60 s; overflow reported',
    pass: samples.length === 2 && samples[1]!.received - samples[1]!.out <= 10_000 && samples[1]!.heap < samples[0]!.heap * 1.25 + 16 * 2 ** 20 && samples[1]!.errors > 0 })
}
