/**
 * Issue 22, item 8: caps that count actions, not bytes. `big`: the docs' store (`maxSessions` 10,000,
 * `maxActions` 30) fed through a receiver and `intoContext`, batches of one action with a ~1 MiB description
 * (210 per session, up to 3 sessions), in a process at --max-old-space-size=256. `empty`: 2,000,000 batches with
 * `actions: []` for one session into the store and the summarizer: heap and `get()` time. `sessions`: the
 * summarizer without `maxSessions` (the docs' first example) over 300,000 sessions of one small batch.
 */
import { ContextStore, SessionSummarizer, WebhookReceiver, intoContext, sign, silentLogger, type ActionsPayload } from '../../dist/esm/index.js'
import { actionsBody, child, heapMiB, int, MiB, row, sleep } from './common.js'

const SECRET = 'whsec_attack'
const mode = process.argv[2]
const setup = () => {
  const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
  const store = new ContextStore({ maxSessions: 10_000, maxActions: 30 })
  receiver.payloads$.pipe(intoContext(store, { logger: silentLogger })).subscribe()
  return { receiver, store, send: (body: string) => receiver.ingest(body, sign(body, SECRET)) }
}

if (mode === 'big-child') {
  const { store, send } = setup()
  const heap0 = heapMiB()
  let longest = 0
  for (let s = 0; s < 3; s++) {
    const body = actionsBody(`ps_${s}`, 1, 'x'.repeat(MiB - 2048))
    for (let i = 0; i < 210; i++) send(i === 0 ? body : body.replace('"index":0', `"index":${i}`))
    longest = Math.max(longest, store.get(`ps_${s}`).length)
    console.log(`SESSION ${s + 1} ${(heapMiB() - heap0).toFixed(0)} ${longest}`)
    await sleep(0)
  }
} else if (mode === 'big') {
  let last = ''
  const run = child('contextBytes.ts', ['big-child'], { heapMiB: 256, limitMs: 80_000, onLine: (line) => { if (line.startsWith('SESSION ')) last = line } })
  const exit = await run.exited
  const [, sessions, heap, longest] = last.split(' ')
  row({ item: '8', measure: 'store { maxSessions 10,000, maxActions 30 }, 1 MiB descriptions, 210 batches × 3 sessions, heap capped at 256 MiB',
    figure: `${exit === 0 ? 'survived' : `died (${exit})`} after ${sessions ?? 0} sessions; heap +${heap ?? '?'} MiB after session ${sessions ?? 0}; largest get() ${int(Number(longest ?? 0) / 1e6)} MB`,
    target: 'survives; a session\'s bytes bounded (get() ≤ 1 MB)', pass: exit === 0 && Number(longest) <= 1e6 })
} else if (mode === 'empty') {
  const { receiver, store, send } = setup()
  const summarizer = new SessionSummarizer({ llm: async () => 'A summary', threshold: 10, target: store, logger: silentLogger })
  receiver.actions$.subscribe((batch: ActionsPayload) => summarizer.add(batch))
  const heap0 = heapMiB()
  const body = actionsBody('ps_1', 0)
  for (let i = 0; i < 2_000_000; i++) {
    send(body)
    if (i % 100_000 === 99_999) await sleep(0)
  }
  const heap = heapMiB() - heap0
  const t0 = performance.now()
  store.get('ps_1')
  const ms = performance.now() - t0
  row({ item: '8', measure: '2,000,000 signed batches with actions: [] for one session, into the store and the summarizer',
    figure: `heap +${heap.toFixed(0)} MiB; get() ${ms.toFixed(1)} ms`, target: 'heap + ≤ 16 MiB, get() ≤ 1 ms', pass: heap <= 16 && ms <= 1 })
} else {
  const summarizer = new SessionSummarizer({ llm: async () => 'A summary', threshold: 10, target: new ContextStore({ maxSessions: 10_000, maxActions: 30 }), logger: silentLogger })
  const parser = new WebhookReceiver({ secret: '', logger: silentLogger })
  const template = actionsBody('ps_x', 1, 'User did a click on "Upgrade plan" on the billing page')
  const heap0 = heapMiB()
  for (let i = 0; i < 300_000; i++) summarizer.add(parser.parse(template.replace('ps_x', `ps_${i}`)) as ActionsPayload)
  const heap = heapMiB() - heap0
  row({ item: '8', measure: 'summarizer without maxSessions (the docs\' first example), 300,000 sessions of one 1-action batch',
    figure: `${int(summarizer.activeSessions.length)} sessions held; heap +${heap.toFixed(0)} MiB`, target: 'a default bound: heap + ≤ 64 MiB', pass: heap <= 64 })
}
process.exit(0)
