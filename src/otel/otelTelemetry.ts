/**
 * The {@link Telemetry} hooks built from the OpenTelemetry API: metrics
 * through a MeterProvider, one span per delivery through a TracerProvider.
 * Only `@opentelemetry/api` is imported; the SDK is the application's.
 */
import {
  context, createNoopMeter, diag, metrics, propagation, ProxyTracerProvider, SpanKind, SpanStatusCode, trace,
  type Attributes, type Context, type Histogram, type Meter, type MeterProvider, type ObservableResult, type Span,
  type TextMapGetter, type Tracer, type TracerProvider,
} from '@opentelemetry/api'
import type { CallbackFailure, CallbackOutcome } from '../callbacks.js'
import type { Payload } from '../codecs.js'
import type { IngestError } from '../errors.js'
import type { ConnectorStreamEvent } from '../sse/lifecycle.js'
import type {
  BudgetView, DeliveryProbe, HeaderReader, RedisGroup, RedisReaderProbe, StreamProbe, Telemetry,
} from '../telemetry.js'
import { BUCKETS, INSTRUMENTS, type HistogramName, type InstrumentName } from './instruments.js'
import { Tally } from './tally.js'
import { parseTraceparent } from './traceparent.js'

/**
 * Options of {@link otelTelemetry}; both providers default to the global ones.
 *
 * @example
 * ```ts
 * import { MeterProvider } from '@opentelemetry/sdk-metrics'
 *
 * const options: OtelTelemetryOptions = { meterProvider: new MeterProvider({ readers: [reader] }) }
 * ```
 */
export interface OtelTelemetryOptions {
  /** Where metrics go; default `metrics.getMeterProvider()` (the global one, a no-op until an SDK registers). */
  readonly meterProvider?: MeterProvider
  /** Where delivery spans go; default `trace.getTracerProvider()`. */
  readonly tracerProvider?: TracerProvider
  /** The longest wait for Redis when the group gauges are collected, in ms; default 2000 (then that group is skipped). */
  readonly redisTimeoutMs?: number
  /**
   * Time each ingest (`autoplay_rx.ingest.duration`); default true. Its two
   * clock reads and one histogram record are about 200 ns per delivery, 5 %
   * of the ingest of a 240-byte body: `false` leaves them out, and every
   * other instrument as it is.
   */
  readonly ingestDuration?: boolean
}

/** The instrumentation scope: what a backend shows as the source of these metrics and spans. */
const SCOPE = 'autoplay-rx'

/** What the global proxy hands out while no TracerProvider is registered. */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate()

const headerGetter: TextMapGetter<HeaderReader> = {
  get: (header, key) => header(key.toLowerCase()) ?? undefined,
  keys: () => [],
}

/** Every hook is fenced: a failing backend is told to OpenTelemetry's diag logger, once, and processing goes on. */
class Fence {
  private told = false
  fault(error: unknown): void {
    if (this.told) return
    this.told = true
    try {
      diag.error('autoplay-rx: a telemetry call failed; processing goes on (this is reported once)', error)
    } catch { /* a diag logger that throws is ignored too */ }
  }
}

/** The synchronous instruments (histograms); every count is a {@link Tally} read by an observable one. */
interface Histograms {
  readonly ingest: Histogram
  readonly http: Histogram
  readonly callbacks: Histogram
  readonly append: Histogram
}

const outcomeAttributes = (outcome: string): Attributes => ({ 'autoplay_rx.delivery.outcome': outcome })
const acceptedAttributes = (type: string): Attributes => ({ 'autoplay_rx.delivery.outcome': 'accepted', 'autoplay_rx.payload.type': type })
const callbackAttributes = (name: string): Attributes => ({ 'autoplay_rx.callback': name })
const hitAttributes = (hit: string): Attributes => ({ 'autoplay_rx.dedupe.hit': hit === 'true' })
const summarizerAttributes = (outcome: string): Attributes => ({ 'autoplay_rx.summarizer.outcome': outcome })
const stateAttributes = (state: string): Attributes => ({ 'autoplay_rx.sse.state': state })
const reasonAttributes = (reason: string): Attributes => ({ 'autoplay_rx.sse.reason': reason })
const frameAttributes = (outcome: string): Attributes => ({ 'autoplay_rx.frame.outcome': outcome })
const NO_ATTRIBUTES: Attributes = Object.freeze({})
const none = (): Attributes => NO_ATTRIBUTES
/** Payload types: made once, so that a histogram record allocates nothing. */
const TYPE_ATTRIBUTES: Record<Payload['type'], Attributes> = {
  actions: Object.freeze({ 'autoplay_rx.payload.type': 'actions' }),
  summary: Object.freeze({ 'autoplay_rx.payload.type': 'summary' }),
}
const seconds = (fromMs: number, toMs: number): number => (toMs - fromMs) / 1000

