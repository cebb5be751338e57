/**
 * autoplay-rx: the Autoplay event connector's events as typed, validated
 * RxJS streams. Adapters live in subpaths (`autoplay-rx/node`, …) and load
 * only when imported.
 *
 * This entry holds the codecs and payload types, the {@link WebhookReceiver},
 * signatures, errors as values and their fold {@link match}, the operators,
 * the session context and the SSE source {@link connectorStream}.
 *
 * @example
 * ```ts
 * import { WebhookReceiver, sign } from 'autoplay-rx'
 *
 * const receiver = new WebhookReceiver({ secret: 'whsec_test' })
 * receiver.actions$.subscribe((batch) => console.log(batch.session_id, batch.count))
 * const body = '{"type":"actions","session_id":"ps_1","actions":[{"type":"click"}]}'
 * receiver.ingest(body, sign(body, 'whsec_test')) // prints: ps_1 1
 * ```
 *
 * @module autoplay-rx
 */

// Wire format: codecs and static types
export { SlimAction, ActionsPayload, SummaryPayload, Payload, UsertourTriggerPayload } from './codecs.js'

// Pure functions over payloads
export { toText, mergeActions, sessionKey, NO_SESSION, deliveryKey } from './payloads.js'

// Signatures
export { sign, signAsync, SIGNATURE_HEADER } from './signature.js'

// The receiver, and what it refuses
export { WebhookReceiver } from './receiver.js'
export type { WebhookReceiverOptions } from './receiver.js'
export type { PayloadCallback } from './callbacks.js'
export { InvalidSignatureError } from './errors.js'
export type { IngestError } from './errors.js'
export { match } from './match.js'

// Logging and telemetry hooks (built from OpenTelemetry by `autoplay-rx/otel`)
export { consoleLogger, silentLogger } from './logger.js'
export type { Logger } from './logger.js'
export type { Telemetry } from './telemetry.js'

// Operators: retry dedupe, per-session grouping and batching, a pull buffer
export { dedupeDeliveries } from './operators/dedupeDeliveries.js'
export { memoryDedupeStore } from './operators/memoryDedupeStore.js'
export type { DedupeStore } from './operators/dedupeStore.js'
export { bySession } from './operators/bySession.js'
export { mergeSessionBatches } from './operators/mergeSessionBatches.js'
export { EventBuffer } from './operators/EventBuffer.js'

// Session context: the context store in memory, the summarizer, and what every store implements
export { ContextStore } from './context/ContextStore.js'
export type { ContextStoreOptions } from './context/ContextStore.js'
export { ContextQueueFullError, ContextWriteTimeoutError, intoContext } from './context/intoContext.js'
export { SessionSummarizer } from './context/SessionSummarizer.js'
export type { SessionSummarizerOptions, SessionSummary } from './context/SessionSummarizer.js'
export { SummaryTimeAheadError } from './context/options.js'
export type { ContextReader, ContextWriter } from './context/options.js'

// SSE source
export { connectorStream } from './sse/connectorStream.js'
export type { ConnectorStreamOptions } from './sse/options.js'
export type { ConnectorStreamEvent } from './sse/lifecycle.js'
export { isConnectorStreamFailure } from './sse/errors.js'
export type { ConnectorStreamFailure } from './sse/errors.js'
