/**
 * proactive across workers, in one process: the `state` store (its gating loaded before a session new here is
 * evaluated, saved before an offer goes out) on virtual time, deliveries held while their batch is in the window,
 * and `redisProactiveState` against a real redis-server.
 */
import { expect } from 'chai'
import { map, of, type SchedulerLike } from 'rxjs'
import type { ActionsPayload } from '../../src/index.js'
import { pageDwellTrigger, pingPongTrigger, proactive, redisProactiveState, type ProactiveOffer } from '../../src/proactive/index.js'
import type { StoredSession } from '../../src/proactive/store.js'
import { testScheduler } from '../helpers/payloads.js'
import { redisSuite } from '../helpers/redis.js'
import { action, batch } from './helpers.js'

const label = (offer: ProactiveOffer) => `${offer.sessionId}:${offer.triggerId}`
const pingPong = batch(0, ['/a', '/b', '/a'].map((url, i) => action(i, url, 0, 0)))
const thinking = { mode: 'thinking', lastInteractionAt: -100, cooldownSince: null, cooldownSeconds: null, guidance: false,
  tourId: null, clickedOption: false } as const

/** A promise-like answered `ms` later on the scheduler's clock (a real Promise cannot be, in virtual time). */
const later = <A>(scheduler: SchedulerLike, ms: number, value: A): PromiseLike<A> => ({
  then: ((ok: (value: A) => void) => {
    scheduler.schedule(() => ok(value), ms)
    return Promise.resolve()
  }) as PromiseLike<A>['then'],
})

/** A delivery as a partitioned reader hands it out, recording what the operator did with it. */
function delivery(payload: ActionsPayload, signal: AbortSignal, log: string[], scheduler: SchedulerLike) {
  const at = () => `${scheduler.now()}`
  return {
    payload, signal, hold: () => (log.push(`hold ${payload.forwarded_at}@${at()}`), true),
    ack: () => { log.push(`ack ${payload.forwarded_at}@${at()}`) },
    release: () => { log.push(`release ${payload.forwarded_at}@${at()}`) },
  }
}

