import { expect } from 'chai'
import { Subject, lastValueFrom, toArray } from 'rxjs'
import { ContextStore, intoContext, WebhookReceiver, sign, silentLogger, type ActionsPayload, type ContextWriter, type Payload } from '../../src/index.js'
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
})
