import { expect } from 'chai'
import { firstValueFrom, Observable, of, range, map, Subject, TimeoutError, toArray } from 'rxjs'
import { ActionsPayload, SummaryPayload, type Payload } from '../../src/codecs.js'
import { dedupeDeliveries } from '../../src/operators/dedupeDeliveries.js'
import type { DedupeStore } from '../../src/operators/dedupeStore.js'
import { memoryDedupeStore } from '../../src/operators/memoryDedupeStore.js'
import { deliveryKey } from '../../src/payloads.js'
import { estimatedBytes } from '../../src/internal/estimatedBytes.js'
import { batch as buildBatch, summary, testScheduler } from '../helpers/payloads.js'

/** Batches here carry a user id, as real deliveries do: the delivery key must not depend on it. */
const batch = (session: string | null, forwardedAt: number, indexes: number[] = [0]): ActionsPayload =>
  buildBatch(session, forwardedAt, indexes, { user_id: 'u_1' })

describe('dedupeDeliveries', () => {
  it('builds valid payloads in these specs', () => {
    expect(ActionsPayload.is(batch('s1', 1, [0, 1]))).to.equal(true)
    expect(SummaryPayload.is(summary(null, 1))).to.equal(true)
  })

  it('lets the first copy through and drops repeats', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // A and B are retries of a and b: equal content, new objects.
      const values = { a: batch('s1', 1), A: batch('s1', 1), b: batch('s2', 1), B: batch('s2', 1), c: summary('s1', 1) }
      expectObservable(cold('a-b-A-c-B|', values).pipe(dedupeDeliveries()))
        .toBe('a-b---c--|', values)
    })
  })

  it('keeps different batches of one session, and a summary with the same identity', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: batch('s1', 1, [0, 1]), b: batch('s1', 1, [2, 3]), c: summary('s1', 1), d: batch('s1', 2, [0, 1]) }
      expectObservable(cold('abcd|', values).pipe(dedupeDeliveries())).toBe('abcd|', values)
    })
  })

  it('forgets a key ttlMs after it was first seen; repeats do not extend it', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: batch('s1', 1) }
      // Recorded at 0, expires at 5: repeats at 2 and 4 are dropped, the one at 6 is new again.
      expectObservable(cold('a-a-a-a|', values).pipe(dedupeDeliveries({ ttlMs: 5 })))
        .toBe('a-----a|', values)
    })
  })

  it('remembers at most maxKeys, forgetting the least recently seen', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: batch('a', 1), b: batch('b', 1), c: batch('c', 1) }
      // a b a(hit: now most recent) c(evicts b) a(hit) b(new again, evicts c)
      expectObservable(cold('abacab|', values).pipe(dedupeDeliveries({ maxKeys: 2 })))
        .toBe('ab-c-b|', values)
    })
  })

  it('uses a custom key function, also for values that are not payloads', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: { id: 'x', n: 1 }, b: { id: 'y', n: 2 }, c: { id: 'x', n: 3 } }
      expectObservable(cold('abc|', values).pipe(dedupeDeliveries({ key: (v: { id: string }) => v.id })))
        .toBe('ab-|', values)
    })
  })

  it('errors the stream when the key function throws', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const values = { a: batch('s1', 1), b: batch('s2', 1), c: batch('s3', 1) }
      const failure = new Error('no key for s2')
      const source = cold('a-b-c|', values)
      const key = (payload: ActionsPayload) => {
        if (payload.session_id === 's2') throw failure
        return deliveryKey(payload)
      }
      expectObservable(source.pipe(dedupeDeliveries({ key }))).toBe('a-#', values, failure)
      expectSubscriptions(source.subscriptions).toBe('^-!')
    })
  })

  it('errors the stream when the store throws', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const failure = new Error('store down')
      const store: DedupeStore = { seen: () => { throw failure } }
      expectObservable(cold('-a|', { a: batch('s1', 1) }).pipe(dedupeDeliveries({ store }))).toBe('-#', undefined, failure)
    })
  })

  it('forwards a source error', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: batch('s1', 1), A: batch('s1', 1) }
      expectObservable(cold('a-A-#', values).pipe(dedupeDeliveries())).toBe('a---#', values)
    })
  })

  it('completes with an empty source and stays silent with a never source', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<Payload>('|').pipe(dedupeDeliveries())).toBe('|')
      expectObservable(cold<Payload>('-').pipe(dedupeDeliveries())).toBe('-')
    })
  })

  it('stops the source when unsubscribed early', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const values = { a: batch('s1', 1), b: batch('s2', 1), c: batch('s3', 1) }
      const source = cold('a-b-c|', values)
      expectObservable(source.pipe(dedupeDeliveries()), '^--!').toBe('a-b', values)
      expectSubscriptions(source.subscriptions).toBe('^--!')
    })
  })

  it('keeps one in-memory store per subscription, and shares a given store', async () => {
    const a = batch('s1', 1)
    const perSubscription = of(a, batch('s1', 1)).pipe(dedupeDeliveries())
    expect(await firstValueFrom(perSubscription.pipe(toArray()))).to.deep.equal([a])
    expect(await firstValueFrom(perSubscription.pipe(toArray()))).to.deep.equal([a])

    const shared = of(a).pipe(dedupeDeliveries({ store: memoryDedupeStore() }))
    expect(await firstValueFrom(shared.pipe(toArray()))).to.deep.equal([a])
    expect(await firstValueFrom(shared.pipe(toArray()))).to.deep.equal([])
  })

  describe('with an asynchronous store', () => {
    /** An atomic store answering after a delay chosen per key. */
    function slowStore(delayMs: (key: string) => number): DedupeStore {
      const keys = new Set<string>()
      return {
        seen(key) {
          const repeat = keys.has(key)
          keys.add(key)
          return new Promise((resolve) => setTimeout(() => resolve(repeat), delayMs(key)))
        },
      }
    }

    it('keeps arrival order when later answers come first', async () => {
      // The first delivery's answer is the slowest.
      const delays: Record<string, number> = { s1: 30, s2: 10, s3: 0 }
      const store = slowStore((key) => delays[JSON.parse(key)[2] as string]!)
      const values = [batch('s1', 1), batch('s2', 1), batch('s1', 1), batch('s3', 1), batch('s2', 1)]
      const out = await firstValueFrom(of(...values).pipe(dedupeDeliveries({ store }), toArray()))
      expect(out.map((p) => p.session_id)).to.deep.equal(['s1', 's2', 's3'])
    })

    it('errors the stream when the store rejects, after the values checked before', async () => {
      const failure = new Error('timeout')
      const store: DedupeStore = { seen: (key) => (key.includes('"s2"') ? Promise.reject(failure) : Promise.resolve(false)) }
      const seen: Array<string | null> = []
      const error = await new Promise((resolve) => {
        of(batch('s1', 1), batch('s2', 1), batch('s3', 1)).pipe(dedupeDeliveries({ store }))
          .subscribe({ next: (p) => seen.push(p.session_id), error: resolve })
      })
      expect(error).to.equal(failure)
      expect(seen).to.deep.equal(['s1'])
    })

    it('errors the stream with a TimeoutError when the store does not answer within timeoutMs (default 5 s)', async () => {
      const store: DedupeStore = { seen: (key) => (key.includes('"s2"') ? new Promise<boolean>(() => {}) : false) }
      const seen: Array<string | null> = []
      const started = Date.now()
      const error = await new Promise((resolve) => {
        of(batch('s1', 1), batch('s2', 1), batch('s3', 1)).pipe(dedupeDeliveries({ store, timeoutMs: 50 }))
          .subscribe({ next: (p) => seen.push(p.session_id), error: resolve })
      })
      expect([error instanceof TimeoutError, seen, Date.now() - started < 1000]).to.deep.equal([true, ['s1'], true])
      expect(() => dedupeDeliveries({ store, timeoutMs: 0 })).to.throw(TypeError, 'timeoutMs must be a positive integer')
    })

    /** 300 distinct batches pushed at once into a store answering each after 1 ms: the most waiting at a time, and what came out. */
    async function flood(options: { maxQueued?: number, maxQueuedBytes?: number }) {
      const source = new Subject<ActionsPayload>()
      const out: Array<string | null> = []
      const lines: string[] = []
      let largest = 0
      const done = new Promise((resolve) => source.pipe(dedupeDeliveries({ store: slowStore(() => 1), logger: { warn: (m) => lines.push(m) }, ...options }))
        .subscribe({ next: (p) => out.push(p.session_id), complete: () => resolve(null) }))
      for (let i = 0; i < 300; i++) {
        source.next(batch(`s${i}`, 1))
        largest = Math.max(largest, i + 1 - out.length) // in the operator: waiting, or being checked
      }
      source.complete()
      await done
      return { largest, out: out.sort(), lines }
    }

    it('a flood on a slow store waits at most maxQueued values and maxQueuedBytes; the rest pass on unchecked, every value comes out, one log line', async () => {
      const all = Array.from({ length: 300 }, (_, i) => `s${i}`).sort()
      const counted = await flood({ maxQueued: 50 })
      expect([counted.largest, counted.out, counted.lines.length]).to.deep.equal([51, all, 1])
      expect(counted.lines[0]).to.match(/^dedupeDeliveries: past maxQueued \(50\) or maxQueuedBytes \(\d+\) values waiting for the store: passed on unchecked \(duplicates\?\)/)
      const bytes = await flood({ maxQueuedBytes: 20 * estimatedBytes(batch('s100', 1)) })
      expect([bytes.largest, bytes.out, bytes.lines.length]).to.deep.equal([21, all, 1])
      expect(() => dedupeDeliveries({ maxQueued: 0 })).to.throw(TypeError, 'maxQueued must be a positive integer')
    })

    it('ignores an answer that arrives after unsubscribing', async () => {
      let answer!: (repeat: boolean) => void
      const store: DedupeStore = { seen: () => new Promise<boolean>((resolve) => { answer = resolve }) }
      const source = new Subject<ActionsPayload>()
      const received: ActionsPayload[] = []
      const subscription = source.pipe(dedupeDeliveries({ store })).subscribe((p) => received.push(p))
      source.next(batch('s1', 1))
      subscription.unsubscribe()
      answer(false)
      await new Promise((resolve) => setTimeout(resolve, 5))
      expect(received).to.deep.equal([])
      expect(source.observed).to.equal(false)
    })
  })

  it('refuses a store combined with in-memory bounds, and invalid bounds', () => {
    const store = memoryDedupeStore()
    const either = 'either a store or maxKeys/maxBytes/ttlMs/scheduler'
    expect(() => dedupeDeliveries({ store, maxKeys: 5 } as never)).to.throw(TypeError, either)
    expect(() => dedupeDeliveries({ store, maxBytes: 5 } as never)).to.throw(TypeError, either)
    expect(() => dedupeDeliveries({ maxBytes: 0.5 })).to.throw(TypeError, 'maxBytes must be a positive integer')
    expect(() => dedupeDeliveries({ maxKeys: 0 })).to.throw(TypeError, 'maxKeys must be a positive integer')
    expect(() => dedupeDeliveries({ ttlMs: -1 })).to.throw(TypeError, 'ttlMs must be a positive number')
  })

  describe('memory', function () {
    // A million items is a count, not a time limit: on a loaded machine it can take longer than mocha's default.
    this.timeout(120_000)
    const distinctSummaries = (n: number): Observable<SummaryPayload> =>
      range(0, n).pipe(map((i) => summary(`s${i}`, 1)))

    it('holds at most maxKeys while 1,000,000 distinct keys go through', () => {
      const store = memoryDedupeStore({ maxKeys: 1_000 })
      let passed = 0
      let largest = 0
      distinctSummaries(1_000_000).pipe(dedupeDeliveries({ store })).subscribe(() => {
        passed++
        largest = Math.max(largest, store.size)
      })
      expect(passed).to.equal(1_000_000)
      expect(largest).to.equal(1_000)
      expect(store.size).to.equal(1_000)
    })

    it('holds only the keys of the last ttlMs while 1,000,000 distinct keys go through', () => {
      let clock = 0
      const store = memoryDedupeStore({ maxKeys: 10_000_000, ttlMs: 100, now: () => clock })
      let passed = 0
      let largest = 0
      // One key per millisecond: keys recorded at or before now - 100 have expired.
      distinctSummaries(1_000_000).pipe(dedupeDeliveries({ store })).subscribe(() => {
        passed++
        largest = Math.max(largest, store.size)
        clock++
      })
      expect(passed).to.equal(1_000_000)
      expect(largest).to.equal(100)
    })
  })
})
