/**
 * Every instrument `otelTelemetry` makes, in one table: name, kind, unit,
 * meaning and attributes. docs/observability.md shows the same table, and
 * a spec holds the two (and what an SDK collects) to each other.
 */

/**
 * How an instrument reports: counted totals (`counter`), a value now
 * (`gauge`), or a distribution of durations (`histogram`).
 *
 * @example
 * ```ts
 * const kind: InstrumentKind = INSTRUMENTS['autoplay_rx.deliveries'].kind // 'counter'
 * ```
 */
export type InstrumentKind = 'counter' | 'gauge' | 'histogram'

/**
 * One instrument of {@link INSTRUMENTS}.
 *
 * @example
 * ```ts
 * const { unit, attributes } = INSTRUMENTS['autoplay_rx.ingest.duration'] // 's', []
 * ```
 */
export interface InstrumentSpec {
  /** Counter, gauge or histogram. */
  readonly kind: InstrumentKind
  /** UCUM unit: `s`, `By`, or an annotation such as `{delivery}`. */
  readonly unit: string
  /** What one measurement means. */
  readonly description: string
  /** The attribute keys it may carry (every one low-cardinality). */
  readonly attributes: ReadonlyArray<string>
}

/**
 * The name of one of {@link INSTRUMENTS}.
 *
 * @example
 * ```ts
 * const name: InstrumentName = 'autoplay_rx.sse.reconnects'
 * ```
 */
export type InstrumentName =
  | 'autoplay_rx.deliveries'
  | 'autoplay_rx.ingest.duration'
  | 'autoplay_rx.http.server.request.duration'
  | 'autoplay_rx.callbacks.duration'
  | 'autoplay_rx.callbacks.failures'
  | 'autoplay_rx.callbacks.pending'
  | 'autoplay_rx.callbacks.pending.limit'
  | 'autoplay_rx.budget.body.size'
  | 'autoplay_rx.budget.body.size.limit'
  | 'autoplay_rx.budget.reads'
  | 'autoplay_rx.budget.reads.limit'
  | 'autoplay_rx.dedupe.checks'
  | 'autoplay_rx.summarizer.summaries'
  | 'autoplay_rx.sse.streams'
  | 'autoplay_rx.sse.reconnects'
  | 'autoplay_rx.sse.disconnects'
  | 'autoplay_rx.sse.frames'
  | 'autoplay_rx.redis.append.duration'
  | 'autoplay_rx.redis.entries.read'
  | 'autoplay_rx.redis.entries.claimed'
  | 'autoplay_rx.redis.entries.acked'
  | 'autoplay_rx.redis.entries.rejected'
  | 'autoplay_rx.redis.group.pending'
  | 'autoplay_rx.redis.group.lag'

/**
 * The name of one of the histograms of {@link INSTRUMENTS}.
 *
 * @example
 * ```ts
 * const name: HistogramName = 'autoplay_rx.ingest.duration'
 * ```
 */
export type HistogramName = 'autoplay_rx.ingest.duration' | 'autoplay_rx.http.server.request.duration' | 'autoplay_rx.callbacks.duration' | 'autoplay_rx.redis.append.duration'

const SECONDS_FAST = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1]
const SECONDS_SLOW = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/**
 * Bucket boundaries (seconds) advised for each histogram: ingest takes
 * microseconds, HTTP answers, callbacks and Redis writes milliseconds.
 *
 * @example
 * ```ts
 * BUCKETS['autoplay_rx.ingest.duration'][0] // 0.000005 (5 µs)
 * ```
 */
export const BUCKETS: Readonly<Record<HistogramName, ReadonlyArray<number>>> = {
  'autoplay_rx.ingest.duration': SECONDS_FAST,
  'autoplay_rx.http.server.request.duration': SECONDS_SLOW,
  'autoplay_rx.callbacks.duration': SECONDS_SLOW,
  'autoplay_rx.redis.append.duration': SECONDS_SLOW,
}

const REDIS = ['autoplay_rx.redis.stream', 'autoplay_rx.redis.group']

/**
 * Every instrument `otelTelemetry` reports, by name (the `autoplay_rx.`
 * prefix; Prometheus shows dots as underscores, adds `_total` to counters
 * and the unit to the name: `autoplay_rx_deliveries_total`,
 * `autoplay_rx_ingest_duration_seconds`). No attribute ever holds a session,
 * user or product id.
 *
 * @example
 * ```ts
 * for (const [name, { kind, unit }] of Object.entries(INSTRUMENTS)) console.log(name, kind, unit)
 * ```
 */