/** Counts one event under `key` in `tally`, fenced: a failing backend is reported once and changes nothing. */
function countOne(fence: Fence, tally: Tally, key: string, attributes: (key: string) => Attributes): void {
  try {
    tally.add(key, attributes)
  } catch (fault) {
    fence.fault(fault)
  }
}

/** The shared state of one `otelTelemetry()`: instruments, tallies, and what the gauges watch. */
class State {
  readonly fence = new Fence()
  readonly deliveries = new Tally()
  readonly callbackFailures = new Tally()
  readonly dedupe = new Tally()
  readonly summarizer = new Tally()
  readonly sseStreams = new Tally()
  readonly sseReconnects = new Tally()
  readonly sseDisconnects = new Tally()
  readonly sseFrames = new Tally()
  readonly redisRead = new Tally()
  readonly redisClaimed = new Tally()
  readonly redisAcked = new Tally()
  readonly redisRejected = new Tally()
  readonly budgets = new Set<BudgetView>()
  /** Groups being read, with how many subscriptions read each. */
  readonly groups = new Map<string, { readonly group: RedisGroup; readonly attributes: Attributes; readers: number }>()
  /** One attribute set per answer, made on first sight. */
  private readonly answers = new Map<number, Map<string, Attributes>>()
  readonly histograms: Histograms
  readonly tracer: Tracer | undefined
  readonly timeIngest: boolean
  /** The global provider when none was given: while no SDK is registered behind it, spans are skipped, not made as no-ops. */
  private readonly proxy: ProxyTracerProvider | undefined
  redisTimeoutMs = 2000

  constructor(options: OtelTelemetryOptions) {
    this.histograms = this.instruments(options)
    this.timeIngest = options.ingestDuration ?? true
    const provider = options.tracerProvider ?? trace.getTracerProvider()
    this.proxy = provider instanceof ProxyTracerProvider ? provider : undefined
    this.tracer = this.fenced(() => provider.getTracer(SCOPE))
  }

  /** The tracer, unless it is the API's no-op (no SDK registered yet). */
  get activeTracer(): Tracer | undefined {
    return this.proxy !== undefined && this.proxy.getDelegate() === NOOP_TRACER_PROVIDER ? undefined : this.tracer
  }

  fenced<A>(f: () => A): A | undefined {
    try {
      return f()
    } catch (error) {
      this.fence.fault(error)
      return undefined
    }
  }

  answerAttributes(status: number, code: string): Attributes {
    let byCode = this.answers.get(status)
    if (byCode === undefined) this.answers.set(status, byCode = new Map())
    let attributes = byCode.get(code)
    if (attributes === undefined) {
      byCode.set(code, attributes = Object.freeze({ 'http.response.status_code': status, 'autoplay_rx.response.code': code }))
    }
    return attributes
  }

  /** A meter that throws when asked for instruments leaves metrics off (said once), never the rest. */
  private instruments(options: OtelTelemetryOptions): Histograms {
    const made = this.fenced(() => this.register((options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE)))
    return made ?? this.register(createNoopMeter())
  }

