import { expect } from 'chai'
import { Subject } from 'rxjs'
import { ActionsPayload, SummaryPayload, type Payload } from '../../src/codecs.js'
import { estimatedBytes } from '../../src/internal/estimatedBytes.js'
import { mergeSessionBatches } from '../../src/operators/mergeSessionBatches.js'
import { runChild, sourceModule } from '../sse/helpers.js'
import { batch, summary, testScheduler, type BatchIdentity } from '../helpers/payloads.js'

/** What merging batches holding `indexes` must give: those actions, re-indexed from 0. */
function merged(session: string | null, forwardedAt: number, indexes: number[], identity: BatchIdentity = {}): ActionsPayload {
  const expected = batch(session, forwardedAt, indexes, identity)
  return { ...expected, actions: expected.actions.map((a, position) => ({ ...a, index: position })) }
}

describe('mergeSessionBatches', () => {
  it('builds valid payloads in these specs', () => {
    expect(ActionsPayload.is(batch('s1', 1, [3, 4], { user_id: 'u' }))).to.equal(true)
    expect(ActionsPayload.is(merged('s1', 1, [3, 4]))).to.equal(true)
    expect(SummaryPayload.is(summary('s1', 1))).to.equal(true)
  })

  it("merges a session's batches of one window, emitted when it closes", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = {
        a: batch('s1', 10, [10, 11]),
        b: batch('s2', 20, [0]),
        c: batch('s1', 30, [12], { user_id: 'u_1', email: 'a@b.c' }),
      }
      // s1's window opens at 0 and closes at 5; s2's opens at 2 and closes at 7.
      expectObservable(cold('a-b-c------|', values).pipe(mergeSessionBatches({ windowMs: 5 }))).toBe('-----x-y---|', {
        x: merged('s1', 30, [10, 11, 12], { user_id: 'u_1', email: 'a@b.c' }),
        y: merged('s2', 20, [0]),
      })
    })
  })

  it('re-indexes a lone batch too, and opens a new window after one closed', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: batch('s1', 1, [7, 8]), b: batch('s1', 2, [9]) }
      expectObservable(cold('a---b----|', values).pipe(mergeSessionBatches({ windowMs: 3 }))).toBe('---x---y-|', {
        x: merged('s1', 1, [7, 8]),
        y: merged('s1', 2, [9]),
      })
    })
  })

  it('merges batches without a session together', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: batch(null, 1, [0]), b: batch('s1', 2, [0]), c: batch(null, 3, [1]) }
      expectObservable(cold('abc----|', values).pipe(mergeSessionBatches({ windowMs: 4 }))).toBe('----xy-|', {
        x: merged(null, 3, [0, 1]),
        y: merged('s1', 2, [0]),
      })
    })
  })

  it('passes summaries through at once, ahead of batches still held', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: batch('s1', 1, [0]), s: summary('s1', 2) }
      expectObservable(cold('a-s-----|', values).pipe(mergeSessionBatches({ windowMs: 5 }))).toBe('--s--x--|', {
        s: values.s,
        x: merged('s1', 1, [0]),
      })
    })
  })

  it('flushes a window as soon as it holds maxActions', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: batch('s1', 1, [0, 1]), b: batch('s1', 2, [2]), c: batch('s1', 3, [3]) }
      // a + b reach 3 at frame 1; c opens a new window, closed at 7.
      expectObservable(cold('abc-----|', values).pipe(mergeSessionBatches({ windowMs: 5, maxActions: 3 }))).toBe('-x-----y|', {
        x: merged('s1', 2, [0, 1, 2]),
        y: merged('s1', 3, [3]),
      })
    })
  })

  it('flushes a window before a batch that would take it past maxActions', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: batch('s1', 1, [0, 1]), b: batch('s1', 2, [2, 3]) }
      expectObservable(cold('ab------|', values).pipe(mergeSessionBatches({ windowMs: 5, maxActions: 3 }))).toBe('-x----y-|', {
        x: merged('s1', 1, [0, 1]),
        y: merged('s1', 2, [2, 3]),
      })
    })
  })

  it('emits a batch larger than maxActions on its own at once, unsplit', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: batch('s1', 1, [0]), b: batch('s1', 2, [1, 2, 3, 4]) }
      expectObservable(cold('-ab----|', values).pipe(mergeSessionBatches({ windowMs: 10, maxActions: 3 }))).toBe('--(xy)-|', {
        x: merged('s1', 1, [0]),
        y: merged('s1', 2, [1, 2, 3, 4]),
      })
    })
  })

  it('flushes open windows, in opening order, when the source completes', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: batch('s2', 1, [0]), b: batch('s1', 2, [0]), c: batch('s2', 3, [1]) }
      expectObservable(cold('abc|', values).pipe(mergeSessionBatches({ windowMs: 50 }))).toBe('---(xy|)', {
        x: merged('s2', 3, [0, 1]),
        y: merged('s1', 2, [0]),
      })
    })
  })

  it('flushes open windows before forwarding a source error', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: batch('s1', 1, [0]), b: batch('s2', 2, [0]) }
      const failure = new Error('connection lost')
      expectObservable(cold('a-b-#', values, failure).pipe(mergeSessionBatches({ windowMs: 50 }))).toBe('----(xy#)', {
        x: merged('s1', 1, [0]),
        y: merged('s2', 2, [0]),
      }, failure)
    })
  })

  it('completes with an empty source and stays silent with a never source', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<Payload>('|').pipe(mergeSessionBatches({ windowMs: 5 }))).toBe('|')
      expectObservable(cold<Payload>('-').pipe(mergeSessionBatches({ windowMs: 5 }))).toBe('-')
    })
  })

  it('stops the source and clears window timers when unsubscribed early', () => {
    const scheduler = testScheduler()
    let pendingAfterUnsubscribe = -1
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const values = { a: batch('s1', 1, [0]), b: batch('s2', 2, [0]) }
      const source = cold('a-b------', values)
      expectObservable(source.pipe(mergeSessionBatches({ windowMs: 20 })), '^---!').toBe('----')
      expectSubscriptions(source.subscriptions).toBe('^---!')
      // The windows would close at 20 and 22.
      scheduler.schedule(() => { pendingAfterUnsubscribe = scheduler.actions.length }, 5)
    })
    expect(pendingAfterUnsubscribe).to.equal(0)
  })

  it('opens a fresh window for a batch fed back while a window is emitted', () => {
    const scheduler = testScheduler()
    const out: ActionsPayload[] = []
    scheduler.run(() => {
      const source = new Subject<ActionsPayload>()
      source.pipe(mergeSessionBatches({ windowMs: 5 })).subscribe((payload) => {
        out.push(payload)
        if (out.length === 1) source.next(batch('s1', 2, [1]))
      })
      source.next(batch('s1', 1, [0]))
    })
    expect(out).to.deep.equal([merged('s1', 1, [0]), merged('s1', 2, [1])])
  })

  it('types the result by its input: actions in, actions out', () => {
    const actions$ = new Subject<ActionsPayload>()
    const out: ActionsPayload[] = []
    // No cast: the result of an ActionsPayload stream is an ActionsPayload stream.
    actions$.pipe(mergeSessionBatches({ windowMs: 5 })).subscribe((payload) => out.push(payload))
    actions$.next(batch('s1', 1, [4]))
    actions$.complete()
    expect(out).to.deep.equal([merged('s1', 1, [4])])
  })

  it('holds at most maxSessions windows: a new session flushes the oldest window at once', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: batch('s1', 1, [0]), b: batch('s2', 2, [0]), c: batch('s3', 3, [0]) }
      expectObservable(cold('abc-----|', values).pipe(mergeSessionBatches({ windowMs: 5, maxSessions: 2 })))
        .toBe('--x---yz|', { x: merged('s1', 1, [0]), y: merged('s2', 2, [0]), z: merged('s3', 3, [0]) })
    })
    expect(() => mergeSessionBatches({ windowMs: 5, maxSessions: 0 })).to.throw(TypeError, 'maxSessions')
  })

  it('holds at most maxBytes of batches (estimated from their strings): the oldest windows flush first', () => {
    const size = estimatedBytes(batch('s1', 1, [0]))
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: batch('s1', 1, [0]), b: batch('s1', 2, [1]), c: batch('s2', 3, [0]) }
      // a and b fill 2 × size of 2 × size + 1: c flushes s1's window before it opens its own.
      expectObservable(cold('abc------|', values).pipe(mergeSessionBatches({ windowMs: 5, maxBytes: 2 * size + 1 })))
        .toBe('--x----y-|', { x: merged('s1', 2, [0, 1]), y: merged('s2', 3, [0]) })
    })
    expect(() => mergeSessionBatches({ windowMs: 5, maxBytes: -1 })).to.throw(TypeError, 'maxBytes')
  })

  it('holds 16 MiB of batches by default: 200 batches of 1 MiB in one window live in a 96 MiB heap', async function () {
    this.timeout(20_000)
    const { stdout } = await runChild(18_000, `
      import { Subject } from 'rxjs'
      import { mergeSessionBatches } from ${JSON.stringify(sourceModule('operators/mergeSessionBatches.ts'))}
      const source = new Subject()
      let actions = 0
      const subscription = source.pipe(mergeSessionBatches({ windowMs: 60_000 })).subscribe((b) => { actions += b.count })
      const text = 'x'.repeat(1024 * 1024)
      for (let i = 0; i < 200; i++) {
        const action = { index: i, type: 'click', description: JSON.stringify([i, text]) }
        source.next({ type: 'actions', session_id: 's1', forwarded_at: i, count: 1, actions: [action] })
      }
      source.complete()
      subscription.unsubscribe()
      console.log(actions)
    `, ['--max-old-space-size=96'])
    expect(Number(stdout)).to.equal(200)
  })

  it('refuses a window or cap that cannot be right', () => {
    expect(() => mergeSessionBatches({ windowMs: -1 })).to.throw(TypeError, 'windowMs')
    expect(() => mergeSessionBatches({ windowMs: Number.NaN })).to.throw(TypeError, 'windowMs')
    expect(() => mergeSessionBatches({ windowMs: 5, maxActions: 0 })).to.throw(TypeError, 'maxActions')
    expect(() => mergeSessionBatches({ windowMs: 5, maxActions: 2.5 })).to.throw(TypeError, 'maxActions')
  })

  it('names the options object when called the 0.1 way, with a bare window', () => {
    const positional = mergeSessionBatches as unknown as (windowMs: number) => unknown
    expect(() => positional(5_000)).to.throw(TypeError, 'mergeSessionBatches needs { windowMs }')
  })
})