export const INSTRUMENTS: Readonly<Record<InstrumentName, InstrumentSpec>> = {
  'autoplay_rx.deliveries': {
    kind: 'counter', unit: '{delivery}',
    description: 'Push deliveries by outcome: accepted, or the refusal tag (each rejected$ value once)',
    attributes: ['autoplay_rx.delivery.outcome', 'autoplay_rx.payload.type'],
  },
  'autoplay_rx.ingest.duration': {
    kind: 'histogram', unit: 's',
    description: 'Time to verify, decode and emit one delivery (ingest), without the body read and the callbacks',
    attributes: [],
  },
  'autoplay_rx.http.server.request.duration': {
    kind: 'histogram', unit: 's',
    description: 'Adapter answers, by status and code: from the request headers to the answer',
    attributes: ['http.response.status_code', 'autoplay_rx.response.code'],
  },
  'autoplay_rx.callbacks.duration': {
    kind: 'histogram', unit: 's',
    description: 'Time for the callbacks of one accepted delivery to settle (only deliveries with a callback)',
    attributes: ['autoplay_rx.payload.type'],
  },
  'autoplay_rx.callbacks.failures': {
    kind: 'counter', unit: '{failure}',
    description: 'Callbacks that threw or rejected',
    attributes: ['autoplay_rx.callback'],
  },
  'autoplay_rx.callbacks.pending': {
    kind: 'gauge', unit: '{delivery}',
    description: 'Deliveries whose callbacks are still running, in the adapters\' budgets',
    attributes: [],
  },
  'autoplay_rx.callbacks.pending.limit': {
    kind: 'gauge', unit: '{delivery}',
    description: 'The budgets\' maxPendingCallbacks: past it the adapters answer 503',
    attributes: [],
  },
  'autoplay_rx.budget.body.size': {
    kind: 'gauge', unit: 'By',
    description: 'Body bytes held by reads in progress',
    attributes: [],
  },
  'autoplay_rx.budget.body.size.limit': {
    kind: 'gauge', unit: 'By',
    description: 'The budgets\' maxBytes: past it the adapters answer 503',
    attributes: [],
  },
  'autoplay_rx.budget.reads': {
    kind: 'gauge', unit: '{request}',
    description: 'Bodies being read',
    attributes: [],
  },
  'autoplay_rx.budget.reads.limit': {
    kind: 'gauge', unit: '{request}',
    description: 'The budgets\' maxRequests',
    attributes: [],
  },
  'autoplay_rx.dedupe.checks': {
    kind: 'counter', unit: '{delivery}',
    description: 'Values dedupeDeliveries checked: a hit is a repeat, dropped',
    attributes: ['autoplay_rx.dedupe.hit'],
  },
  'autoplay_rx.summarizer.summaries': {
    kind: 'counter', unit: '{summary}',
    description: 'Summaries a SessionSummarizer ended, by outcome: Summarized, or the SummarizerError tag',
    attributes: ['autoplay_rx.summarizer.outcome'],
  },
  'autoplay_rx.sse.streams': {
    kind: 'gauge', unit: '{stream}',
    description: 'connectorStream subscriptions by connection state',
    attributes: ['autoplay_rx.sse.state'],
  },
  'autoplay_rx.sse.reconnects': {
    kind: 'counter', unit: '{reconnect}',
    description: 'Reconnections scheduled (Retrying)',
    attributes: [],
  },
  'autoplay_rx.sse.disconnects': {
    kind: 'counter', unit: '{disconnect}',
    description: 'Connections or attempts that ended, by reason',
    attributes: ['autoplay_rx.sse.reason'],
  },
  'autoplay_rx.sse.frames': {
    kind: 'counter', unit: '{frame}',
    description: 'Data frames by outcome: accepted, or the refusal tag (heartbeats not counted)',
    attributes: ['autoplay_rx.frame.outcome'],
  },
  'autoplay_rx.redis.append.duration': {
    kind: 'histogram', unit: 's',
    description: 'XADD of one payload, by outcome (ok or error: a failure)',
    attributes: ['autoplay_rx.redis.stream', 'autoplay_rx.redis.outcome'],
  },
  'autoplay_rx.redis.entries.read': {
    kind: 'counter', unit: '{entry}',
    description: 'New entries handed out to workers',
    attributes: REDIS,
  },
  'autoplay_rx.redis.entries.claimed': {
    kind: 'counter', unit: '{entry}',
    description: 'Entries handed out again: pending before a restart, or claimed from an idle consumer',
    attributes: REDIS,
  },
  'autoplay_rx.redis.entries.acked': {
    kind: 'counter', unit: '{entry}',
    description: 'Acknowledgements (XACK), by outcome: ok, or error (the entry comes back)',
    attributes: [...REDIS, 'autoplay_rx.redis.outcome'],
  },
  'autoplay_rx.redis.entries.rejected': {
    kind: 'counter', unit: '{entry}',
    description: 'Entries that did not decode (acknowledged and reported), by reason',
    attributes: [...REDIS, 'autoplay_rx.redis.reason'],
  },
  'autoplay_rx.redis.group.pending': {
    kind: 'gauge', unit: '{entry}',
    description: 'Entries handed out and not acknowledged (XINFO GROUPS pending), read on collection',
    attributes: REDIS,
  },
  'autoplay_rx.redis.group.lag': {
    kind: 'gauge', unit: '{entry}',
    description: 'Entries not yet handed out to the group (XINFO GROUPS lag), read on collection',
    attributes: REDIS,
  },
}
