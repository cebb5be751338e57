// The Telemetry hooks built from the OpenTelemetry API: the instruments of the table through a
// MeterProvider, one span per delivery through a TracerProvider. The SDK is the application's.
import {
  context, createNoopMeter, diag, isSpanContextValid, metrics, propagation, ProxyTracerProvider, ROOT_CONTEXT,
  SpanKind, SpanStatusCode, trace, type Attributes, type BatchObservableResult, type Histogram, type Meter,
  type MeterProvider, type Observable, type ObservableResult, type Span, type SpanOptions, type TextMapGetter,
  type Tracer, type TracerProvider,
} from '@opentelemetry/api'
import type { CallbackFailure, CallbackOutcome } from '../callbacks.js'
import type { WireEvent } from '../codecs.js'
import type { IngestError } from '../errors.js'
import { within } from '../internal/within.js'
import type { ConnectorStreamEvent } from '../sse/lifecycle.js'
import {
  FENCED, type BudgetView, type DeliveryProbe, type HeaderReader, type RedisGroup, type RedisReaderProbe,
  type StreamProbe, type Telemetry,
} from '../telemetry.js'
import { TABLE, type InstrumentName } from './instruments.js'
import { Tally } from './tally.js'
import { parseTraceparent } from './traceparent.js'

/** Options of {@link otelTelemetry}. */
export interface OtelTelemetryOptions {
  /** Where metrics go; default the global MeterProvider (a no-op until an SDK registers). */
  readonly meterProvider?: MeterProvider | undefined
  /** Where delivery spans go; default the global TracerProvider (no span while no SDK is behind it). */
  readonly tracerProvider?: TracerProvider | undefined
  /** The longest wait for Redis when the group gauges are collected, in ms (then it is skipped); default 2000. */
  readonly redisTimeoutMs?: number | undefined
  /** Time each ingest (`autoplay_rx.ingest.duration`); default true. `false` spares its clock reads and record. */
  readonly ingestDuration?: boolean | undefined
}

type Table = typeof TABLE
type Spec = Table[InstrumentName]
/** Histograms are recorded as things happen; the rest are observed at collection. */
type Timed = { [N in InstrumentName]: Table[N] extends { kind: 'histogram' } ? N : never }[InstrumentName]
/** Observed from a {@link Tally}: neither a histogram nor a gauge that reads a budget or Redis. */
type Counted = {
  [N in InstrumentName]: Table[N] extends { kind: 'histogram' } | { budget: string } | { xinfo: string }
    ? never : N
}[InstrumentName]
const NAMES = Object.keys(TABLE) as InstrumentName[]
const counted = (name: InstrumentName): name is Counted => {
  const spec: Spec = TABLE[name]
  return spec.kind !== 'histogram' && !('budget' in spec) && !('xinfo' in spec)
}

const SCOPE = 'autoplay-rx'
const SPAN = 'autoplay_rx.delivery'
const INTERNAL: SpanOptions = Object.freeze({ kind: SpanKind.INTERNAL })
// Whoever sent the request, its traceparent never makes it a parent.
const ROOT: SpanOptions = Object.freeze({ kind: SpanKind.SERVER, root: true })
/** What the global proxy hands out while no TracerProvider is registered. */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate()
const NONE: Attributes = Object.freeze({})
// Made once, so that counting or recording a delivery allocates nothing.
const TYPES: Record<WireEvent['type'], Attributes> = {
  actions: Object.freeze({ 'autoplay_rx.payload.type': 'actions' }),
  summary: Object.freeze({ 'autoplay_rx.payload.type': 'summary' }),
  usertour_trigger: Object.freeze({ 'autoplay_rx.payload.type': 'usertour_trigger' }),
}
const acceptedAs = (type: string): Attributes =>
  ({ 'autoplay_rx.delivery.outcome': 'accepted', 'autoplay_rx.payload.type': type })
const hit = (key: string): Attributes => ({ 'autoplay_rx.dedupe.hit': key === 'true' })

/** Telemetry never breaks a delivery: what OpenTelemetry throws is told to diag once, then dropped. */
class Fence {
  private told = false

