import { expect } from 'chai'
import { Subject, lastValueFrom, toArray } from 'rxjs'
import { ContextStore, ContextQueueFullError, ContextWriteTimeoutError, intoContext, WebhookReceiver, sign, silentLogger, type ActionsPayload, type ContextWriter, type Payload } from '../../src/index.js'
import { fixture, SECRET } from '../helpers/fixtures.js'
import { batch, line } from './batches.js'

const summary = (session: string, text: string, at: number): Payload =>
  ({ type: 'summary', product_id: '', session_id: session, summary: text, replaces: 1, forwarded_at: at })

describe('intoContext', () => {
  it('wires a receiver\'s payloads$ into a store: the batches and the summary of the fixtures, as the chatbot reads them', () => {
    const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
    const store = new ContextStore({ maxActions: 2 })
    const seen: string[] = []
    receiver.payloads$.pipe(intoContext(store)).subscribe((p) => seen.push(p.type))
    for (const name of ['actions-small', 'summary'] as const) receiver.ingest(fixture(name), sign(fixture(name), SECRET))
    expect(seen).to.deep.equal(['actions', 'summary'])
    expect(store.get('ps_abc123', { productId: 'prod_abc' })).to.equal([
      'Summary: The user navigated to the Dashboard, exported a CSV report, then opened account settings to update their billing plan.',
      '',
      'Recent activity:',
      '1. [1] click: User did a click on the settings/billing page (step 1) \u2014 https://app.example.com/settings/billing',
      '2. [2] blur: User did a blur on the projects/:id page (step 2) \u2014 https://app.example.com/projects/:id',
    ].join('\n'))
  })

  it('passes a summary\'s forwarded_at as its time (0, the codec\'s value for none, as no time)', () => {
    const calls: unknown[][] = []
    const writer: ContextWriter = { add: () => undefined, onSummary: (...args) => { calls.push(args); return true } }
    const source = new Subject<Payload>()
    source.pipe(intoContext(writer)).subscribe()
    source.next(summary('s1', 'A.', 12.5))
    source.next(summary('s1', 'B.', 0))
    expect(calls).to.deep.equal([['s1', 'A.', 12.5], ['s1', 'B.', undefined]])
  })

  it('a connector summary dated past the store\'s clock + allowance is refused: onError gets the typed error, the log a line, the stream the payload', () => {
    const NOW = 1_700_000_100
    const store = new ContextStore({ now: () => NOW * 1000 })
    const failures: Array<[unknown, Payload]> = []
    const logged: string[] = []
    const seen: number[] = []
    const source = new Subject<Payload>()
    source.pipe(intoContext(store, { onError: (e, p) => failures.push([(e as { _tag: string })._tag, p]), logger: { error: (m) => logged.push(m) } }))
      .subscribe((p) => seen.push(p.forwarded_at))
    const future = summary('s1', 'From 9999.', 253_402_300_799)
    source.next(summary('s1', 'Genuine.', NOW - 60))
    source.next(future)
    source.next(summary('s1', 'Later, genuine.', NOW))
    expect(seen).to.deep.equal([NOW - 60, 253_402_300_799, NOW])
    expect(failures).to.deep.equal([['SummaryTimeAhead', future]])
    expect(logged).to.deep.equal(['context store write failed for session s1: the summary of session s1 is dated 253402300799, ' +
      `past this clock plus maxClockSkewSeconds (${NOW + 300}): not stored`])
    expect(store.get('s1')).to.equal('Summary: Later, genuine.')
  })

  it('awaits an async store\'s writes one at a time, in the stream\'s order, and emits each payload once written', async () => {
    const log: string[] = []
    let release: (() => void) | undefined
    const writer: ContextWriter = {
      add: (b: ActionsPayload) => new Promise<void>((resolve) => {
        log.push(`start ${b.actions[0]!.description}`)
        release = () => { log.push(`end ${b.actions[0]!.description}`); resolve() }
      }),
      onSummary: () => true,
    }
    const source = new Subject<Payload>()
    const out = lastValueFrom(source.pipe(intoContext(writer), toArray()))
    source.next(batch('s1', '', 1, ['first']))
    source.next(batch('s1', '', 2, ['second']))
    source.complete()
    await new Promise((r) => setImmediate(r))
    expect(log).to.deep.equal(['start first'])
    release!()
    await new Promise((r) => setImmediate(r))
    release!()
    expect((await out).map((p) => (p as ActionsPayload).actions[0]!.description)).to.deep.equal(['first', 'second'])
    expect(log).to.deep.equal(['start first', 'end first', 'start second', 'end second'])
  })

  it('a write that throws or rejects goes to onError (and the log); the stream goes on, even when onError throws', async () => {
    const failures: string[] = []
    const logged: string[] = []
    let n = 0
    const writer: ContextWriter = {
      add: () => {
        n++
        if (n === 1) throw new Error('sync failure')
        if (n === 2) return Promise.reject(new Error('async failure'))
      },
      onSummary: () => true,
    }
    const source = new Subject<Payload>()
    const out = lastValueFrom(source.pipe(
      intoContext(writer, {
        onError: (error) => { failures.push((error as Error).message); throw new Error('broken handler') },
        logger: { error: (message) => logged.push(message) },
      }),
      toArray()))
    for (let i = 0; i < 3; i++) source.next(batch('s1', '', i, [`a${i}`]))
    source.complete()
    expect((await out).length).to.equal(3)
    expect(failures).to.deep.equal(['sync failure', 'async failure'])
    expect(logged).to.deep.equal(['context store write failed for session s1: sync failure', 'context store write failed for session s1: async failure'])
    expect(n).to.equal(3)
  })

  it('keeps a memory store\'s writes synchronous: the context is readable as soon as next() returns', () => {
    const store = new ContextStore()
    const source = new Subject<Payload>()
    source.pipe(intoContext(store)).subscribe()
    source.next(batch('s1', '', 1, ['A']))
    expect(store.get('s1')).to.equal(`Recent activity:\n${line(1, 0, 'A')}`)
  })

  it('passes the source\'s error on, and completes only after the last pending write', async () => {
    const source = new Subject<Payload>()
    const seen: string[] = []
    let release: (() => void) | undefined
    const writer: ContextWriter = { add: () => new Promise<void>((resolve) => { release = resolve }), onSummary: () => true }
    source.pipe(intoContext(writer)).subscribe({ next: () => seen.push('next'), complete: () => seen.push('complete') })
    source.next(batch('s1', '', 1, ['A']))
    source.complete()
    expect(seen).to.deep.equal([])
    release!()
    await new Promise((r) => setImmediate(r))
    expect(seen).to.deep.equal(['next', 'complete'])
    const failing = new Subject<Payload>()
    let error: unknown
    failing.pipe(intoContext(new ContextStore())).subscribe({ error: (e: unknown) => { error = e } })
    failing.error(new Error('source broke'))
    expect((error as Error).message).to.equal('source broke')
  })
  it('a write that never settles fails after writeTimeoutMs: onError gets ContextWriteTimeout, the log a line, the stream goes on', async () => {
    const started: number[] = []
    const writer: ContextWriter = { add: (b) => { started.push(b.forwarded_at); return new Promise<void>(() => undefined) }, onSummary: () => true }
    const failures: Array<[string, number, number]> = []
    const logged: string[] = []
    const source = new Subject<Payload>()
    const out = lastValueFrom(source.pipe(intoContext(writer, {
      writeTimeoutMs: 20,
      onError: (e, p) => failures.push([(e as ContextWriteTimeoutError)._tag, (e as ContextWriteTimeoutError).timeoutMs, p.forwarded_at]),
      logger: { error: (m) => logged.push(m) },
    }), toArray()))
    for (let i = 1; i <= 3; i++) source.next(batch('s1', '', i, [`a${i}`]))
    source.complete()
    expect((await out).map((p) => p.forwarded_at)).to.deep.equal([1, 2, 3])
    expect(started).to.deep.equal([1, 2, 3])
    expect(failures).to.deep.equal([['ContextWriteTimeout', 20, 1], ['ContextWriteTimeout', 20, 2], ['ContextWriteTimeout', 20, 3]])
    expect(logged).to.deep.equal(Array(3).fill('context store write failed for session s1: the write did not settle within 20 ms'))
  })

  // A store whose writes wait for the spec's release; it records the most writes in flight and the most waiting.
  function slowStore() {
    const state = { sent: 0, seen: [] as number[], written: [] as number[], inFlight: 0, maxInFlight: 0, maxWaiting: 0 }
    const releases: Array<() => void> = []
    const writer: ContextWriter = {
      add: (b) => new Promise<void>((resolve) => {
        state.maxInFlight = Math.max(state.maxInFlight, ++state.inFlight)
        releases.push(() => { state.inFlight--; state.written.push(b.forwarded_at); resolve() })
      }),
      onSummary: () => true,
    }
    const observe = () => { state.maxWaiting = Math.max(state.maxWaiting, state.sent - state.seen.length - state.inFlight) }
    const drain = async () => {
      while (releases.length > state.written.length) { observe(); releases[state.written.length]!(); await new Promise((r) => setImmediate(r)) }
    }
    return { state, writer, observe, drain }
  }

  it('a flood on a slow store waits at most maxQueued payloads; the rest pass on unwritten, each reported, one log line', async () => {
    const { state, writer, observe, drain } = slowStore()
    const failures: Array<[string, number]> = []
    const logged: string[] = []
    const source = new Subject<Payload>()
    let completed = false
    source.pipe(intoContext(writer, {
      maxQueued: 3,
      onError: (e, p) => failures.push([(e as ContextQueueFullError)._tag, p.forwarded_at]),
      logger: { error: (m) => logged.push(m) },
    })).subscribe({ next: (p) => state.seen.push(p.forwarded_at), complete: () => { completed = true } })
    for (let i = 1; i <= 10; i++) { state.sent++; source.next(batch('s1', '', i, [`a${i}`])); observe() }
    expect(failures).to.deep.equal([5, 6, 7, 8, 9, 10].map((at) => ['ContextQueueFull', at]))
    expect(state.seen).to.deep.equal([5, 6, 7, 8, 9, 10])
    expect(logged).to.deep.equal(['context store queue full (3 payloads or 67108864 bytes waiting): ' +
      'a payload of session s1 passes on unwritten; more are reported to onError alone for 10 s'])
    await drain()
    state.sent++
    source.next(batch('s1', '', 11, ['a11']))
    source.complete()
    expect(completed).to.equal(false)
    await drain()
    expect(completed).to.equal(true)
    expect(state.seen).to.deep.equal([5, 6, 7, 8, 9, 10, 1, 2, 3, 4, 11])
    expect(state.written).to.deep.equal([1, 2, 3, 4, 11])
    expect([state.maxInFlight, state.maxWaiting, failures.length, logged.length]).to.deep.equal([1, 3, 6, 1])
  })

  it('the queue holds at most maxQueuedBytes, estimated from the lengths of a payload\'s strings', async () => {
    const { state, writer, observe, drain } = slowStore()
    const failures: number[] = []
    const source = new Subject<Payload>()
    source.pipe(intoContext(writer, {
      maxQueuedBytes: 100_000, onError: (e, p) => failures.push(p.forwarded_at), logger: silentLogger,
    })).subscribe((p) => state.seen.push(p.forwarded_at))
    // Each action holds its description twice (title and description): about 40,000 bytes a payload.
    const big = 'x'.repeat(10_000)
    for (let i = 1; i <= 5; i++) { state.sent++; source.next(batch('s1', '', i, [big])); observe() }
    expect(failures).to.deep.equal([4, 5])
    await drain()
    expect(state.seen).to.deep.equal([4, 5, 1, 2, 3])
    expect([state.maxInFlight, state.maxWaiting]).to.deep.equal([1, 2])
  })

  it('unsubscribing drops the queue: the pending write\'s end emits nothing and starts no other write', async () => {
    const { state, writer, drain } = slowStore()
    const source = new Subject<Payload>()
    const subscription = source.pipe(intoContext(writer)).subscribe((p) => state.seen.push(p.forwarded_at))
    for (let i = 1; i <= 3; i++) source.next(batch('s1', '', i, [`a${i}`]))
    subscription.unsubscribe()
    await drain()
    expect([state.written, state.seen, source.observed]).to.deep.equal([[1], [], false])
  })

  it('a synchronous store never queues: no timer, nothing reported, each payload written and emitted within next()', () => {
    const store = new ContextStore()
    const source = new Subject<Payload>()
    const seen: number[] = []
    const failures: unknown[] = []
    source.pipe(intoContext(store, { maxQueued: 1, maxQueuedBytes: 1, writeTimeoutMs: 1, onError: (e) => failures.push(e) }))
      .subscribe((p) => seen.push(p.forwarded_at))
    const realSetTimeout = globalThis.setTimeout
    let timers = 0
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => { timers++; return realSetTimeout(...args) }) as typeof setTimeout
    try {
      for (let i = 1; i <= 100; i++) source.next(batch('s1', '', i, [`a${i}`]))
    } finally {
      globalThis.setTimeout = realSetTimeout
    }
    expect([timers, failures.length, seen.length, seen[99]]).to.deep.equal([0, 0, 100, 100])
    expect(store.get('s1', { maxActions: 1 })).to.equal(`Recent activity:\n${line(1, 0, 'a100')}`)
  })

  it('refuses a bad writeTimeoutMs, maxQueued or maxQueuedBytes; undefined means the default', () => {
    const store = new ContextStore()
    expect(() => intoContext(store, { writeTimeoutMs: 0 })).to.throw(TypeError, 'autoplay-rx: writeTimeoutMs must be a positive number')
    expect(() => intoContext(store, { maxQueued: 1.5 })).to.throw(TypeError, 'autoplay-rx: maxQueued must be a positive integer')
    expect(() => intoContext(store, { maxQueuedBytes: -1 })).to.throw(TypeError, 'autoplay-rx: maxQueuedBytes must be a positive integer')
    expect(() => intoContext(store, { writeTimeoutMs: undefined, maxQueued: undefined, maxQueuedBytes: undefined })).not.to.throw()
  })
})
