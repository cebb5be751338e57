// Every instrument otelTelemetry makes, said once: name, kind, unit, meaning, attributes, a histogram's
// buckets, and where a gauge not counted here reads its value. otelTelemetry creates and observes them
// from this table; users read it as INSTRUMENTS; a spec holds it, docs/observability.md and a real SDK together.
import type { BudgetView } from '../telemetry.js'

const counter = (unit: string, description: string, attributes: ReadonlyArray<string> = []) =>
  ({ kind: 'counter', unit, description, attributes }) as const
const histogram = (description: string, buckets: ReadonlyArray<number>, attributes: ReadonlyArray<string> = []) =>
  ({ kind: 'histogram', unit: 's', description, attributes, buckets }) as const
interface Source {
  readonly budget?: keyof BudgetView
  readonly xinfo?: 'pending' | 'lag'
}
/** Counted here, unless it sums a field of the adapters' budgets or reads a field of XINFO GROUPS. */
const gauge = <const F extends Source = object>(unit: string, description: string,
  attributes: ReadonlyArray<string> = [], from: F = {} as F) =>
  ({ kind: 'gauge' as const, unit, description, attributes, ...from })

// Ingest takes microseconds; answers, callbacks and Redis writes take milliseconds.
const FAST = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1]
const SLOW = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const REDIS = ['autoplay_rx.redis.stream', 'autoplay_rx.redis.group']
const OUTCOME = 'autoplay_rx.redis.outcome'

export const TABLE = {
  'autoplay_rx.deliveries': counter('{delivery}',
    'Push deliveries by outcome: accepted, or the refusal tag (each rejected$ value once)',
    ['autoplay_rx.delivery.outcome', 'autoplay_rx.payload.type']),
  'autoplay_rx.ingest.duration': histogram(
    'Time to verify, decode and emit one delivery (ingest), without the body read and the callbacks', FAST),
  'autoplay_rx.http.server.request.duration': histogram(
    'Adapter answers, by status and code: from the request headers to the answer', SLOW,
    ['http.response.status_code', 'autoplay_rx.response.code']),
  'autoplay_rx.callbacks.duration': histogram(
    'Time for the callbacks of one accepted delivery to settle (only deliveries with a callback)', SLOW,
    ['autoplay_rx.payload.type']),
  'autoplay_rx.callbacks.failures': counter('{failure}', 'Callbacks that threw or rejected', ['autoplay_rx.callback']),
  'autoplay_rx.callbacks.pending': gauge('{delivery}',
    'Deliveries whose callbacks are still running, in the adapters\' budgets', [], { budget: 'pendingCallbacks' }),
  'autoplay_rx.callbacks.pending.limit': gauge('{delivery}',
    'The budgets\' maxPendingCallbacks: past it the adapters answer 503', [], { budget: 'maxPendingCallbacks' }),
  'autoplay_rx.budget.body.size': gauge('By', 'Body bytes held by reads in progress', [], { budget: 'bytes' }),
  'autoplay_rx.budget.body.size.limit': gauge('By',
    'The budgets\' maxBytes: past it the adapters answer 503', [], { budget: 'maxBytes' }),
  'autoplay_rx.budget.reads': gauge('{request}', 'Bodies being read', [], { budget: 'requests' }),
  'autoplay_rx.budget.reads.limit': gauge('{request}', 'The budgets\' maxRequests', [], { budget: 'maxRequests' }),
  'autoplay_rx.dedupe.checks': counter('{delivery}', 'Values dedupeDeliveries checked: a hit is a repeat, dropped',
    ['autoplay_rx.dedupe.hit']),
  'autoplay_rx.summarizer.summaries': counter('{summary}',
    'Summaries a SessionSummarizer ended, by outcome: Summarized, or the SummarizerError tag',
    ['autoplay_rx.summarizer.outcome']),
  'autoplay_rx.proactive.offers': counter('{offer}', 'Offers of the proactive operator: fired, or why one was held',
    ['autoplay_rx.proactive.trigger', 'autoplay_rx.proactive.outcome']),
  'autoplay_rx.sse.streams': gauge('{stream}', 'connectorStream subscriptions by connection state',
    ['autoplay_rx.sse.state']),
  'autoplay_rx.sse.reconnects': counter('{reconnect}', 'Reconnections scheduled (Retrying)'),
  'autoplay_rx.sse.disconnects': counter('{disconnect}', 'Connections or attempts that ended, by reason',
    ['autoplay_rx.sse.reason']),
  'autoplay_rx.sse.frames': counter('{frame}',
    'Data frames by outcome: accepted, or the refusal tag (heartbeats not counted)', ['autoplay_rx.frame.outcome']),
  'autoplay_rx.redis.append.duration': histogram('XADD of one payload, by outcome (ok or error: a failure)', SLOW,
    ['autoplay_rx.redis.stream', OUTCOME]),
  'autoplay_rx.redis.entries.read': counter('{entry}', 'New entries handed out to workers', REDIS),
  'autoplay_rx.redis.entries.claimed': counter('{entry}',
    'Entries handed out again: pending before a restart, or claimed from an idle consumer', REDIS),
  'autoplay_rx.redis.entries.acked': counter('{entry}',
    'Acknowledgements (XACK), by outcome: ok, or error (the entry comes back)', [...REDIS, OUTCOME]),
  'autoplay_rx.redis.entries.rejected': counter('{entry}',
    'Entries that did not decode (acknowledged and reported), by reason', [...REDIS, 'autoplay_rx.redis.reason']),
  'autoplay_rx.redis.group.pending': gauge('{entry}',
    'Entries handed out and not acknowledged (XINFO GROUPS pending), read on collection', REDIS, { xinfo: 'pending' }),
  'autoplay_rx.redis.group.lag': gauge('{entry}',
    'Entries not yet handed out to the group (XINFO GROUPS lag), read on collection', REDIS, { xinfo: 'lag' }),
}

export type InstrumentName = keyof typeof TABLE

/**
 * Every instrument `otelTelemetry` reports, by name; docs/observability.md explains each one. No attribute
 * holds a session, user or product id.
 *
 * @example
 * ```ts
 * for (const [name, { kind, unit }] of Object.entries(INSTRUMENTS)) console.log(name, kind, unit)
 * ```
 */
export const INSTRUMENTS: Readonly<Record<string, {
  /** Counted totals, a value now, or a distribution of durations. */
  readonly kind: 'counter' | 'gauge' | 'histogram'
  /** UCUM: `s`, `By`, or an annotation such as `{delivery}`. */
  readonly unit: string
  /** What one measurement means. */
  readonly description: string
  /** The attribute keys it may carry. */
  readonly attributes: ReadonlyArray<string>
  /** A histogram's advised bucket boundaries. */
  readonly buckets?: ReadonlyArray<number>
}>> = TABLE
