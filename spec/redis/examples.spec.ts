/**
 * The Redis program of docs/scaling.md runs as written, as its own process without mocha's handlers, against a
 * real redis-server that is SIGKILLed mid-run and restarted; no other doc shows a stream reader.
 */
import { expect } from 'chai'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { generateEvents } from '../../src/cli/generate.js'
import { sendDeliveries } from '../../src/cli/send.js'
import { SECRET } from '../helpers/fixtures.js'
import { freePort, redisSuite, runProgram, until } from '../helpers/redis.js'

const read = (path: string) => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8')
const blocks = (markdown: string) => [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)
const docs = ['README.md', 'docs/scaling.md', 'docs/context.md', 'docs/recipes.md', 'docs/sse.md', 'docs/benchmarks.md', 'docs/reliability.md']

/** The Redis program: the block of the "Wiring it" section of docs/scaling.md. */
function program(): string {
  const scaling = read('docs/scaling.md')
  const start = scaling.indexOf('## Wiring it')
  expect(start).to.be.above(-1)
  return blocks(scaling.slice(start, scaling.indexOf('\n## ', start)))[0]!
}

describe('the Redis program of the README and docs', function () {
  this.timeout(60_000)
  const suite = redisSuite()

  it('every Redis example in the docs has an error listener, and the only stream reader is the program', () => {
    expect(program()).to.match(/fromRedisStream\(/)
    const redisExamples = docs.flatMap((path) => blocks(read(path)).filter((code) => /from 'redis'/.test(code)).map((code) => ({ path, code })))
    // The program in scaling.md and the dedupe store in recipes.md, at least.
    expect(redisExamples.length).to.be.at.least(2)
    for (const { path, code } of redisExamples) {
      expect(code, `a Redis example in ${path}`).to.match(/\.on\('error'/)
      // Reading a stream needs the ack handling: only the program, which the test below runs, does it.
      if (/fromRedisStream\(/.test(code)) expect(code, `a stream reader in ${path}`).to.equal(program())
    }
  })

  it('runs as written: Redis SIGKILLed mid-run and restarted, no crash, every delivery processed, exit 0 on SIGTERM', async () => {
    const port = await freePort()
    const running = runProgram(program(), { REDIS_URL: suite.redis.url, CONNECTOR_SECRET: SECRET, PORT: String(port), HOST: '127.0.0.1' }, 50_000)
    const processed = () => running.out().split('\n')
    const alive = (check: () => boolean) => () => {
      if (!running.alive()) throw new Error(`the program ended: ${running.err()}`)
      return check()
    }
    const deliveries = (seed: number) => generateEvents({ type: 'actions', count: 20, sessions: 4, seed, startAt: 1_700_000_000 + seed * 10_000 })
    const worked = (bodies: string[]) => bodies.every((body) => processed().includes(`processed actions ${JSON.parse(body).session_id} ${JSON.parse(body).forwarded_at}`))
    const post = (bodies: string[]) => sendDeliveries({
      url: `http://127.0.0.1:${port}/events`, secret: SECRET, deliveries: bodies.map((body) => ({ body: Buffer.from(body) })),
      concurrency: 4, retries: 100, backoffMs: 100, maxBackoffMs: 300, // connection refused while it starts, 503 while Redis is down
    })
    try {
      const before = deliveries(1)
      expect((await post(before)).accepted).to.equal(20)
      await until(alive(() => worked(before)), 'the first deliveries to be processed', 10_000)
      // Their acks are in flight (0.1: queued behind the blocking read, then each a rejection).
      await suite.redis.stop()
      const during = deliveries(2)
      const sending = post(during)
      await new Promise((resolve) => setTimeout(resolve, 500))
      await suite.redis.start()
      const report = await sending
      expect(report.accepted).to.equal(20)
      expect(report.retried).to.be.greaterThan(0) // answered 503 while Redis was down
      // All of them stored after the restart, in a Redis that forgot the group: all processed.
      await until(alive(() => worked(during)), 'the deliveries stored after the restart to be processed', 15_000)
      expect(running.alive()).to.equal(true)
      running.kill('SIGTERM')
      expect(await running.exited).to.equal(0)
      expect(running.err()).not.to.match(/worker stopped|Unhandled|Uncaught/)
    } finally {
      running.kill('SIGKILL')
    }
  })
})
