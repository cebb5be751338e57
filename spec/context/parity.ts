/**
 * The reference's rules for a context store, as one suite run against both
 * stores (memory: spec/context/ContextStore.spec.ts; Redis:
 * spec/redis/contextStore.spec.ts): the same inputs, the same exact strings.
 */
import { expect } from 'chai'
import type { ActionsPayload } from '../../src/index.js'
import type { ContextDefaults, ContextGetOptions } from '../../src/context/options.js'
import { batch, line } from './batches.js'

/** A store under test, every call made async so that one suite serves both. */
export interface Harness {
  add(batch: ActionsPayload): Promise<void>
  summary(sessionId: string | null, text: string, at?: number): Promise<boolean>
  get(sessionId: string, options?: ContextGetOptions): Promise<string>
  enrich(sessionId: string, query: string, options?: ContextGetOptions): Promise<string>
  reset(sessionId: string, options?: { productId?: string }): Promise<void>
  sessions(): Promise<string[]>
  summaryTime(sessionId: string): Promise<number | undefined>
}

/** A clock the suite moves by hand: Unix ms. */
export const clock = { ms: 1_700_000_100_000 }
const NOW = 1_700_000_100 // seconds, what clock.ms starts at

/**
 * Registers the parity tests in the calling describe. `make` builds a fresh
 * store with these defaults (and `now: () => clock.ms`).
 */
