import { expect } from 'chai'
import { lastValueFrom, toArray } from 'rxjs'
import { ContextStore, SessionSummarizer, WebhookReceiver, sign, silentLogger, type ActionsPayload, type SessionSummary, type Telemetry } from '../../src/index.js'
import { DEFAULT_SUMMARY_PROMPT } from '../../src/context/text.js'
import { type SummarizerError } from '../../src/context/SessionSummarizer.js'
import { fixture, SECRET } from '../helpers/fixtures.js'
import { batch, line } from './batches.js'

/** An async LLM the test answers by hand: each call waits until resolved or rejected. */
function handLlm() {
  const calls: Array<{ prompt: string; resolve: (text: unknown) => void; reject: (error: unknown) => void }> = []
  const llm = (prompt: string) => new Promise<string>((resolve, reject) => calls.push({ prompt, resolve: resolve as (t: unknown) => void, reject }))
  return { calls, llm }
}

const settle = () => new Promise((resolve) => setImmediate(resolve))

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
    const summarizer = new SessionSummarizer({ llm, threshold: 2, logger: silentLogger })
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
    const summarizer = new SessionSummarizer({ llm: () => answers.shift()!() as string, threshold: 1, logger: silentLogger })
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

  it('a batch dated past now + maxClockSkewSeconds (or not finite) stamps its summary with now: it cannot freeze the session', async () => {
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
    expect(summaries.map((s) => [s.sessionId, s.at])).to.deep.equal([['s1', NOW], ['s2', NOW], ['s3', NOW + 300]])
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
    const summarizer = new SessionSummarizer({ llm: async (p) => { if (fail) throw new Error('LLM down'); return `${p.split('\n').filter((l) => /^\d+\. /.test(l)).length} actions` }, logger: { error: (m) => logged.push(m) } })
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
    const summarizer = new SessionSummarizer({ llm, threshold: 2, maxSessions: 2, logger: silentLogger })
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
})
