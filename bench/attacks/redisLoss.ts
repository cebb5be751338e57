/**
 * Issue 22, item 9. (a) 50 entries pending for a dead worker are trimmed by `redisAppender`'s `maxLen: 100`;
 * a new consumer's XAUTOCLAIM then meets the deleted ids: is each one reported? (b) one session of a
 * `RedisContextStore` with 200,000 product ids: how long a PING from another client waits during `get()`
 * without a product. (c) 100 forged 1 MiB bodies to the node adapter: what `rejected$` carries, how many log lines.
 */
import { Agent, createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebhookReceiver, silentLogger, type Logger } from '../../dist/esm/index.js'
import { createNodeMiddleware } from '../../dist/esm/adapters/node.js'
import { RedisContextStore, fromRedisStream, redisAppender } from '../../dist/esm/redis/index.js'
import { connect, startRedis } from '../../spec/helpers/redis.js'
import { actionsBody, int, MiB, row, sleep } from './common.js'

const redis = await startRedis()
const client = await connect(redis.url)
const parser = new WebhookReceiver({ secret: '', logger: silentLogger })
try {
  { // (a)
    await client.sendCommand(['XGROUP', 'CREATE', 'trim', 'workers', '0', 'MKSTREAM'])
    const plain = redisAppender(client, { stream: 'trim' })
    const payload = parser.parse(actionsBody('ps_1', 1))!
    for (let i = 0; i < 50; i++) await plain(payload)
    await client.sendCommand(['XREADGROUP', 'GROUP', 'workers', 'dead', 'COUNT', '50', 'STREAMS', 'trim', '>'])
    const trimming = redisAppender(client, { stream: 'trim', maxLen: 100 })
    for (let i = 0; i < 150; i++) await trimming(payload)
    const length = Number(await client.sendCommand(['XLEN', 'trim']))
    const lines: string[] = []
    const logger: Logger = { warn: (m) => lines.push(m), error: (m) => lines.push(m), info: (m) => lines.push(m) }
    let rejected = 0
    let delivered = 0
    let errored = ''
    const sub = fromRedisStream(client, { stream: 'trim', group: 'workers', consumer: 'live', claimIdleMs: 500, logger, rejected: () => rejected++ })
      .subscribe({ next: (d) => { delivered++; void d.ack() }, error: (e) => { errored = String(e) } })
    await sleep(4000)
    sub.unsubscribe()
    const pendingLeft = Number(((await client.sendCommand(['XPENDING', 'trim', 'workers'])) as unknown[])[0])
    const reports = lines.filter((l) => /delet|trim|lost|gone|missing/i.test(l)).length + rejected
    row({ item: '9', measure: `50 entries pending for a dead worker, trimmed by maxLen 100 (XLEN ${length}), then XAUTOCLAIM (claimIdleMs 500)`,
      figure: `${delivered} delivered; ${reports === 0 ? 'silent' : `${reports} reports`} (${lines.length} log lines, ${rejected} rejected${errored ? `, stream error ${errored}` : ''}); ${pendingLeft} pending left`,
      target: 'no entry lost, or each lost entry reported (log, metric or rejected)', pass: delivered === 200 || reports >= 200 - delivered })
  }
  { // (b)
    const store = new RedisContextStore(client)
    const payload = parser.parse(actionsBody('ps_big', 1))! as Parameters<typeof store.add>[0]
    for (let i = 0; i < 200_000; i += 1000) {
      await Promise.all(Array.from({ length: 1000 }, (_, j) => store.add({ ...payload, product_id: `prod_${i + j}` })))
    }
    const pinger = await connect(redis.url)
    let worst = 0
    let pinging = true
    const pings = (async () => {
      while (pinging) {
        const t0 = performance.now()
        await pinger.ping()
        worst = Math.max(worst, performance.now() - t0)
        await sleep(5)
      }
    })()
    await sleep(50)
    const t0 = performance.now()
    let outcome = ''
    try {
      outcome = `${int((await store.reader.get('ps_big')).length)} chars`
    } catch (error) {
      outcome = `threw ${String(error).slice(0, 60)}`
    }
    const getMs = performance.now() - t0
    await sleep(50)
    pinging = false
    await pings
    await pinger.close()
    row({ item: '9', measure: 'RedisContextStore, one session with 200,000 product ids: get() without a product, PING from another client',
      figure: `get() ${getMs.toFixed(0)} ms (${outcome}); worst PING ${worst.toFixed(0)} ms`, target: 'worst PING ≤ 50 ms', pass: worst <= 50 })
  }
  { // (c)
    const receiver = new WebhookReceiver({ secret: 'whsec_attack' })
    let carried = 0
    receiver.rejected$.subscribe((error) => {
      let bytes = 0
      for (const value of Object.values(error)) {
        if (typeof value === 'string') bytes += value.length
        else if (value instanceof Uint8Array) bytes += value.byteLength
      }
      carried = Math.max(carried, bytes)
    })
    let logLines = 0
    for (const level of ['log', 'debug', 'info', 'warn', 'error'] as const) {
      const original = console[level]
      console[level] = (...args: unknown[]) => { if (String(args[0]).includes('autoplay-rx')) logLines++; else original(...args) }
    }
    const server = createServer(createNodeMiddleware(receiver))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as AddressInfo).port
    const agent = new Agent({ keepAlive: true, maxSockets: 4 })
    const body = Buffer.from(actionsBody('ps_1', 1, 'x'.repeat(MiB - 2048)))
    const statuses: Record<number, number> = {}
    const post = () => new Promise<void>((done) => {
      const req = request({ port, host: '127.0.0.1', method: 'POST', path: '/', agent, headers: {
        'content-type': 'application/json', 'content-length': body.length, 'x-connector-signature': `sha256=${'ab'.repeat(32)}`,
      } }, (res) => { res.resume(); res.on('end', () => { statuses[res.statusCode!] = (statuses[res.statusCode!] ?? 0) + 1; done() }) })
      req.on('error', () => done())
      req.end(body)
    })
    for (let i = 0; i < 100; i += 4) await Promise.all([post(), post(), post(), post()])
    agent.destroy()
    server.close()
    row({ item: '9', measure: '100 forged 1 MiB bodies (bad signature) to the node adapter, default logger',
      figure: `answers ${JSON.stringify(statuses)}; rejected$ carries up to ${int(carried)} bytes per refusal; ${logLines} log lines`,
      target: 'rejected$ carries ≤ 64 KiB; ≤ 10 log lines', pass: carried <= 65_536 && logLines <= 10 })
  }
} finally {
  await client.close()
  await redis.stop()
}
process.exit(0)