export function parity(make: (defaults: ContextDefaults) => Promise<Harness>): void {
  beforeEach(() => { clock.ms = NOW * 1000 })

  it('an unknown session has no context: get is "" and enrich returns the query unchanged', async () => {
    const store = await make({})
    expect(await store.get('ps_none')).to.equal('')
    expect(await store.enrich('ps_none', 'how do I export?')).to.equal('how do I export?')
  })

  it('numbers the actions from 1 across batches, oldest first, under "Recent activity:"', async () => {
    const store = await make({})
    await store.add(batch('s1', '', NOW - 20, ['Open', 'Filter']))
    await store.add(batch('s1', '', NOW - 10, ['Export'], 2))
    expect(await store.get('s1')).to.equal(`Recent activity:\n${line(1, 0, 'Open')}\n${line(2, 1, 'Filter')}\n${line(3, 2, 'Export')}`)
  })

  it('puts "Summary: …" first and a blank line before the actions; enrich wraps it as [Session context] … [Query]', async () => {
    const store = await make({})
    expect(await store.summary('s1', 'Looked at reports.')).to.equal(true)
    expect(await store.get('s1')).to.equal('Summary: Looked at reports.')
    await store.add(batch('s1', '', NOW, ['Export']))
    expect(await store.get('s1')).to.equal(`Summary: Looked at reports.\n\nRecent activity:\n${line(1, 0, 'Export')}`)
    expect(await store.enrich('s1', 'share it?')).to.equal(`[Session context]\nSummary: Looked at reports.\n\nRecent activity:\n${line(1, 0, 'Export')}\n\n[Query]\nshare it?`)
  })

  it('includeSummary and includeActions: store defaults, overridden per call', async () => {
    const store = await make({ includeSummary: false })
    await store.summary('s1', 'Sum.')
    await store.add(batch('s1', '', NOW, ['A']))
    expect(await store.get('s1')).to.equal(`Recent activity:\n${line(1, 0, 'A')}`)
    expect(await store.get('s1', { includeSummary: true, includeActions: false })).to.equal('Summary: Sum.')
    expect(await store.get('s1', { includeActions: false })).to.equal('')
    expect(await store.enrich('s1', 'q', { includeActions: false })).to.equal('q')
  })

  it('an id holding a control character (a chat widget\'s, say) names no key: reads are "", writes and reset do nothing', async () => {
    const store = await make({})
    await store.add(batch('ps_victim', 'prod_abc', NOW, ['Secret']))
    const victim = await store.get('ps_victim')
    expect(victim).to.include('Secret')
    expect(await store.get('prod_abc\x1fps_victim')).to.equal('')
    expect(await store.get('ps_victim', { productId: 'prod_abc\x1f' })).to.equal('')
    expect(await store.enrich('prod_abc\x1fps_victim', 'q')).to.equal('q')
    await store.add(batch('prod_abc\x1fps_victim', '', NOW, ['Injected']))
    expect(await store.summary('prod_abc\x1fps_victim', 'Injected.')).to.equal(false)
    await store.reset('prod_abc\x1fps_victim')
    expect(await store.get('ps_victim')).to.equal(victim)
    expect(await store.sessions()).to.deep.equal(['prod_abc\x1fps_victim'])
  })

  it('stores a batch or summary without a session id under "unknown"', async () => {
    const store = await make({})
    await store.add(batch(null, '', NOW, ['A']))
    await store.summary(null, 'Nobody.')
    expect(await store.get('unknown')).to.equal(`Summary: Nobody.\n\nRecent activity:\n${line(1, 0, 'A')}`)
    expect(await store.sessions()).to.deep.equal(['unknown'])
  })

  it('keeps a product\'s batches in a bucket of their own, read with productId', async () => {
    const store = await make({})
    await store.add(batch('s1', 'p1', NOW, ['In p1']))
    await store.add(batch('s1', '', NOW, ['No product']))
    expect(await store.get('s1', { productId: 'p1' })).to.equal(`Recent activity:\n${line(1, 0, 'In p1')}`)
    expect(await store.get('s1')).to.equal(`Recent activity:\n${line(1, 0, 'No product')}`)
    expect(await store.get('s1', { productId: 'p2' })).to.equal('')
    expect(await store.sessions()).to.deep.equal(['p1\x1fs1', 's1'])
  })

  it('without productId, falls back to the only product-scoped bucket of the session; with two, to none (the summary stays)', async () => {
    const store = await make({})
    await store.add(batch('s1', 'p1', NOW, ['In p1']))
    expect(await store.get('s1')).to.equal(`Recent activity:\n${line(1, 0, 'In p1')}`)
    await store.add(batch('s1', 'p2', NOW, ['In p2']))
    await store.summary('s1', 'Two products.')
    expect(await store.get('s1')).to.equal('Summary: Two products.')
    expect(await store.get('s1', { productId: 'p2' })).to.equal(`Summary: Two products.\n\nRecent activity:\n${line(1, 0, 'In p2')}`)
    // A session id that only ends like another does not match: the separator is part of the suffix.
    await store.add(batch('xs9', 'p1', NOW, ['Other']))
    expect(await store.get('s9')).to.equal('')
  })

  it('a session id holding the separator, written directly, names no key: the product bucket it aims at stays as it was', async () => {
    // The codec refuses such ids; add() and reset() given one do nothing, so the key is never shared.
    const forged = 'p1\x1fs1'
    for (const forgedFirst of [true, false]) {
      const store = await make({})
      const writes = [() => store.add(batch(forged, '', NOW, ['Forged'])), () => store.add(batch('s1', 'p1', NOW, ['Genuine']))]
      for (const write of forgedFirst ? writes : writes.reverse()) await write()
      await store.reset(forged)
      const genuine = `Recent activity:\n${line(1, 0, 'Genuine')}`
      expect(await store.get('s1'), `forged first: ${forgedFirst}`).to.equal(genuine)
      expect(await store.get('s1', { productId: 'p1' })).to.equal(genuine)
      expect(await store.get(forged)).to.equal('')
      await store.add(batch('s1', 'p1', NOW, ['Next'], 1))
      expect(await store.get('s1')).to.equal(`${genuine}\n${line(2, 1, 'Next')}`)
    }
  })

  it('lookback: only batches with forwarded_at ≥ now − lookbackSeconds (the boundary kept); per call too', async () => {
    const store = await make({})
    await store.add(batch('s1', '', NOW - 61, ['Old']))
    await store.add(batch('s1', '', NOW - 60, ['Edge'], 1))
    await store.add(batch('s1', '', NOW - 1, ['New'], 2))
    expect(await store.get('s1', { lookbackSeconds: 60 })).to.equal(`Recent activity:\n${line(1, 1, 'Edge')}\n${line(2, 2, 'New')}`)
    expect(await store.get('s1', { lookbackSeconds: 59.5 })).to.equal(`Recent activity:\n${line(1, 2, 'New')}`)
    clock.ms += 30_000
    expect(await store.get('s1', { lookbackSeconds: 60 })).to.equal(`Recent activity:\n${line(1, 2, 'New')}`)
  })

  it('lookback as a default also drops the older batches from the bucket at each add (out of order too)', async () => {
    const store = await make({ lookbackSeconds: 60 })
    await store.add(batch('s1', '', NOW - 10, ['Kept']))
    await store.add(batch('s1', '', NOW - 100, ['Late and old'], 1))
    await store.add(batch('s1', '', NOW - 5, ['Also kept'], 2))
    // A longer lookback for one call cannot bring back what add dropped.
    expect(await store.get('s1', { lookbackSeconds: 1000 })).to.equal(`Recent activity:\n${line(1, 0, 'Kept')}\n${line(2, 2, 'Also kept')}`)
  })

  it('maxActions keeps the newest N actions across batches (counting actions, not `count`); a straddling batch keeps its last ones', async () => {
    const store = await make({ maxActions: 3 })
    await store.add({ ...batch('s1', '', NOW - 20, ['a', 'b', 'c']), count: 1 })
    await store.add({ ...batch('s1', '', NOW - 10, ['d', 'e'], 3), count: 9 })
    expect(await store.get('s1')).to.equal(`Recent activity:\n${line(1, 2, 'c')}\n${line(2, 3, 'd')}\n${line(3, 4, 'e')}`)
    expect(await store.get('s1', { maxActions: 2 })).to.equal(`Recent activity:\n${line(1, 3, 'd')}\n${line(2, 4, 'e')}`)
    expect(await store.get('s1', { maxActions: 1 })).to.equal(`Recent activity:\n${line(1, 4, 'e')}`)
    // Lookback first, then maxActions over what is left.
    expect(await store.get('s1', { maxActions: 3, lookbackSeconds: 15 })).to.equal(`Recent activity:\n${line(1, 3, 'd')}\n${line(2, 4, 'e')}`)
  })

  it('a summary replaces the one before and leaves the pending actions', async () => {
    const store = await make({})
    await store.add(batch('s1', '', NOW, ['A']))
    await store.summary('s1', 'First.')
    await store.summary('s1', 'Second.')
    expect(await store.get('s1')).to.equal(`Summary: Second.\n\nRecent activity:\n${line(1, 0, 'A')}`)
  })

  it('orders summaries by time: an older one arriving late is refused, an equal time replaces, no time replaces and keeps the newest time', async () => {
    const store = await make({})
    expect(await store.summary('s1', 'At 200.', 200)).to.equal(true)
    expect(await store.summary('s1', 'At 100, late.', 100)).to.equal(false)
    expect(await store.get('s1')).to.equal('Summary: At 200.')
    expect(await store.summary('s1', 'Also at 200.', 200)).to.equal(true)
    expect(await store.get('s1')).to.equal('Summary: Also at 200.')
    expect(await store.summary('s1', 'No time.')).to.equal(true)
    expect(await store.get('s1')).to.equal('Summary: No time.')
    expect(await store.summary('s1', 'At 150, late.', 150)).to.equal(false)
    expect(await store.summary('s1', 'At 300.', 300.5)).to.equal(true)
    expect(await store.get('s1')).to.equal('Summary: At 300.')
  })

  it('reset forgets the summary and the session\'s own bucket; with productId, that product\'s bucket too; other products stay', async () => {
    const store = await make({})
    await store.add(batch('s1', '', NOW, ['Own']))
    await store.add(batch('s1', 'p1', NOW, ['P1']))
    await store.add(batch('s1', 'p2', NOW, ['P2']))
    await store.summary('s1', 'Sum.')
    await store.reset('s1')
    expect(await store.sessions()).to.deep.equal(['p1\x1fs1', 'p2\x1fs1'])
    await store.summary('s1', 'Again.', 5)
    await store.reset('s1', { productId: 'p1' })
    expect(await store.sessions()).to.deep.equal(['p2\x1fs1'])
    expect(await store.get('s1')).to.equal(`Recent activity:\n${line(1, 0, 'P2')}`)
    // The time of a forgotten summary is forgotten too.
    expect(await store.summary('s1', 'Older than before, after a reset.', 1)).to.equal(true)
  })

  it('activeSessions: the keys holding actions or a summary, sorted by code point', async () => {
    const store = await make({})
    for (const s of ['b', 'a', '\u{1F600}', '\uFF21', 'B']) await store.add(batch(s, '', NOW, ['x']))
    await store.summary('only-summary', 'S.')
    expect(await store.sessions()).to.deep.equal(['B', 'a', 'b', 'only-summary', '\uFF21', '\u{1F600}'])
  })

  it('caps a bucket at 200 actions by default, trimming the oldest batch from the front', async () => {
    const store = await make({})
    const descriptions = (n: number, from: number) => Array.from({ length: n }, (_, i) => `a${from + i}`)
    await store.add(batch('s1', '', NOW, descriptions(120, 0)))
    await store.add(batch('s1', '', NOW, descriptions(100, 120), 120))
    const text = (await store.get('s1')).split('\n')
    expect(text.length).to.equal(201)
    expect(text[1]).to.equal(line(1, 20, 'a20'))
    expect(text[200]).to.equal(line(200, 219, 'a219'))
  })

  it('maxBucketActions sets that cap (Infinity: none)', async () => {
    const store = await make({ maxBucketActions: 2 })
    await store.add(batch('s1', '', NOW, ['a', 'b', 'c']))
    expect(await store.get('s1')).to.equal(`Recent activity:\n${line(1, 1, 'b')}\n${line(2, 2, 'c')}`)
    const open = await make({ maxBucketActions: Infinity })
    await open.add(batch('s1', '', NOW, Array.from({ length: 1001 }, (_, i) => `a${i}`)))
    expect((await open.get('s1')).split('\n').length).to.equal(1002)
  })

  it('cuts one action\'s text past maxActionBytes (default 2 KiB of UTF-8), saying how many characters were cut', async () => {
    const store = await make({ maxActionBytes: 40 })
    // "[0] click: " (11 bytes), 30 × "é" (2 bytes each), " — /home": 14 "é" fit in 40 bytes, 24 characters go.
    await store.add(batch('s1', '', NOW, ['\u00e9'.repeat(30)]))
    expect(await store.get('s1')).to.equal(`Recent activity:\n1. [0] click: ${'\u00e9'.repeat(14)}\u2026[24 more characters]`)
    const byDefault = await make({})
    await byDefault.add(batch('s1', '', NOW, ['a'.repeat(3000), 'b']))
    expect(await byDefault.get('s1')).to.equal(`Recent activity:\n1. [0] click: ${'a'.repeat(2037)}\u2026[971 more characters]\n${line(2, 1, 'b')}`)
  })

  it('keeps at most maxContextBytes of action text per bucket (the oldest dropped) and of summary; get shows at most that much of both, the newest actions', async () => {
    const store = await make({ maxContextBytes: 100 })
    const twenty = (c: string) => c.repeat(20) // a line of 41 bytes: two fit in 100, three do not
    await store.add(batch('s1', '', NOW, [twenty('a'), twenty('b'), twenty('c')]))
    await store.add(batch('s1', '', NOW, [twenty('d')], 3))
    expect(await store.get('s1')).to.equal(`Recent activity:\n${line(1, 2, twenty('c'))}\n${line(2, 3, twenty('d'))}`)
    await store.summary('s1', 'S'.repeat(50))
    expect(await store.get('s1')).to.equal(`Summary: ${'S'.repeat(50)}\n\nRecent activity:\n${line(1, 3, twenty('d'))}`)
    await store.summary('s1', 'T'.repeat(150))
    expect(await store.get('s1')).to.equal(`Summary: ${'T'.repeat(100)}\u2026[50 more characters]`)
    // Stored, not only hidden: without the summary the two newest lines are there.
    expect(await store.get('s1', { includeSummary: false })).to.equal(`Recent activity:\n${line(1, 2, twenty('c'))}\n${line(2, 3, twenty('d'))}`)
  })

  it('an empty batch registers its key (activeSessions lists it, as the reference does) and holds nothing', async () => {
    const store = await make({})
    await store.add(batch('s1', '', NOW, []))
    await store.add(batch('s2', 'p1', NOW, []))
    expect(await store.sessions()).to.deep.equal(['p1\x1fs2', 's1'])
    expect(await store.get('s1')).to.equal('')
    // Empty buckets, its own and another product's, do not hide the session's only product-scoped actions.
    await store.add(batch('s2', 'p2', NOW, ['A']))
    await store.add(batch('s2', '', NOW, []))
    expect(await store.get('s2')).to.equal(`Recent activity:\n${line(1, 0, 'A')}`)
    await store.add(batch('s2', 'p2', NOW, [], 1))
    expect(await store.get('s2', { productId: 'p2' })).to.equal(`Recent activity:\n${line(1, 0, 'A')}`)
    await store.reset('s2', { productId: 'p1' })
    expect(await store.sessions()).to.deep.equal(['p2\x1fs2', 's1'])
  })

  it('keeps a session\'s maxSessionProducts most recently written product buckets (default 64), the others dropped', async () => {
    const store = await make({ maxSessionProducts: 2 })
    await store.add(batch('s1', 'p1', NOW, ['A']))
    await store.add(batch('s1', 'p2', NOW, ['B']))
    await store.add(batch('s1', 'p1', NOW, ['C'], 1))
    await store.add(batch('s1', 'p3', NOW, ['D']))
    expect(await store.sessions()).to.deep.equal(['p1\x1fs1', 'p3\x1fs1'])
    expect(await store.get('s1', { productId: 'p2' })).to.equal('')
    expect(await store.get('s1', { productId: 'p1' })).to.equal(`Recent activity:\n${line(1, 0, 'A')}\n${line(2, 1, 'C')}`)
    const byDefault = await make({})
    for (let p = 0; p < 70; p++) await byDefault.add(batch('s1', `p${p}`, NOW, ['x']))
    expect((await byDefault.sessions()).length).to.equal(64)
    expect(await byDefault.get('s1', { productId: 'p5' })).to.equal('')
  })

  it('refuses invalid options at construction and per call, naming the option (the shared words of internal/options)', async () => {
    const refusals: Array<[ContextDefaults, string]> = [
      [{ lookbackSeconds: 0 }, 'autoplay-rx: lookbackSeconds must be a positive number'],
      [{ lookbackSeconds: Number.NaN }, 'autoplay-rx: lookbackSeconds must be a positive number'],
      [{ maxActions: 0 }, 'autoplay-rx: maxActions must be a positive integer'],
      [{ maxActions: 2.5 }, 'autoplay-rx: maxActions must be a positive integer'],
      [{ maxActions: '3' as unknown as number }, 'autoplay-rx: maxActions must be a positive integer'],
      [{ includeSummary: 'yes' as unknown as boolean }, 'autoplay-rx: includeSummary must be true or false (got "yes")'],
      [{ includeActions: 1 as unknown as boolean }, 'autoplay-rx: includeActions must be true or false (got 1)'],
      [{ maxBucketActions: 0 }, 'autoplay-rx: maxBucketActions must be a positive integer'],
      [{ maxActionBytes: 0 }, 'autoplay-rx: maxActionBytes must be a positive integer'],
      [{ maxContextBytes: 1.5 }, 'autoplay-rx: maxContextBytes must be a positive integer'],
      [{ maxSessionProducts: -1 }, 'autoplay-rx: maxSessionProducts must be a positive integer'],
    ]
    for (const [options, message] of refusals) {
      const made = await make(options).then(() => 'accepted', (error: Error) => `${error.name}: ${error.message}`)
      expect(made, JSON.stringify(options)).to.equal(`TypeError: ${message}`)
    }
    const store = await make({})
    const perCall = await store.get('s1', { maxActions: -1 }).then(() => 'accepted', (error: Error) => error.message)
    expect(perCall).to.equal('autoplay-rx: maxActions must be a positive integer')
  })
}
