import { expect } from 'chai'
import { lastValueFrom, toArray } from 'rxjs'
import { ContextStore, SessionSummarizer, WebhookReceiver, sign, silentLogger, type ActionsPayload, type SessionSummary, type Telemetry } from '../../src/index.js'
import { DEFAULT_SUMMARY_PROMPT } from '../../src/context/text.js'
import { type SummarizerError } from '../../src/context/SessionSummarizer.js'
import { fixture, SECRET } from '../helpers/fixtures.js'
import { runChild, sourceModule } from '../sse/helpers.js'
import { batch, line } from './batches.js'

/** An async LLM the test answers by hand: each call waits until resolved or rejected. */
function handLlm() {
  const calls: Array<{ prompt: string; resolve: (text: unknown) => void; reject: (error: unknown) => void }> = []
  const llm = (prompt: string) => new Promise<string>((resolve, reject) => calls.push({ prompt, resolve: resolve as (t: unknown) => void, reject }))
  return { calls, llm }
}

const settle = () => new Promise((resolve) => setImmediate(resolve))
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** No pause after a failure: the reference's "the next batch tries again" at once. */
const NO_BACKOFF = { initialMs: 0, maxMs: 0, minMs: 0 }

/** Everything the summarizer emits, collected. */
function watch(summarizer: SessionSummarizer) {
  const summaries: SessionSummary[] = []
  const errors: SummarizerError[] = []
  summarizer.summary$.subscribe((s) => summaries.push(s))
  summarizer.errors$.subscribe((e) => errors.push(e))
  return { summaries, errors }
}

