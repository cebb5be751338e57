/**
 * The proactive operator's gates past the session state: the reference's rate limits and delivery breaker, the
 * judge, and the outcome of every held or made offer through the telemetry option. Virtual time: ms frames,
 * batches in seconds of that clock.
 */
import { expect } from 'chai'
import { map, of, concatWith, NEVER, Subject } from 'rxjs'
import { predicateTrigger, proactive, type ProactiveOffer } from '../../src/proactive/index.js'
import { testScheduler } from '../helpers/payloads.js'
import { action, batch } from './helpers.js'

type Options = Parameters<typeof proactive>[0]
type Interaction = Options['interactions'] extends import('rxjs').Observable<infer I> | undefined ? I : never

const always = (timings: { interactionTimeoutSeconds?: number; cooldownSeconds?: number } = {}, id = 'always') =>
  predicateTrigger({ id, body: 'Hello?', when: () => true, ...timings })
const quick = { interactionTimeoutSeconds: 1, cooldownSeconds: 1 }
const label = (offer: ProactiveOffer) => `${offer.sessionId}:${offer.triggerId}`
const of1 = (session: string, at = 0, extra = {}) =>
  batch(at, [action(0, '/a', at, at)], { session_id: session, ...extra })

/** Runs batches (and interactions) on marbles until `until` (a subscription marble); offers as `session:trigger`. */
function play(
  options: Omit<Options, 'scheduler'>, marbles: string, values: Record<string, ReturnType<typeof batch>>,
  expected: string, expectedValues: Record<string, string>,
  interactions?: [string, Record<string, Interaction>], until?: string,
) {
  const scheduler = testScheduler()
  scheduler.run(({ hot, expectObservable }) => {
    const app = interactions === undefined ? {} : { interactions: hot(...interactions) }
    expectObservable(hot(marbles, values).pipe(proactive({ ...options, ...app, scheduler }), map(label)), until)
      .toBe(expected, expectedValues)
  })
}

/** A telemetry that keeps each outcome as `trigger:outcome`, and the warnings said. */
function watch() {
  const outcomes: string[] = []
  const warnings: string[] = []
  const errors: string[] = []
  return {
    outcomes, warnings, errors,
    telemetry: { proactiveOffer: (trigger: string, outcome: string) => { outcomes.push(`${trigger}:${outcome}`) } },
    logger: {
      warn: (message: string) => { warnings.push(message) }, error: (message: string) => { errors.push(message) },
    },
  }
}

describe('proactive: rate limits (the reference\'s, off by default)', () => {
  it('holds offers per product per minute, on the clock\'s minutes', () => {
    const seen = watch()
    play({ triggers: [always()], rateLimits: { perProductPerMinute: 1 }, ...seen },
      'a b', { a: of1('s1'), b: of1('s2') }, 'a 59999ms b', { a: 's1:always', b: 's2:always' }, undefined, '^ 61s !')
    // s1's own cooldown after its offer timed out (10.001 s) is an outcome too, counted once.
    expect(seen.outcomes).to.deep.equal(['always:fired', 'always:rateLimit', 'always:cooldown', 'always:fired'])
  })

  it('holds offers per session per hour', () => {
    play({ triggers: [always(quick)], cooldownSeconds: 1, minIntervalSeconds: 1, lookbackSeconds: 10_000,
      rateLimits: { perSessionPerHour: 2 }, logger: {} },
    'a', { a: of1('ps_1') }, 'o 2000ms o 3597998ms o 2000ms o', { o: 'ps_1:always' }, undefined, '^ 3700s !')
  })

  it('holds offers per user per day (the batches\' user_id), sessions of other users going on', () => {
    // s1 (u_1) and s3 (u_2) at once; s2 (u_1) waits for the next UTC day, when s1, waiting too, finds u_1's used.
    play({ triggers: [always()], lookbackSeconds: 100_000, rateLimits: { perUserPerDay: 1 }, logger: {} }, 'a b c',
      { a: of1('s1', 0, { user_id: 'u_1' }), b: of1('s2', 0, { user_id: 'u_1' }), c: of1('s3', 0, { email: 'u_2' }) },
      'a 1ms b 86399997ms (cd)', { a: 's1:always', b: 's3:always', c: 's2:always', d: 's3:always' }, undefined,
      '^ 86401s !')
  })

  it('keeps its counts within maxSessions keys, released as their window passes, said when one is dropped', () => {
    const seen = watch()
    const options = { triggers: [always()], maxSessions: 2, rateLimits: { perSessionPerHour: 1 }, ...seen }
    play(options, 'a b 3599998ms c d', { a: of1('s1'), b: of1('s2'), c: of1('s3', 3600), d: of1('s4', 3600) },
      'a b 3599998ms c d', { a: 's1:always', b: 's2:always', c: 's3:always', d: 's4:always' })
    expect(seen.warnings).to.deep.equal([])
    play(options, 'a b c', { a: of1('s1'), b: of1('s2'), c: of1('s3') },
      'a b c', { a: 's1:always', b: 's2:always', c: 's3:always' })
    expect(seen.warnings.filter((warning) => /rate limit/.test(warning))).to.have.length(1)
  })

  it('refuses a bad limit with a TypeError naming it; 0 is off', () => {
    for (const name of ['perProductPerMinute', 'perSessionPerHour', 'perUserPerDay']) {
      expect(() => proactive({ triggers: [], rateLimits: { [name]: -1 } }), name).to.throw(TypeError, name)
      expect(() => proactive({ triggers: [], rateLimits: { [name]: 1.5 } }), name).to.throw(TypeError, name)
      expect(() => proactive({ triggers: [], rateLimits: { [name]: 0 } }), name).not.to.throw()
    }
  })
})

