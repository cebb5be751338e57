/**
 * A Redis outage is expected, not a bug: `work` and `listen --redis` say so in a few one-line messages,
 * without a stack, and carry on once Redis is back. A real redis-server (with its data kept on disk) is
 * stopped for 1.5 s under each command.
 */
import { expect } from 'chai'
import { rmSync } from 'node:fs'
import { createClient } from 'redis'
import { redisAppender } from '../../src/redis/index.js'
import { sendDeliveries } from '../../src/cli/send.js'
import { fixture, SECRET } from '../helpers/fixtures.js'
import { payloads, scratchDir, startRedis, type RedisServer } from '../helpers/redis.js'
import { cli, waitFor } from './run.js'

const outage = async (redis: RedisServer) => {
  await redis.stop()
  await new Promise((resolve) => setTimeout(resolve, 1500))
  await redis.start()
}

/** Lines a command wrote to stderr; none may carry a stack frame. */
const lines = (stderr: string) => {
  expect(stderr, 'a stack trace on stderr').to.not.include('    at ')
  return stderr.trimEnd().split('\n')
}

describe('cli: a Redis outage is logged in one line per event, without a stack', function () {
  this.timeout(90_000)
  let redis: RedisServer
  let dir: string
  before(async () => {
    dir = scratchDir('outage-')
    redis = await startRedis({ dir })
  })
  after(async () => {
    await redis.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('work: a few lines during the outage, then the entries written after it are printed', async () => {
    const stream = `outage-${process.pid}`
    const work = cli(['work', '--redis', redis.url, '--stream', stream, '--group', 'g', '--consumer', 'c', '--json'])
    try {
      await waitFor(() => work.err().includes('working on'))
      await outage(redis)
      const writer = createClient({ url: redis.url })
      await writer.connect()
      try {
        await redisAppender(writer, { stream })(payloads(1)[0]!)
      } finally {
        await writer.close()
      }
      await waitFor(() => work.out().includes('"event":"payload"'))
    } finally {
      work.child.kill('SIGINT')
    }
    expect(await work.closed).to.equal(0)
    const printed = lines(work.err())
    expect(printed[0]).to.equal(`working on ${stream} as g/c (Ctrl-C to stop)`)
    expect(printed.at(-1)).to.equal('stopped')
    expect(printed.length, printed.join('\n')).to.be.within(3, 12)
  })

  it('listen --redis: one line per 503, then 200 once Redis is back', async () => {
    const listen = cli(['listen', '--port', '0', '--secret', SECRET, '--redis', redis.url, '--stream', 'outage:listen'])
    let statuses: number[] = []
    let retried = 0
    try {
      const url = await waitFor(() => /listening on (\S+) →/.exec(listen.err())?.[1])
      await redis.stop()
      const during = await sendDeliveries({ url, secret: SECRET, retries: 0, concurrency: 1, deliveries: [1, 2, 3].map(() => ({ body: fixture('summary') })) })
      await redis.start()
      const after = await sendDeliveries({ url, secret: SECRET, retries: 10, backoffMs: 100, deliveries: [{ body: fixture('summary') }] })
      statuses = [...during.statuses, ...after.statuses]
      retried = after.retried // answered 503 too, while the client reconnects
    } finally {
      listen.child.kill('SIGINT')
    }
    expect(await listen.closed).to.equal(0)
    expect(statuses).to.deep.equal([503, 503, 503, 200])
    const printed = lines(listen.err())
    expect(printed.filter((line) => line.includes('answered 503')), printed.join('\n')).to.have.length(3 + retried)
    expect(printed.length - retried, printed.join('\n')).to.be.within(5, 10)
  })
})
