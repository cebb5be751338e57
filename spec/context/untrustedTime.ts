/**
 * Times from payloads are untrusted: one suite run against both stores (memory: spec/context/ContextStore.spec.ts;
 * Redis: spec/redis/contextStore.spec.ts). A summary dated past the store's clock plus `maxClockSkewSeconds` is
 * refused with a typed error and freezes nothing; a batch dated past it counts as received now.
 */
import { expect } from 'chai'
import type { ContextDefaults } from '../../src/context/options.js'
import { batch, line } from './batches.js'
import { clock, type Harness } from './parity.js'

const NOW = 1_700_000_100 // seconds, what parity's clock starts at
const YEAR_9999 = 253_402_300_799

/** The rejection of a write, as the fields a user switches on; 'stored' or 'refused' when it settled. */
async function outcome(write: Promise<boolean>) {
  return write.then((stored) => (stored ? 'stored' : 'refused'), (error: Record<string, unknown>) => (
    { name: error['name'], _tag: error['_tag'], sessionId: error['sessionId'], at: error['at'], message: error['message'] }))
}

export function untrustedTime(make: (defaults: ContextDefaults) => Promise<Harness>): void {
  beforeEach(() => { clock.ms = NOW * 1000 })

  it('summaryTime gives the stored summary\'s time: none before, the newest stored, kept by a summary without a time and by a refused one', async () => {
    const store = await make({})
    expect(await store.summaryTime('s1')).to.equal(undefined)
    expect(await store.summary('s1', 'One.', NOW - 10)).to.equal(true)
    expect(await store.summaryTime('s1')).to.equal(NOW - 10)
    expect(await store.summary('s1', 'Older.', NOW - 20)).to.equal(false)
    expect(await store.summary('s1', 'No time.')).to.equal(true)
    expect(await outcome(store.summary('s1', 'From the future.', YEAR_9999))).to.not.equal('stored')
    expect(await store.summaryTime('s1')).to.equal(NOW - 10)
    expect(await store.summaryTime('s2')).to.equal(undefined)
  })

  it('refuses a summary dated past now + 300 s with a typed SummaryTimeAhead; the session\'s genuine summaries go on', async () => {
    const store = await make({})
    expect(await store.summary('s1', 'Genuine.', NOW - 10)).to.equal(true)
    for (const at of [YEAR_9999, 1e308]) {
      expect(await outcome(store.summary('s1', 'From the future.', at))).to.deep.equal({
        name: 'SummaryTimeAheadError', _tag: 'SummaryTimeAhead', sessionId: 's1', at,
        message: `the summary of session s1 is dated ${at}, past this clock plus maxClockSkewSeconds ` +
          `(${NOW + 300}): not stored`,
      })
    }
    expect(await store.get('s1')).to.equal('Summary: Genuine.')
    expect(await store.summary('s1', 'Later, genuine.', NOW)).to.equal(true)
    expect(await store.get('s1')).to.equal('Summary: Later, genuine.')
    // Within the allowance: a sender's clock a little ahead is believed.
    expect(await store.summary('s1', 'Ahead by 300 s.', NOW + 300)).to.equal(true)
    expect(await outcome(store.summary(null, 'Ahead by 300.5 s.', NOW + 300.5))).to.include({ sessionId: 'unknown' })
    clock.ms += 1000
    expect(await store.summary('s1', 'A second later.', NOW + 300.5)).to.equal(true)
  })

  it('maxClockSkewSeconds sets the allowance (Infinity: any time, the reference); a bad value is refused', async () => {
    const tight = await make({ maxClockSkewSeconds: 0.5 })
    expect(await outcome(tight.summary('s1', 'One second ahead.', NOW + 1))).to.include({ _tag: 'SummaryTimeAhead' })
    const open = await make({ maxClockSkewSeconds: Infinity })
    expect(await open.summary('s2', 'Year 9999.', YEAR_9999)).to.equal(true)
    for (const bad of [0, -1, Number.NaN, '300']) {
      const made = await make({ maxClockSkewSeconds: bad as number }).then(() => 'accepted', (e: Error) => e.message)
      expect(made, String(bad)).to.equal('autoplay-rx: maxClockSkewSeconds must be a positive number')
    }
  })

  it('a batch dated past the allowance counts as received now: lookback drops it in time like any other', async () => {
    const store = await make({ lookbackSeconds: 60 })
    await store.add(batch('s1', '', YEAR_9999, ['Future']))
    await store.add(batch('s1', '', 1e308, ['Far future'], 1))
    expect(await store.get('s1')).to.equal(`Recent activity:\n${line(1, 0, 'Future')}\n${line(2, 1, 'Far future')}`)
    clock.ms += 61_000
    expect(await store.get('s1')).to.equal('')
    await store.add(batch('s1', '', NOW + 61, ['Now'], 2))
    expect(await store.get('s1', { lookbackSeconds: 1e9 })).to.equal(`Recent activity:\n${line(1, 2, 'Now')}`)
  })

  it('negative and non-finite batch times: a negative one is old (lookback drops it), a non-finite one counts as now', async () => {
    const store = await make({})
    await store.add(batch('s1', '', -1e308, ['Before 1970']))
    await store.add(batch('s1', '', Number.NaN, ['No time'], 1))
    await store.add(batch('s1', '', Number.POSITIVE_INFINITY, ['Forever'], 2))
    expect(await store.get('s1', { lookbackSeconds: 10 })).to.equal(`Recent activity:\n${line(1, 1, 'No time')}\n${line(2, 2, 'Forever')}`)
    expect(await store.get('s1')).to.equal(
      `Recent activity:\n${line(1, 0, 'Before 1970')}\n${line(2, 1, 'No time')}\n${line(3, 2, 'Forever')}`)
    expect(await store.summary('s1', 'Negative time.', -5)).to.equal(true)
    expect(await store.summary('s1', 'Older still.', -6)).to.equal(false)
  })
}