  private register(meter: Meter): Histograms {
    const histogram = (name: HistogramName) => meter.createHistogram(name, {
      unit: INSTRUMENTS[name].unit, description: INSTRUMENTS[name].description,
      advice: { explicitBucketBoundaries: [...BUCKETS[name]] },
    })
    const observe = (name: InstrumentName, kind: 'counter' | 'gauge', read: (result: ObservableResult) => void) => {
      const { unit, description } = INSTRUMENTS[name]
      const instrument = kind === 'counter'
        ? meter.createObservableCounter(name, { unit, description })
        : meter.createObservableGauge(name, { unit, description })
      instrument.addCallback((result) => {
        try {
          read(result)
        } catch (error) {
          this.fence.fault(error)
        }
      })
    }
    const sum = (read: (budget: BudgetView) => number) => (result: ObservableResult) => {
      if (this.budgets.size === 0) return
      let total = 0
      for (const budget of this.budgets) total += read(budget)
      result.observe(total)
    }
    observe('autoplay_rx.deliveries', 'counter', (r) => this.deliveries.observe(r))
    observe('autoplay_rx.callbacks.failures', 'counter', (r) => this.callbackFailures.observe(r))
    observe('autoplay_rx.callbacks.pending', 'gauge', sum((b) => b.pendingCallbacks))
    observe('autoplay_rx.callbacks.pending.limit', 'gauge', sum((b) => b.maxPendingCallbacks))
    observe('autoplay_rx.budget.body.size', 'gauge', sum((b) => b.bytes))
    observe('autoplay_rx.budget.body.size.limit', 'gauge', sum((b) => b.maxBytes))
    observe('autoplay_rx.budget.reads', 'gauge', sum((b) => b.requests))
    observe('autoplay_rx.budget.reads.limit', 'gauge', sum((b) => b.maxRequests))
    observe('autoplay_rx.dedupe.checks', 'counter', (r) => this.dedupe.observe(r))
    observe('autoplay_rx.summarizer.summaries', 'counter', (r) => this.summarizer.observe(r))
    observe('autoplay_rx.sse.streams', 'gauge', (r) => this.sseStreams.observe(r))
    observe('autoplay_rx.sse.reconnects', 'counter', (r) => this.sseReconnects.observe(r))
    observe('autoplay_rx.sse.disconnects', 'counter', (r) => this.sseDisconnects.observe(r))
    observe('autoplay_rx.sse.frames', 'counter', (r) => this.sseFrames.observe(r))
    observe('autoplay_rx.redis.entries.read', 'counter', (r) => this.redisRead.observe(r))
    observe('autoplay_rx.redis.entries.claimed', 'counter', (r) => this.redisClaimed.observe(r))
    observe('autoplay_rx.redis.entries.acked', 'counter', (r) => this.redisAcked.observe(r))
    observe('autoplay_rx.redis.entries.rejected', 'counter', (r) => this.redisRejected.observe(r))
    const pending = meter.createObservableGauge('autoplay_rx.redis.group.pending', {
      unit: INSTRUMENTS['autoplay_rx.redis.group.pending'].unit, description: INSTRUMENTS['autoplay_rx.redis.group.pending'].description,
    })
    const lag = meter.createObservableGauge('autoplay_rx.redis.group.lag', {
      unit: INSTRUMENTS['autoplay_rx.redis.group.lag'].unit, description: INSTRUMENTS['autoplay_rx.redis.group.lag'].description,
    })
    meter.addBatchObservableCallback(async (result) => {
      await Promise.all([...this.groups.values()].map(async ({ group, attributes }) => {
        // A Redis that is down or slow skips this group for this collection; it never fails the collection.
        const info = await this.groupInfo(group).catch(() => undefined)
        if (info === undefined) return
        if (info.pending !== undefined) result.observe(pending, info.pending, attributes)
        if (info.lag !== undefined) result.observe(lag, info.lag, attributes)
      }))
    }, [pending, lag])
    return {
      ingest: histogram('autoplay_rx.ingest.duration'),
      http: histogram('autoplay_rx.http.server.request.duration'),
      callbacks: histogram('autoplay_rx.callbacks.duration'),
      append: histogram('autoplay_rx.redis.append.duration'),
    }
  }

  /** XINFO GROUPS, within the timeout: the group's pending count and lag (Redis 7+; `lag` may be unknown). */
  private async groupInfo({ client, stream, group }: RedisGroup): Promise<{ pending?: number; lag?: number } | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(resolve, this.redisTimeoutMs, undefined) })
    try {
      const reply = await Promise.race([client.sendCommand(['XINFO', 'GROUPS', stream]), timeout])
      if (!Array.isArray(reply)) return undefined
      for (const entry of reply) {
        const fields = fieldsOf(entry)
        if (fields.get('name') !== group) continue
        return { pending: numberOf(fields.get('pending')), lag: numberOf(fields.get('lag')) }
      }
      return undefined
    } finally {
      clearTimeout(timer)
    }
  }
}

