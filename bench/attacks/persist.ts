/**
 * Issue 22, item 10: `persist: redisAppender(…)` and `intoContext(store)` in one process. Redis is down while
 * the connector sends one delivery and retries it 4 times (each answered 503); Redis comes back and the 5th
 * attempt is stored. How many times did in-process subscribers see it, against XLEN?
 */
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ContextStore, WebhookReceiver, intoContext, sign, silentLogger } from '../../dist/esm/index.js'
import { createNodeMiddleware } from '../../dist/esm/adapters/node.js'
import { redisAppender } from '../../dist/esm/redis/index.js'
import { connect, startRedis } from '../../spec/helpers/redis.js'
import { actionsBody, row, sleep } from './common.js'

const SECRET = 'whsec_attack'
const redis = await startRedis()
const client = await connect(redis.url)
try {
  const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
  const store = new ContextStore({ maxSessions: 10_000, maxActions: 30 })
  let seen = 0
  receiver.payloads$.pipe(intoContext(store, { logger: silentLogger })).subscribe(() => seen++)
  const persist = redisAppender(client, { stream: 'events' })
  const server = createServer(createNodeMiddleware(receiver, { persist }))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  const body = actionsBody('ps_1', 1, 'Clicked Export once')
  const post = () => new Promise<number>((done) => {
    const req = request({ port, host: '127.0.0.1', method: 'POST', path: '/', headers: {
      'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-connector-signature': sign(body, SECRET),
    } }, (res) => { res.resume(); res.on('end', () => done(res.statusCode!)) })
    req.on('error', () => done(0))
    req.end(body)
  })
  await redis.stop()
  const answers: number[] = []
  for (let i = 0; i < 4; i++) { answers.push(await post()); await sleep(200) }
  await redis.start()
  const deadline = Date.now() + 10_000
  while (!client.isReady && Date.now() < deadline) await sleep(50)
  answers.push(await post())
  await sleep(300)
  const xlen = Number(await client.sendCommand(['XLEN', 'events']))
  const listed = store.get('ps_1').split('\n').filter((l) => l.includes('Clicked Export once')).length
  server.close()
  row({ item: '10', measure: 'persist: redisAppender + intoContext in one process; Redis down for 4 attempts, then up',
    figure: `answers ${answers.join(', ')}; payloads$ emitted ${seen}, the store lists the action ${listed} times; XLEN ${xlen}`,
    target: 'in-process count = XLEN (1)', pass: seen === xlen && listed === xlen })
} finally {
  await client.close()
  await redis.stop()
}
process.exit(0)