describe('proactive: the delivery breaker per (surface, product)', () => {
  const failed = (surface?: string): Interaction =>
    ({ sessionId: 'ps_1', productId: 'prod_a', kind: 'deliveryFailed', ...(surface === undefined ? {} : { surface }) })
  const options = { triggers: [always(quick)], cooldownSeconds: 1, minIntervalSeconds: 1, lookbackSeconds: 1000 }

  it('opens for 120 s after 5 consecutive failures: the product\'s offers wait, then go on', () => {
    const seen = watch()
    // Offers at 0 and every 2.001 s; five failures at 1 s open it until 121 s: the offer due at 2.001 s waits.
    play({ ...options, ...seen }, 'a', { a: of1('ps_1') }, 'o 120999ms o', { o: 'ps_1:always' },
      ['1000ms (fffff)', { f: failed() }], '^ 121500ms !')
    // Held at 1 s (the trigger's own cooldown ends while the offer is out), 1.001 s (cooling down), 2.001 s.
    expect(seen.outcomes).to.deep.equal(['always:fired', 'always:state', 'always:cooldown', 'always:circuitOpen',
      'always:fired'])
  })

  it('counts consecutive failures of its own surface only: a delivery resets them', () => {
    play({ ...options, surface: 'intercom', logger: {} }, 'a', { a: of1('ps_1') }, 'o 2000ms o 2000ms o',
      { o: 'ps_1:always' }, ['1000ms (ffff) d (ffff) (sssss)', {
        f: failed('intercom'), s: failed('slack'),
        d: { sessionId: 'ps_1', productId: 'prod_a', kind: 'delivered', surface: 'intercom' },
      }], '^ 5s !')
  })

  it('takes the product from the session when a report names none; its own threshold and pause', () => {
    play({ ...options, breaker: { failureThreshold: 2, pauseSeconds: 10 }, logger: {} }, 'a', { a: of1('ps_1') },
      'o 10999ms o', { o: 'ps_1:always' }, ['1000ms (ff)', { f: { sessionId: 'ps_1', kind: 'deliveryFailed' } }],
      '^ 12s !')
    play({ ...options, breaker: false, logger: {} }, 'a', { a: of1('ps_1') }, 'o 2000ms o', { o: 'ps_1:always' },
      ['1000ms (ffffffffff)', { f: failed() }], '^ 3s !')
  })

  it('refuses a bad threshold or pause with a TypeError naming it', () => {
    expect(() => proactive({ triggers: [], breaker: { failureThreshold: 0 } })).to.throw(TypeError, 'failureThreshold')
    expect(() => proactive({ triggers: [], breaker: { pauseSeconds: -1 } })).to.throw(TypeError, 'pauseSeconds')
  })
})

