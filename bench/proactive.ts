/**
 * Proactive triggers (issue 25): the `proactive` operator's cost per batch with 10,000 live sessions and the
 * built-ins, paired in one run with the bare core on the same batch and with `ingest` of the same body; then the
 * heap after GC across 100,000 idle sessions, above the empty operator and beside the same batches held alone.
 */
import { Subject } from 'rxjs'
import { WebhookReceiver, sign, silentLogger, type ActionsPayload, type SlimAction } from '../dist/esm/index.js'
import {
  matchTriggers, pageDwellTrigger, pingPongTrigger, proactive, proactiveContext, sectionPlaybookTrigger,
  type ProactiveContext, type ProactiveTrigger,
} from '../dist/esm/proactive/index.js'
import { fmt, fmtRatio, isSteady, pairedRounds, quantiles, ratios, type SteadyRule } from './stats.js'

const SESSIONS = 10_000
const IDLE = 100_000
const HEAP_TARGET_MIB = 64
const RULE: SteadyRule = { minRounds: 9, maxRounds: 31, tolerance: 0.05 }
const QUICK: SteadyRule = { minRounds: 5, maxRounds: 11, tolerance: 0.05 }
const PAGES = ['reports/:id', 'dashboard', 'team/members', 'projects/:id']

function action(page: number, i: number): SlimAction {
  const url = `https://app.example.com/${PAGES[page % PAGES.length]}`
  return {
    index: i, type: 'click', title: `Click on ${PAGES[page % PAGES.length]}`,
    description: `User did a click on the ${PAGES[page % PAGES.length]} page (step ${i})`,
    canonical_url: url, raw_url: `${url}?ref=email`, timestamp_start: 1_700_000_000 + i, timestamp_end: 1_700_000_001 + i,
    session_id: null, user_id: null, email: null, conversation_id: null,
  }
}

/**
 * A session's k-th batch of 3 actions, forwarded now: pages cycle through four, so no A → B → A, a streak of one
 * action with a 1 s span (no dwell) and no URL in the playbook's section: every trigger runs and none fires.
 */
const templates = [0, 1, 2, 3].map((k) => [0, 1, 2].map((j) => action(3 * k + j, 3 * k + j)))
function batch(session: string, k: number, forwardedAt: number, actions = templates[k % 4]!): ActionsPayload {
  return {
    type: 'actions', product_id: 'prod_bench', session_id: session, user_id: null, email: null, conversation_id: null,
    count: actions.length, forwarded_at: forwardedAt, actions,
  }
}

/** The built-ins with their defaults (the section trigger needs rules and a playbook of the app's). */
const builtins = (): ProactiveTrigger[] => [
  pingPongTrigger(),
  pageDwellTrigger(),
  sectionPlaybookTrigger({
    rules: [{ prefix: 'https://app.example.com/settings/billing', sectionId: 'billing' }],
    playbook: { billing: { body: 'Questions about billing?', replyLabels: ['Upgrade plan', 'View invoices'] } },
  }),
]

/** Counts evaluations and the actions each context held, so a side that skipped its triggers shows. */
function counted(triggers: ProactiveTrigger[], tally: { calls: number; actions: number }): ProactiveTrigger[] {
  return triggers.map((trigger) => ({
    ...trigger,
    evaluate: (context: ProactiveContext, now: number) => {
      tally.calls++
      tally.actions += context.actions.length
      return trigger.evaluate(context, now)
    },
    ...trigger.becomesTrueAt && { becomesTrueAt: trigger.becomesTrueAt.bind(trigger) },
  }))
}

