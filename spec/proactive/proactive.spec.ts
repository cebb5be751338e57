/** The proactive operator: every timed rule on virtual time (ms frames; batches in seconds of that clock). */
import { expect } from 'chai'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import {
  asyncScheduler, concatWith, map, NEVER, of, Subject, VirtualTimeScheduler, type SchedulerLike,
} from 'rxjs'
import { createNodeMiddleware } from '../../src/adapters/node.js'
import { WebhookReceiver } from '../../src/index.js'
import {
  pageDwellTrigger, pingPongTrigger, predicateTrigger, proactive, sectionPlaybookTrigger, type ProactiveOffer,
} from '../../src/proactive/index.js'
import { fixture, SECRET, signed } from '../helpers/fixtures.js'
import { listen, send } from '../helpers/http.js'
import { testScheduler } from '../helpers/payloads.js'
import { action, batch } from './helpers.js'

type Options = Parameters<typeof proactive>[0]
type Interaction = Options['interactions'] extends import('rxjs').Observable<infer I> | undefined ? I : never

const always = (timings: { interactionTimeoutSeconds?: number; cooldownSeconds?: number } = {}) =>
  predicateTrigger({ id: 'always', body: 'Hello?', when: () => true, ...timings })
const label = (offer: ProactiveOffer) => `${offer.sessionId}:${offer.triggerId}`

/** Runs batches (and interactions) on marbles; `expected` marbles the offers as `session:trigger`. */
function play(
  options: Omit<Options, 'scheduler'>, marbles: string, values: Record<string, ReturnType<typeof batch>>,
  expected: string, expectedValues: Record<string, string>,
  interactions?: [string, Record<string, Interaction>],
) {
  const scheduler = testScheduler()
  let left = -1
  scheduler.run(({ hot, expectObservable }) => {
    const app = interactions === undefined ? {} : { interactions: hot(...interactions) }
    expectObservable(hot(marbles, values).pipe(proactive({ ...options, ...app, scheduler }), map(label)))
      .toBe(expected, expectedValues)
    scheduler.schedule(() => { left = scheduler.actions.length }, 1_000_000)
  })
  return left
}

