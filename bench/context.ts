/**
 * Session context: `enrich` latency on the memory store and on Redis with
 * 10,000 sessions of 50 actions each; heap after GC across 100,000 sessions
 * with `maxSessions` set; ingest → store throughput against ingest alone,
 * as a ratio in one run. Redis needs redis-server on the PATH (starts its own).
 */
import { performance } from 'node:perf_hooks'
import { ContextStore, WebhookReceiver, intoContext, sign, silentLogger, type ActionsPayload, type SlimAction } from '../dist/esm/index.js'
import { RedisContextStore } from '../dist/esm/redis/index.js'
import { generateEvents } from '../dist/esm/cli/generate.js'
import { connect, startRedis } from '../spec/helpers/redis.js'
import { installed } from './pin.js'
import { fmt, fmtRatio, isSteady, pairedRounds, quantiles, ratios, type SteadyRule } from './stats.js'

const SESSIONS = 10_000
const ACTIONS = 50
const RULE: SteadyRule = { minRounds: 7, maxRounds: 25, tolerance: 0.05 }
const QUICK: SteadyRule = { minRounds: 5, maxRounds: 11, tolerance: 0.05 }

function action(i: number): SlimAction {
  return {
    index: i, type: 'click', title: `Step ${i}`, description: `User did a click on the reports page (step ${i})`,
    canonical_url: 'https://app.example.com/reports/:id', raw_url: 'https://app.example.com/reports/42', timestamp_start: 0, timestamp_end: 0,
    session_id: null, user_id: null, email: null, conversation_id: null,
  }
}

/** One batch of `size` actions for session `n`. */
function batch(n: number, size: number, product = 'prod_bench'): ActionsPayload {
  return {
    type: 'actions', product_id: product, session_id: `ps_${n}`, user_id: null, email: null, conversation_id: null,
    count: size, forwarded_at: 1_700_000_000 + n, actions: Array.from({ length: size }, (_, i) => action(i)),
  }
}

function percentiles(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return `p50 ${fmt(at(0.5) * 1000, 1)} µs, p99 ${fmt(at(0.99) * 1000, 1)} µs, max ${fmt(at(1) * 1000, 1)} µs`
}

async function enrichLatency(quick: boolean): Promise<string[]> {
  const query = 'How do I export this report?'
  const memory = new ContextStore({ logger: silentLogger })
  for (let n = 0; n < SESSIONS; n++) {
    memory.add(batch(n, ACTIONS))
    memory.onSummary(`ps_${n}`, 'The user opened reports and exported a CSV.', 1)
  }
  const calls = quick ? 20_000 : 100_000
  const memorySamples: number[] = []
  let sink = 0
  for (let i = 0; i < calls; i++) {
    const session = `ps_${(i * 7919) % SESSIONS}`
    const start = performance.now()
    sink += memory.enrich(session, query, { productId: 'prod_bench' }).length
    memorySamples.push(performance.now() - start)
  }
  const rows = [
    '| store | sessions × actions | calls | enrich latency | text length |',
    '|---|---|---:|---|---:|',
    `| memory (\`ContextStore\`) | ${SESSIONS.toLocaleString('en-US')} × ${ACTIONS} | ${calls.toLocaleString('en-US')} | ${percentiles(memorySamples)} | ${Math.round(sink / calls)} chars |`,
  ]
  if (!installed('redis-server')) return [...rows, '', '(Redis row left out: `redis-server` is not installed)']
  const server = await startRedis()
  const client = await connect(server.url)
  try {
    const redis = new RedisContextStore(client, { logger: silentLogger, prefix: 'bench:ctx:' })
    // Filled 200 writes at a time (node-redis pipelines them on the one connection).
    for (let n = 0; n < SESSIONS; n += 200) {
      await Promise.all(Array.from({ length: 200 }, (_, i) => Promise.all([redis.add(batch(n + i, ACTIONS)), redis.onSummary(`ps_${n + i}`, 'The user opened reports and exported a CSV.', 1)])))
    }
    const redisCalls = quick ? 5_000 : 20_000
    const samples: number[] = []
    let same = 0
    for (let i = 0; i < redisCalls; i++) {
      const session = `ps_${(i * 7919) % SESSIONS}`
      const start = performance.now()
      const text = await redis.enrich(session, query, { productId: 'prod_bench' })
      samples.push(performance.now() - start)
      if (i % 500 === 0 && text === memory.enrich(session, query, { productId: 'prod_bench' })) same++
    }
    if (same !== Math.ceil(redisCalls / 500)) throw new Error('the Redis store gave another text than the memory store')
    rows.push(`| Redis (\`RedisContextStore\`, one connection, loopback, one call at a time) | ${SESSIONS.toLocaleString('en-US')} × ${ACTIONS} | ${redisCalls.toLocaleString('en-US')} | ${percentiles(samples)} | same text (checked every 500th) |`)
  } finally {
    await client.close()
    await server.stop()
  }
  return rows
}

