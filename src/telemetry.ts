/**
 * The hooks through which metrics and traces see what the components do.
 * The core only calls them: it imports no telemetry library, and a
 * component given no `telemetry` option pays one `undefined` check. The
 * `autoplay-rx/otel` entry builds them from OpenTelemetry
 * (`otelTelemetry()`); any other backend can implement them.
 */
import type { CallbackOutcome } from './callbacks.js'
import type { Payload } from './codecs.js'
import type { IngestError } from './errors.js'
import type { RedisCommandClient } from './redis/client.js'
import type { ConnectorStreamEvent } from './sse/lifecycle.js'

/**
 * Reads one request header by lower-case name (the first value when
 * repeated): how an adapter lets the telemetry see `traceparent`.
 *
 * @example
 * ```ts
 * const header: HeaderReader = (name) => request.headers.get(name)
 * ```
 */
export type HeaderReader = (name: string) => string | null | undefined

/**
 * Follows one push delivery, from the request (or the `ingest` call) to its
 * answer. Made by {@link Telemetry.delivery}; the component that made it
 * calls {@link DeliveryProbe.finish} once. No method may throw.
 *
 * @example
 * ```ts
 * const probe = telemetry.delivery((name) => req.headers[name] as string | undefined)
 * const { result } = receiver.dispatch(body, signature, probe) // the receiver tells it the rest
 * probe.answered(200, 'ok')
 * probe.finish()
 * ```
 */
export interface DeliveryProbe {
  /** Verification starts: the ingest duration runs from here. */
  readonly ingest: () => void
  /** The signature matched (or the receiver has no secret). */
  readonly verified: () => void
  /** The delivery was refused (each `rejected$` value passes here once). */
  readonly refused: (error: IngestError) => void
  /**
   * The delivery was accepted and emitted; its callbacks start now when
   * `callbacks` is true (some are registered for it: `callbacks` below is then told how they ended).
   */
  readonly accepted: (payload: Payload, callbacks: boolean) => void
  /** How this delivery's callbacks ended, or will (only told when some callback was registered). */
  readonly callbacks: (outcome: CallbackOutcome) => void
  /** The HTTP answer an adapter wrote (`code` is the body's `code`, a `ResponseCode`). */
  readonly answered: (status: number, code: string) => void
  /** The component that made the probe is done with it (the span may wait for pending callbacks). */
  readonly finish: () => void
}

/**
 * What an in-flight budget shows: an adapter's `InFlightBudget` is one.
 *
 * @example
 * ```ts
 * const view: BudgetView = new InFlightBudget({ maxBytes: 16 * 1024 * 1024 })
 * ```
 */
export interface BudgetView {
  /** Body bytes held now by reads in progress. */
  readonly bytes: number
  /** The most body bytes that may be held. */
  readonly maxBytes: number
  /** Bodies being read now. */
  readonly requests: number
  /** The most bodies read at once. */
  readonly maxRequests: number
  /** Deliveries whose callbacks are still running. */
  readonly pendingCallbacks: number
  /** The most deliveries whose callbacks may run at once. */
  readonly maxPendingCallbacks: number
}

/**
 * Follows one `connectorStream` subscription. No method may throw.
 *
 * @example
 * ```ts
 * const probe = telemetry.connectorStream()
 * probe.event({ _tag: 'Connecting', retry: 0, lastEventId: null })
 * probe.frame()   // a payload decoded and emitted
 * probe.closed()  // unsubscribed or errored
 * ```
 */
export interface StreamProbe {
  /** Each lifecycle event and each refused frame, as the `events` observer sees them. */
  readonly event: (event: ConnectorStreamEvent) => void
  /** A frame decoded to a payload, about to be emitted. */
  readonly frame: () => void
  /** The subscription ended (unsubscribed, or the Observable errored). */
  readonly closed: () => void
}

/**
 * Follows one `fromRedisStream` subscription. No method may throw.
 *
 * @example
 * ```ts
 * const probe = telemetry.redisReader({ client, stream: 'autoplay:events', group: 'indexers' })
 * probe.read(3, false) // three new entries handed out
 * probe.acked(true)
 * probe.closed()
 * ```
 */
export interface RedisReaderProbe {
  /** A read handed out `count` entries: new ones, or `claimed` (pending before: this consumer's own after a restart, or XAUTOCLAIM). */
  readonly read: (count: number, claimed: boolean) => void
  /** An XACK was answered (`true`) or failed (`false`). */
  readonly acked: (ok: boolean) => void
  /** An entry did not decode (`_tag` of its error) and was acknowledged. */
  readonly rejected: (tag: string) => void
  /** The subscription ended: stop watching its group. */
  readonly closed: () => void
}

/**
 * The consumer group a reader reads, so that the telemetry can ask Redis
 * for its pending count and lag when metrics are collected.
 *
 * @example
 * ```ts
 * const group: RedisGroup = { client: redis, stream: 'autoplay:events', group: 'indexers' }
 * ```
 */
export interface RedisGroup {
  /** A connection that never blocks (the reader's ack connection). */
  readonly client: RedisCommandClient
  /** The stream key. */
  readonly stream: string
  /** The consumer group. */
  readonly group: string
}

/**
 * The hooks every component calls when given a `telemetry` option: the
 * receiver (and so every adapter built on it), `connectorStream`,
 * `dedupeDeliveries`, `redisAppender`/`toRedisStream` and `fromRedisStream`.
 * Build one with `otelTelemetry()` from `autoplay-rx/otel`.
 *
 * Implementations must not throw (the hooks sit on the hot path, where the
 * core does not catch): `otelTelemetry` fences each call, so a failing
 * metrics backend never breaks processing.
 *
 * @example
 * ```ts
 * import { WebhookReceiver, connectorStream } from 'autoplay-rx'
 * import { otelTelemetry } from 'autoplay-rx/otel'
 *
 * const telemetry = otelTelemetry() // the global MeterProvider and TracerProvider
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET!, telemetry })
 * const sse$ = connectorStream({ url, token, telemetry })
 * ```
 */
export interface Telemetry {
  /**
   * A delivery starts: an adapter calls it when a request's headers are in
   * (with `header`, for `traceparent`), the receiver when `ingest` is
   * called without one.
   */
  readonly delivery: (header?: HeaderReader) => DeliveryProbe
  /** An adapter's in-flight budget, watched until the process ends (told once per adapter; a shared budget counts once). */
  readonly budget: (budget: BudgetView) => void
  /** `dedupeDeliveries` checked one value: `hit` when it was a repeat (dropped). */
  readonly dedupe: (hit: boolean) => void
  /** A `connectorStream` subscription starts. */
  readonly connectorStream: () => StreamProbe
  /** An XADD starts on `stream`; the returned function is called once with whether it succeeded. */
  readonly redisAppend: (stream: string) => (ok: boolean) => void
  /** A `fromRedisStream` subscription starts reading `group`. */
  readonly redisReader: (group: RedisGroup) => RedisReaderProbe
  /**
   * A `SessionSummarizer` ended one summary: `'Summarized'` (made, and
   * stored when it has a target), or the `_tag` of the `SummarizerError`
   * it reported (`PromptWithoutActions`, `LlmFailed`, `TargetFailed`).
   */
  readonly summarizer: (outcome: string) => void
}
