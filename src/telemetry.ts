// What the path reports to an observer: the receiver, adapters, SSE source, Redis reader and appender
// and summarizer call these hooks, and import no telemetry library. A component given no `telemetry`
// pays one `undefined` check. `autoplay-rx/otel` builds them from OpenTelemetry.
import type { CallbackOutcome } from './callbacks.js'
import type { Payload, UsertourTriggerPayload } from './codecs.js'
import type { IngestError } from './errors.js'
import type { RedisCommandClient } from './redis/client.js'
import type { ConnectorStreamEvent } from './sse/lifecycle.js'
import { errorText, rateLimited, type Logger } from './logger.js'

/** Marks a telemetry that fences its own calls (`otelTelemetry`): {@link fenced} leaves it as it is. */
export const FENCED = Symbol.for('autoplay-rx/fenced')
// What a hook that threw gives: any property of it, or any call, is itself, so a probe never made is a no-op;
// but no `then`, so that nothing awaiting it waits for ever.
const NOOP: unknown = new Proxy(() => NOOP, { get: (_, key) => (key === 'then' ? undefined : NOOP) })
const said = rateLimited(10_000)

/** A telemetry of the user's own, its hooks and the probes they make kept from throwing into the path (logged). */
export function fenced<T extends object | undefined>(hooks: T, logger: Logger): T {
  if (hooks === undefined || FENCED in hooks) return hooks
  const guard = (value: unknown, self?: object): unknown => typeof value === 'function'
    ? (...args: unknown[]) => {
      try {
        return guard(value.apply(self, args))
      } catch (error) {
        said(logger, 'error', 'telemetry threw: ' + errorText(error))
        return NOOP
      }
    }
    : typeof value === 'object' && value !== null
      ? new Proxy(value, { get: (o, k) => guard(Reflect.get(o, k), o) })
      : value
  return guard(hooks) as T
}

/** Reads one request header by lower-case name, until `finish`: how an adapter lets the telemetry see `traceparent`. */
export type HeaderReader = (name: string) => string | null | undefined

/** Follows one push delivery from its request (or `ingest` call) to its answer; `finish` is called once. */
export interface DeliveryProbe {
  /** Verification starts: the ingest duration runs from here. */
  readonly ingest: () => void
  /** The signature held (or no secret is set): from here what the request's headers say may be trusted. */
  readonly verified: () => void
  /** Once per `rejected$` value. */
  readonly refused: (error: IngestError) => void
  /**
   * Emitted (a payload, or a `usertour_trigger`); `callbacks` says whether callbacks run for it (then `callbacks`
   * below tells how they ended).
   */
  readonly accepted: (payload: Payload | UsertourTriggerPayload, callbacks: boolean) => void
  /** How the callbacks ended, or a promise of it. */
  readonly callbacks: (outcome: CallbackOutcome) => void
  /** The answer an adapter wrote: its status and the body's `code`. */
  readonly answered: (status: number, code: string) => void
  /** The maker is done with it; the span may still wait for callbacks. */
  readonly finish: () => void
}

/** An adapter's in-flight budget as the gauges read it (`InFlightBudget` is one). */
export interface BudgetView {
  readonly bytes: number
  readonly maxBytes: number
  readonly requests: number
  readonly maxRequests: number
  readonly pendingCallbacks: number
  readonly maxPendingCallbacks: number
}

/** Follows one `connectorStream` subscription. */
export interface StreamProbe {
  /** Each value the `events` observer sees. */
  readonly event: (event: ConnectorStreamEvent) => void
  /** An event decoded (a payload about to be emitted, or a `usertour_trigger`). */
  readonly frame: () => void
  /** The subscription ended, for whatever reason. */
  readonly closed: () => void
}

/** Follows one `fromRedisStream` subscription. */
export interface RedisReaderProbe {
  /** `count` entries handed out: new ones, or `claimed` (pending before: after a restart, or claimed). */
  readonly read: (count: number, claimed: boolean) => void
  /** An XACK ended: `ok` unless Redis refused or failed. */
  readonly acked: (ok: boolean) => void
  /** An entry not handed out (its error's `_tag`: not decoded, dead-lettered, trimmed), acknowledged. */
  readonly rejected: (tag: string) => void
  /** The subscription ended. */
  readonly closed: () => void
}

/** A consumer group being read; `client` never blocks, so the gauges can ask it XINFO GROUPS. */
export interface RedisGroup {
  readonly client: RedisCommandClient
  readonly stream: string
  readonly group: string
}

/**
 * The hooks a component calls when given a `telemetry` option; `otelTelemetry()` from `autoplay-rx/otel`
 * builds them. They sit on the hot path, where nothing catches: an implementation must not throw.
 */
export interface Telemetry {
  /** A delivery starts: an adapter passes its `header` reader; `ingest` called by hand passes none. */
  readonly delivery: (header?: HeaderReader) => DeliveryProbe
  /** An adapter's budget, watched until the process ends (a shared one counts once). */
  readonly budget: (budget: BudgetView) => void
  /** `dedupeDeliveries` checked a value: `hit` when it was a repeat, dropped. */
  readonly dedupe: (hit: boolean) => void
  /** A `connectorStream` subscription starts. */
  readonly connectorStream: () => StreamProbe
  /** An XADD starts; the function returned is called once, with whether it succeeded. */
  readonly redisAppend: (stream: string) => (ok: boolean) => void
  /** A `fromRedisStream` subscription starts reading `group`. */
  readonly redisReader: (group: RedisGroup) => RedisReaderProbe
  /** A `SessionSummarizer` ended a summary: `'Summarized'`, or the `_tag` of its `SummarizerError`. */
  readonly summarizer: (outcome: string) => void
  /**
   * The `proactive` operator made an offer of `trigger` (`fired`), or held it back, and why; `unsaved` and `notOwned`:
   * made but not sent (its `state` save failed; its partition was not surely this worker's).
   */
  readonly proactiveOffer?: (trigger: string,
    outcome: 'fired' | 'state' | 'cooldown' | 'interval' | 'rateLimit' | 'circuitOpen' | 'judgeRefused' | 'unsaved' |
      'notOwned') => void
}