  /** `f(a, b, c)`, or `undefined` when it throws. */
  run<A, R>(f: (a: A) => R, a: A): R | undefined
  run<A, B, R>(f: (a: A, b: B) => R, a: A, b: B): R | undefined
  run<A, B, C, R>(f: (a: A, b: B, c: C) => R, a: A, b: B, c: C): R | undefined
  run(f: (a: unknown, b: unknown, c: unknown) => unknown, a: unknown, b?: unknown, c?: unknown): unknown {
    try {
      return f(a, b, c)
    } catch (error) {
      if (!this.told) {
        this.told = true
        this.run(tell, error) // a diag logger that throws lands here again, and is dropped
      }
      return undefined
    }
  }
}

const tell = (error: unknown) =>
  diag.error('autoplay-rx: a telemetry call failed; processing goes on (told once)', error)
const record = (histogram: Histogram, seconds: number, attributes: Attributes) => histogram.record(seconds, attributes)

interface Answer {
  readonly status: number
  readonly code: string
  readonly attributes: Attributes
}

interface Watched {
  readonly group: RedisGroup
  readonly attributes: Attributes
  readers: number
}

/** One `otelTelemetry()`: its instruments, its tallies, and what the gauges watch. */
class State {
  readonly fence = new Fence()
  readonly tallies = {} as Record<Counted, Tally>
  readonly budgets = new Set<BudgetView>()
  /** Groups being read here, by stream and group, with how many subscriptions read each. */
  readonly groups = new Map<string, Watched>()
  readonly timed: Record<Timed, Histogram>
  readonly timeIngest: boolean
  readonly redisTimeoutMs: number
  private readonly tracer: Tracer | undefined
  /** The global provider when none was given: spans are skipped while no SDK is behind it. */
  private readonly proxy: ProxyTracerProvider | undefined
  private readonly answers = new Map<number, Map<string, Answer>>()

  constructor(options: OtelTelemetryOptions) {
    for (const name of NAMES) if (counted(name)) this.tallies[name] = new Tally(TABLE[name].attributes[0])
    this.timeIngest = options.ingestDuration ?? true
    this.redisTimeoutMs = options.redisTimeoutMs ?? 2000
    if (!(Number.isFinite(this.redisTimeoutMs) && this.redisTimeoutMs > 0)) {
      throw new TypeError('autoplay-rx: redisTimeoutMs must be a positive number')
    }
    // A meter that throws leaves metrics off, never the rest.
    const meterProvider = options.meterProvider ?? metrics.getMeterProvider()
    this.timed = this.fence.run((p: MeterProvider) => register(this, p.getMeter(SCOPE)), meterProvider)
      ?? register(this, createNoopMeter())
    const provider = options.tracerProvider ?? trace.getTracerProvider()
    this.proxy = provider instanceof ProxyTracerProvider ? provider : undefined
    this.tracer = this.fence.run((p: TracerProvider) => p.getTracer(SCOPE), provider)
  }

  /** The tracer, unless it is the API's no-op (no SDK registered yet). */
  get activeTracer(): Tracer | undefined {
    return this.proxy?.getDelegate() === NOOP_TRACER_PROVIDER ? undefined : this.tracer
  }

  count(name: Counted, key: string, attributesOf?: (key: string) => Attributes, n?: number): void {
    this.tallies[name].add(key, attributesOf, n)
  }

  /** Records in `name` the seconds from `from` to `to` (`performance.now()` times). */
  time(name: Timed, from: number, attributes = NONE, to = performance.now()): void {
    this.fence.run(record, this.timed[name], (to - from) / 1000, attributes)
  }

  answer(status: number, code: string): Answer {
    let byCode = this.answers.get(status)
    if (byCode === undefined) this.answers.set(status, byCode = new Map())
    let answer = byCode.get(code)
    if (answer === undefined) {
      const attributes = Object.freeze({ 'http.response.status_code': status, 'autoplay_rx.response.code': code })
      byCode.set(code, answer = { status, code, attributes })
    }
    return answer
  }