/** A group's XINFO entry as a map: RESP2 gives a flat name/value list, RESP3 a map. */
function fieldsOf(entry: unknown): Map<string, unknown> {
  const fields = new Map<string, unknown>()
  if (Array.isArray(entry)) {
    for (let i = 0; i + 1 < entry.length; i += 2) fields.set(String(entry[i]), entry[i + 1])
  } else if (entry instanceof Map) {
    for (const [k, v] of entry) fields.set(String(k), v)
  } else if (typeof entry === 'object' && entry !== null) {
    for (const [k, v] of Object.entries(entry)) fields.set(k, v)
  }
  return fields
}

function numberOf(value: unknown): number | undefined {
  if (value === null || value === undefined) return undefined
  const n = Number(value)
  return Number.isFinite(n) ? n : undefined
}

/** One delivery: its span, and the times its measurements are taken from. */
class Delivery implements DeliveryProbe {
  /** When the request's headers were in: only an adapter (which passes `header`) answers, so only it needs the time. */
  private readonly startedAt: number
  private ingestAt = 0
  private acceptedAt = 0
  private type: Payload['type'] | undefined
  /** `undefined` unless a span is recording: a tracer that samples nothing costs no events. */
  private span: Span | undefined
  /** The span ends once `finish` and pending callbacks have both happened. */
  private holds = 1

  constructor(private readonly state: State, header?: HeaderReader) {
    this.startedAt = header === undefined ? 0 : performance.now()
    const tracer = state.activeTracer
    if (tracer === undefined) return
    try {
      const span = startSpan(tracer, header)
      if (span.isRecording()) this.span = span
    } catch (error) {
      state.fence.fault(error)
    }
  }

  ingest(): void {
    if (this.state.timeIngest) this.ingestAt = performance.now()
  }

  verified(): void {
    if (this.span === undefined) return
    try {
      this.span.addEvent('autoplay_rx.verified')
    } catch (error) {
      this.state.fence.fault(error)
    }
  }

  refused(error: IngestError): void {
    try {
      this.state.deliveries.add(error._tag, outcomeAttributes)
      if (this.ingestAt !== 0) this.state.histograms.ingest.record(seconds(this.ingestAt, performance.now()))
      this.span?.setAttributes({ 'autoplay_rx.delivery.outcome': error._tag, 'error.type': error._tag })
    } catch (fault) {
      this.state.fence.fault(fault)
    }
  }

  accepted(payload: Payload, callbacks: boolean): void {
    try {
      // The clock only when something is timed from here: the ingest that ends, or callbacks that start.
      const now = this.ingestAt !== 0 || callbacks ? performance.now() : 0
      this.acceptedAt = now
      this.type = payload.type
      this.state.deliveries.add(payload.type, acceptedAttributes)
      if (this.ingestAt !== 0) this.state.histograms.ingest.record(seconds(this.ingestAt, now))
      if (this.span !== undefined) {
        this.span.setAttributes({ 'autoplay_rx.delivery.outcome': 'accepted', 'autoplay_rx.payload.type': payload.type })
        this.span.addEvent('autoplay_rx.accepted')
      }
    } catch (fault) {
      this.state.fence.fault(fault)
    }
  }

  callbacks(outcome: CallbackOutcome): void {
    try {
      if (outcome._tag === 'Settled') return this.settled(outcome.failures)
      this.holds++
      outcome.done.then((failures) => {
        this.settled(failures)
        this.release()
      }, () => this.release())
    } catch (fault) {
      this.state.fence.fault(fault)
    }
  }

  answered(status: number, code: string): void {
    try {
      const now = performance.now()
      // A probe made without headers (a hand-written adapter) is timed from its ingest, or not at all.
      const from = this.startedAt !== 0 ? this.startedAt : this.ingestAt !== 0 ? this.ingestAt : now
      this.state.histograms.http.record(seconds(from, now), this.state.answerAttributes(status, code))
      if (this.span !== undefined) {
        this.span.setAttributes({ 'http.response.status_code': status, 'autoplay_rx.response.code': code })
        if (status >= 500) {
          this.span.setAttribute('error.type', code)
          this.span.setStatus({ code: SpanStatusCode.ERROR, message: code })
        }
      }
    } catch (fault) {
      this.state.fence.fault(fault)
    }
  }

