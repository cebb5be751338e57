/** `autoplay-rx dead` against a real redis-server: the dead letters fromRedisStream made, listed, shown, replayed. */
import { expect } from 'chai'
import { firstValueFrom, mergeMap, take, toArray } from 'rxjs'
import { parseEntries } from '../../src/redis/client.js'
import { fromRedisStream, redisAppender } from '../../src/redis/index.js'
import { silentLogger } from '../../src/index.js'
import { connect, freePort, payloads, startRedis, until, type RedisServer } from '../helpers/redis.js'
import { run, runEach } from './run.js'

describe('cli dead: list, show, replay (real redis-server)', function () {
  this.timeout(60_000)
  let redis: RedisServer
  before(async () => { redis = await startRedis() })
  after(async () => { await redis.stop() })

  it('lists, shows and replays dead letters (exit 0); an unknown id or no Redis exits 1; bad usage exits 2', async () => {
    const client = await connect(redis.url)
    try {
      const stream = 'cli:dead'
      const sent = payloads(2, 1, 51)
      // One entry of each format: the payload JSON (as written before the verified body was stored), the body.
      const body = JSON.stringify(sent[1], null, 2)
      const ids = [await redisAppender(client, { stream })(sent[0]!), await redisAppender(client, { stream })(sent[1]!, Buffer.from(body))]
      // Both handed out once and released; with maxDeliveries 1 the next claim dead-letters them.
      let rejected = 0
      const reading = fromRedisStream(client, {
        stream, group: 'g', consumer: 'c', claimIdleMs: 50, blockMs: 50, maxDeliveries: 1, logger: silentLogger, rejected: () => { rejected++ },
      }).subscribe((d) => d.release())
      await until(() => rejected === 2, 'the dead letters')
      reading.unsubscribe()
      const letters = parseEntries(await client.sendCommand(['XRANGE', `${stream}:dead`, '-', '+']))
      const [first, second] = letters.map((l) => l.id) as [string, string]
      const redisArgs = ['--redis', redis.url, '--stream', stream]
      const [list, show, replay, listed, shown, unknown, none, all] = await runEach([
        ['dead', 'list', ...redisArgs], ['dead', 'show', first, ...redisArgs, '--json'], ['dead', 'replay', first, ...redisArgs],
        ['dead', 'list', ...redisArgs, '--json'], ['dead', 'show', second, ...redisArgs], ['dead', 'show', first, ...redisArgs], ['dead', 'list', '--redis', `redis://127.0.0.1:${await freePort()}`],
        ['dead', 'replay', '--all', ...redisArgs],
      ])
      expect(list!.stdout.split('\n').filter(Boolean).map((l) => l.split(' ').slice(0, 4).join(' '))).to.deep.equal(
        [`${first} ${ids[0]} 1 deliveries`, `${second} ${ids[1]} 1 deliveries`])
      expect(JSON.parse(show!.stdout)).to.deep.include({ id: first })
      expect(JSON.parse(JSON.parse(show!.stdout).fields.payload)).to.deep.equal(sent[0])
      expect(replay!.stdout).to.match(new RegExp(`^${first} → ${stream} \\d+-\\d+\\n$`))
      expect(listed!.stdout.trim().split('\n').map((l) => JSON.parse(l).id)).to.deep.equal([second])
      expect(JSON.parse(shown!.stdout).fields).to.deep.include({ body, 'dead:id': ids[1] })
      expect([unknown!.code, unknown!.stderr]).to.deep.equal([1, `autoplay-rx: no dead letter ${first} in ${stream}:dead: see autoplay-rx dead list\n`])
      expect([none!.code, none!.stderr.split('\n').length]).to.deep.equal([1, 2])
      expect(all!.stdout).to.match(new RegExp(`^${second} → ${stream} \\d+-\\d+\\n$`))
      expect([list, show, replay, listed, shown, all].map((r) => [r!.code, r!.stderr])).to.deep.equal(Array(6).fill([0, '']))
      // Replayed: the original fields back in the stream (a new id each), the dead-letter stream empty.
      expect(Number(await client.sendCommand(['XLEN', `${stream}:dead`]))).to.equal(0)
      const back = parseEntries(await client.sendCommand(['XRANGE', stream, '-', '+'])).slice(2)
      expect(back.map((e) => Object.keys(e.fields))).to.deep.equal([['payload'], ['body']])
      expect([JSON.parse(back[0]!.fields['payload']!), back[1]!.fields['body']]).to.deep.equal([sent[0], body])
      const again = await firstValueFrom(fromRedisStream(client, { stream, group: 'g', consumer: 'c', blockMs: 50 })
        .pipe(take(2), mergeMap(async (d) => (await d.ack(), d.payload)), toArray()))
      expect(again).to.deep.equal(sent)
    } finally {
      client.destroy()
    }
  })

  it('a Redis that takes the connection but does not answer: exits 1 with one line once --timeout has passed, at connect or mid-command', async () => {
    const silent = await startRedis()
    const admin = await connect(silent.url)
    try {
      const timed = async (args: string[]) => {
        const started = Date.now()
        const { code, stderr } = await run(['dead', ...args, '--redis', silent.url, '--timeout', '500'])
        return [code, stderr, Date.now() - started < 4000] // a Node and tsx start included; the pause lasts 8 s
      }
      const said = [1, 'autoplay-rx: Redis did not answer within 500 ms: is it overloaded? (--timeout waits longer)\n', true]
      await admin.sendCommand(['CLIENT', 'PAUSE', '8000', 'WRITE']) // connects, lists; a replay waits
      expect(await timed(['list'])).to.deep.equal([0, '', true])
      expect(await timed(['replay', '1-0'])).to.deep.equal(said)
      await admin.sendCommand(['CLIENT', 'PAUSE', '8000', 'ALL']) // not even the connection's first command
      expect(await timed(['list'])).to.deep.equal(said)
    } finally {
      admin.destroy()
      await silent.stop()
    }
  })

  it('bad usage: no action, an unknown action, a missing or extra ID, a malformed ID (exit 2, one line)', async () => {
    const redisArgs = ['--redis', redis.url]
    const runs = await runEach([['dead', ...redisArgs], ['dead', 'purge', ...redisArgs], ['dead', 'show', ...redisArgs],
      ['dead', 'list', '1-0', ...redisArgs], ['dead', 'replay', '--all', '1-0', ...redisArgs], ['dead', 'show', 'x', ...redisArgs]])
    expect(runs.map((r) => r.stderr)).to.deep.equal([
      'dead takes list, show ID or replay ID|--all, got nothing', 'dead takes list, show ID or replay ID|--all, got "purge"',
      'dead show takes one ID', 'dead list takes no ID', 'dead replay takes no ID (or --all)', 'ID must be an id such as 1700000000000-0, got "x"',
    ].map((m) => `autoplay-rx: ${m} (see autoplay-rx dead --help)\n`))
    expect(runs.map((r) => r.code)).to.deep.equal(Array(6).fill(2))
  })
})