  /** At collection: each watched group's XINFO GROUPS fields; a Redis down or slow skips the group this time. */
  async observeGroups(result: BatchObservableResult, gauges: ReadonlyArray<[Observable, string]>): Promise<void> {
    await Promise.all([...this.groups.values()].map(async ({ group, attributes }) => {
      const fields = await within(groupFields(group), this.redisTimeoutMs, undefined).catch(() => undefined)
      if (fields === undefined) return
      for (const [gauge, field] of gauges) {
        const value = numberOf(fields.get(field))
        if (value !== undefined) result.observe(gauge, value, attributes)
      }
    }))
  }
}

/** Makes every instrument of the table on `meter`, each observed one with what it reads. */
function register(state: State, meter: Meter): Record<Timed, Histogram> {
  const timed = {} as Record<Timed, Histogram>
  const xinfo: Array<[Observable, string]> = []
  for (const name of NAMES) {
    const spec: Spec = TABLE[name]
    const { unit, description } = spec
    if (spec.kind === 'histogram') {
      const advice = { explicitBucketBoundaries: [...spec.buckets] }
      timed[name as Timed] = meter.createHistogram(name, { unit, description, advice })
      continue
    }
    const instrument = spec.kind === 'counter'
      ? meter.createObservableCounter(name, { unit, description })
      : meter.createObservableGauge(name, { unit, description })
    if ('xinfo' in spec) {
      xinfo.push([instrument, spec.xinfo])
      continue
    }
    const read = 'budget' in spec ? sum(state.budgets, spec.budget) : state.tallies[name as Counted]
    instrument.addCallback((result) => { state.fence.run(observe, read, result) })
  }
  meter.addBatchObservableCallback((result) => state.observeGroups(result, xinfo), xinfo.map(([gauge]) => gauge))
  return timed
}

const observe = (read: { observe(result: ObservableResult): void }, result: ObservableResult) => read.observe(result)

/** A gauge summed over the adapters' budgets; none is reported until an adapter has one. */
const sum = (budgets: ReadonlySet<BudgetView>, field: keyof BudgetView) => ({
  observe: (result: ObservableResult) => {
    if (budgets.size === 0) return
    let total = 0
    for (const budget of budgets) total += budget[field]
    result.observe(total)
  },
})

/** The group's entry of XINFO GROUPS (Redis 7+ has `lag`). */
async function groupFields({ client, stream, group }: RedisGroup): Promise<Map<string, unknown> | undefined> {
  const reply = await client.sendCommand(['XINFO', 'GROUPS', stream])
  if (!Array.isArray(reply)) return undefined
  for (const entry of reply) {
    const fields = fieldsOf(entry)
    if (fields.get('name') === group) return fields
  }
  return undefined
}

/** RESP2 gives a flat name/value list, RESP3 a map. */
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

/** One delivery: its span, and the times its durations are measured from. */
class Delivery implements DeliveryProbe {
  /** Only an adapter (which passes `header`) answers, so only it needs the time its request started. */
  private readonly startedAt: number
  private readonly span: Span | undefined
  /** The request's headers, read for the sender's context only once the signature holds. */
  private sender: HeaderReader | undefined
  private ingestAt = 0
  private acceptedAt = 0
  private type: WireEvent['type'] = 'actions'
  /** The span ends once `finish` and pending callbacks have both happened. */
  private holds = 1

  constructor(private readonly state: State, header?: HeaderReader) {
    this.startedAt = header === undefined ? 0 : performance.now()
    const tracer = state.activeTracer
    if (tracer === undefined) return
    // An instrumentation's span (an HTTP server's) already answers for the request: the delivery nests in it.
    const root = header !== undefined && state.fence.run(inRecordingSpan, context) !== true
    this.span = state.fence.run(startSpan, tracer, root ? ROOT : INTERNAL)
    if (root && this.span !== undefined) this.sender = header
  }

  ingest(): void {
    if (this.state.timeIngest) this.ingestAt = performance.now()
  }

  verified(): void {
    if (this.span === undefined) return
    this.state.fence.run(addEvent, this.span, 'autoplay_rx.verified')
    if (this.sender !== undefined) this.state.fence.run(linkSender, this.span, this.sender)
    this.sender = undefined
  }

  refused(error: IngestError): void {
    this.state.count('autoplay_rx.deliveries', error._tag)
    if (this.ingestAt !== 0) this.state.time('autoplay_rx.ingest.duration', this.ingestAt)
    if (this.span !== undefined) this.state.fence.run(refuse, this.span, error._tag)
  }