describe('proactive', () => {
  it('offers a dwell when its threshold passes with no new action, with one timer, not polling', () => {
    const options = { triggers: [pageDwellTrigger({ thresholdSeconds: 60 })], logger: {} }
    // One action on /a at 0: the dwell holds from 60 s, and the session is quiet again 300 s after the offer.
    const left = play(options, 'a', { a: batch(0, [action(0, '/a', 0, 0)]) },
      '60000ms o', { o: 'ps_1:user_page_dwell' })
    expect(left, 'timers left once the session is quiet').to.equal(0)
    // A second action on another page at 30 s ends the streak: the dwell on /b holds from 90 s.
    play(options, 'a 29999ms b', { a: batch(0, [action(0, '/a', 0, 0)]), b: batch(30, [action(1, '/b', 30, 30)]) },
      '90000ms o', { o: 'ps_1:user_page_dwell' })
  })

  it('offers on a batch at once, the full context as the reference builds it', () => {
    const scheduler = testScheduler()
    const offers: ProactiveOffer[] = []
    scheduler.run(({ cold }) => {
      const urls = ['/a', '/b', '/a']
      cold('a', { a: batch(0, urls.map((url, i) => action(i, url, i, i)), { conversation_id: 'conv_1' }) })
        .pipe(proactive({ triggers: [pingPongTrigger()], scheduler })).subscribe((offer) => offers.push(offer))
    })
    expect(offers).to.have.length(1)
    const { offerId, ...rest } = offers[0]!
    expect(offerId).to.match(/^[0-9a-f]{16}$/)
    expect(rest).to.deep.equal({
      triggerId: 'canonical_url_ping_pong', body: 'Need my expert help?', replyLabels: [], metadata: { min_cycles: 1 },
      interactionTimeoutSeconds: 10, cooldownSeconds: 30, sessionId: 'ps_1', productId: 'prod_a',
      conversationId: 'conv_1', at: 0,
    })
  })

  it('returns an offered session to thinking 1 ms past the offer\'s timeout, then cools down 60 s', () => {
    // The offer waits 10 s (strictly more: 10.001 s), the session then cools down 60 s: the next offer at 70.001 s.
    play({ triggers: [always({ cooldownSeconds: 1 })], minIntervalSeconds: 1, logger: {} },
      'a', { a: batch(0, [action(0, '/a')]) }, 'o 70000ms o', { o: 'ps_1:always' })
  })

  it('returns a reactive session to thinking 20 s after its last interaction, each interaction restarting it', () => {
    // opened-chat at 0, wrote at 10 s: thinking at 30.001 s, cooled down at 90.001 s, when the offer goes out.
    play({ triggers: [always({ cooldownSeconds: 1 })], minIntervalSeconds: 1, logger: {} },
      '5000ms a', { a: batch(5, [action(0, '/a')]) }, '90001ms o', { o: 'ps_1:always' },
      ['c 9999ms w', { c: { sessionId: 'ps_1', kind: 'opened-chat' }, w: { sessionId: 'ps_1', kind: 'wrote' } }])
  })

  it('holds a trigger\'s own cooldown in its session, other triggers and sessions going on', () => {
    const fast = { interactionTimeoutSeconds: 1 }
    const once = predicateTrigger({ id: 'first', body: 'A', when: () => true, ...fast, cooldownSeconds: 50 })
    const options = { triggers: [once, always({ ...fast, cooldownSeconds: 200 })], minIntervalSeconds: 1,
      cooldownSeconds: 1, logger: {} }
    // first at 0 s; timeout 1.001 s, cooldown to 2.001 s: `always` then; first again at 50 s, at 100 s.
    play(options, 'a', { a: batch(0, [action(0, '/a')]) }, 'f 2000ms a 47998ms f 49999ms f',
      { f: 'ps_1:first', a: 'ps_1:always' })
  })

  it('keeps the minimum interval per session (300 s by default), on its boundary', () => {
    play({ triggers: [always({ interactionTimeoutSeconds: 1, cooldownSeconds: 1 })], cooldownSeconds: 1, logger: {} },
      'a', { a: batch(0, [action(0, '/a')], { forwarded_at: 200 }) }, 'o 299999ms o', { o: 'ps_1:always' })
    play({ triggers: [always({ interactionTimeoutSeconds: 1, cooldownSeconds: 1 })], cooldownSeconds: 1,
      minIntervalSeconds: 30, logger: {} }, 'a', { a: batch(0, [action(0, '/a')]) },
    'o 29999ms o 29999ms o 29999ms o 29999ms o', { o: 'ps_1:always' })
  })

  it('offers nothing while proactive or reactive: a click keeps the offer out, a dismissal too', () => {
    // The offer at 0 waits 10 s from each interaction: clicked at 8 s, dismissed at 15 s: thinking at 25.001 s,
    // cooled down at 30.001 s; then, with no interaction, an offer every 10.001 + 5 s while the batch is kept.
    play({ triggers: [always({ cooldownSeconds: 1 })], minIntervalSeconds: 1, cooldownSeconds: 5, logger: {} },
      'a', { a: batch(0, [action(0, '/a')]) }, 'o 30000ms o 15000ms o 15000ms o 15000ms o 15000ms o 15000ms o',
      { o: 'ps_1:always' },
      ['8000ms c 6999ms d', { c: { sessionId: 'ps_1', kind: 'clicked' }, d: { sessionId: 'ps_1', kind: 'dismissed' } }])
  })

  it('applies a running tour\'s own timings', () => {
    const tours = { tour_a: { interactionTimeoutSeconds: 2, cooldownSeconds: 3 } }
    // The offer at 0; tour started at 1 s: its timeout ends it at 3.001 s, its cooldown at 6.001 s. The next offer
    // has no tour: 10.001 s, then 60 s.
    play({ triggers: [always({ cooldownSeconds: 1 })], minIntervalSeconds: 1, tours, logger: {} },
      'a', { a: batch(0, [action(0, '/a')]) }, 'o 6000ms o 70000ms o', { o: 'ps_1:always' },
      ['1000ms t', { t: { sessionId: 'ps_1', kind: 'tour-started', tourId: 'tour_a' } }])
  })

  it('takes a usertour_trigger where it arrives as its session\'s tour starting, with that flow\'s timings', () => {
    const tours = { flow_a: { interactionTimeoutSeconds: 2, cooldownSeconds: 3 } }
    const trigger = { type: 'usertour_trigger', product_id: 'p', session_id: 'ps_1', flow_id: 'flow_a' } as const
    // As the interaction above: the offer at 0, the flow started at 1 s, then the flow's timeout and cooldown.
    play({ triggers: [always({ cooldownSeconds: 1 })], minIntervalSeconds: 1, tours, logger: {} },
      'a 999ms u', { a: batch(0, [action(0, '/a')]), u: trigger as never }, 'o 6000ms o 70000ms o', { o: 'ps_1:always' })
  })

  it('releases a quiet session: no timer left, its state forgotten, none counted against maxSessions', () => {
    const warnings: string[] = []
    const logger = { warn: (message: string) => warnings.push(message) }
    const dwell = pageDwellTrigger({ thresholdSeconds: 60 })
    const options = { triggers: [dwell], maxSessions: 2, minIntervalSeconds: 10, logger }
    const of = (session: string, at: number) => batch(at, [action(0, '/a', at, at)], { session_id: session })
    // s1 and s2 at 0: offers at 60 s, quiet at 120.001 s (lookback); s3 and s4 at 200 s find the map empty.
    const left = play(options, 'a b 199998ms c d',
      { a: of('s1', 0), b: of('s2', 0), c: of('s3', 200), d: of('s4', 200) },
      '60000ms (xy) 199996ms (zw)', { x: 's1:user_page_dwell', y: 's2:user_page_dwell', z: 's3:user_page_dwell',
        w: 's4:user_page_dwell' })
    expect(left).to.equal(0)
    expect(warnings).to.deep.equal([])
    // s3 while s1 and s2 are live drops s1 (the least recently active) with its timer: s2 alone offers.
    play(options, 'a b c', { a: of('s1', 0), b: of('s2', 0), c: of('s3', 0) },
      '60000ms (yz)', { y: 's2:user_page_dwell', z: 's3:user_page_dwell' })
    expect(warnings).to.have.length(1).and.to.match(/maxSessions/)
  })

  it('wakes a dwell whose streak a new action fixed when the lookback cuts that streak again', () => {
    // Actions on /a at 0 and 30 s: a streak of two spanning 30 s, which time alone does not lengthen, until the first
    // leaves the lookback (at 120.001 s): the one left has lasted 90 s.
    const left = play({ triggers: [pageDwellTrigger({ thresholdSeconds: 60 })], logger: {} }, 'a 29999ms b',
      { a: batch(0, [action(0, '/a', 0, 0)]), b: batch(30, [action(1, '/a', 30, 30)]) },
      '120001ms o', { o: 'ps_1:user_page_dwell' })
    expect(left).to.equal(0)
  })

  it('keeps each window within maxWindowBytes, the newest batch always, and says so once', () => {
    const warnings: string[] = []
    const lengths: number[] = []
    const logger = { warn: (message: string) => { warnings.push(message) } }
    const scheduler = testScheduler()
    const sizes = predicateTrigger({
      id: 'sizes', body: 'x', when: (context) => { lengths.push(context.actions.length); return false },
    })
    scheduler.run(({ cold }) => {
      cold('a b c', { a: batch(0, [action(0, '/a')]), b: batch(0, [action(1, '/a')]), c: batch(0, [action(2, '/a')]) })
        .pipe(proactive({ triggers: [sizes], maxWindowBytes: 600, scheduler, logger }))
        .subscribe()
    })
    expect(lengths).to.deep.equal([1, 1, 1])
    expect(warnings).to.have.length(1).and.to.match(/maxWindowBytes/)
  })

  it('keeps every session\'s batches within maxBytes: the least recently active lose their oldest first, said once', () => {
    const warnings: string[] = []
    const seen: string[] = []
    const logger = { warn: (message: string) => { warnings.push(message) } }
    const spy = predicateTrigger({
      id: 'spy', body: 'x', when: (context) => { seen.push(`${context.sessionId}:${context.actions.length}`); return false },
    })
    const run = (maxBytes?: number) => {
      seen.length = 0
      const scheduler = testScheduler()
      scheduler.run(({ cold }) => {
        cold('a b c', {
          a: batch(0, [action(0, '/a')]), b: batch(0, [action(0, '/a')], { session_id: 'ps_2' }), c: batch(0, [action(1, '/a')]),
        }).pipe(proactive({ triggers: [spy], maxBytes, scheduler, logger })).subscribe()
      })
      return [...seen]
    }
    // One batch is between 300 and 600 estimated bytes (the maxWindowBytes spec above): two sessions pass 600.
    expect(run()).to.deep.equal(['ps_1:1', 'ps_2:1', 'ps_1:2'])
    expect(warnings).to.deep.equal([])
    expect(run(600)).to.deep.equal(['ps_1:1', 'ps_2:1', 'ps_1:1'])
    expect(warnings).to.have.length(1).and.to.match(/maxBytes/)
  })

  it('keeps at most maxActions batches a session: the context\'s conversationId is from those kept', () => {
    const conversations: (string | null)[] = []
    const scheduler = testScheduler()
    const spy = predicateTrigger({
      id: 'spy', body: 'x', when: (context) => { conversations.push(context.conversationId); return false },
    })
    scheduler.run(({ cold }) => {
      cold('a b c', {
        a: batch(0, [action(0, '/a')], { conversation_id: 'conv_1' }), b: batch(0, [action(1, '/a')]),
        c: batch(0, [action(2, '/a')]),
      }).pipe(proactive({ triggers: [spy], maxActions: 2, scheduler })).subscribe()
    })
    expect(conversations).to.deep.equal(['conv_1', 'conv_1', null])
  })

  it('completes and errors with its source, takes a throwing trigger as no match (logged once), stops every timer on unsubscribe', () => {
    const scheduler = testScheduler()
    const broken = predicateTrigger({ id: 'broken', body: 'x', when: () => { throw new Error('rule broke') } })
    const dwell = pageDwellTrigger()
    const errors: string[] = []
    const logger = { error: (message: string) => { errors.push(message) } }
    scheduler.run(({ cold, hot, expectObservable }) => {
      const a = batch(0, [action(0, '/a', 0, 0)])
      expectObservable(cold('a|', { a }).pipe(proactive({ triggers: [dwell], scheduler }))).toBe('-|')
      expectObservable(cold('a#', { a }).pipe(proactive({ triggers: [dwell], scheduler }))).toBe('-#')
      // The next rule still offers; the broken one is logged, not the end of the stream.
      expectObservable(cold('a', { a }).pipe(proactive({ triggers: [broken, always()], scheduler, logger }),
        map((offer) => offer.triggerId))).toBe('a', { a: 'always' })
      expectObservable(hot('a', { a }).pipe(proactive({ triggers: [dwell], scheduler })), '^ 59998ms !').toBe('-')
      expectObservable(NEVER.pipe(proactive({ triggers: [dwell], interactions: new Subject(), scheduler }))).toBe('-')
    })
    expect(scheduler.actions).to.have.length(0)
    expect(errors).to.deep.equal(['proactive: trigger broken threw; taken as no match'])
  })

  it('waits on one scheduler action for all its sessions, and on none once they are quiet', () => {
    const scheduler = new VirtualTimeScheduler()
    const source = new Subject<ReturnType<typeof batch>>()
    const offers: string[] = []
    const subscription = source.pipe(proactive({ triggers: [pageDwellTrigger()], scheduler }))
      .subscribe((offer) => offers.push(`${offer.at}:${offer.sessionId}`))
    for (let n = 0; n < 500; n++) source.next(batch(0, [action(0, `/p${n}`, 0, 0)], { session_id: `ps_${n}` }))
    expect(scheduler.actions).to.have.length(1)
    scheduler.flush()
    expect(offers).to.deep.equal(Array.from({ length: 500 }, (_, n) => `60:ps_${n}`))
    expect(scheduler.actions).to.have.length(0)
    subscription.unsubscribe()
  })

  it('holds an idle session in under 400 bytes besides its batch', () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const heap = () => { gc(); gc(); return process.memoryUsage().heapUsed }
    const batches = Array.from({ length: 20_000 }, (_, n) =>
      batch(0, [action(n, `/p${n}`, 0, 0)], { session_id: `ps_idle_${n}` }))
    const source = new Subject<ReturnType<typeof batch>>()
    const scheduler = new VirtualTimeScheduler()
    const subscription = source.pipe(proactive({ triggers: [pageDwellTrigger()], scheduler, maxSessions: 20_000 }))
      .subscribe()
    const before = heap()
    for (const each of batches) source.next(each)
    const perSession = (heap() - before) / batches.length
    subscription.unsubscribe()
    expect(perSession).to.be.below(400)
  })

  it('waits at most 2^31 − 1 ms on a real clock, where a longer setTimeout would fire at once', async () => {
    const delays: number[] = []
    const scheduler: SchedulerLike = {
      now: () => Date.now(),
      schedule: ((work: () => void, delay = 0) => {
        delays.push(delay)
        return asyncScheduler.schedule(work, delay)
      }) as SchedulerLike['schedule'],
    }
    const future = Date.now() / 1000 + 1e9 // a batch dated decades ahead stays in the lookback until then
    const subscription = of(batch(future, [action(0, '/a', future, future)]))
      .pipe(proactive({ triggers: [pageDwellTrigger()], scheduler }), concatWith(NEVER)).subscribe()
    await new Promise((resolve) => setTimeout(resolve, 50))
    subscription.unsubscribe()
    expect(delays).to.deep.equal([2_147_483_647])
  })

  it('refuses a bad option with a TypeError naming it', () => {
    for (const name of ['minIntervalSeconds', 'lookbackSeconds', 'maxActions', 'maxWindowBytes', 'maxSessions',
      'interactionTimeoutSeconds', 'cooldownSeconds']) {
      expect(() => proactive({ triggers: [], [name]: 0 }), name).to.throw(TypeError, name)
    }
  })
})