describe('proactive across workers: the state store and held deliveries', () => {
  it('evaluates a session new here once its stored gating is loaded: an offer made 100 s ago holds the next 200 s more', () => {
    const scheduler = testScheduler()
    const saved: StoredSession = { state: thinking, lastOfferAt: -100, offerTimeout: 10, cooldowns: [] }
    const loads: string[] = []
    scheduler.run(({ hot, expectObservable }) => {
      const state = { load: (id: string) => (loads.push(id), later(scheduler, 50, saved)), save: () => undefined }
      expectObservable(hot('a', { a: pingPong }).pipe(
        proactive({ triggers: [pingPongTrigger()], lookbackSeconds: 1000, state, scheduler }), map(label)))
        .toBe('200000ms o 299999ms o 299999ms o', { o: 'ps_1:canonical_url_ping_pong' })
    })
    expect(loads).to.deep.equal(['ps_1'])
  })

  it('starts a session afresh when its load does not answer in stateTimeoutMs, said at warn', () => {
    const scheduler = testScheduler()
    const warnings: string[] = []
    scheduler.run(({ hot, expectObservable }) => {
      const state = { load: () => new Promise<StoredSession>(() => undefined), save: () => undefined }
      expectObservable(hot('a', { a: pingPong }).pipe(proactive({ triggers: [pingPongTrigger()], state, scheduler,
        stateTimeoutMs: 2000, logger: { warn: (message) => { warnings.push(message) } } }), map(label)))
        .toBe('2000ms o', { o: 'ps_1:canonical_url_ping_pong' })
    })
    expect(warnings).to.have.length(1)
    expect(warnings[0]).to.match(/state not loaded \(.*no answer in 2000 ms\); it starts afresh/)
  })

  it('applies an interaction that came while the session loaded once it has; one for a session not held here is its owner\'s', () => {
    const scheduler = testScheduler()
    const loads: string[] = []
    const saved = new Set<string>()
    scheduler.run(({ hot, expectObservable }) => {
      const state = { load: (id: string) => (loads.push(id), later(scheduler, 50, null)), save: (id: string) => saved.add(id) }
      const interactions = hot('10ms c d', { c: { sessionId: 'ps_1', kind: 'opened-chat' as const },
        d: { sessionId: 'ps_2', kind: 'opened-chat' as const } })
      // In the chat from 50 ms (the load): thinking 20.001 s later, then cooling down 60 s before the offer.
      expectObservable(hot('a', { a: pingPong }).pipe(
        proactive({ triggers: [pingPongTrigger()], interactions, state, scheduler }), map(label)))
        .toBe('80051ms o', { o: 'ps_1:canonical_url_ping_pong' })
    })
    expect(loads).to.deep.equal(['ps_1'])
    expect([...saved]).to.deep.equal(['ps_1'])
  })

  it('starts a session afresh when its store answers what is not a stored session, said at warn', () => {
    const scheduler = testScheduler()
    const warnings: string[] = []
    scheduler.run(({ hot, expectObservable }) => {
      const state = { load: () => ({ state: 'thinking' }) as unknown as StoredSession, save: () => undefined }
      expectObservable(hot('a', { a: pingPong }).pipe(proactive({ triggers: [pingPongTrigger()], state, scheduler,
        logger: { warn: (message) => { warnings.push(message) } } }), map(label)))
        .toBe('o', { o: 'ps_1:canonical_url_ping_pong' })
    })
    expect(warnings).to.deep.equal(['proactive: a session\'s state not loaded (not a stored session); it starts afresh'])
  })

  it('sends an offer once the save holding it answered: the last offer, the offered state and the trigger\'s cooldown', () => {
    const scheduler = testScheduler()
    const saves: Array<[string, StoredSession]> = []
    scheduler.run(({ hot, expectObservable }) => {
      const state = { load: () => null, save: (id: string, s: StoredSession) => (saves.push([id, s]), later(scheduler, 30, 'OK')) }
      expectObservable(hot('a', { a: pingPong }).pipe(
        proactive({ triggers: [pingPongTrigger()], state, scheduler }), map(label)))
        .toBe('30ms o', { o: 'ps_1:canonical_url_ping_pong' })
    })
    const [id, first] = saves[0]!
    expect(id).to.equal('ps_1')
    expect(first).to.deep.include({ lastOfferAt: 0, offerTimeout: 10, cooldowns: [['canonical_url_ping_pong', 30]] })
    expect(first.state.mode).to.equal('proactive')
    // Then each change is saved (back to thinking at 10.001 s, cooling down; the cooldowns ending), none twice.
    const texts = saves.map(([, s]) => JSON.stringify(s))
    expect(new Set(texts).size).to.equal(texts.length)
    expect(saves.at(-1)![1].state.mode).to.equal('thinking')
  })

  it('sends no offer whose save fails or does not answer (unsaved): at most 8 wait for a slow save, one more drops the oldest', () => {
    const scheduler = testScheduler()
    const at: number[] = []
    const outcomes: string[] = []
    const warnings: string[] = []
    let saves = 0
    scheduler.run(({ cold }) => {
      const state = { load: () => null, save: () => (saves++, new Promise(() => undefined)) }
      const fast = pingPongTrigger({ interactionTimeoutSeconds: 0.01, cooldownSeconds: 0.01 })
      const telemetry = { proactiveOffer: (_: string, outcome: string) => { outcomes.push(`${outcome}@${scheduler.now()}`) } }
      cold('a', { a: pingPong }).pipe(proactive({ triggers: [fast], state, scheduler, stateTimeoutMs: 60_000,
        minIntervalSeconds: 0.1, interactionTimeoutSeconds: 0.01, cooldownSeconds: 0.01, lookbackSeconds: 1.05,
        telemetry: telemetry as never, logger: { warn: (message) => { warnings.push(message) } } }))
        .subscribe((offer) => at.push(Math.round(offer.at * 1000)))
    })
    // An offer made every 100 ms until the batch leaves the lookback (11 in all): the first waits for the save out, 8
    // for the next; the 10th and 11th drop the oldest two at once. The saves time out: their offers are dropped too.
    expect(at).to.deep.equal([])
    expect(outcomes.filter((o) => o.startsWith('fired')).length).to.equal(11)
    expect(outcomes.filter((o) => o.startsWith('unsaved'))).to.deep.equal(
      ['unsaved@901', 'unsaved@1002', 'unsaved@60000', ...Array(8).fill('unsaved@120000')])
    expect(saves).to.equal(2)
    expect(warnings).to.deep.equal(['proactive: a session\'s state not saved (no answer in 60000 ms)']) // 1 per 10 s
  })

  it('sends an offer only while its partition is surely this worker\'s: owned() false drops it (notOwned), saved or not', () => {
    for (const store of [false, true]) {
      const scheduler = testScheduler()
      const offers: string[] = []
      const outcomes: string[] = []
      let owned = true
      scheduler.run(({ hot }) => {
        const state = store ? { load: () => null, save: () => later(scheduler, 30, 'OK') } : undefined
        const signal = new AbortController().signal
        const held = (payload: ActionsPayload) => ({ ...delivery(payload, signal, [], scheduler), owned: () => owned })
        const telemetry = { proactiveOffer: (_: string, outcome: string) => { outcomes.push(outcome) } }
        // Two sessions whose first batch matches: the first's offer goes out; the second's is made while the lease is
        // not renewed in time (and, with a store, its save answers after that).
        hot('a 99ms b', { a: held(pingPong), b: held({ ...pingPong, session_id: 'ps_2' }) }).pipe(
          proactive({ triggers: [pingPongTrigger()], state, scheduler, telemetry: telemetry as never }), map(label))
          .subscribe((offer) => offers.push(offer))
        scheduler.schedule(() => { owned = false }, 90)
      })
      expect(offers, `state: ${store}`).to.deep.equal(['ps_1:canonical_url_ping_pong'])
      expect(outcomes.filter((o) => o === 'fired' || o === 'notOwned'), `state: ${store}`).to.deep.equal(['fired', 'fired', 'notOwned'])
    }
  })

  it('holds each delivery while its batch is in the window and acknowledges it as it leaves; a summary at once', () => {
    const scheduler = testScheduler()
    const log: string[] = []
    const signal = new AbortController().signal
    scheduler.run(({ hot }) => {
      const quiet = batch(0, [action(0, '/a', 0, 0)])
      const summary = { type: 'summary', product_id: 'prod_a', session_id: 'ps_1', summary: 's', replaces: 1, forwarded_at: 0 }
      hot('a 999ms b', {
        a: delivery(quiet, signal, log, scheduler),
        b: delivery(summary as unknown as ActionsPayload, signal, log, scheduler),
      }).pipe(proactive({ triggers: [pingPongTrigger()], lookbackSeconds: 10, scheduler })).subscribe()
    })
    expect(log).to.deep.equal(['hold 0@0', 'ack 0@1000', 'ack 0@10001'])
  })

  it('when the partition moves: the session\'s deliveries are released, its timer dropped, nothing offered', () => {
    const scheduler = testScheduler()
    const log: string[] = []
    const moved = new AbortController()
    const offers: string[] = []
    scheduler.run(({ hot }) => {
      // One action: the dwell would hold at 60 s; the partition moves at 5 s.
      hot('a', { a: delivery(batch(0, [action(0, '/a', 0, 0)]), moved.signal, log, scheduler) })
        .pipe(proactive({ triggers: [pageDwellTrigger({ thresholdSeconds: 60 })], scheduler }), map(label))
        .subscribe((offer) => offers.push(offer))
      scheduler.schedule(() => moved.abort(), 5000)
    })
    expect(log).to.deep.equal(['hold 0@0', 'release 0@5000'])
    expect(offers).to.deep.equal([])
  })

  it('releases what it holds when unsubscribed, for the next owner', () => {
    const scheduler = testScheduler()
    const log: string[] = []
    scheduler.run(({ cold }) => {
      const subscription = cold('a', { a: delivery(pingPong, new AbortController().signal, log, scheduler) })
        .pipe(proactive({ triggers: [pageDwellTrigger()], scheduler })).subscribe()
      scheduler.schedule(() => subscription.unsubscribe(), 100)
    })
    expect(log).to.deep.equal(['hold 0@0', 'release 0@100'])
  })

  describe('redisProactiveState (real redis-server)', function () {
    this.timeout(20_000)
    const { client, name } = redisSuite()

    it('saves a session under its prefix with a TTL and loads it back; null for one never saved', async () => {
      const redis = await client()
      const prefix = `${name('state')}:`
      const state = redisProactiveState(redis, { prefix, ttlSeconds: 60 })
      const saved: StoredSession = { state: thinking, lastOfferAt: null, offerTimeout: 10, cooldowns: [['t', 12.5]] }
      await state.save('ps_1', saved)
      expect(await state.load('ps_1')).to.deep.equal(saved)
      expect(await state.load('ps_2')).to.equal(null)
      const ttl = Number(await redis.sendCommand(['TTL', `${prefix}ps_1`]))
      expect(ttl).to.be.within(59, 60)
      expect(() => redisProactiveState(redis, { ttlSeconds: 0 })).to.throw(TypeError, /ttlSeconds/)
    })

    it('never moves a session\'s last offer back, and of two saves with the same keeps the later: a save held up in the network does not replace the next owner\'s', async () => {
      const state = redisProactiveState(await client(), { prefix: `${name('later')}:` })
      const at = (savedAt: number, lastOfferAt: number | null): StoredSession =>
        ({ state: thinking, lastOfferAt, offerTimeout: 10, cooldowns: [], savedAt })
      await state.save('ps_1', at(100, 99)) // the next owner's
      await state.save('ps_1', at(90, 80)) // the cut-off worker's, landing late
      expect(await state.load('ps_1')).to.deep.equal(at(100, 99))
      // Saved later by the cut-off worker, with an older last offer: an offer would come early once it loads it.
      await state.save('ps_1', at(105, 3))
      await state.save('ps_1', at(106, null))
      expect(await state.load('ps_1')).to.deep.equal(at(100, 99))
      await state.save('ps_1', at(98, 99))
      expect(await state.load('ps_1')).to.deep.equal(at(100, 99))
      await state.save('ps_1', at(101, 99))
      expect(await state.load('ps_1')).to.deep.equal(at(101, 99))
      await state.save('ps_1', at(102, 100))
      expect(await state.load('ps_1')).to.deep.equal(at(102, 100))
    })

    it('through the operator: a second operator (another worker) does not offer again what the first offered', async () => {
      const redis = await client()
      const state = redisProactiveState(redis, { prefix: `${name('operator')}:` })
      const run = async () => {
        const offers: string[] = []
        const done = of(batch(Date.now() / 1000, pingPong.actions)).pipe(proactive({ triggers: [pingPongTrigger()], state }))
          .subscribe((offer) => offers.push(offer.triggerId))
        await new Promise((resolve) => setTimeout(resolve, 300))
        done.unsubscribe()
        return offers
      }
      expect(await run()).to.deep.equal(['canonical_url_ping_pong'])
      expect(await run()).to.deep.equal([])
    })
  })
})
