/** `autoplay-rx work` against a real redis-server: what it prints, what it acknowledges, how it stops and fails. */
import { expect } from 'chai'
import { createClient } from 'redis'
import { redisAppender } from '../../src/redis/index.js'
import { decodeText } from '../../src/decode.js'
import { fixture } from '../helpers/fixtures.js'
import { startRedis, type RedisServer } from '../helpers/redis.js'
import { cli, waitFor } from './run.js'

describe('cli/work', function () {
  this.timeout(90_000)
  let redis: RedisServer
  before(async () => { redis = await startRedis() })
  after(async () => { await redis.stop() })

  it('prints entries written before it started (as NDJSON), reports a foreign entry as rejected, acknowledges both, and stops on Ctrl-C', async () => {
    const writer = createClient({ url: redis.url })
    await writer.connect()
    try {
      const stream = `work-${process.pid}-${Date.now()}`
      const decoded = decodeText(fixture('summary').toString('utf8'))
      if (decoded._tag === 'Left') throw new Error('fixture does not decode')
      const goodId = await redisAppender(writer, { stream })(decoded.right.payload)
      const foreignId = String(await writer.sendCommand(['XADD', stream, '*', 'other', 'x']))
      const work = cli(['work', '--redis', redis.url, '--stream', stream, '--group', 'g', '--consumer', 'c', '--json'])
      const lines = await waitFor(() => {
        const out = work.out().trim().split('\n').filter(Boolean)
        return out.length >= 2 ? out.map((l) => JSON.parse(l) as Record<string, unknown>) : undefined
      })
      expect(lines.map((l) => [l.event, l.id])).to.deep.equal([['payload', goodId], ['rejected', foreignId]])
      expect(lines[1]).to.include({ tag: 'MissingPayloadField', message: 'Entry has no "body" or "payload" field' })
      expect((lines[0]!.payload as { type: string }).type).to.equal('summary')
      // Both acknowledged: nothing pending in the group (acks follow the printing within a moment).
      let pending = -1
      for (let i = 0; i < 100 && pending !== 0; i++) {
        pending = Number((await writer.sendCommand(['XPENDING', stream, 'g']) as [number])[0])
        if (pending !== 0) await new Promise((r) => setTimeout(r, 50))
      }
      expect(pending).to.equal(0)
      work.child.kill('SIGINT')
      expect(await work.closed).to.equal(0)
      expect(work.err()).to.include(`working on ${stream} as g/c`).and.to.include('stopped')
    } finally {
      await writer.close()
    }
  })

  it('needs --redis (bad usage, 2); an unreachable server is an outage (1), said in one line', async () => {
    const missing = cli(['work', '--stream', 's'])
    expect(await missing.closed).to.equal(2)
    expect(missing.err()).to.include('--redis is required')
    const unreachable = cli(['work', '--redis', 'redis://127.0.0.1:1'])
    expect(await unreachable.closed).to.equal(1)
    expect(unreachable.err().split('\n')).to.have.length(2)
    expect(unreachable.err()).to.include('cannot connect to redis://127.0.0.1:1')
  })
})