describe('SessionSummarizer', () => {
  it('counts actions, not batches: at the threshold it sends the default prompt with the numbered history, and writes the summary with the newest batch\'s time', () => {
    const prompts: string[] = []
    const store = new ContextStore()
    const summarizer = new SessionSummarizer({ llm: (prompt) => { prompts.push(prompt); return 'Filtered, then exported.' }, threshold: 5, target: store, logger: silentLogger })
    const { summaries } = watch(summarizer)
    summarizer.add(batch('s1', '', 30, ['Open', 'Filter', 'Sort']))
    expect(prompts).to.deep.equal([])
    expect(summarizer.getContext('s1')).to.equal([line(1, 0, 'Open'), line(2, 1, 'Filter'), line(3, 2, 'Sort')].join('\n'))
    summarizer.add(batch('s1', '', 20, ['Pick', 'Export'], 3))
    const history = [line(1, 0, 'Open'), line(2, 1, 'Filter'), line(3, 2, 'Sort'), line(4, 3, 'Pick'), line(5, 4, 'Export')].join('\n')
    expect(prompts).to.deep.equal([
      "You are summarising a user's in-app session for a RAG pipeline.\nYour summary will be embedded and stored in a vector database to provide\n" +
      'context for a chatbot or AI assistant.\n\nWrite a concise 2-3 sentence summary of what the user did, focusing on:\n' +
      '- Which features or pages they visited\n- What actions they performed\n- Any clear intent or goal you can infer\n\n' +
      `Actions:\n${history}\n\nSummary:`,
    ])
    expect(summaries).to.deep.equal([{ sessionId: 's1', text: 'Filtered, then exported.', at: 30, actions: 5 }])
    expect(summarizer.getContext('s1')).to.equal('')
    expect(summarizer.activeSessions).to.deep.equal([])
    expect(store.get('s1')).to.equal('Summary: Filtered, then exported.')
    // The summary carries time 30: a connector summary of time 25 arriving later does not replace it.
    expect(store.onSummary('s1', 'Older.', 25)).to.equal(false)
  })

  it('fills a custom template\'s {actions} with a custom formatActions', () => {
    const prompts: string[] = []
    const summarizer = new SessionSummarizer({
      llm: (prompt) => { prompts.push(prompt); return 'ok' },
      threshold: 2,
      prompt: 'Session:\n{actions}\nEnd. ({actions})',
      formatActions: (batches: readonly ActionsPayload[]) => batches.map((b) => b.actions.map((a) => a.description).join('+')).join(' | '),
      logger: silentLogger,
    })
    summarizer.add(batch('s1', '', 1, ['a', 'b']))
    expect(prompts).to.deep.equal(['Session:\na+b\nEnd. (a+b)'])
  })

  it('a template without {actions}: nothing sent, the history kept in order, a typed error each time a batch comes', () => {
    let called = 0
    const summarizer = new SessionSummarizer({ llm: () => { called++; return 'x' }, threshold: 1, prompt: 'Summarise the session.', logger: silentLogger })
    const { summaries, errors } = watch(summarizer)
    summarizer.add(batch('s1', '', 1, ['a']))
    summarizer.add(batch('s1', '', 2, ['b'], 1))
    expect(called).to.equal(0)
    expect(summaries).to.deep.equal([])
    expect(errors).to.deep.equal([
      { _tag: 'PromptWithoutActions', sessionId: 's1', actions: 1, message: 'the prompt template has no {actions}: session s1 not summarised (1 actions kept)' },
      { _tag: 'PromptWithoutActions', sessionId: 's1', actions: 2, message: 'the prompt template has no {actions}: session s1 not summarised (2 actions kept)' },
    ])
    expect(summarizer.getContext('s1')).to.equal(`${line(1, 0, 'a')}\n${line(2, 1, 'b')}`)
  })

  it('an LLM failure puts the history back in front of what arrived meanwhile; the next batch tries again with all of it', async () => {
    const { calls, llm } = handLlm()
    const summarizer = new SessionSummarizer({ llm, threshold: 2, backoff: NO_BACKOFF, logger: silentLogger })
    const { summaries, errors } = watch(summarizer)
    summarizer.add(batch('s1', '', 1, ['a', 'b']))
    summarizer.add(batch('s1', '', 2, ['c'], 2))
    expect(calls.length).to.equal(1)
    expect(summarizer.getContext('s1')).to.equal(line(1, 2, 'c'))
    calls[0]!.reject(new Error('rate limited'))
    await settle()
    expect(errors.map((e) => [e._tag, e.message])).to.deep.equal([['LlmFailed', 'the LLM failed to summarise session s1 (2 actions kept for the next try): rate limited']])
    expect(summarizer.getContext('s1')).to.equal([line(1, 0, 'a'), line(2, 1, 'b'), line(3, 2, 'c')].join('\n'))
    expect(calls.length).to.equal(1) // no retry until a batch comes
    summarizer.add(batch('s1', '', 3, ['d'], 3))
    expect(calls.length).to.equal(2)
    expect(calls[1]!.prompt).to.include([line(1, 0, 'a'), line(2, 1, 'b'), line(3, 2, 'c'), line(4, 3, 'd')].join('\n'))
    calls[1]!.resolve('Four actions.')
    await settle()
    expect(summaries).to.deep.equal([{ sessionId: 's1', text: 'Four actions.', at: 3, actions: 4 }])
  })

  it('a sync throw, and a result that is not text, are failures too; add never throws', () => {
    const answers: Array<() => unknown> = [() => { throw new Error('boom') }, () => 42, () => null]
    const summarizer = new SessionSummarizer({ llm: () => answers.shift()!() as string, threshold: 1, backoff: NO_BACKOFF, logger: silentLogger })
    const { errors } = watch(summarizer)
    for (let i = 0; i < 3; i++) expect(() => summarizer.add(batch('s1', '', i, [`a${i}`], i))).not.to.throw()
    expect(errors.map((e) => e._tag === 'LlmFailed' && String((e.error as Error).message))).to.deep.equal(['boom', 'the LLM returned number, not text', 'the LLM returned null, not text'])
    expect(summarizer.getContext('s1').split('\n').length).to.equal(3)
  })

  it('summarises a session\'s histories one after the other, in order, while other sessions go on', async () => {
    const { calls, llm } = handLlm()
    const summarizer = new SessionSummarizer({ llm, threshold: 1, concurrency: 4, logger: silentLogger })
    const { summaries } = watch(summarizer)
    summarizer.add(batch('s1', '', 1, ['first']))
    summarizer.add(batch('s1', '', 2, ['second'], 1))
    summarizer.add(batch('s2', '', 3, ['other']))
    expect(calls.map((c) => c.prompt.split('\n')[10])).to.deep.equal([line(1, 0, 'first'), line(1, 0, 'other')])
    calls[1]!.resolve('s2 done')
    await settle()
    expect(summaries.map((s) => s.text)).to.deep.equal(['s2 done'])
    calls[0]!.resolve('s1 first')
    await settle()
    expect(calls.length).to.equal(3)
    expect(calls[2]!.prompt.split('\n')[10]).to.equal(line(1, 1, 'second'))
    calls[2]!.resolve('s1 second')
    await settle()
    expect(summaries.map((s) => s.text)).to.deep.equal(['s2 done', 's1 first', 's1 second'])
  })

  it('runs at most `concurrency` LLM calls at once; a waiting session starts when a slot frees, before a session that is ready again', async () => {
    const { calls, llm } = handLlm()
    const summarizer = new SessionSummarizer({ llm, threshold: 1, concurrency: 2, logger: silentLogger })
    for (const s of ['a', 'b', 'c']) summarizer.add(batch(s, '', 1, [s]))
    summarizer.add(batch('a', '', 2, ['a again'], 1))
    const sessionOf = (prompt: string) => prompt.split('\n')[10]
    expect(calls.map((c) => sessionOf(c.prompt))).to.deep.equal([line(1, 0, 'a'), line(1, 0, 'b')])
    calls[0]!.resolve('a')
    await settle()
    expect(calls.map((c) => sessionOf(c.prompt))).to.deep.equal([line(1, 0, 'a'), line(1, 0, 'b'), line(1, 0, 'c')])
    calls[1]!.resolve('b')
    await settle()
    expect(calls.map((c) => sessionOf(c.prompt)).at(-1)).to.equal(line(1, 1, 'a again'))
    calls[2]!.resolve('c')
    calls[3]!.resolve('a again')
    await summarizer.complete()
    expect(calls.length).to.equal(4)
  })

  it('a target that throws or rejects gives TargetFailed with the summary in it; nothing on summary$, nothing counted Summarized', async () => {
    const outcomes: string[] = []
    const summarizer = new SessionSummarizer({
      llm: async () => 'made',
      threshold: 1,
      target: { add: () => undefined, onSummary: async () => { throw new Error('redis down') } },
      logger: silentLogger,
      telemetry: { summarizer: (outcome: string) => outcomes.push(outcome) } as unknown as Telemetry,
    })
    const { summaries, errors } = watch(summarizer)
    summarizer.add(batch('s1', '', 7, ['a']))
    await summarizer.complete()
    expect(summaries).to.deep.equal([])
    expect(errors.map((e) => [e._tag, e.message, e._tag === 'TargetFailed' && e.summary.text])).to.deep.equal([
      ['TargetFailed', 'the summary of session s1 was made but not stored: redis down', 'made'],
    ])
    expect(outcomes).to.deep.equal(['TargetFailed'])
  })

  it('a target that answers false (it holds a newer summary) gives TargetRefused; the summary is never reported as stored', async () => {
    const outcomes: string[] = []
    const store = new ContextStore()
    const summarizer = new SessionSummarizer({
      llm: (prompt) => (prompt.includes('second') ? Promise.resolve('async') : 'sync'), threshold: 1, target: store, logger: silentLogger,
      telemetry: { summarizer: (outcome: string) => outcomes.push(outcome) } as unknown as Telemetry,
    })
    const { summaries, errors } = watch(summarizer)
    expect(store.onSummary('s1', 'Newer, from the connector.', 100)).to.equal(true)
    summarizer.add(batch('s1', '', 50, ['first']))
    summarizer.add(batch('s1', '', 60, ['second'], 1))
    await summarizer.complete()
    expect(summaries).to.deep.equal([])
    expect(errors).to.deep.equal(['sync', 'async'].map((text, i) => ({
      _tag: 'TargetRefused', sessionId: 's1', summary: { sessionId: 's1', text, at: 50 + 10 * i, actions: 1 },
      message: 'the summary of session s1 was made but not stored: the target holds a newer summary',
    })))
    expect(outcomes).to.deep.equal(['TargetRefused', 'TargetRefused'])
    expect(store.get('s1')).to.equal('Summary: Newer, from the connector.')
  })

  it('a batch dated past now + maxClockSkewSeconds (or not finite) does not date its summary: the others\' newest time does, else now; it cannot freeze the session', async () => {
    const NOW = 1_700_000_100
    const store = new ContextStore({ now: () => NOW * 1000 })
    const summarizer = new SessionSummarizer({ llm: (prompt) => `${prompt.split('\n').filter((l) => /^\d+\. /.test(l)).length} actions`, threshold: 2, target: store, now: () => NOW * 1000, logger: silentLogger })
    const { summaries, errors } = watch(summarizer)
    summarizer.add(batch('s1', '', NOW - 5, ['a']))
    summarizer.add(batch('s1', '', 9e15, ['b'], 1))
    summarizer.add(batch('s2', '', Number.NaN, ['c', 'd']))
    summarizer.add(batch('s3', '', NOW + 300, ['e'])) // within the default allowance: believed
    summarizer.add(batch('s3', '', NOW - 1, ['f'], 1))
    await summarizer.complete()
    expect(errors).to.deep.equal([])
    expect(summaries.map((s) => [s.sessionId, s.at])).to.deep.equal([['s1', NOW - 5], ['s2', NOW], ['s3', NOW + 300]])
    // A genuine connector summary after it is stored.
    expect(store.onSummary('s1', 'From the connector.', NOW + 1)).to.equal(true)
    const tight = new SessionSummarizer({ llm: () => 'x', threshold: 1, now: () => NOW * 1000, maxClockSkewSeconds: 0.5, logger: silentLogger })
    const stamped = watch(tight).summaries
    tight.add(batch('s1', '', NOW + 1, ['a']))
    expect(stamped.map((s) => s.at)).to.deep.equal([NOW])
    expect(() => new SessionSummarizer({ llm: () => 'x', maxClockSkewSeconds: -1 })).to.throw(TypeError, 'autoplay-rx: maxClockSkewSeconds must be a positive number')
    expect(() => new SessionSummarizer({ llm: () => 'x', now: 5 as never })).to.throw(TypeError, 'autoplay-rx: now must be a function (got 5)')
  })

  it('fed from a receiver\'s actions$: the fixtures\' 3 + 50 actions make one summary of 53 (threshold 10), failures logged and never thrown into the pipeline', async () => {
    const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
    const logged: string[] = []
    let fail = true
    const summarizer = new SessionSummarizer({ llm: async (p) => { if (fail) throw new Error('LLM down'); return `${p.split('\n').filter((l) => /^\d+\. /.test(l)).length} actions` }, backoff: NO_BACKOFF, logger: { error: (m) => logged.push(m) } })
    receiver.actions$.subscribe((b) => summarizer.add(b))
    const all = lastValueFrom(summarizer.summary$.pipe(toArray()))
    for (const name of ['actions-small', 'actions-medium'] as const) receiver.ingest(fixture(name), sign(fixture(name), SECRET))
    await settle()
    expect(logged).to.deep.equal(['the LLM failed to summarise session ps_abc123 (53 actions kept for the next try): LLM down'])
    fail = false
    receiver.ingest(fixture('actions-small'), sign(fixture('actions-small'), SECRET))
    await summarizer.complete()
    expect((await all).map((s) => [s.sessionId, s.text, s.actions, s.at])).to.deep.equal([['ps_abc123', '56 actions', 56, 1700000175]])
  })

  it('reset forgets the pending history (a failure under way does not bring it back); maxSessions forgets the least recently fed', async () => {
    const { calls, llm } = handLlm()
    const summarizer = new SessionSummarizer({ llm, threshold: 2, maxSessions: 2, backoff: NO_BACKOFF, logger: silentLogger })
    summarizer.add(batch('a', '', 1, ['a1', 'a2']))
    summarizer.reset('a')
    calls[0]!.reject(new Error('x'))
    await settle()
    expect(summarizer.getContext('a')).to.equal('')
    summarizer.add(batch('b', '', 1, ['b1']))
    summarizer.add(batch('c', '', 1, ['c1']))
    summarizer.add(batch('b', '', 1, ['b2'], 1))
    summarizer.add(batch('d', '', 1, ['d1'])) // c is now the least recently fed
    await settle()
    expect(summarizer.activeSessions).to.deep.equal(['d'])
    calls[1]!.resolve('b')
    await summarizer.complete()
    expect(summarizer.getContext('c')).to.equal('')
  })

  it('refuses invalid options with a TypeError naming them', () => {
    const llm = () => ''
    expect(() => new SessionSummarizer({} as never)).to.throw(TypeError, 'autoplay-rx: llm must be a function (prompt text → summary text)')
    expect(() => new SessionSummarizer({ llm, threshold: 0 })).to.throw(TypeError, 'autoplay-rx: threshold must be a positive integer')
    expect(() => new SessionSummarizer({ llm, concurrency: 1.5 })).to.throw(TypeError, 'autoplay-rx: concurrency must be a positive integer')
    expect(() => new SessionSummarizer({ llm, maxSessions: -1 })).to.throw(TypeError, 'autoplay-rx: maxSessions must be a positive integer')
    expect(() => new SessionSummarizer({ llm, prompt: 3 as never })).to.throw(TypeError, 'autoplay-rx: prompt must be a string')
    expect(() => new SessionSummarizer({ llm, formatActions: 'x' as never })).to.throw(TypeError, 'autoplay-rx: formatActions must be a function (got "x")')
    expect(DEFAULT_SUMMARY_PROMPT.endsWith('Summary:')).to.equal(true)
  })

  describe('bounded in time and in memory (issue 22, item 7)', () => {
    /** `promise`'s value, or `'still waiting'` after `ms`: a spec never hangs on what it checks. */
    const within = <T>(promise: Promise<T>, ms: number) => Promise.race([promise, sleep(ms).then(() => 'still waiting' as const)])
    const tags = (errors: SummarizerError[]) => errors.map((e) => `${e._tag} ${e.sessionId}`)

    it('an LLM call that has not settled within callTimeoutMs is an LlmFailed (a TimeoutError): its slot frees, its history is kept', async () => {
      const prompts: string[] = []
      const summarizer = new SessionSummarizer({ llm: (p) => { prompts.push(p); return new Promise<string>(() => undefined) }, threshold: 1, concurrency: 1, callTimeoutMs: 100, backoff: NO_BACKOFF, logger: silentLogger })
      const { errors } = watch(summarizer)
      summarizer.add(batch('s1', '', 1, ['a']))
      summarizer.add(batch('s2', '', 1, ['b']))
      expect(prompts.length).to.equal(1)
      await sleep(150)
      expect(prompts.length).to.equal(2)
      expect(errors.map((e) => [e._tag, e.message, e._tag === 'LlmFailed' && (e.error as Error).name])).to.deep.equal([
        ['LlmFailed', 'the LLM failed to summarise session s1 (1 actions kept for the next try): the LLM did not answer within 100 ms', 'TimeoutError'],
      ])
      expect(summarizer.getContext('s1')).to.equal(line(1, 0, 'a'))
      expect(() => new SessionSummarizer({ llm: () => 'x', callTimeoutMs: 0 })).to.throw(TypeError, 'autoplay-rx: callTimeoutMs must be a positive number')
    })

    it('a target write that has not settled within callTimeoutMs is a TargetFailed (a TimeoutError); the next summary goes on', async () => {
      let writes = 0
      const summarizer = new SessionSummarizer({
        llm: () => 'made', threshold: 1, callTimeoutMs: 100, logger: silentLogger,
        target: { add: () => undefined, onSummary: () => (++writes === 1 ? new Promise<boolean>(() => undefined) : Promise.resolve(true)) },
      })
      const { summaries, errors } = watch(summarizer)
      summarizer.add(batch('s1', '', 1, ['a']))
      summarizer.add(batch('s1', '', 2, ['b'], 1))
      expect(await within(summarizer.complete().then(() => 'completed'), 1000)).to.equal('completed')
      expect(errors.map((e) => [e._tag, e.message, e._tag === 'TargetFailed' && (e.error as Error).name])).to.deep.equal([
        ['TargetFailed', 'the summary of session s1 was made but not stored: the target did not answer within 100 ms', 'TimeoutError'],
      ])
      expect(summaries.map((s) => [s.text, s.at])).to.deep.equal([['made', 2]])
    })

    it('complete() resolves within twice callTimeoutMs with an LLM that never answers; the histories not summarised are kept', async () => {
      const summarizer = new SessionSummarizer({ llm: () => new Promise<string>(() => undefined), threshold: 1, concurrency: 1, callTimeoutMs: 100, logger: silentLogger })
      for (let i = 0; i < 10; i++) summarizer.add(batch(`s${i}`, '', 1, [`a${i}`]))
      const started = performance.now()
      expect(await within(summarizer.complete().then(() => 'completed'), 1500)).to.equal('completed')
      expect(performance.now() - started).to.be.below(400)
      expect(summarizer.activeSessions.length).to.equal(10)
    })

    it('a thenable whose then throws is an LlmFailed (add never throws, no slot leaks); one that fulfils twice counts once', async () => {
      const llm = (prompt: string) => (prompt.includes('bad')
        ? { then: () => { throw new Error('then threw') } }
        : { then: (ok: (text: string) => void) => { ok('once'); ok('twice') } }) as unknown as PromiseLike<string>
      const summarizer = new SessionSummarizer({ llm, threshold: 1, concurrency: 1, backoff: NO_BACKOFF, logger: silentLogger })
      const { summaries, errors } = watch(summarizer)
      expect(() => summarizer.add(batch('bad', '', 1, ['bad']))).not.to.throw()
      for (const id of ['s1', 's2', 's3']) summarizer.add(batch(id, '', 1, [id]))
      expect(await within(summarizer.complete().then(() => 'completed'), 2000)).to.equal('completed')
      expect(errors.map((e) => [e._tag, e.sessionId, e._tag === 'LlmFailed' && (e.error as Error).message])).to.deep.equal([['LlmFailed', 'bad', 'then threw']])
      expect(summaries.map((s) => [s.sessionId, s.text])).to.deep.equal([['s1', 'once'], ['s2', 'once'], ['s3', 'once']])
    })

    it('a reset during a call: the session\'s next call waits for it, and its summaries come in order', async () => {
      const { calls, llm } = handLlm()
      const summarizer = new SessionSummarizer({ llm, threshold: 1, logger: silentLogger })
      const { summaries } = watch(summarizer)
      summarizer.add(batch('s1', '', 1, ['first']))
      summarizer.reset('s1')
      summarizer.add(batch('s1', '', 2, ['second'], 1))
      expect(calls.length).to.equal(1)
      calls[0]!.resolve('first')
      await settle()
      expect(calls.map((c) => c.prompt.split('\n')[10])).to.deep.equal([line(1, 0, 'first'), line(1, 1, 'second')])
      calls[1]!.resolve('second')
      await settle()
      expect(summaries.map((s) => s.text)).to.deep.equal(['first', 'second'])
    })

    it('keeps at most maxPendingActions actions and maxPendingBytes bytes pending per session: the oldest dropped, an ActionsDropped each time', () => {
      const prompts: string[] = []
      const failing = new SessionSummarizer({ llm: (p) => { prompts.push(p); throw new Error('down') }, threshold: 2, maxPendingActions: 5, backoff: NO_BACKOFF, logger: silentLogger })
      const { errors } = watch(failing)
      for (let i = 0; i < 4; i++) failing.add(batch('s1', '', i, [`a${2 * i}`, `a${2 * i + 1}`], 2 * i))
      expect(failing.getContext('s1')).to.equal([3, 4, 5, 6, 7].map((a, n) => line(n + 1, a, `a${a}`)).join('\n'))
      expect(prompts.map((p) => p.split('\n').filter((l) => /^\d+\. /.test(l)).length)).to.deep.equal([2, 4, 5, 5])
      expect(errors.filter((e) => e._tag === 'ActionsDropped')).to.deep.equal([1, 2].map((actions) => ({
        _tag: 'ActionsDropped', sessionId: 's1', actions,
        message: `summarizer: session s1: ${actions} pending actions dropped, the oldest, past maxPendingActions (5) or maxPendingBytes (262144)`,
      })))
      // Bytes: an action whose title and description have 1,000 characters each takes over 4,000 bytes; two do not fit in 6,000.
      const big = new SessionSummarizer({ llm: () => { throw new Error('down') }, threshold: 10, maxPendingBytes: 6000, logger: silentLogger })
      const dropped = watch(big).errors
      big.add(batch('s1', '', 1, ['x'.repeat(1000)]))
      big.add(batch('s1', '', 2, ['y'.repeat(1000)], 1))
      expect(big.getContext('s1')).to.equal(line(1, 1, 'y'.repeat(1000)))
      big.add(batch('s1', '', 3, ['z'.repeat(4000)], 2)) // larger than the bound alone: dropped too
      expect(big.getContext('s1')).to.equal('')
      expect(dropped.filter((e) => e._tag === 'ActionsDropped').map((e) => e._tag === 'ActionsDropped' && e.actions)).to.deep.equal([1, 2])
      expect(() => new SessionSummarizer({ llm: () => 'x', maxPendingActions: 0 })).to.throw(TypeError, 'autoplay-rx: maxPendingActions must be a positive integer')
      expect(() => new SessionSummarizer({ llm: () => 'x', maxPendingBytes: 1.5 })).to.throw(TypeError, 'autoplay-rx: maxPendingBytes must be a positive integer')
    })

    it('logs ActionsDropped at most once per 10 s (a long outage trims every batch), yet puts every one on errors$', () => {
      const lines: string[] = []
      const failing = new SessionSummarizer({ llm: () => { throw new Error('down') }, threshold: 2, maxPendingActions: 2, backoff: NO_BACKOFF, logger: { warn: (m) => lines.push(m) } })
      const { errors } = watch(failing)
      for (let i = 0; i < 50; i++) failing.add(batch('s1', '', i, [`a${2 * i}`, `a${2 * i + 1}`], 2 * i))
      expect(errors.filter((e) => e._tag === 'ActionsDropped')).to.have.length(49)
      expect(lines.filter((l) => l.includes('pending actions dropped'))).to.have.length(1)
    })

    it('summarises a session once its pending actions take half of maxPendingBytes, before the threshold: big actions are summarised, not dropped', () => {
      const summarizer = new SessionSummarizer({ llm: () => 'big', threshold: 10, maxPendingBytes: 12_000, logger: silentLogger })
      const { summaries, errors } = watch(summarizer)
      summarizer.add(batch('s1', '', 1, ['x'.repeat(2000)]))
      expect(summaries.map((s) => [s.text, s.actions])).to.deep.equal([['big', 1]])
      expect(errors).to.deep.equal([])
    })

    it('maxSessions holds for sessions waiting for a slot and under way (a forgotten history is an ActionsDropped); default 10,000', async () => {
      const { calls, llm } = handLlm()
      const summarizer = new SessionSummarizer({ llm, threshold: 1, concurrency: 2, maxSessions: 5, logger: silentLogger })
      const { errors } = watch(summarizer)
      for (let i = 0; i < 20; i++) summarizer.add(batch(`s${i}`, '', 1, [`s${i}`]))
      expect(calls.length).to.equal(2)
      expect(summarizer.activeSessions).to.deep.equal(['s17', 's18', 's19']) // and s0, s1 under way
      expect(tags(errors)).to.deep.equal(Array.from({ length: 15 }, (_, i) => `ActionsDropped s${i + 2}`))
      expect(errors[0]!.message).to.equal('summarizer: session s2: 1 pending actions dropped, forgotten past maxSessions (5)')
      calls[0]!.resolve('s0')
      await settle()
      expect(calls[2]!.prompt.split('\n')[10]).to.equal(line(1, 0, 's17'))
      const unbounded = new SessionSummarizer({ llm: () => 'x', threshold: 2, logger: silentLogger })
      for (let i = 0; i <= 10_000; i++) unbounded.add(batch(`s${i}`, '', 1, ['a']))
      expect(unbounded.activeSessions.length).to.equal(10_000)
      expect(unbounded.getContext('s0')).to.equal('')
    })

    it('a history put back after a failed call is the most recently fed: maxSessions does not forget it next (issue 23)', async () => {
      const { calls, llm } = handLlm()
      const summarizer = new SessionSummarizer({ llm, threshold: 2, maxSessions: 2, backoff: NO_BACKOFF, logger: silentLogger })
      summarizer.add(batch('a', '', 1, ['a1', 'a2']))
      summarizer.add(batch('b', '', 1, ['b1']))
      calls[0]!.reject(new Error('down'))
      await settle()
      summarizer.add(batch('c', '', 1, ['c1']))
      expect(summarizer.getContext('a')).to.equal(`${line(1, 0, 'a1')}\n${line(2, 1, 'a2')}`)
      expect(summarizer.getContext('b')).to.equal('')
    })

    it('while the LLM keeps failing, calls back off (exponential, capped) instead of one per batch; a success ends the backoff', async () => {
      let calls = 0
      let failing = true
      const summarizer = new SessionSummarizer({
        llm: () => { calls++; if (failing) throw new Error('down'); return 'ok' },
        threshold: 1, concurrency: 1, backoff: { initialMs: 200, maxMs: 400, jitter: 0 }, logger: silentLogger,
      })
      const { summaries, errors } = watch(summarizer)
      for (let i = 0; i < 50; i++) summarizer.add(batch(`s${i % 5}`, '', i, [`a${i}`], i))
      expect(calls).to.equal(1) // s0 failed; the others wait for the backoff
      await sleep(300)
      expect(calls).to.equal(2) // s1 at 200 ms failed: the next try waits 400 ms
      failing = false
      await sleep(500)
      expect(calls).to.equal(6)
      expect(summaries.map((s) => s.sessionId)).to.deep.equal(['s2', 's3', 's4', 's0'])
      expect(tags(errors)).to.deep.equal(['LlmFailed s0', 'LlmFailed s1'])
      expect(() => new SessionSummarizer({ llm: () => 'x', backoff: { initialMs: -1, maxMs: 10 } })).to.throw(TypeError, 'autoplay-rx: backoff.initialMs must be a number of ms, 0 or more')
    })

    it('an empty batch registers its session (most recently fed, as in the reference) and holds nothing else', () => {
      const seen: number[] = []
      const summarizer = new SessionSummarizer({ llm: () => 'ok', threshold: 2, maxSessions: 2, formatActions: (b: readonly ActionsPayload[]) => { seen.push(b.length); return 'x' }, logger: silentLogger })
      for (let i = 0; i < 1000; i++) summarizer.add(batch('a', '', i, []))
      summarizer.add(batch('a', '', 1, ['a1', 'a2']))
      expect(seen).to.deep.equal([1])
      summarizer.add(batch('b', '', 1, ['b1']))
      summarizer.add(batch('a', '', 2, []))
      summarizer.add(batch('c', '', 1, ['c1'])) // b is the least recently fed
      expect(summarizer.activeSessions).to.deep.equal(['c'])
    })

    it('in a 64 MiB heap: 300,000 empty batches, then 20,000 batches of 2 KB to 50 sessions with a failing LLM', async function () {
      this.timeout(20_000)
      const { stdout } = await runChild(15_000, `
        import { SessionSummarizer } from ${JSON.stringify(sourceModule('context/SessionSummarizer.ts'))}
        let calls = 0
        const summarizer = new SessionSummarizer({ llm: () => { calls++; throw new Error('down') }, logger: { error() {}, warn() {} } })
        const batch = (session, descriptions) => ({ type: 'actions', product_id: '', session_id: session, user_id: null, email: null, conversation_id: null, count: descriptions.length, forwarded_at: 1, actions: descriptions.map((d, index) => ({ index, type: 'click', title: 'x', description: d, canonical_url: '/', raw_url: '/', timestamp_start: 0, timestamp_end: 0, session_id: null, user_id: null, email: null, conversation_id: null })) })
        for (let i = 0; i < 300_000; i++) summarizer.add(batch('empty', []))
        for (let i = 0; i < 20_000; i++) summarizer.add(batch('s' + (i % 50), [i + ':' + 'x'.repeat(2000)]))
        const longest = Math.max(...summarizer.activeSessions.map((id) => summarizer.getContext(id).length))
        console.log(JSON.stringify({ sessions: summarizer.activeSessions.length, longest, calls }))
      `, ['--max-old-space-size=64'])
      const { sessions, longest, calls } = JSON.parse(stdout) as { sessions: number; longest: number; calls: number }
      expect(sessions).to.equal(50)
      expect(longest).to.be.below(256 * 1024 / 2)
      expect(calls).to.be.below(10)
    })
  })
})