  finish(): void {
    this.release()
  }

  private settled(failures: ReadonlyArray<CallbackFailure>): void {
    try {
      const type = this.type ?? 'actions'
      this.state.histograms.callbacks.record(seconds(this.acceptedAt, performance.now()), TYPE_ATTRIBUTES[type])
      for (const { callback } of failures) this.state.callbackFailures.add(callback, callbackAttributes)
      if (this.span !== undefined) {
        this.span.addEvent('autoplay_rx.callbacks.settled', { 'autoplay_rx.callbacks.failures': failures.length })
        if (failures.length > 0) this.span.setStatus({ code: SpanStatusCode.ERROR, message: `${failures.length} callback(s) failed` })
      }
    } catch (fault) {
      this.state.fence.fault(fault)
    }
  }

  private release(): void {
    if (--this.holds !== 0 || this.span === undefined) return
    try {
      this.span.end()
    } catch (fault) {
      this.state.fence.fault(fault)
    }
  }
}

/**
 * The delivery's span. Its parent: the span already active here (an HTTP
 * instrumentation's), else what the registered propagator reads from the
 * headers, else the sender's `traceparent` read by {@link parseTraceparent}
 * (the API's default propagator reads nothing, and the W3C one lives in
 * `@opentelemetry/core`, an SDK package this library does not depend on).
 */
function startSpan(tracer: Tracer, header: HeaderReader | undefined): Span {
  const active = context.active()
  if (header === undefined || trace.getSpan(active)?.isRecording() === true) return tracer.startSpan(SPAN_NAME, INTERNAL, active)
  return tracer.startSpan(SPAN_NAME, SERVER, parentOf(active, header))
}

const SPAN_NAME = 'autoplay_rx.delivery'
const INTERNAL = Object.freeze({ kind: SpanKind.INTERNAL })
const SERVER = Object.freeze({ kind: SpanKind.SERVER })

function parentOf(active: Context, header: HeaderReader): Context {
  const extracted = propagation.extract(active, header, headerGetter)
  if (trace.getSpanContext(extracted) !== undefined) return extracted
  const remote = parseTraceparent(header('traceparent'), header('tracestate'))
  return remote === undefined ? active : trace.setSpanContext(active, remote)
}

/** One `connectorStream` subscription: its state in the streams gauge, and its counts. */
function streamProbe(state: State): StreamProbe {
  let current: string | undefined
  const move = (next: string | undefined) => {
    if (current !== undefined) state.sseStreams.add(current, stateAttributes, -1)
    if (next !== undefined) state.sseStreams.add(next, stateAttributes, 1)
    current = next
  }
  return {
    event: (event: ConnectorStreamEvent) => {
      try {
        switch (event._tag) {
          case 'Connecting': return move('connecting')
          case 'Connected': return move('connected')
          case 'Disconnected':
            state.sseDisconnects.add(event.reason._tag, reasonAttributes)
            return move('waiting')
          case 'Retrying': return state.sseReconnects.add('', none)
          case 'FrameRejected': return state.sseFrames.add(event.error._tag, frameAttributes)
        }
      } catch (fault) {
        state.fence.fault(fault)
      }
    },
    frame: () => {
      try {
        state.sseFrames.add('accepted', frameAttributes)
      } catch (fault) {
        state.fence.fault(fault)
      }
    },
    closed: () => {
      try {
        move(undefined)
      } catch (fault) {
        state.fence.fault(fault)
      }
    },
  }
}

