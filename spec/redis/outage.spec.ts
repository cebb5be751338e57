/**
 * A Redis outage is expected, not a bug of ours: the reader, its acknowledgements and the context store's writes
 * each log one line per failure, with the error's message and no stack, however long Redis is away.
 */
import { expect } from 'chai'
import { Subject } from 'rxjs'
import { format } from 'node:util'
import { intoContext, type Payload } from '../../src/index.js'
import { fromRedisStream, redisAppender, RedisContextStore, type RedisDelivery } from '../../src/redis/index.js'
import { batch } from '../context/batches.js'
import { recordingLogger } from '../helpers/fixtures.js'
import { sleep } from '../helpers/http.js'
import { payloads, redisSuite, until } from '../helpers/redis.js'

describe('redis: an outage logs one line per failure, without a stack (real redis-server)', function () {
  this.timeout(30_000)
  const suite = redisSuite()

  it('fromRedisStream, ack() and intoContext(RedisContextStore) across a stop and restart', async () => {
    const stream = suite.name('outage')
    const logger = recordingLogger()
    const received: RedisDelivery[] = []
    const client = await suite.client()
    suite.keep(fromRedisStream(client, { stream, group: 'g', consumer: 'c', blockMs: 100, logger })
      .subscribe((delivery) => received.push(delivery)))
    const store = new RedisContextStore(await suite.client(), { prefix: `${suite.name('ctx')}:`, logger })
    const writes = new Subject<Payload>()
    suite.keep(writes.pipe(intoContext(store, { logger })).subscribe())
    const append = redisAppender(await suite.client(), { stream })
    for (const p of payloads(3, 3, 1)) await append(p)
    await until(() => received.length === 3, 'the first entries')
    await Promise.all(received.slice(0, 2).map((d) => d.ack()))

    await suite.redis.stop()
    expect(await received[2]!.ack()).to.equal(false)
    writes.next(batch('s1', 'p1', 1, ['A']))
    await sleep(1500)
    await suite.redis.start()
    await suite.reconnected()
    for (const p of payloads(3, 3, 2)) await append(p)
    await until(() => received.length >= 6, 'the entries stored after the restart', 10_000)

    const lines = logger.lines.map((l) => ({ ...l, text: format(`[autoplay-rx] ${l.message}`, l.context) }))
    const reads = lines.filter((l) => l.message.startsWith('Redis read failed: '))
    // 1.5 s of backoff from 100 ms, doubling: a handful of retries, each one line.
    expect(reads.length).to.be.within(1, 8)
    expect(reads.every((l) => l.level === 'error' && /; retry \d+ in \d+ ms$/.test(l.message))).to.equal(true)
    expect(lines.filter((l) => l.message.startsWith('Redis XACK failed: ')).map((l) => l.level)).to.deep.equal(['warn'])
    expect(lines.filter((l) => l.message.startsWith('context store write failed for session s1: ')).length).to.equal(1)
    expect(lines.length).to.equal(reads.length + 2)
    for (const line of lines) {
      expect(line.text, line.text).not.to.include('\n')
      expect(line.text, line.text).not.to.match(/\bat .+:\d+:\d+/)
      expect(Object.values(line.context ?? {}).some((value) => value instanceof Error), line.text).to.equal(false)
    }
  })
})
