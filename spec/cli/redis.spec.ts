import { expect } from 'chai'
import { sendDeliveries } from '../../src/cli/send.js'
import { generateEvents } from '../../src/cli/generate.js'
import { fixture, SECRET } from '../helpers/fixtures.js'
import { connect, startRedis, until, type RedisServer } from '../helpers/redis.js'
import { cli, waitFor } from './run.js'

describe('cli with Redis: listen --redis → work', function () {
  this.timeout(90_000)
  let redis: RedisServer
  before(async () => { redis = await startRedis() })
  after(async () => { await redis.stop() })

  it('listen stores each accepted delivery in the stream; work prints and acknowledges it', async () => {
    const listen = cli(['listen', '--port', '0', '--secret', SECRET, '--redis', redis.url, '--stream', 'cli:events', '--json'])
    const work = cli(['work', '--redis', redis.url, '--stream', 'cli:events', '--group', 'printers', '--consumer', 'p1', '--json'])
    try {
      const url = await waitFor(() => /listening on (\S+) → Redis stream cli:events/.exec(listen.err())?.[1])
      await waitFor(() => work.err().includes('working on cli:events as printers/p1'))
      const report = await sendDeliveries({
        url, secret: SECRET, retries: 0,
        deliveries: [{ body: fixture('summary') }, { body: fixture('actions-small') }, { body: fixture('usertour-trigger') },
          { body: fixture('unknown-type') }],
      })
      expect(report.statuses).to.deep.equal([200, 200, 200, 200])
      const lines = await waitFor(() => {
        const parsed = work.out().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l))
        return parsed.length >= 3 ? parsed : undefined
      })
      // The trigger went through Redis too (stored by listen, read by work); the unknown type was not stored.
      expect(lines.map((l) => [l.event, (l.payload ?? l.trigger).type]).sort()).to.deep.equal([['payload', 'actions'], ['payload', 'summary'],
        ['usertour_trigger', 'usertour_trigger']])
      expect(lines.every((l) => /^\d+-\d+$/.test(l.id))).to.equal(true)
      expect(lines.find((l) => l.event === 'usertour_trigger').trigger).to.deep.include({ flow_id: 'flow_42', session_id: 'ps_abc123' })
      const redisCli = await connect(redis.url)
      try {
        await until(async () => Number((await redisCli.sendCommand(['XPENDING', 'cli:events', 'printers']) as unknown[])[0]) === 0,
          'every entry acknowledged, the trigger too')
        expect(Number(await redisCli.sendCommand(['XLEN', 'cli:events']))).to.equal(3)
      } finally {
        await redisCli.close()
      }
    } finally {
      listen.child.kill('SIGINT')
      work.child.kill('SIGINT')
    }
    expect([await listen.closed, await work.closed]).to.deep.equal([0, 0])
  })

  it('listen --partitions 4 spreads sessions over cli:parts:{0..3}; two work --partitions 4 print each entry once, 0 pending', async () => {
    const listen = cli(['listen', '--port', '0', '--secret', SECRET, '--redis', redis.url, '--stream', 'cli:parts', '--partitions', '4'])
    const workers = ['a', 'b'].map((name) => cli(['work', '--redis', redis.url, '--stream', 'cli:parts', '--group', 'g', '--consumer', name,
      '--partitions', '4', '--json']))
    try {
      const url = await waitFor(() => /listening on (\S+) → Redis stream cli:parts \(4 partitions, cli:parts:\{0\} to \{3\}\)/.exec(listen.err())?.[1])
      for (const w of workers) await waitFor(() => w.err().includes('working on cli:parts (the partitions it holds of 4) as g/'))
      const bodies = generateEvents({ type: 'actions', count: 24, sessions: 8, seed: 5 }).map((text) => ({ body: Buffer.from(text) }))
      expect((await sendDeliveries({ url, secret: SECRET, retries: 0, deliveries: bodies })).statuses).to.deep.equal(bodies.map(() => 200))
      // Entry ids are per stream (two partitions may give the same one): a delivery is its session and time.
      const printed = () => workers.flatMap((w) => w.out().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).payload)
        .map((p: { session_id: string; forwarded_at: number }) => `${p.session_id}@${p.forwarded_at}`))
      await waitFor(() => printed().length >= 24 ? true : undefined)
      expect(new Set(printed()).size).to.equal(24)
      const redisCli = await connect(redis.url)
      try {
        let pending = 0
        let stored = 0
        for (let p = 0; p < 4; p++) {
          stored += Number(await redisCli.sendCommand(['XLEN', `cli:parts:{${p}}`]))
          await until(async () => Number((await redisCli.sendCommand(['XPENDING', `cli:parts:{${p}}`, 'g']) as unknown[])[0]) === 0, 'acknowledged')
        }
        expect([stored, pending]).to.deep.equal([24, 0])
      } finally {
        await redisCli.close()
      }
    } finally {
      listen.child.kill('SIGINT')
      for (const w of workers) w.child.kill('SIGINT')
    }
    expect([await listen.closed, ...await Promise.all(workers.map((w) => w.closed))]).to.deep.equal([0, 0, 0])
    const alone = cli(['listen', '--secret', SECRET, '--partitions', '4'])
    expect(await alone.closed).to.equal(2)
    expect(alone.err()).to.include('--partitions needs --redis')
  })

  it('listen answers 503 while Redis is down, so the connector retries', async () => {
    const listen = cli(['listen', '--port', '0', '--secret', SECRET, '--redis', redis.url, '--stream', 'cli:outage'])
    try {
      const url = await waitFor(() => /listening on (\S+) →/.exec(listen.err())?.[1])
      await redis.stop()
      const report = await sendDeliveries({ url, secret: SECRET, retries: 0, deliveries: [{ body: fixture('summary') }] })
      expect(report.statuses).to.deep.equal([503])
    } finally {
      listen.child.kill('SIGINT')
      await redis.start()
    }
    expect(await listen.closed).to.equal(0)
  })
})