function evaluationCost(quick: boolean): string[] {
  const secret = 'whsec_bench'
  const ids = Array.from({ length: SESSIONS }, (_, n) => `ps_${n}`)
  const now = () => Date.now() / 1000
  // The same bodies for ingest: 4 shapes × 1,000 sessions, signed once.
  const bodies = Array.from({ length: 4_000 }, (_, i) => {
    const body = Buffer.from(JSON.stringify(batch(ids[i % 1000]!, i >> 10, now())))
    return { body, signature: sign(body, secret) }
  })
  const receiver = new WebhookReceiver({ secret, logger: silentLogger })
  let received = 0
  receiver.actions$.subscribe(() => { received++ })

  const core = { calls: 0, actions: 0 }
  const coreTriggers = counted(builtins(), core)
  const live = { calls: 0, actions: 0 }
  const source = new Subject<ActionsPayload>()
  let offers = 0
  const subscription = source.pipe(proactive({ triggers: counted(builtins(), live), logger: silentLogger }))
    .subscribe(() => { offers++ })
  const k = new Uint32Array(SESSIONS)
  for (let n = 0; n < SESSIONS; n++) source.next(batch(ids[n]!, k[n]!++, now())) // 10,000 live sessions
  let [a, b, c] = [0, 0, 0]
  let sink = 0
  const rule = quick ? QUICK : RULE
  const overCore = (t: Map<string, number[]>) => ratios(t.get('proactive')!, t.get('core')!)
  const overIngest = (t: Map<string, number[]>) => ratios(t.get('proactive')!, t.get('ingest')!)
  const t = pairedRounds([
    { name: 'ingest', run: () => { const d = bodies[a++ % bodies.length]!; receiver.ingest(d.body, d.signature) } },
    { name: 'core', run: () => {
      const n = b++ % SESSIONS
      const at = now()
      const context = proactiveContext([batch(ids[n]!, n + b, at)], at)
      sink += matchTriggers(coreTriggers, context, at).length
    } },
    { name: 'proactive', run: () => { const n = c++ % SESSIONS; source.next(batch(ids[n]!, k[n]!++, now())) } },
  ], quick ? 50 : 200, rule, (times) => isSteady([overCore(times), overIngest(times)], rule))
  subscription.unsubscribe()
  const evaluated = c + SESSIONS
  if (received === 0 || sink !== 0 || offers !== 0 || live.calls !== 3 * evaluated || core.calls !== 3 * b) {
    throw new Error(`a side did not do its work: ${received} ingested, ${offers} offers, ${live.calls} / ${evaluated}`)
  }
  const [i, o, p] = ['ingest', 'core', 'proactive'].map((name) => quantiles(t.get(name)!).median / 1000)
  return [
    '| path, per batch of 3 actions | CPU µs/batch | actions in the context (mean) |',
    '|---|---:|---:|',
    `| \`ingest\` of the same body (signed, 3 actions) | ${fmt(i!)} | — |`,
    `| core: \`proactiveContext([batch], now)\` + \`matchTriggers(builtins, context, now)\` | ${fmt(o!)} | ${fmt(core.actions / core.calls, 1)} |`,
    `| \`proactive({ triggers: builtins })\`, ${SESSIONS.toLocaleString('en-US')} live sessions, default bounds | ${fmt(p!)} | ${fmt(live.actions / live.calls, 1)} |`,
    '',
    `proactive ÷ core, per round: ${fmtRatio(overCore(t))}; proactive ÷ ingest: ${fmtRatio(overIngest(t))}; ` +
      `${overCore(t).length} paired rounds, ${evaluated.toLocaleString('en-US')} batches through the operator, ` +
      'every trigger run on each, none firing.',
  ]
}

function heapAcrossIdleSessions(): string[] {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) return ['(heap check skipped: run node with --expose-gc)']
  const heap = () => { gc(); gc(); return process.memoryUsage().heapUsed / 1048576 }
  const at = Date.now() / 1000
  // Each with its own action, as every path hands a batch out: the signed JSON through the receiver's ingest (a
  // batch built here by joining strings holds rope strings that V8 flattens into copies once a trigger reads them).
  const receiver = new WebhookReceiver({ secret: 'whsec_bench', logger: silentLogger })
  const made = (n: number) => {
    const body = Buffer.from(JSON.stringify(batch(`ps_idle_${n}`, n, at, [action(n, n)])))
    const ingested = receiver.ingest(body, sign(body, 'whsec_bench'))
    if (ingested._tag === 'Left' || ingested.right.type !== 'actions') throw new Error('the bench batch did not decode')
    return ingested.right
  }
  const empty = heap()
  // The same batches held alone, for what the operator adds to them.
  const held = Array.from({ length: IDLE }, (_, n) => made(n))
  const data = heap() - empty
  held.length = 0
  const source = new Subject<ActionsPayload>()
  let offers = 0
  const subscription = source.pipe(proactive({
    triggers: builtins(), maxSessions: IDLE, maxBytes: 2 ** 30, logger: silentLogger,
  })).subscribe(() => { offers++ })
  const base = heap()
  const rows = [
    '| idle sessions (one batch of 1 action each, thinking, a timer set) | heap above the empty operator (MiB) | of which the batches alone |',
    '|---:|---:|---:|',
  ]
  const step = IDLE / 5
  for (let done = 0; done <= IDLE; done += step) {
    for (let n = done - step; n < done && done > 0; n++) source.next(made(n))
    rows.push(`| ${done.toLocaleString('en-US')} | ${fmt(heap() - base)} | ${fmt(data * done / IDLE)} |`)
  }
  const full = heap() - base
  subscription.unsubscribe()
  const after = heap() - base
  if (offers !== 0) throw new Error(`${offers} offers from idle sessions`)
  return [
    ...rows, '',
    `${IDLE.toLocaleString('en-US')} idle sessions: ${fmt(full)} MiB above the empty operator ` +
      `(\`maxSessions: ${IDLE.toLocaleString('en-US')}\`, \`maxBytes\` 1 GiB), ${fmt(full / IDLE * 1048576, 0)} bytes a session ` +
      `with its batch, ${fmt((full - data) / IDLE * 1048576, 0)} without; target ≤ ${HEAP_TARGET_MIB} MiB: ` +
      `${full <= HEAP_TARGET_MIB ? 'met' : 'not met'}. After unsubscribing: ${fmt(after)} MiB.`,
  ]
}

/** `heapOnly`: the heap part alone (`--heap-only` when run directly). */
export function benchProactive(quick: boolean, heapOnly = false): string {
  return [
    ...heapOnly ? [] : [
      `### Cost per batch, ${SESSIONS.toLocaleString('en-US')} live sessions, the built-ins (one run, paired rounds)`, '',
      ...evaluationCost(quick), ''],
    `### Heap after GC across ${IDLE.toLocaleString('en-US')} idle sessions`, '',
    ...heapAcrossIdleSessions(),
  ].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(benchProactive(process.argv.includes('--quick'), process.argv.includes('--heap-only')))
}