function heapAcrossSessions(): string[] {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) return ['(heap check skipped: run node with --expose-gc)']
  const total = 100_000
  const maxSessions = 10_000
  const store = new ContextStore({ maxSessions, logger: silentLogger })
  const rows = [`| sessions written (10 actions and a summary each; \`maxSessions: ${maxSessions.toLocaleString('en-US')}\`) | keys held | heap used after GC (MiB) |`, '|---:|---:|---:|']
  const step = total / 5
  for (let done = 0; done <= total; done += step) {
    if (done > 0) {
      for (let n = done - step; n < done; n++) {
        store.add(batch(n, 10, ''))
        store.onSummary(`ps_${n}`, `Summary of session ${n}.`, n)
      }
    }
    gc(); gc()
    rows.push(`| ${done.toLocaleString('en-US')} | ${store.activeSessions.length.toLocaleString('en-US')} | ${fmt(process.memoryUsage().heapUsed / 1048576)} |`)
  }
  return rows
}

function ingestThroughput(quick: boolean): string[] {
  const secret = 'whsec_bench'
  // 1,000 sessions' batches (3 actions each), signed once, ingested in turn by both sides.
  const bodies = generateEvents({ type: 'actions', count: 1000, sessions: 1000, seed: 9 }).map((text) => { const body = Buffer.from(text); return { body, signature: sign(body, secret) } })
  const alone = new WebhookReceiver({ secret, logger: silentLogger })
  let seen = 0
  alone.payloads$.subscribe(() => { seen++ })
  const fed = new WebhookReceiver({ secret, logger: silentLogger })
  const store = new ContextStore({ maxSessions: 10_000, logger: silentLogger })
  let stored = 0
  fed.payloads$.pipe(intoContext(store)).subscribe(() => { stored++ })
  let a = 0
  let b = 0
  const rule = quick ? QUICK : RULE
  const ratio = (t: Map<string, number[]>) => ratios(t.get('ingest → store')!, t.get('ingest')!)
  const t = pairedRounds([
    { name: 'ingest', run: () => { const d = bodies[a++ % bodies.length]!; alone.ingest(d.body, d.signature) } },
    { name: 'ingest → store', run: () => { const d = bodies[b++ % bodies.length]!; fed.ingest(d.body, d.signature) } },
  ], quick ? 50 : 200, rule, (times) => isSteady([ratio(times)], rule))
  if (seen === 0 || stored === 0 || store.activeSessions.length === 0) throw new Error('nothing reached the store')
  const i = quantiles(t.get('ingest')!).median
  const s = quantiles(t.get('ingest → store')!).median
  return [
    '| path | CPU µs/op | ops/s (one core) |',
    '|---|---:|---:|',
    `| \`ingest\` alone (a subscriber counting) | ${fmt(i / 1000)} | ${Math.round(1e9 / i).toLocaleString('en-US')} |`,
    `| \`ingest\` → \`intoContext(new ContextStore({ maxSessions: 10_000 }))\` | ${fmt(s / 1000)} | ${Math.round(1e9 / s).toLocaleString('en-US')} |`,
    '',
    `ingest → store ÷ ingest alone, per round: ${fmtRatio(ratio(t))} over ${ratio(t).length} paired rounds (actions batches of 3 actions, 1,000 sessions in turn).`,
  ]
}

export async function benchContext(quick: boolean): Promise<string> {
  return [
    `### enrich latency, ${SESSIONS.toLocaleString('en-US')} sessions × ${ACTIONS} actions (each with a summary; the context shows all 50)`, '',
    ...await enrichLatency(quick), '',
    '### Heap after GC across 100,000 sessions, `maxSessions` set', '',
    ...heapAcrossSessions(), '',
    '### ingest → store throughput against ingest alone (one run, paired rounds)', '',
    ...ingestThroughput(quick),
  ].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await benchContext(process.argv.includes('--quick')))
