/**
 * The reference's SessionSummarizer answers (fixtures/summarizer.json: 150 seeded scenarios of add, reset,
 * getContext and activeSessions, with thresholds, custom prompts, maxSessions and an LLM that fails on chosen
 * calls) replayed on ours: with a sync LLM against the reference's sync class, with an async one against its
 * AsyncSessionSummarizer. Each step's answer holds what it returned, the prompts it sent and the summaries made.
 */
import { setImmediate } from 'node:timers/promises'
import { SessionSummarizer, silentLogger } from '../../src/index.js'
import { decoded, fixture, holds, type Row } from './replay.js'

type Op = { op: 'add'; payload: unknown } | { op: 'reset' | 'context'; session: string } | { op: 'sessions' }
interface Step { returns?: unknown; raises?: string; prompts: string[]; summaries: [string, string][] }
interface SummarizerRow extends Row {
  options: { threshold: number; prompt?: string; max_sessions?: number }
  failures: number[]
  ops: Op[]
  reference: { sync: Step[]; async: Step[] | 'same' }
  async?: { tag?: string; ours?: unknown }
}

const { rows } = fixture<SummarizerRow>('summarizer')

async function play(row: SummarizerRow, mode: 'sync' | 'async'): Promise<Step[]> {
  const prompts: string[] = []
  const summaries: [string, string][] = []
  // What the reference's fake LLM answers (generate.py): its length is Python's, in code points.
  const answer = (prompt: string) => {
    const n = prompts.push(prompt) - 1
    if (row.failures.includes(n)) throw new Error('llm down')
    return `summary ${n} of ${[...prompt].length} characters`
  }
  const summarizer = new SessionSummarizer({
    llm: mode === 'sync' ? answer : async (prompt) => answer(prompt),
    // The reference's pace: a call on every batch past the threshold, even right after a failure (ours backs off by
    // default, a named difference of its own, held by spec/context/SessionSummarizer.spec.ts).
    threshold: row.options.threshold, logger: silentLogger, backoff: { initialMs: 0, maxMs: 0, minMs: 0 },
    ...(row.options.prompt === undefined ? {} : { prompt: row.options.prompt }),
    ...(mode === 'sync' && row.options.max_sessions !== undefined ? { maxSessions: row.options.max_sessions } : {}),
  })
  summarizer.summary$.subscribe((s) => summaries.push([s.sessionId, s.text]))
  const steps: Step[] = []
  for (const op of row.ops) {
    const before = [prompts.length, summaries.length] as const
    let returns: unknown = null
    if (op.op === 'add') summarizer.add(decoded(op.payload) as never)
    else if (op.op === 'reset') summarizer.reset(op.session)
    else if (op.op === 'context') returns = summarizer.getContext(op.session)
    else returns = summarizer.activeSessions
    // The async reference's flush(): every call under way has answered.
    if (mode === 'async') for (let i = 0; i < 5; i++) await setImmediate()
    steps.push({ returns, prompts: prompts.slice(before[0]), summaries: summaries.slice(before[1]) })
  }
  return steps
}

describe('the reference\'s recorded SessionSummarizer answers', () => {
  describe('with a sync LLM, against the reference\'s SessionSummarizer', () => {
    for (const row of rows) it(row.id, async () => holds(row, row.reference.sync, await play(row, 'sync')))
  })
  describe('with an async LLM, against the reference\'s AsyncSessionSummarizer', () => {
    for (const row of rows) {
      it(row.id, async () => {
        const reference = row.reference.async === 'same' ? row.reference.sync : row.reference.async
        holds({ id: row.id, ...row.async }, reference, await play(row, 'async'))
      })
    }
  })
})
