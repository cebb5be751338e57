/**
 * Issue 22, item 7: the summarizer with an LLM that never answers (20,000 sessions of one 10-action batch,
 * `maxSessions: 1000`), and with an LLM that fails for 1.5 s and refuses prompts over a 20,000-character model
 * limit (10,000 batches of 10 actions over 50 sessions, fed within the outage; then one batch per session).
 */
import { ContextStore, SessionSummarizer, WebhookReceiver, silentLogger, type ActionsPayload } from '../../dist/esm/index.js'
import { actionsBody, heapMiB, int, row, sleep } from './common.js'

const parser = new WebhookReceiver({ secret: '', logger: silentLogger })
const template = actionsBody('ps_x', 10, 'User did a click on "Upgrade plan" on the billing page')
const batch = (session: string) => parser.parse(template.replaceAll('ps_x', session)) as ActionsPayload

{
  const heap0 = heapMiB()
  let calls = 0
  const summarizer = new SessionSummarizer({ llm: () => { calls++; return new Promise<string>(() => undefined) }, target: new ContextStore(), maxSessions: 1000, logger: silentLogger })
  let failures = 0
  let timedOut = 0
  summarizer.errors$.subscribe((e) => { failures++; if (e._tag === 'LlmFailed') timedOut++ })
  for (let i = 0; i < 20_000; i++) {
    summarizer.add(batch(`ps_${i}`))
    if (i % 1000 === 999) await sleep(0)
  }
  const held = summarizer.activeSessions.length
  const heap = heapMiB() - heap0
  const t0 = Date.now()
  // complete() is bounded by twice the default callTimeoutMs (30 s): wait a little longer than that.
  const done = await Promise.race([summarizer.complete().then(() => true), sleep(65_000).then(() => false)])
  row({ item: '7', measure: 'LLM that never answers: 20,000 sessions × one 10-action batch, maxSessions 1000',
    figure: `${calls} calls, ${timedOut} timed out (LlmFailed), ${failures} failures reported in all; ${int(held)} sessions held; heap +${heap.toFixed(0)} MiB; complete() ${done ? `resolved in ${((Date.now() - t0) / 1000).toFixed(1)} s` : 'not resolved in 65 s'}`,
    target: 'calls time out (LlmFailed); ≤ 1,000 sessions held; complete() resolves', pass: done && held <= 1000 && timedOut > 0 })
}
{
  const t0 = Date.now()
  let calls = 0
  let failed = 0
  let largest = 0
  const llm = async (prompt: string) => {
    calls++
    largest = Math.max(largest, prompt.length)
    if (Date.now() - t0 < 1500 || prompt.length > 20_000) { failed++; throw new Error('LLM unavailable') }
    return 'A summary'
  }
  const summarizer = new SessionSummarizer({ llm, target: new ContextStore(), logger: silentLogger })
  const recovered = new Set<string>()
  summarizer.summary$.subscribe((s) => { if (Date.now() - t0 >= 1500) recovered.add(s.sessionId) })
  const batches = Array.from({ length: 50 }, (_, i) => batch(`ps_${i}`))
  for (let i = 0; i < 10_000; i++) {
    summarizer.add(batches[i % 50]!)
    if (i % 200 === 199) await sleep(0)
  }
  const fedIn = Date.now() - t0
  await sleep(Math.max(0, 2000 - (Date.now() - t0)))
  for (const b of batches) summarizer.add(b)
  await sleep(3000)
  await Promise.race([summarizer.complete(), sleep(10_000)])
  row({ item: '7', measure: `LLM failing for 1.5 s, 20k-char model limit: 10,000 batches over 50 sessions (fed in ${(fedIn / 1000).toFixed(1)} s), then one more each`,
    figure: `${int(calls)} calls (${int(failed)} failed); largest prompt ${int(largest)} chars; ${recovered.size}/50 sessions summarized after the outage`,
    target: 'calls back off (< 2,000), history capped (largest prompt ≤ 65,536)',
    pass: calls < 2000 && largest <= 65_536 })
}
process.exit(0)
