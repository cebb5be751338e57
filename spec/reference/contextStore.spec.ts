/**
 * The reference's ContextStore answers (fixtures/context-store.json: 150 seeded scenarios of add, summary, get,
 * enrich, reset, activeSessions and a moving clock) replayed on the memory store and on the Redis store.
 */
import { ContextStore, silentLogger } from '../../src/index.js'
import type { ContextDefaults, ContextGetOptions } from '../../src/context/options.js'
import { RedisContextStore } from '../../src/redis/index.js'
import type { Harness } from '../context/parity.js'
import { redisSuite } from '../helpers/redis.js'
import { decoded, fixture, holds, type Row } from './replay.js'

type Options = Readonly<Record<string, unknown>>
type Op =
  | { op: 'add'; payload: unknown }
  | { op: 'summary'; session: string; text: string }
  | { op: 'get'; session: string; options: Options; answer: string }
  | { op: 'enrich'; session: string; query: string; options: Options; answer: string }
  | { op: 'reset'; session: string; product_id?: string }
  | { op: 'sessions'; answer: string[] }
  | { op: 'tick'; seconds: number }
interface StoreRow extends Row { options: Options; ops: Op[] }

const NOW = 1_700_000_000
const { rows } = fixture<StoreRow>('context-store')

// The reference's `None` for a per-call lookback or cap means "no limit"; a user of ours passes a bound no
// scenario reaches.
const unbounded = (value: unknown, none: number) => (value === null ? none : value)
function callOptions(o: Options): ContextGetOptions {
  const options: Record<string, unknown> = {}
  if ('product_id' in o) options.productId = o.product_id
  if ('include_summary' in o) options.includeSummary = o.include_summary
  if ('include_actions' in o) options.includeActions = o.include_actions
  if ('lookback_seconds' in o) options.lookbackSeconds = unbounded(o.lookback_seconds, 1e12)
  if ('max_actions' in o) options.maxActions = unbounded(o.max_actions, Number.MAX_SAFE_INTEGER)
  return options
}
function storeOptions(o: Options): ContextDefaults & { maxSessions?: number } {
  const { productId: _, ...defaults } = callOptions(o)
  return { ...defaults, ...('max_sessions' in o ? { maxSessions: o.max_sessions as number } : {}) }
}

/** Plays a row's operations; the answers of get, enrich and activeSessions, in order. */
async function play(row: StoreRow, make: (o: ContextDefaults & { maxSessions?: number }, clock: { ms: number }) =>
  Promise<Harness>): Promise<{ reference: unknown[]; ours: unknown[] }> {
  const clock = { ms: NOW * 1000 }
  const store = await make(storeOptions(row.options), clock)
  const reference: unknown[] = []
  const ours: unknown[] = []
  for (const op of row.ops) {
    switch (op.op) {
      case 'add': await store.add(decoded(op.payload) as never); break
      case 'summary': await store.summary(op.session, op.text); break
      case 'tick': clock.ms += op.seconds * 1000; break
      case 'reset': await store.reset(op.session, op.product_id === undefined ? {} : { productId: op.product_id }); break
      case 'get': reference.push(op.answer); ours.push(await store.get(op.session, callOptions(op.options))); break
      case 'enrich':
        reference.push(op.answer)
        ours.push(await store.enrich(op.session, op.query, callOptions(op.options)))
        break
      case 'sessions': reference.push(op.answer); ours.push(await store.sessions()); break
    }
  }
  return { reference, ours }
}

describe('the reference\'s recorded ContextStore answers', () => {
  describe('on the memory store', () => {
    for (const row of rows) {
      it(row.id, async () => {
        const { reference, ours } = await play(row, async (options, clock) => {
          const store = new ContextStore({ ...options, now: () => clock.ms, logger: silentLogger })
          return {
            add: async (b) => store.add(b), summary: async (s, t, at) => store.onSummary(s, t, at),
            get: async (s, o) => store.get(s, o), enrich: async (s, q, o) => store.enrich(s, q, o),
            reset: async (s, o) => store.reset(s, o), sessions: async () => store.activeSessions,
            summaryTime: async (s: string) => store.summaryTime(s),
          }
        })
        holds(row, reference, ours)
      })
    }
  })

  describe('on the Redis store (real redis-server)', function () {
    this.timeout(20_000)
    const { client, name } = redisSuite()
    for (const row of rows) {
      it(row.id, async () => {
        const redis = await client()
        const { reference, ours } = await play(row, async (options, clock) => {
          const store = new RedisContextStore(redis, { ...options, now: () => clock.ms, prefix: `${name('ref')}:`, logger: silentLogger })
          return {
            add: (b) => store.add(b), summary: (s, t, at) => store.onSummary(s, t, at),
            get: (s, o) => store.get(s, o), enrich: (s, q, o) => store.enrich(s, q, o),
            reset: (s, o) => store.reset(s, o), sessions: () => store.activeSessions(),
            summaryTime: (s: string) => store.summaryTime(s),
          }
        })
        holds(row, reference, ours)
      })
    }
  })
})
