import { expect } from 'chai'
import {
  map, mergeMap, Observable, Subject, Subscription, take, toArray, VirtualAction, VirtualTimeScheduler,
  type SchedulerLike,
} from 'rxjs'
import type { ActionsPayload, Payload, SummaryPayload } from '../../src/codecs.js'
import { bySession } from '../../src/operators/bySession.js'
import { NO_SESSION, type SessionKey } from '../../src/payloads.js'
import { runChild, sourceModule } from '../sse/helpers.js'
import { batch, summary, testScheduler } from '../helpers/payloads.js'

describe('bySession', () => {
  it('opens a group per session that completes after idleMs without events', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: batch('s1', 1), b: batch('s2', 2), c: summary('s1', 3), d: batch('s1', 4) }
      // s1 opens at 1, hears c at 5 (within 5 of 1), idles out at 10; d at 11 opens a new s1 group,
      // which the completion at 14 closes. s2 opens at 3 and idles out at 8.
      const source = cold('-a-b-c-----d--|', values)
      expectObservable(source.pipe(bySession({ idleMs: 5 }))).toBe('-x-y-------z--|', {
        x: cold('a---c----|', values),
        y: cold('b----|', values),
        z: cold('d--|', values),
      })
    })
  })

  it('keys groups by session id, with null sessions under NO_SESSION', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: batch('s1', 1), n: batch(null, 2), m: summary(null, 3) }
      const source = cold('a-n-m|', values)
      expectObservable(source.pipe(bySession({ idleMs: 10 }), mergeMap((group) => group.pipe(
        toArray(),
        map((items) => ({ key: group.key, forwarded: items.map((p) => p.forwarded_at) })),
      )))).toBe('-----(xy|)', {
        x: { key: 's1', forwarded: [1] },
        y: { key: NO_SESSION, forwarded: [2, 3] },
      })
    })
  })

  it('errors every open group and the outer stream on a source error', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: batch('s1', 1), b: batch('s2', 2) }
      expectObservable(cold('-a-b-#', values).pipe(bySession({ idleMs: 10 }))).toBe('-x-y-#', {
        x: cold('a---#', values),
        y: cold('b-#', values),
      })
    })
  })

  it('completes with an empty source and stays silent with a never source', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<Payload>('|').pipe(bySession({ idleMs: 5 }))).toBe('|')
      expectObservable(cold<Payload>('-').pipe(bySession({ idleMs: 5 }))).toBe('-')
    })
  })

  it('stops the source and clears the idle timers when unsubscribed early', () => {
    const scheduler = testScheduler()
    let pendingAfterUnsubscribe = -1
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const values = { a: batch('s1', 1), b: batch('s2', 2) }
      const source = cold('-a-b------', values)
      const flattened = source.pipe(bySession({ idleMs: 20 }), mergeMap((group) => group))
      expectObservable(flattened, '^----!').toBe('-a-b-', values)
      expectSubscriptions(source.subscriptions).toBe('^----!')
      // Idle timers would still be due at 21 and 23.
      scheduler.schedule(() => { pendingAfterUnsubscribe = scheduler.actions.length }, 6)
    })
    expect(pendingAfterUnsubscribe).to.equal(0)
  })

  it('keeps serving a group still subscribed after the outer stream was unsubscribed, until it idles out', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const values = { a: batch('s1', 1), b: batch('s2', 2), c: batch('s1', 3) }
      const source = cold('a-b-c-------', values)
      // take(1) unsubscribes from the groups' stream at once; the s1 group lives on (groupBy semantics).
      expectObservable(source.pipe(bySession({ idleMs: 5 }), take(1), mergeMap((group) => group)))
        .toBe('a---c----|', values)
      expectSubscriptions(source.subscriptions).toBe('^--------!')
    })
  })

  it('pairs each group with its own idle timer when a consumer re-enters the source', () => {
    const scheduler = testScheduler()
    const closed: Record<string, number> = {}
    scheduler.run(() => {
      const source = new Subject<ActionsPayload>()
      source.pipe(bySession({ idleMs: 5 })).subscribe((group) => {
        // Opening s1 synchronously opens s2, between groupBy's connector and duration calls for s1.
        if (group.key === 's1') source.next(batch('s2', 1))
        group.subscribe({ complete: () => { closed[String(group.key)] = scheduler.now() } })
      })
      source.next(batch('s1', 1))
      scheduler.schedule(() => source.next(batch('s1', 2)), 3)
    })
    expect(closed).to.deep.equal({ s2: 5, s1: 8 })
  })

  it('holds at most maxSessions groups: a new session completes the least recently active one at once', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: batch('s1', 1), b: batch('s2', 2), c: batch('s1', 3), d: batch('s3', 4) }
      // s3 opens a third group: s2, quiet since 1 (s1 was heard at 2), completes; nothing is lost.
      expectObservable(cold('abcd-----|', values).pipe(bySession({ idleMs: 100, maxSessions: 2 }))).toBe('xy-z-----|', {
        x: cold('a-c------|', values),
        y: cold('b-|', values),
        z: cold('d-----|', values),
      })
    })
    expect(() => bySession({ idleMs: 1, maxSessions: 0 })).to.throw(TypeError, 'maxSessions must be a positive integer')
  })

  it('holds 10,000 groups by default', () => {
    const scheduler: SchedulerLike = { now: () => 0, schedule: () => new Subscription() } // timers never due
    const closed: SessionKey[] = []
    const source = new Subject<ActionsPayload>()
    source.pipe(bySession({ idleMs: 60_000, scheduler })).subscribe((group) => {
      group.subscribe({ complete: () => closed.push(group.key) })
    })
    for (let i = 0; i <= 10_000; i++) source.next(batch(`s${i}`, i))
    expect(closed).to.deep.equal(['s0'])
    source.complete()
  })

  it('holds no payload for an open group: 200 quiet sessions of 1 MiB batches live in a 96 MiB heap', async function () {
    this.timeout(20_000)
    // The idle timer once kept each group's last payload until the group closed.
    const { stdout } = await runChild(18_000, `
      import { Subject, mergeMap } from 'rxjs'
      import { bySession } from ${JSON.stringify(sourceModule('operators/bySession.ts'))}
      const source = new Subject()
      let seen = 0
      const subscription = source.pipe(bySession({ idleMs: 60_000 }), mergeMap((group) => group)).subscribe(() => seen++)
      const text = 'x'.repeat(1024 * 1024)
      for (let i = 0; i < 200; i++) source.next({ type: 'summary', session_id: 's' + i, summary: JSON.stringify([i, text]) })
      subscription.unsubscribe()
      console.log(seen)
    `, ['--max-old-space-size=96'])
    expect(Number(stdout)).to.equal(200)
  })

  it('refuses an idleMs that is not a finite number >= 0', () => {
    expect(() => bySession({ idleMs: -1 })).to.throw(TypeError, 'idleMs')
    expect(() => bySession({ idleMs: Number.POSITIVE_INFINITY })).to.throw(TypeError, 'idleMs')
  })

  describe('memory', function () {
    // A million items is a count, not a time limit: on a loaded machine it can take longer than mocha's default.
    this.timeout(120_000)
    /** One new session per virtual millisecond. */
    function oneSessionPerMillisecond(n: number, scheduler: SchedulerLike): Observable<ActionsPayload> {
      return new Observable((subscriber) => {
        let i = 0
        // A fresh schedule each step: re-scheduling the running action would chain all of them.
        const step = (): void => {
          if (subscriber.closed) return
          subscriber.next(batch(`s${i}`, i))
          i++
          if (i < n) scheduler.schedule(step, 1)
          else subscriber.complete()
        }
        scheduler.schedule(step, 1)
      })
    }

    it('retains only the sessions of the last idleMs while 1,000,000 distinct sessions go through', () => {
      const scheduler = new VirtualTimeScheduler(VirtualAction, Infinity)
      let opened = 0
      let open = 0
      let mostOpen = 0
      let mostTimers = 0
      oneSessionPerMillisecond(1_000_000, scheduler).pipe(bySession({ idleMs: 5, scheduler })).subscribe((group) => {
        opened++
        open++
        mostOpen = Math.max(mostOpen, open)
        mostTimers = Math.max(mostTimers, scheduler.actions.length)
        group.subscribe({ complete: () => open-- })
      })
      scheduler.flush()
      expect(opened).to.equal(1_000_000)
      // At each millisecond the session of 5 ms ago idles out before the new one opens.
      expect(mostOpen).to.equal(5)
      // The idle timers of the other 4 open sessions (the source's own next step is running).
      expect(mostTimers).to.equal(4)
      expect(open).to.equal(0)
      expect(scheduler.actions.length).to.equal(0)
    })
  })
})