describe('proactive: the judge between a match and an offer', () => {
  it('offers what it approves; a refusal holds that trigger for its cooldown, the next one judged', () => {
    const seen = watch()
    const judged: string[] = []
    const judge = (offer: ProactiveOffer, context: { actions: readonly unknown[] }) => {
      judged.push(`${offer.sessionId}:${offer.triggerId}:${context.actions.length}`)
      return offer.triggerId !== 'first'
    }
    play({ triggers: [always({}, 'first'), always()], judge, ...seen }, 'a', { a: of1('ps_1') },
      'o', { o: 'ps_1:always' }, undefined, '^ 1s !')
    expect(judged).to.deep.equal(['ps_1:first:1', 'ps_1:always:1'])
    expect(seen.outcomes).to.deep.equal(['first:judgeRefused', 'always:fired'])
  })

  it('takes a judge that times out (5 s) or throws as a refusal, logged once per 10 s', () => {
    const seen = watch()
    play({ triggers: [always()], judge: () => new Promise<boolean>(() => undefined), ...seen }, 'a',
      { a: of1('ps_1') }, '', {}, undefined, '^ 6s !')
    // Refused, the trigger is held by its own cooldown (30 s).
    expect(seen.outcomes).to.deep.equal(['always:judgeRefused', 'always:cooldown'])
    expect(seen.errors).to.have.length(1).and.to.match(/judge.*5000 ms/)
    const thrown = watch()
    play({ triggers: [always({}, 'first'), always()], judgeTimeoutMs: 100, ...thrown,
      judge: (offer) => { if (offer.triggerId === 'first') throw new Error('llm down'); return true } },
    'a', { a: of1('ps_1') }, 'o', { o: 'ps_1:always' }, undefined, '^ 1s !')
    expect(thrown.outcomes).to.deep.equal(['first:judgeRefused', 'always:fired'])
    expect(thrown.errors).to.have.length(1).and.to.match(/llm down/)
  })

  it('aborts the signal it gave the judge once the answer is no longer awaited (a timeout, the session gone), not after an answer', () => {
    const signals: Array<[string, AbortSignal]> = []
    const judge = (offer: ProactiveOffer, _: unknown, signal: AbortSignal) => {
      signals.push([offer.sessionId, signal])
      // A thenable answering at once (a Promise would answer after the virtual run).
      const now = { then: (ok: (value: boolean) => void) => ok(true) } as PromiseLike<boolean>
      return offer.sessionId === 'yes' ? now : new Promise<boolean>(() => undefined)
    }
    // 'slow' times out at 100 ms; 'gone' is dropped by the next session (maxSessions 1) before its timeout; 'yes' answers.
    play({ triggers: [always()], judge, judgeTimeoutMs: 100, maxSessions: 1, ...watch() }, 'a 199ms b 9ms c',
      { a: of1('slow'), b: of1('gone'), c: of1('yes') }, '210ms o', { o: 'yes:always' }, undefined, '^ 1s !')
    expect(signals.map(([id, signal]) => `${id}:${signal.aborted}`)).to.deep.equal(['slow:true', 'gone:true', 'yes:false'])
  })

  it('skips what is not an interaction (null, no sessionId, an unknown kind), said at warn: the offers go on', () => {
    const seen = watch()
    const bad = { n: null, e: {}, k: { sessionId: 's2', kind: 'bogus' }, t: { sessionId: 7, kind: 'clicked' } }
    play({ triggers: [always(quick)], ...seen }, '-- a', { a: of1('s1') }, '-- o', { o: 's1:always' },
      ['n e k t', bad as unknown as Record<string, Interaction>], '^ 1s !')
    expect(seen.warnings).to.have.length(1).and.to.match(/an interaction without a known kind and a sessionId/)
  })

  it('drops sessions opened by interactions alone first at maxSessions, and opens one only in such a place: ids from requests cannot drop a session and its last offer', () => {
    // s1 is offered at once. Were s1 dropped, its next batch (10 s) would find no last offer and be offered again
    // within minIntervalSeconds (300 s). 1: interactions for 2 unknown sessions at maxSessions 2 (the second finds no
    // room); 2: one ghost opened while there is room, then a real session's batch needs its place.
    const ghosts = { x: { sessionId: 'ghost-1', kind: 'opened-chat' }, y: { sessionId: 'ghost-2', kind: 'opened-chat' } }
    play({ triggers: [always(quick)], maxSessions: 2 }, 'a 9s b', { a: of1('s1'), b: of1('s1', 10) }, 'o', { o: 's1:always' },
      ['1s x y', ghosts as Record<string, Interaction>], '^ 20s !')
    play({ triggers: [always(quick)], maxSessions: 2 }, 'a 1999ms c 6999ms b',
      { a: of1('s1'), c: of1('s2', 2), b: of1('s1', 9) }, 'o 1999ms p', { o: 's1:always', p: 's2:always' },
      ['1s x', ghosts as Record<string, Interaction>], '^ 20s !')
  })

  it('holds at most maxJudgesInFlight calls (8): one more is refused as busy; no offer while judging', () => {
    const seen = watch()
    const answers = new Subject<boolean>()
    const judge = () => new Promise<boolean>((resolve) => answers.subscribe(resolve))
    play({ triggers: [always()], judge, maxJudgesInFlight: 1, ...seen }, 'a b c', { a: of1('s1'), b: of1('s2'),
      c: of1('s1') }, '', {}, undefined, '^ 1s !')
    expect(seen.outcomes).to.deep.equal(['always:judgeRefused', 'always:cooldown'])
    expect(seen.warnings).to.have.length(1).and.to.match(/busy/)
  })

  it('gives back a call\'s place when its session is dropped: the next session is judged, not refused as busy', () => {
    const seen = watch()
    // s1's call never answers; s2 drops s1 (maxSessions 1), and with it the call.
    const judge = (offer: ProactiveOffer) => offer.sessionId === 's1' ? new Promise<boolean>(() => undefined) : true
    play({ triggers: [always()], judge, maxJudgesInFlight: 1, maxSessions: 1, ...seen }, 'a b',
      { a: of1('s1'), b: of1('s2') }, '- b', { b: 's2:always' }, undefined, '^ 1s !')
    expect(seen.outcomes).to.deep.equal(['always:fired'])
  })

  it('makes at most maxJudgesPerMinute calls (60), a clock minute', () => {
    play({ triggers: [always()], judge: () => true, maxJudgesPerMinute: 1, logger: {} }, 'a b',
      { a: of1('s1'), b: of1('s2') }, 'a 60000ms b', { a: 's1:always', b: 's2:always' }, undefined, '^ 61s !')
  })

  it('offers an approval that comes later only if the session may still have it', async () => {
    const seen = watch()
    const now = Date.now() / 1000
    const interactions = new Subject<Interaction>()
    const offers: string[] = []
    let approve: (ok: boolean) => void = () => undefined
    const subscription = of(of1('s1', now), of1('s2', now)).pipe(concatWith(NEVER), proactive({
      triggers: [always()], interactions, ...seen,
      judge: (offer) => offer.sessionId === 's1' ? Promise.resolve(true)
        : new Promise((resolve) => { approve = resolve }),
    })).subscribe((offer) => offers.push(label(offer)))
    await new Promise((resolve) => setTimeout(resolve, 10))
    interactions.next({ sessionId: 's2', kind: 'opened-chat' })
    approve(true)
    await new Promise((resolve) => setTimeout(resolve, 10))
    subscription.unsubscribe()
    expect(offers).to.deep.equal(['s1:always'])
    expect(seen.outcomes).to.deep.equal(['always:fired', 'always:state'])
  })

  it('refuses bad judge options with a TypeError naming them', () => {
    for (const name of ['judgeTimeoutMs', 'maxJudgesInFlight', 'maxJudgesPerMinute']) {
      expect(() => proactive({ triggers: [], judge: () => true, [name]: 0 }), name).to.throw(TypeError, name)
    }
  })
})