  accepted(payload: WireEvent, callbacks: boolean): void {
    // The clock only when something is timed from here: the ingest that ends, or callbacks that start.
    if (this.ingestAt !== 0 || callbacks) this.acceptedAt = performance.now()
    this.type = payload.type
    this.state.count('autoplay_rx.deliveries', payload.type, acceptedAs)
    if (this.ingestAt !== 0) this.state.time('autoplay_rx.ingest.duration', this.ingestAt, NONE, this.acceptedAt)
    if (this.span !== undefined) this.state.fence.run(accept, this.span, payload.type)
  }

  callbacks(outcome: CallbackOutcome): void {
    if (outcome._tag === 'Settled') return this.settled(outcome.failures)
    this.holds++
    outcome.done.then((failures) => {
      this.settled(failures)
      this.release()
    }, () => this.release())
  }

  answered(status: number, code: string): void {
    const now = performance.now()
    // A probe made without headers (a hand-written adapter) is timed from its ingest, or not at all.
    const from = this.startedAt !== 0 ? this.startedAt : this.ingestAt !== 0 ? this.ingestAt : now
    const answer = this.state.answer(status, code)
    this.state.time('autoplay_rx.http.server.request.duration', from, answer.attributes, now)
    if (this.span !== undefined) this.state.fence.run(answered, this.span, answer)
  }

  finish(): void {
    this.release()
  }

  private settled(failures: ReadonlyArray<CallbackFailure>): void {
    this.state.time('autoplay_rx.callbacks.duration', this.acceptedAt, TYPES[this.type])
    for (const { callback } of failures) this.state.count('autoplay_rx.callbacks.failures', callback)
    if (this.span !== undefined) this.state.fence.run(settled, this.span, failures.length)
  }

  private release(): void {
    if (--this.holds === 0 && this.span !== undefined) this.state.fence.run(end, this.span)
  }
}

const addEvent = (span: Span, name: string) => span.addEvent(name)
const end = (span: Span) => span.end()

function refuse(span: Span, tag: string): void {
  span.setAttributes({ 'autoplay_rx.delivery.outcome': tag, 'error.type': tag })
}

function accept(span: Span, type: WireEvent['type']): void {
  span.setAttributes({ 'autoplay_rx.delivery.outcome': 'accepted', 'autoplay_rx.payload.type': type })
  span.addEvent('autoplay_rx.accepted')
}

function answered(span: Span, { status, code, attributes }: Answer): void {
  span.setAttributes(attributes)
  if (status < 500) return
  span.setAttribute('error.type', code)
  span.setStatus({ code: SpanStatusCode.ERROR, message: code })
}

function settled(span: Span, failures: number): void {
  span.addEvent('autoplay_rx.callbacks.settled', { 'autoplay_rx.callbacks.failures': failures })
  if (failures > 0) span.setStatus({ code: SpanStatusCode.ERROR, message: `${failures} callback(s) failed` })
}

const inRecordingSpan = (api: typeof context) => trace.getSpan(api.active())?.isRecording() === true

/** A span that does not record is dropped. */
function startSpan(tracer: Tracer, options: SpanOptions): Span | undefined {
  const span = tracer.startSpan(SPAN, options)
  return span.isRecording() ? span : undefined
}

const headerGetter: TextMapGetter<HeaderReader> = {
  get: (header, key) => header(key.toLowerCase()) ?? undefined,
  keys: () => [],
}

/**
 * The sender's span context, as the registered propagator reads it from the headers, else from `traceparent`:
 * a link, not a parent, so that its sampling flag decides nothing here. An SDK without `addLink` records none.
 */
function linkSender(span: Span, header: HeaderReader): void {
  const extracted = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, header, headerGetter))
  const sender = extracted !== undefined && isSpanContextValid(extracted)
    ? extracted
    : parseTraceparent(header('traceparent'), header('tracestate'))
  if (sender !== undefined && typeof span.addLink === 'function') span.addLink({ context: sender })
}

