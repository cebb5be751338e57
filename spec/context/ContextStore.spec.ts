import { expect } from 'chai'
import { TestScheduler } from 'rxjs/testing'
import { ContextStore, type Logger } from '../../src/index.js'
import { batch, line } from './batches.js'
import { clock, parity, type Harness } from './parity.js'
import { untrustedTime } from './untrustedTime.js'
import type { ContextDefaults } from '../../src/context/options.js'
import { payloads } from '../helpers/redis.js'
import { runChild, sourceModule } from '../sse/helpers.js'

const NOW = 1_700_000_100

/** Warnings logged, as text. */
function recorder(): Logger & { lines: string[] } {
  const lines: string[] = []
  return { lines, warn: (message) => lines.push(message) }
}

describe('ContextStore (memory)', () => {
  const make = async (defaults: ContextDefaults): Promise<Harness> => {
    const store = new ContextStore({ ...defaults, now: () => clock.ms, logger: {} })
    return {
      add: async (b) => store.add(b),
      summary: async (s, t, at) => store.onSummary(s, t, at),
      get: async (s, o) => store.get(s, o),
      enrich: async (s, q, o) => store.enrich(s, q, o),
      reset: async (s, o) => store.reset(s, o),
      sessions: async () => store.activeSessions,
      summaryTime: async (id: string) => store.summaryTime(id),
    }
  }

  describe('the reference\'s rules (shared with the Redis store)', () => parity(make))

  describe('untrusted times (shared with the Redis store)', () => untrustedTime(make))

  it('get and enrich are synchronous; reader gives the same text as promises, and rejects an invalid option', async () => {
    const store = new ContextStore()
    store.add(batch('s1', '', NOW, ['A']))
    const text: string = store.get('s1')
    expect(text).to.equal(`Recent activity:\n${line(1, 0, 'A')}`)
    expect(await store.reader.get('s1')).to.equal(text)
    expect(await store.reader.enrich('s1', 'q')).to.equal(store.enrich('s1', 'q'))
    expect(await store.reader.get('s1', { lookbackSeconds: -1 }).catch((e: Error) => e.message)).to.equal('autoplay-rx: lookbackSeconds must be a positive number')
  })

  it('maxSessions evicts the least recently written key with its bucket and its summary; a summary counts as a write, a read does not', () => {
    const store = new ContextStore({ maxSessions: 2 })
    store.add(batch('a', '', NOW, ['A']))
    store.onSummary('a', 'Sum a.')
    store.add(batch('b', '', NOW, ['B']))
    store.onSummary('a', 'Sum a again.') // a is now the most recent
    store.get('b')
    store.add(batch('c', '', NOW, ['C'])) // evicts b
    expect(store.activeSessions).to.deep.equal(['a', 'c'])
    store.add(batch('d', 'p', NOW, ['D'])) // evicts a: its bucket and its summary
    expect(store.activeSessions).to.deep.equal(['c', 'p\x1fd'])
    expect(store.get('a')).to.equal('')
    // The evicted summary's time went with it.
    expect(store.onSummary('c', 'New.', 1)).to.equal(true)
  })

  it('get, enrich and context$ never throw after a key shared through a session id holding the separator is evicted', () => {
    const store = new ContextStore({ maxSessions: 1 })
    store.add(batch('p1\x1fs1', '', NOW, ['Forged']))
    store.add(batch('s1', 'p1', NOW, ['Genuine']))
    store.add(batch('other', '', NOW, ['X'])) // evicts the shared key
    const seen: string[] = []
    const subscription = store.context$('s1').subscribe({ next: (text) => seen.push(text), error: (e: Error) => seen.push(`error: ${e.message}`) })
    expect([store.get('s1'), store.enrich('s1', 'q')]).to.deep.equal(['', 'q'])
    store.onSummary('s1', 'Sum.') // evicts other
    store.reset('s1')
    store.add(batch('s1', 'p1', NOW, ['Next'], 1))
    subscription.unsubscribe()
    expect(seen).to.deep.equal(['', 'Summary: Sum.', '', `Recent activity:\n${line(1, 1, 'Next')}`])
  })

  it('reads a session\'s only product-scoped bucket without a productId, and says nothing: the connector\'s normal case', () => {
    const logger = recorder()
    const store = new ContextStore({ logger })
    store.add(batch('s1', 'p1', NOW, ['A']))
    expect(store.enrich('s1', 'q')).to.equal(`[Session context]\nRecent activity:\n${line(1, 0, 'A')}\n\n[Query]\nq`)
    expect(store.get('s1')).to.equal(`Recent activity:\n${line(1, 0, 'A')}`)
    expect(logger.lines).to.deep.equal([])
  })

  it('enrich(sessionId, query) over connector payloads (each carries a product_id) gives their actions and logs nothing', () => {
    const logger = recorder()
    const store = new ContextStore({ logger })
    const sent = payloads(20, 4)
    for (const p of sent) if (p.type === 'actions') store.add(p)
    const sessions = [...new Set(sent.map((p) => p.session_id!))]
    expect(sent.every((p) => p.product_id !== '')).to.equal(true)
    for (const session of sessions) {
      expect(store.enrich(session, 'q')).to.match(/^\[Session context\]\nRecent activity:\n1\. /)
      store.enrich(session, 'q')
    }
    expect(logger.lines).to.deep.equal([])
  })

  it('warns once per session when several product-scoped buckets leave no bucket to read, and again after a reset', () => {
    const logger = recorder()
    const store = new ContextStore({ logger })
    store.add(batch('s1', 'p1', NOW, ['A']))
    store.get('s1')
    store.add(batch('s2', 'p1', NOW, ['A']))
    store.add(batch('s2', 'p2', NOW, ['B']))
    expect(store.get('s2')).to.equal('')
    store.get('s2')
    store.reset('s2', { productId: 'p1' })
    store.add(batch('s2', 'p1', NOW, ['A']))
    store.get('s2')
    expect(logger.lines).to.deep.equal([
      'context of session "s2": no productId given and 2 product-scoped buckets; no actions used (pass productId)',
      'context of session "s2": no productId given and 2 product-scoped buckets; no actions used (pass productId)',
    ])
  })

  it('a logger that throws does not break get', () => {
    const store = new ContextStore({ logger: { warn: () => { throw new Error('broken logger') } } })
    store.add(batch('s1', 'p1', NOW, ['A']))
    expect(store.get('s1')).to.equal(`Recent activity:\n${line(1, 0, 'A')}`)
  })

  /** Runs `code` after a store and helpers in a child with a 64 MiB heap; its output, as JSON. */
  const child = async (code: string) => JSON.parse((await runChild(18_000, `
    import { ContextStore } from ${JSON.stringify(sourceModule('context/ContextStore.ts'))}
    const store = new ContextStore({ maxSessions: 10_000, maxActions: 30 })
    const action = (description) => ({ index: 0, type: 'click', title: '', description, canonical_url: '/x', raw_url: '', timestamp_start: 0, timestamp_end: 0, session_id: null, user_id: null, email: null, conversation_id: null })
    const batch = (session, actions) => ({ type: 'actions', product_id: '', session_id: session, user_id: null, email: null, conversation_id: null, count: actions.length, forwarded_at: 1, actions })
    const heap = () => { globalThis.gc(); return process.memoryUsage().heapUsed }
    ${code}
  `, ['--max-old-space-size=64', '--expose-gc'])).stdout) as Record<string, unknown>

  it('holds 3 sessions of 1 MiB descriptions in a few MiB of a 64 MiB heap, with the docs\' options; get() gives at most maxContextBytes', async function () {
    this.timeout(20_000)
    const seen = await child(`
      const start = heap()
      // A fresh 1 MiB string each, as a decoded body gives: 3 sessions × 40 batches.
      for (let i = 0; i < 120; i++) store.add(batch('s' + (i % 3), [action(Buffer.alloc(1 << 20, String(i % 10)).toString())]))
      const text = store.get('s0')
      console.log(JSON.stringify({ heap: heap() - start, length: text.length, sessions: store.activeSessions }))
    `)
    expect(seen['sessions']).to.deep.equal(['s0', 's1', 's2'])
    expect(seen['heap']).to.be.below(4 * 1024 * 1024)
    expect(seen['length']).to.be.within(60 * 1024, 65 * 1024) // 64 KiB of text and its framing
  })

  it('holds nothing for 200,000 empty batches of a session, and get() stays fast', async function () {
    this.timeout(20_000)
    const seen = await child(`
      store.add(batch('s1', [action('A')]))
      const start = heap()
      for (let i = 0; i < 200_000; i++) store.add(batch('s1', []))
      const grown = heap() - start
      const started = performance.now()
      const text = store.get('s1')
      console.log(JSON.stringify({ heap: grown, ms: performance.now() - started, text, sessions: store.activeSessions }))
    `)
    expect(seen).to.deep.include({ text: 'Recent activity:\n1. [0] click: A \u2014 /x', sessions: ['s1'] })
    expect(seen['heap']).to.be.below(1024 * 1024)
    expect(seen['ms']).to.be.below(5)
  })

  it('maxBytes bounds the whole store\'s text (keys, summaries, actions), evicting the least recently written keys', () => {
    const store = new ContextStore({ maxBytes: 300 })
    for (const s of ['a', 'b', 'c', 'd']) store.add(batch(s, '', NOW, ['x'.repeat(70)])) // 91 bytes a line, 92 a key
    expect(store.activeSessions).to.deep.equal(['b', 'c', 'd'])
    store.onSummary('b', 'S'.repeat(100)) // b is now the most recent; c and d give way
    expect(store.activeSessions).to.deep.equal(['b', 'd'])
    expect(() => new ContextStore({ maxBytes: 0 })).to.throw(TypeError, 'autoplay-rx: maxBytes must be a positive integer')
  })

  it('maxSessions is 100,000 by default', () => {
    const store = new ContextStore()
    for (let i = 0; i <= 100_000; i++) store.add(batch(`s${i}`, '', NOW, []))
    expect(store.activeSessions.length).to.equal(100_000)
    expect(store.get('s0')).to.equal('')
  })

  it('refuses maxSessions that is not a positive integer, a summary that is not text, and a time that is not finite', () => {
    expect(() => new ContextStore({ maxSessions: 0 })).to.throw(TypeError, 'autoplay-rx: maxSessions must be a positive integer')
    const store = new ContextStore()
    expect(() => store.onSummary('s1', 42 as unknown as string)).to.throw(TypeError, 'autoplay-rx: a summary must be a string (got number)')
    expect(() => store.onSummary('s1', 'x', Number.POSITIVE_INFINITY)).to.throw(TypeError, "autoplay-rx: a summary's time must be a finite number of Unix seconds (got Infinity)")
    expect(() => store.context$('s1', { maxActions: 0 })).to.throw(TypeError, 'autoplay-rx: maxActions must be a positive integer')
  })

  it('context$ emits the text now and after each change to the session that changes it; other sessions do not wake it', () => {
    new TestScheduler((actual, expected) => { expect(actual).to.deep.equal(expected) }).run(({ cold, expectObservable }) => {
      const store = new ContextStore({ maxSessions: 2 })
      const writes = {
        a: () => store.add(batch('s1', '', NOW, ['A'])),
        b: () => store.add(batch('other', '', NOW, ['X'])),
        c: () => store.onSummary('s1', 'Sum.'),
        d: () => store.onSummary('s1', 'Older.', -1), // stored: no time was stored before
        e: () => store.onSummary('s1', 'Oldest.', -2), // refused: no change
        f: () => store.add(batch('x', '', NOW, ['Y'])), // evicts other (s1 was written since)
        g: () => store.add(batch('y', '', NOW, ['Y'])), // evicts s1
        h: () => store.complete(),
      }
      cold('-a-b-c-d-e-f-g-h|', writes).subscribe((write) => write())
      expectObservable(store.context$('s1')).toBe('0a---c-d-----g-|', {
        0: '',
        a: `Recent activity:\n${line(1, 0, 'A')}`,
        c: `Summary: Sum.\n\nRecent activity:\n${line(1, 0, 'A')}`,
        d: `Summary: Older.\n\nRecent activity:\n${line(1, 0, 'A')}`,
        g: '',
      })
    })
  })
})