describe('proactive: outcomes through the telemetry option', () => {
  it('counts the first match by outcome, a held one once per reason: fired, state, cooldown, interval', () => {
    const seen = watch()
    // ps_1 at 0 fires; at 0.001 the offer is out (state); its timeout ends at 1.001 (cooling down to 2.001); at
    // 1.5 s it still does (not counted again); at 2.001 the minimum interval (10 s) holds it; at 10 s it fires.
    play({ triggers: [always(quick)], cooldownSeconds: 1, minIntervalSeconds: 10, ...seen }, 'a b 1498ms c',
      { a: of1('ps_1'), b: of1('ps_1'), c: of1('ps_1', 1.5) }, 'o 9999ms o', { o: 'ps_1:always' }, undefined,
      '^ 10500ms !')
    expect(seen.outcomes).to.deep.equal(['always:fired', 'always:state', 'always:cooldown', 'always:interval',
      'always:fired'])
  })
  it('fences a telemetry that throws: logged, the offers going on', () => {
    const seen = watch()
    const telemetry = { proactiveOffer: () => { throw new Error('meter down') } }
    play({ triggers: [always()], ...seen, telemetry }, 'a b', { a: of1('s1'), b: of1('s2') }, 'a b',
      { a: 's1:always', b: 's2:always' }, undefined, '^ 1s !')
    expect(seen.errors).to.have.length(1).and.to.match(/telemetry threw: .*meter down/)
  })
  // autoplay_rx.proactive.offers on a real OpenTelemetry SDK: spec/otel/otelTelemetry.spec.ts.
})