/** One `connectorStream` subscription: its place in the streams gauge, and its counts. */
function streamProbe(state: State): StreamProbe {
  let current: string | undefined
  const move = (next: string | undefined) => {
    if (current !== undefined) state.count('autoplay_rx.sse.streams', current, undefined, -1)
    if (next !== undefined) state.count('autoplay_rx.sse.streams', next)
    current = next
  }
  return {
    event: (event: ConnectorStreamEvent) => {
      switch (event._tag) {
        case 'Connecting': return move('connecting')
        case 'Connected': return move('connected')
        case 'Disconnected':
          state.count('autoplay_rx.sse.disconnects', event.reason._tag)
          return move('waiting')
        case 'Retrying': return state.count('autoplay_rx.sse.reconnects', '')
        case 'FrameRejected': return state.count('autoplay_rx.sse.frames', event.error._tag)
      }
    },
    frame: () => state.count('autoplay_rx.sse.frames', 'accepted'),
    closed: () => move(undefined),
  }
}

/** One `fromRedisStream` subscription: its counts, and its group watched by the gauges while it reads. */
function readerProbe(state: State, group: RedisGroup): RedisReaderProbe {
  const { stream, group: name } = group
  const key = `${stream}\n${name}`
  const attributes = Object.freeze({ 'autoplay_rx.redis.stream': stream, 'autoplay_rx.redis.group': name })
  const same = () => attributes
  // The key goes on with the outcome or reason, which the attributes read back from it.
  const adding = (attribute: string) => (k: string): Attributes =>
    ({ ...attributes, [attribute]: k.slice(key.length + 1) })
  const withOutcome = adding('autoplay_rx.redis.outcome')
  const withReason = adding('autoplay_rx.redis.reason')
  const watched = state.groups.get(key)
  if (watched !== undefined) watched.readers++
  else state.groups.set(key, { group, attributes, readers: 1 })
  let open = true
  return {
    read: (count, claimed) => {
      state.count(claimed ? 'autoplay_rx.redis.entries.claimed' : 'autoplay_rx.redis.entries.read', key, same, count)
    },
    acked: (ok) => state.count('autoplay_rx.redis.entries.acked', `${key}\n${ok ? 'ok' : 'error'}`, withOutcome),
    rejected: (tag) => state.count('autoplay_rx.redis.entries.rejected', `${key}\n${tag}`, withReason),
    closed: () => {
      if (!open) return
      open = false
      const entry = state.groups.get(key)
      if (entry !== undefined && --entry.readers === 0) state.groups.delete(key)
    },
  }
}

/**
 * Telemetry through OpenTelemetry, for the `telemetry` option of the receiver (its adapters report
 * through it), `connectorStream`, `dedupeDeliveries`, the Redis bridge and `SessionSummarizer`: the
 * metrics of `INSTRUMENTS` and one `autoplay_rx.delivery` span per push delivery. Make one per process.
 *
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
  const appends = new Map<string, Attributes>()
  const appended = (stream: string, outcome: string): Attributes => {
    const key = `${outcome}\n${stream}`
    let attributes = appends.get(key)
    if (attributes === undefined) {
      attributes = Object.freeze({ 'autoplay_rx.redis.stream': stream, 'autoplay_rx.redis.outcome': outcome })
      appends.set(key, attributes)
    }
    return attributes
  }
  const telemetry: Telemetry & { [FENCED]: true } = {
    [FENCED]: true,
    delivery: (header) => new Delivery(state, header),
    budget: (budget) => { state.budgets.add(budget) },
    dedupe: (repeat) => state.count('autoplay_rx.dedupe.checks', repeat ? 'true' : 'false', hit),
    connectorStream: () => streamProbe(state),
    redisAppend: (stream) => {
      const started = performance.now()
      return (ok) => state.time('autoplay_rx.redis.append.duration', started, appended(stream, ok ? 'ok' : 'error'))
    },
    redisReader: (group) => readerProbe(state, group),
    summarizer: (outcome) => state.count('autoplay_rx.summarizer.summaries', outcome),
    proactiveOffer: (trigger, outcome) => state.count('autoplay_rx.proactive.offers', `${outcome}\n${trigger}`, () =>
      ({ 'autoplay_rx.proactive.trigger': trigger, 'autoplay_rx.proactive.outcome': outcome })),
  }
  return telemetry
}
