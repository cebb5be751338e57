/**
 * RedisContextStore against a real redis-server: the reference's rules with
 * the same exact strings as the memory store (one suite for both), the same
 * text as the memory store for the same random writes, keys with a TTL,
 * and two writer processes with a reader process on connections of their
 * own, none of them ever seeing a bucket interleaved.
 */
import { expect } from 'chai'
import { ContextStore, silentLogger, type ActionsPayload, type Logger } from '../../src/index.js'
import { type ContextDefaults, type ContextGetOptions } from '../../src/context/options.js'
import { RedisContextStore } from '../../src/redis/index.js'
import { batch, line } from '../context/batches.js'
import { clock, parity, type Harness } from '../context/parity.js'
import { untrustedTime } from '../context/untrustedTime.js'
import { redisSuite, runProgram, until } from '../helpers/redis.js'

describe('redis/contextStore: RedisContextStore (real redis-server)', function () {
  this.timeout(20_000)
  const suite = redisSuite()
  const { name, client } = suite

  const make = async (defaults: ContextDefaults): Promise<Harness> => {
    const redis = await client()
    const store = new RedisContextStore(redis, { ...defaults, now: () => clock.ms, prefix: `${name('parity')}:`, logger: silentLogger })
    return {
      add: (b) => store.add(b),
      summary: (s, t, at) => store.onSummary(s, t, at),
      get: (s, o) => store.get(s, o),
      enrich: (s, q, o) => store.enrich(s, q, o),
      reset: (s, o) => store.reset(s, o),
      sessions: () => store.activeSessions(),
      summaryTime: (id: string) => store.summaryTime(id),
    }
  }

  describe('the reference\'s rules, the same strings as the memory store', () => parity(make))

  describe('untrusted times, as the memory store treats them', () => untrustedTime(make))

  it('a summary time stored past the allowance (an older version, a writer with a fast clock) does not freeze the session', async () => {
    const redis = await client()
    const prefix = `${name('poisoned')}:`
    await redis.sendCommand(['HSET', `${prefix}s:s1`, 'text', 'From 9999.', 'at', '253402300799'])
    await redis.sendCommand(['EXPIRE', `${prefix}s:s1`, '86400'])
    const store = new RedisContextStore(redis, { prefix, now: () => 1_700_000_100_000 })
    expect(await store.onSummary('s1', 'Genuine.', 1_700_000_000)).to.equal(true)
    expect(await store.get('s1')).to.equal('Summary: Genuine.')
    expect(await store.onSummary('s1', 'Older than the genuine one.', 1_699_999_999)).to.equal(false)
  })

  const bounds: ContextDefaults[] = [{}, { maxContextBytes: 300, maxActionBytes: 50, maxSessionProducts: 1 }]
  for (const bound of bounds) it(`gives the memory store's text for the same 400 random writes, under 8 option sets, for every session (${JSON.stringify(bound)})`, async () => {
    let seed = 42
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!
    const now = 1_700_000_000_000
    const defaults = { now: () => now, maxBucketActions: 12, lookbackSeconds: 500, ...bound }
    const memory = new ContextStore({ ...defaults, logger: silentLogger })
    const redis = new RedisContextStore(await client(), { ...defaults, prefix: `${name('random')}:`, logger: silentLogger })
    const sessions = ['s1', 's2', 's3', 'unknown', 'é\u{1F600}']
    const products = ['', '', 'p1', 'p2']
    let index = 0
    for (let i = 0; i < 400; i++) {
      const session = pick(sessions)
      const roll = random()
      if (roll < 0.7) {
        const descriptions = Array.from({ length: 1 + Math.floor(random() * 6) }, (_, j) => `op ${i}.${j} "quoted" \\ \t tab ${'\u00e9\u{1F600}'.repeat(Math.floor(random() * 8))}`)
        const b: ActionsPayload = batch(session === 'unknown' ? null : session, pick(products), now / 1000 - Math.floor(random() * 700) + 0.25, descriptions, index)
        index += descriptions.length
        memory.add(b)
        await redis.add(b)
      } else if (roll < 0.93) {
        const at = random() < 0.3 ? undefined : Math.floor(random() * 100)
        const text = `summary ${i} ${'\u00e9'.repeat(Math.floor(random() * 200))}`
        expect(await redis.onSummary(session, text, at)).to.equal(memory.onSummary(session, text, at))
      } else {
        const productId = random() < 0.5 ? pick(products) : undefined
        memory.reset(session, { productId })
        await redis.reset(session, { productId })
      }
    }
    const optionSets: ContextGetOptions[] = [
      {}, { productId: 'p1' }, { productId: 'p2', maxActions: 3 }, { maxActions: 1 }, { lookbackSeconds: 200 },
      { lookbackSeconds: 300, maxActions: 4 }, { includeSummary: false }, { includeActions: false, productId: 'p1' },
    ]
    let compared = 0
    for (const session of sessions) {
      for (const options of optionSets) {
        const text = memory.get(session, options)
        expect(await redis.get(session, options), `${session} ${JSON.stringify(options)}`).to.equal(text)
        expect(await redis.enrich(session, 'q?', options)).to.equal(memory.enrich(session, 'q?', options))
        if (text !== '') compared++
      }
    }
    expect(compared).to.be.greaterThan(20) // the comparison is not vacuous
    expect(await redis.activeSessions()).to.deep.equal(memory.activeSessions)
  })

  it('keeps its keys under the prefix, each with the TTL renewed at every write; an expired session has no context', async () => {
    const redis = await client()
    const prefix = `${name('ttl')}:`
    const store = new RedisContextStore(redis, { prefix, ttlSeconds: 3600 })
    await store.add(batch('s1', 'p1', 10, ['A']))
    await store.onSummary('s1', 'Sum.', 10)
    for (const key of ['b:p1\x1fs1', 'i:s1', 's:s1']) {
      expect(Number(await redis.sendCommand(['TTL', prefix + key])), key).to.be.within(3590, 3600)
    }
    expect(await redis.sendCommand(['LRANGE', prefix + 'b:p1\x1fs1', '0', '-1'])).to.deep.equal(['10\t[0] click: A \u2014 /home'])
    const short = new RedisContextStore(redis, { prefix, ttlSeconds: 1 })
    await short.add(batch('s2', '', 10, ['B']))
    expect(await short.get('s2')).to.equal(`Recent activity:\n${line(1, 0, 'B')}`)
    await until(async () => (await short.get('s2')) === '', 'the key to expire', 5000)
  })

  it('without a product, get() reads at most maxSessionProducts (64) product buckets of a session, however many it was sent (issue 22, item 9)', async () => {
    const redis = await client()
    const prefix = `${name('products')}:`
    const store = new RedisContextStore(redis, { prefix })
    await Promise.all(Array.from({ length: 200 }, (_, p) => store.add(batch('s1', `p${p}`, 1, ['A']))))
    await redis.sendCommand(['CONFIG', 'RESETSTAT'])
    expect(await store.get('s1')).to.equal('')
    const stats = String(await redis.sendCommand(['INFO', 'commandstats']))
    const calls = (command: string) => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
    expect(calls('exists') + calls('smembers') + calls('lrange')).to.be.at.most(66)
    expect((await store.activeSessions()).length).to.equal(64)
  })

  it('get and enrich never fail after a key shared through a session id holding the separator is evicted', async () => {
    const redis = await client()
    const prefix = `${name('shared')}:`
    const store = new RedisContextStore(redis, { prefix })
    await store.add(batch('p1\x1fs1', '', 10, ['Forged']))
    await store.add(batch('s1', 'p1', 10, ['Genuine']))
    await redis.sendCommand(['DEL', prefix + 'b:p1\x1fs1']) // as maxmemory eviction or the TTL would
    expect([await store.get('s1'), await store.enrich('s1', 'q'), await store.get('p1\x1fs1')]).to.deep.equal(['', 'q', ''])
    await store.add(batch('s1', 'p1', 11, ['Next'], 1))
    expect(await store.get('s1')).to.equal(`Recent activity:\n${line(1, 1, 'Next')}`)
  })

  it('loads its scripts again when Redis forgot them (SCRIPT FLUSH, as after a restart)', async () => {
    const redis = await client()
    const store = new RedisContextStore(redis, { prefix: `${name('flush')}:` })
    await store.add(batch('s1', '', 1, ['A']))
    await redis.sendCommand(['SCRIPT', 'FLUSH'])
    await store.add(batch('s1', '', 2, ['B'], 1))
    expect(await store.get('s1')).to.equal(`Recent activity:\n${line(1, 0, 'A')}\n${line(2, 1, 'B')}`)
  })

  it('reads the only product-scoped bucket without a warning; warns once per session, in the memory store\'s words, about several', async () => {
    const lines: string[] = []
    const logger: Logger = { warn: (message) => lines.push(message) }
    const store = new RedisContextStore(await client(), { prefix: `${name('warn')}:`, logger })
    await store.add(batch('s1', 'p1', 1, ['A']))
    expect(await store.enrich('s1', 'q')).to.equal(`[Session context]\nRecent activity:\n${line(1, 0, 'A')}\n\n[Query]\nq`)
    await store.get('s1')
    expect(lines).to.deep.equal([])
    await store.add(batch('s1', 'p2', 1, ['B']))
    expect(await store.get('s1')).to.equal('')
    await store.get('s1')
    await store.reset('s1')
    await store.get('s1')
    expect(lines).to.deep.equal([
      'context of session "s1": no productId given and 2 product-scoped buckets; no actions used (pass productId)',
      'context of session "s1": no productId given and 2 product-scoped buckets; no actions used (pass productId)',
    ])
  })

  it('forgets the sessions it warned about past 10,000: the first warns again after 10,000 others', async () => {
    const redis = await client()
    const prefix = `${name('warned')}:`
    // 10,001 sessions of two product buckets each, written in one script (10,001 adds would take seconds).
    await redis.sendCommand(['EVAL', `for i = 1, 10001 do
      local s = 's' .. i
      redis.call('RPUSH', KEYS[1] .. 'i:' .. s, 'p1\\31' .. s, 'p2\\31' .. s)
      redis.call('RPUSH', KEYS[1] .. 'b:p1\\31' .. s, '1\\tA')
      redis.call('RPUSH', KEYS[1] .. 'b:p2\\31' .. s, '1\\tB')
    end`, '1', prefix])
    const warned: string[] = []
    const store = new RedisContextStore(redis, { prefix, logger: { warn: (_, context) => warned.push(String(context?.['session_id'])) } })
    const read = async (from: number, to: number) => {
      for (let i = from; i <= to; i += 500) {
        await Promise.all(Array.from({ length: Math.min(500, to - i + 1) }, (_, k) => store.get(`s${i + k}`)))
      }
    }
    await read(1, 10_000)
    await read(1, 1) // remembered: no second warning
    await read(10_001, 10_001)
    await read(1, 1)
    expect([warned.length, warned.slice(-2)]).to.deep.equal([10_002, ['s10001', 's1']])
  })

  it('a Redis that takes the connection but does not answer: get, enrich, add, onSummary and reset reject with a TimeoutError after timeoutMs', async () => {
    const [redis, admin] = [await client(), await client()]
    const store = new RedisContextStore(redis, { prefix: `${name('paused')}:`, timeoutMs: 200 })
    await store.add(batch('s1', '', 1, ['A']))
    await admin.sendCommand(['CLIENT', 'PAUSE', '1500', 'ALL']) // every command waits 1.5 s
    const started = Date.now()
    const calls = [store.get('s1'), store.enrich('s1', 'q'), store.add(batch('s1', '', 2, ['B'], 1)), store.onSummary('s1', 'S.'), store.reset('s1')]
    const outcomes = await Promise.all(calls.map((call) => call.then(() => 'answered', (e: Error) => `${e.name}: ${e.message}`)))
    expect([outcomes, Date.now() - started < 1000]).to.deep.equal([Array(5).fill('TimeoutError: Redis did not answer within 200 ms'), true])
    await admin.sendCommand(['PING']) // answered once the pause is over
    expect(() => new RedisContextStore(redis, { timeoutMs: 0 })).to.throw(TypeError, 'autoplay-rx: timeoutMs must be a positive')
  })

  it('refuses a bad ttlSeconds or prefix, and a Redis failure rejects the call', async () => {
    const redis = await client()
    expect(() => new RedisContextStore(redis, { ttlSeconds: 0 })).to.throw(TypeError, 'autoplay-rx: ttlSeconds must be a positive integer')
    expect(() => new RedisContextStore(redis, { prefix: 1 as never })).to.throw(TypeError, 'autoplay-rx: prefix must be a string')
    const broken = new RedisContextStore({ sendCommand: async () => { throw new Error('connection lost') } })
    expect(await broken.get('s1').catch((e: Error) => e.message)).to.equal('connection lost')
    expect(await broken.add(batch('s1', '', 1, ['A'])).catch((e: Error) => e.message)).to.equal('connection lost')
  })

  it('two writer processes and a reader process, each on its own connection: every bucket the reader sees holds whole batches in each writer\'s order', async function () {
    this.timeout(60_000)
    const prefix = `${name('procs')}:`
    const BATCHES = 150
    const SIZE = 4
    const env = { REDIS_URL: suite.redis.url, PREFIX: prefix }
    const writer = (id: string) => runProgram(`
      import { createClient } from 'redis'
      import { RedisContextStore } from 'autoplay-rx/redis'
      const redis = createClient({ url: process.env.REDIS_URL })
      await redis.connect()
      const store = new RedisContextStore(redis, { prefix: process.env.PREFIX, maxBucketActions: Infinity })
      // Start together with the reader: it says go once it reads.
      while (!(await redis.exists(process.env.PREFIX + 'go'))) await new Promise((r) => setTimeout(r, 5))
      const action = (b: number, a: number) => ({ index: a, type: 'click', title: '', description: '${id}-b' + b + '-a' + a, canonical_url: '/x', raw_url: '', timestamp_start: 0, timestamp_end: 0, session_id: 'shared', user_id: null, email: null, conversation_id: null })
      // Several writes in flight at once on this connection, as a busy receiver has.
      const writes: Promise<void>[] = []
      for (let b = 0; b < ${BATCHES}; b++) {
        writes.push(store.add({ type: 'actions', product_id: '', session_id: 'shared', user_id: null, email: null, conversation_id: null, count: ${SIZE}, forwarded_at: 1, actions: Array.from({ length: ${SIZE} }, (_, a) => action(b, a)) }))
        if (writes.length === 10) await Promise.all(writes.splice(0))
      }
      await Promise.all(writes)
      console.log('${id} done')
      await redis.quit()
    `, env)
    const reader = runProgram(`
      import { createClient } from 'redis'
      import { RedisContextStore } from 'autoplay-rx/redis'
      const redis = createClient({ url: process.env.REDIS_URL })
      await redis.connect()
      const store = new RedisContextStore(redis, { prefix: process.env.PREFIX, maxBucketActions: Infinity })
      let reads = 0, violations = 0, lines = 0, partial = 0
      await redis.set(process.env.PREFIX + 'go', '1')
      const deadline = Date.now() + 45_000
      while (lines < ${2 * BATCHES * SIZE} && Date.now() < deadline) {
        const text = await store.get('shared')
        reads++
        const ops = text.split('\\n').slice(1).map((l) => /: (w\\d)-b(\\d+)-a(\\d+) /.exec(l)!).map((m) => ({ w: m[1], b: Number(m[2]), a: Number(m[3]) }))
        lines = ops.length
        if (lines > 0 && lines < ${2 * BATCHES * SIZE}) partial++
        const last: Record<string, number> = {}
        for (let i = 0; i < ops.length; i++) {
          const op = ops[i]!
          // Whole batches: each starts at a0 and its actions follow each other; each writer's batches in order.
          const prev = ops[i - 1]
          const ok = op.a === 0 ? (last[op.w!] ?? -1) === op.b - 1 && (prev === undefined || prev.a === ${SIZE - 1}) : prev !== undefined && prev.w === op.w && prev.b === op.b && prev.a === op.a - 1
          if (!ok) violations++
          last[op.w!] = op.b
        }
      }
      console.log(JSON.stringify({ reads, violations, lines, partial }))
      await redis.quit()
    `, env)
    const programs = [writer('w1'), writer('w2'), reader]
    const codes = await Promise.all(programs.map((p) => p.exited))
    const outputs = programs.map((p) => p.out().trim())
    expect(codes, programs.map((p) => p.err()).join('\n')).to.deep.equal([0, 0, 0])
    expect(outputs.slice(0, 2)).to.deep.equal(['w1 done', 'w2 done'])
    const seen = JSON.parse(outputs[2]!) as { reads: number; violations: number; lines: number; partial: number }
    expect(seen.violations).to.equal(0)
    expect(seen.lines).to.equal(2 * BATCHES * SIZE)
    // The reader read while the writers wrote (else it proves nothing about what a reader sees mid-way).
    expect(seen.partial).to.be.greaterThan(0)
    // Both writers' batches really interleave in the bucket (else the test proves nothing about atomicity).
    const text = await new RedisContextStore(await client(), { prefix, maxBucketActions: Infinity }).get('shared')
    const writers = text.split('\n').slice(1).filter((_, i) => i % SIZE === 0).map((l) => /: (w\d)-/.exec(l)![1])
    const switches = writers.filter((w, i) => i > 0 && w !== writers[i - 1]).length
    expect(switches).to.be.greaterThan(0)
  })
})
