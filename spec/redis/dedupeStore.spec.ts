/** redisDedupeStore against a real redis-server: the key it writes, its time to live, atomicity across clients, and its errors. */
import { expect } from 'chai'
import { from, lastValueFrom, TimeoutError, toArray } from 'rxjs'
import { dedupeDeliveries } from '../../src/operators/dedupeDeliveries.js'
import { redisDedupeStore } from '../../src/redis/dedupeStore.js'
import { sleep } from '../helpers/http.js'
import { redisSuite } from '../helpers/redis.js'

describe('redis/dedupeStore: redisDedupeStore (real redis-server)', function () {
  this.timeout(10_000)
  const suite = redisSuite()
  const { name, client } = suite

  it('remembers a key under the default prefix for one hour: the first seen() is false, the next true', async () => {
    const redis = await client()
    const key = name('delivery')
    const store = redisDedupeStore(redis)
    expect(await store.seen(key)).to.equal(false)
    expect(await store.seen(key)).to.equal(true)
    expect(await redis.sendCommand(['GET', `autoplay-rx:seen:${key}`])).to.equal('1')
    const ttl = Number(await redis.sendCommand(['PTTL', `autoplay-rx:seen:${key}`]))
    expect(ttl).to.be.within(3_600_000 - 5000, 3_600_000)
  })

  it('uses the prefix and ttlMs given, and forgets after ttlMs', async () => {
    const redis = await client()
    const prefix = `${name('env')}:seen:`
    const store = redisDedupeStore(redis, { prefix, ttlMs: 200 })
    expect(await store.seen('k')).to.equal(false)
    const ttl = Number(await redis.sendCommand(['PTTL', `${prefix}k`]))
    expect(ttl).to.be.within(1, 200)
    expect(await store.seen('k')).to.equal(true)
    await sleep(300)
    expect(await redis.sendCommand(['EXISTS', `${prefix}k`])).to.equal(0)
    expect(await store.seen('k')).to.equal(false)
  })

  it('is one atomic check-and-set across clients: of 40 concurrent seen() of one key, exactly one is false', async () => {
    const [a, b] = [await client(), await client()]
    const prefix = `${name('race')}:`
    const stores = [redisDedupeStore(a, { prefix }), redisDedupeStore(b, { prefix })]
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => stores[i % 2]!.seen('same')))
    expect(answers.filter((seen) => !seen)).to.have.length(1)
  })

  it('behind dedupeDeliveries: repeats dropped, first sightings kept in order', async () => {
    const store = redisDedupeStore(await client(), { prefix: `${name('stream')}:` })
    const kept = await lastValueFrom(from(['a', 'b', 'a', 'c', 'b', 'd']).pipe(dedupeDeliveries({ store, key: (x: string) => x }), toArray()))
    expect(kept).to.deep.equal(['a', 'b', 'c', 'd'])
  })

  it('rejects when Redis cannot answer (the deduplicated stream errors: nothing is passed unchecked)', async () => {
    const redis = await client()
    const store = redisDedupeStore(redis, { prefix: `${name('down')}:` })
    redis.destroy()
    let failure: unknown
    await Promise.resolve(store.seen('k')).catch((error: unknown) => { failure = error })
    expect(failure).to.be.instanceOf(Error)
  })

  it('behind dedupeDeliveries, a check Redis does not answer within timeoutMs errors the stream: nothing hangs', async () => {
    const [redis, admin] = [await client(), await client()]
    const store = redisDedupeStore(redis, { prefix: `${name('paused')}:` })
    await admin.sendCommand(['CLIENT', 'PAUSE', '1500', 'WRITE']) // a Redis that takes no write for 1.5 s
    const started = Date.now()
    const failure = await lastValueFrom(from(['k']).pipe(dedupeDeliveries({ store, key: (x: string) => x, timeoutMs: 200 })))
      .then(() => undefined, (error: unknown) => error)
    expect([failure instanceof TimeoutError, Date.now() - started < 1000]).to.deep.equal([true, true])
    await admin.sendCommand(['CLIENT', 'UNPAUSE'])
  })

  it('stores a key over 256 characters as its SHA-256, so that long ids cost Redis 64 bytes a delivery', async () => {
    const redis = await client()
    const prefix = `${name('long')}:`
    const store = redisDedupeStore(redis, { prefix })
    const long = 'x'.repeat(100_000)
    expect([await store.seen(long), await store.seen(long), await store.seen(`${long}y`)]).to.deep.equal([false, true, false])
    const keys = (await redis.sendCommand(['KEYS', `${prefix}*`])) as string[]
    expect(keys.map((key) => key.length - prefix.length)).to.deep.equal([71, 71]) // 'sha256:' and 64 hex digits
  })

  it('refuses a ttlMs that is not a positive integer, naming it', () => {
    for (const ttlMs of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => redisDedupeStore({ sendCommand: async () => null }, { ttlMs }), String(ttlMs))
        .to.throw(TypeError, 'autoplay-rx: ttlMs must be a positive integer')
    }
  })
})