describe('proactive on the connector\'s sample batches, POSTed signed to the node adapter', () => {
  const triggers = [
    pageDwellTrigger({ thresholdSeconds: 5 }),
    sectionPlaybookTrigger({
      rules: [{ prefix: 'https://app.example.com/settings', sectionId: 'settings' }],
      playbook: { settings: { body: 'Questions about settings?', replyLabels: ['Billing', 'Team'] } },
    }),
  ]

  /** Posts actions-small at its forwarded_at (1700000010.5), actions-medium at its own (…175); the offers. */
  async function offersOf(minIntervalSeconds?: number) {
    // Virtual time from the samples' own clock, so their forwarded_at is within the lookback.
    const scheduler = new VirtualTimeScheduler()
    scheduler.frame = 1_700_000_010_500
    const advanceTo = (ms: number) => {
      scheduler.schedule(() => undefined, ms - scheduler.now())
      scheduler.maxFrames = ms
      scheduler.flush()
    }
    const receiver = new WebhookReceiver({ secret: SECRET })
    const offers: string[] = []
    const subscription = receiver.actions$.pipe(proactive({ triggers, scheduler, minIntervalSeconds }))
      .subscribe((offer) => offers.push(`${offer.at} ${offer.sessionId} ${offer.productId} ${offer.triggerId}: ` +
        `${offer.body} [${offer.replyLabels.join(', ')}]`))
    const { port, close } = await listen(createNodeMiddleware(receiver))
    try {
      const post = async (name: 'actions-small' | 'actions-medium') => {
        const { body, signature } = signed(fixture(name))
        const reply = await send(`http://127.0.0.1:${port}/`, body, { headers: { 'x-connector-signature': signature } })
        expect(reply.status).to.equal(200)
      }
      await post('actions-small')
      advanceTo(1_700_000_175_000)
      await post('actions-medium')
      advanceTo(Infinity)
      expect(scheduler.actions, 'timers left once the session is quiet').to.have.length(0)
    } finally {
      subscription.unsubscribe()
      await close()
    }
    return offers
  }

  it('offers the section on the first; the second\'s dwell waits 300 s, by when its batch is gone', async () => {
    expect(await offersOf()).to.deep.equal([
      '1700000010.5 ps_abc123 prod_abc section_playbook_match: Questions about settings? [Billing, Team]',
    ])
  })

  it('offers the dwell of the second at once with a minimum interval of 150 s', async () => {
    expect(await offersOf(150)).to.deep.equal([
      '1700000010.5 ps_abc123 prod_abc section_playbook_match: Questions about settings? [Billing, Team]',
      '1700000175 ps_abc123 prod_abc user_page_dwell: Still on this page \u2014 want a quick tip? []',
    ])
  })

  it('with 120 s: the section again as the interval ends (its batch on the lookback\'s edge), then the dwell',
    async () => {
    expect(await offersOf(120)).to.deep.equal([
      '1700000010.5 ps_abc123 prod_abc section_playbook_match: Questions about settings? [Billing, Team]',
      '1700000130.5 ps_abc123 prod_abc section_playbook_match: Questions about settings? [Billing, Team]',
      '1700000250.5 ps_abc123 prod_abc user_page_dwell: Still on this page \u2014 want a quick tip? []',
    ])
  })
})