/** One `fromRedisStream` subscription: its counts, and its group watched by the gauges while it reads. */
function readerProbe(state: State, group: RedisGroup): RedisReaderProbe {
  const key = `${group.stream}\n${group.group}`
  const attributes: Attributes = Object.freeze({ 'autoplay_rx.redis.stream': group.stream, 'autoplay_rx.redis.group': group.group })
  const same = () => attributes
  const withOutcome = (outcome: string): Attributes => ({ ...attributes, 'autoplay_rx.redis.outcome': outcome })
  const withReason = (reason: string): Attributes => ({ ...attributes, 'autoplay_rx.redis.reason': reason })
  const watched = state.groups.get(key)
  if (watched !== undefined) watched.readers++
  else state.groups.set(key, { group, attributes, readers: 1 })
  let open = true
  const fenced = (f: () => void) => {
    try {
      f()
    } catch (fault) {
      state.fence.fault(fault)
    }
  }
  return {
    read: (count, claimed) => fenced(() => (claimed ? state.redisClaimed : state.redisRead).add(key, same, count)),
    acked: (ok) => fenced(() => state.redisAcked.add(`${key}\n${ok ? 'ok' : 'error'}`, () => withOutcome(ok ? 'ok' : 'error'))),
    rejected: (tag) => fenced(() => state.redisRejected.add(`${key}\n${tag}`, () => withReason(tag))),
    closed: () => fenced(() => {
      if (!open) return
      open = false
      const entry = state.groups.get(key)
      if (entry !== undefined && --entry.readers === 0) state.groups.delete(key)
    }),
  }
}

/**
 * Telemetry from OpenTelemetry: pass the result as the `telemetry` option
 * of the receiver (its adapters report through it), `connectorStream`,
 * `dedupeDeliveries`, `redisAppender`/`toRedisStream` and `fromRedisStream`.
 * One object serves them all; make one per process.
 *
 * Metrics: every instrument of {@link INSTRUMENTS} (docs/observability.md
 * has the table, alerts and queries). Counts are kept in plain numbers and
 * reported by observable instruments at collection, so the hot path pays no
 * attribute hashing; the Redis group gauges ask Redis (`XINFO GROUPS`) at
 * collection, and skip a group when Redis does not answer. Traces: one
 * `autoplay_rx.delivery` span per push delivery, with events `verified`,
 * `accepted` and `callbacks.settled`, the outcome, the refusal tag
 * (`error.type`), the answer's status and code; its parent is the active
 * span, else the sender's `traceparent`.
 *
 * Every call into OpenTelemetry is fenced: a meter, tracer or exporter that
 * throws is reported once to `diag` and changes nothing else.
 *
 * @param options - the providers (default: the global ones)
 * @returns the hooks, for the components' `telemetry` option
 * @example
 * ```ts
 * import { metrics } from '@opentelemetry/api'
 * import { MeterProvider } from '@opentelemetry/sdk-metrics'
 * import { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
 * import { WebhookReceiver } from 'autoplay-rx'
 * import { createNodeMiddleware } from 'autoplay-rx/node'
 * import { otelTelemetry } from 'autoplay-rx/otel'
 *
 * metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new PrometheusExporter({ port: 9464 })] }))
 * const telemetry = otelTelemetry()
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET!, telemetry })
 * createServer(createNodeMiddleware(receiver, { path: '/events' })).listen(8787)
 * ```
 */
export function otelTelemetry(options: OtelTelemetryOptions = {}): Telemetry {
  const state = new State(options)
  if (options.redisTimeoutMs !== undefined) {
    if (!(Number.isFinite(options.redisTimeoutMs) && options.redisTimeoutMs > 0)) throw new TypeError('autoplay-rx: redisTimeoutMs must be a positive number')
    state.redisTimeoutMs = options.redisTimeoutMs
  }
  const appendAttributes = new Map<string, Attributes>()
  const appended = (stream: string, ok: boolean): Attributes => {
    const key = `${ok ? 'ok' : 'error'}\n${stream}`
    let attributes = appendAttributes.get(key)
    if (attributes === undefined) {
      appendAttributes.set(key, attributes = Object.freeze({ 'autoplay_rx.redis.stream': stream, 'autoplay_rx.redis.outcome': ok ? 'ok' : 'error' }))
    }
    return attributes
  }
  return {
    delivery: (header) => new Delivery(state, header),
    budget: (budget) => { state.budgets.add(budget) },
    dedupe: (hit) => countOne(state.fence, state.dedupe, hit ? 'true' : 'false', hitAttributes),
    connectorStream: () => streamProbe(state),
    redisAppend: (stream) => {
      const started = performance.now()
      return (ok) => {
        try {
          state.histograms.append.record(seconds(started, performance.now()), appended(stream, ok))
        } catch (fault) {
          state.fence.fault(fault)
        }
      }
    },
    redisReader: (group) => readerProbe(state, group),
    summarizer: (outcome) => countOne(state.fence, state.summarizer, outcome, summarizerAttributes),
  }
}
