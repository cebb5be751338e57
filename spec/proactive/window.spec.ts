/**
 * The proactive operator's window per session: what triggers and gates read of the batches kept, however a batch
 * leaves it (the lookback, maxActions, maxWindowBytes, maxBytes, the session's release), newest or oldest first.
 */
import { expect } from 'chai'
import { map } from 'rxjs'
import { predicateTrigger, proactive, proactiveContext, type ProactiveContext } from '../../src/proactive/index.js'
import { estimatedBytes } from '../../src/internal/estimatedBytes.js'
import { testScheduler } from '../helpers/payloads.js'
import { action, batch } from './helpers.js'

type Options = Parameters<typeof proactive>[0]
/** A batch's delivery from a partitioned stream, as the operator takes it. */
interface Delivered { payload: ReturnType<typeof batch>; ack(): unknown; release(): void; signal: AbortSignal }

/** Each context a trigger saw (at `now`), beside the one `proactiveContext` builds from the batches the spec says. */
function spy() {
  const seen: Array<{ now: number; context: ProactiveContext }> = []
  const trigger = predicateTrigger({
    id: 'spy', body: 'x', when: (context, now) => { seen.push({ now, context }); return false },
  })
  return { seen, trigger }
}

describe('proactive: each session\'s window', () => {
  it('gives triggers the context of the batches kept when the newest leaves the lookback before older ones', () => {
    // c comes last but was forwarded 100 s before the others (a late redelivery): it leaves the lookback first, at
    // 20.001 s, and the context is a and b's again.
    const a = batch(0, [action(0, '/a', 0, 0)], { conversation_id: 'conv_1' })
    const b = batch(5, [action(1, '/b', 5, 5)], { product_id: 'prod_b' })
    const c = batch(-100, [action(2, '/c', -100, -100)], { product_id: 'prod_c', conversation_id: 'conv_2' })
    const { seen, trigger } = spy()
    const scheduler = testScheduler()
    scheduler.run(({ cold }) => {
      cold('a 4999ms b 4999ms c', { a, b, c })
        .pipe(proactive({ triggers: [trigger], scheduler, logger: {} })).subscribe()
    })
    expect(seen.map(({ now, context }) => [now, context])).to.deep.equal([
      [0, proactiveContext([a], 0)],
      [5, proactiveContext([a, b], 5)],
      [10, proactiveContext([a, b, c], 10)],
      [20.001, proactiveContext([a, b], 20.001)],
      [120.001, proactiveContext([b], 120.001)],
    ])
    expect(seen.map(({ context }) => `${context.productId} ${context.conversationId}`))
      .to.deep.equal(['prod_a conv_1', 'prod_b conv_1', 'prod_c conv_2', 'prod_b conv_1', 'prod_b null'])
  })

  it('gives triggers the context of the batches kept as maxActions and maxWindowBytes drop the oldest', () => {
    const batches = [0, 1, 2, 3].map((n) => batch(n, [action(n, `/p${n}`, n, n)], {
      conversation_id: n === 1 ? 'conv_1' : null, product_id: `prod_${n}`,
    }))
    const run = (options: Partial<Options>, marbles: string) => {
      const { seen, trigger } = spy()
      const scheduler = testScheduler()
      scheduler.run(({ cold }) => {
        cold(marbles, { a: batches[0]!, b: batches[1]!, c: batches[2]!, d: batches[3]! })
          .pipe(proactive({ triggers: [trigger], scheduler, logger: {}, ...options })).subscribe()
      })
      return seen
    }
    // Two kept at most; the older of the last two leaves the lookback at 122.001 s.
    const kept = [[0, 1, 0], [0, 2, 1], [1, 3, 2], [2, 4, 3], [3, 4, 122.001]]
      .map(([from, to, now]) => proactiveContext(batches.slice(from, to), now!))
    expect(run({ maxActions: 2 }, 'a 999ms b 999ms c 999ms d').map(({ context }) => context))
      .to.deep.equal(kept)
    // One batch is between 400 and 600 estimated bytes: at most two kept.
    expect(run({ maxWindowBytes: 1200 }, 'a 999ms b 999ms c 999ms d').map(({ context }) => context))
      .to.deep.equal(kept)
  })

  it('keys the per-user limit by the newest batch of the window that names a user, an older one too', () => {
    const offers: string[] = []
    const scheduler = testScheduler()
    const always = predicateTrigger({ id: 'always', body: 'Hello?', when: () => true })
    const of = (session: string, user: Partial<Parameters<typeof batch>[2]>) =>
      batch(0, [action(0, '/a', 0, 0)], { session_id: session, ...user })
    scheduler.run(({ cold }) => {
      // s2's first batch names u_1 by its email, its second no one: u_1's offer of the day went to s1 either way.
      cold('a b c d', {
        a: of('s1', { user_id: 'u_1' }), b: of('s2', { email: 'u_1' }), c: of('s2', {}), d: of('s3', {}),
      })
        .pipe(proactive({ triggers: [always], rateLimits: { perUserPerDay: 1 }, scheduler, logger: {} }),
          map((offer) => offer.sessionId))
        .subscribe((session) => offers.push(session))
    })
    expect(offers).to.deep.equal(['s1', 's3'])
  })

  it('frees each batch\'s bytes however it leaves: a maxBytes two batches filled holds two again afterwards', () => {
    const of = (session: string, at: number, url: string) =>
      batch(at, [action(0, url, at, at)], { session_id: session })
    const [short, long] = ['/a', '/a/much/longer/path']
    const partition = new AbortController()
    const run = (marbles: string, values: Record<string, ReturnType<typeof batch> | Delivered>, revokeAt?: number) => {
      const warnings: string[] = []
      const { seen, trigger } = spy()
      const scheduler = testScheduler()
      scheduler.run(({ cold }) => {
        cold(marbles, values).pipe(proactive({
          triggers: [trigger], maxBytes: estimatedBytes(of('s1', 0, short)) + estimatedBytes(of('s1', 0, long)),
          scheduler, logger: { warn: (message: string) => warnings.push(message) },
        })).subscribe()
        if (revokeAt !== undefined) scheduler.schedule(() => partition.abort(), revokeAt)
      })
      return [...seen.map(({ now, context }) => `${now} ${context.sessionId}:${context.actions.length}`), ...warnings]
    }
    // s2's two batches at 200 s fit only if s1's were all freed.
    const [c, d] = [of('s2', 200, short), of('s2', 200, long)]
    // The newest out of the lookback first (at 20.001 s), then the other (s1 released at 120.001 s).
    expect(run('a b 199998ms c d', { a: of('s1', 0, short), b: of('s1', -100, long), c, d }))
      .to.deep.equal(['0 s1:1', '0.001 s1:2', '20.001 s1:1', '200 s2:1', '200.001 s2:2'])
    // The oldest first (at 20.001 s), then the newest.
    expect(run('a b 199998ms c d', { a: of('s1', -100, long), b: of('s1', 0, short), c, d }))
      .to.deep.equal(['0 s1:1', '0.001 s1:2', '20.001 s1:1', '200 s2:1', '200.001 s2:2'])
    // Released with both, its partition moved (at 2 ms).
    const delivered = (payload: ReturnType<typeof batch>): Delivered =>
      ({ payload, ack: () => undefined, release: () => undefined, signal: partition.signal })
    expect(run('a b 1ms c d', { a: delivered(of('s1', 0, short)), b: delivered(of('s1', 0, long)), c, d }, 2))
      .to.deep.equal(['0 s1:1', '0.001 s1:2', '0.003 s2:1', '0.004 s2:2'])
  })
})
