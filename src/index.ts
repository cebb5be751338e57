/**
 * autoplay-rx: the Autoplay event connector's events as typed, validated
 * RxJS streams. Adapters live in subpaths (`autoplay-rx/node`, …) and load
 * only when imported.
 *
 * This entry holds the codecs and payload types, the {@link WebhookReceiver},
 * signatures, errors as values, decoding without a receiver, the operators
 * and the SSE source {@link connectorStream}.
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
export { SlimAction, ActionsPayload, SummaryPayload, Payload, isPayloadType } from './codecs.js'
export type { PayloadType } from './codecs.js'

// Pure functions over payloads, and the keys they are grouped and deduplicated by
export { toText, mergeActions, sessionKey, NO_SESSION, deliveryKey } from './payloads.js'
export type { NonEmptyArray, SessionKey, HasSession } from './payloads.js'

// Signatures
export { sign, signAsync, findSignatureFailure, prepareSignatureCheck, prepareSignatureCheckAsync, SIGNATURE_HEADER } from './signature.js'
export type { SignatureCheck, AsyncSignatureCheck } from './signature.js'

// Errors
export {
  InvalidSignatureError, matchIngestError, isIngestError, formatIssue,
  invalidSignature, malformedJson, invalidPayload, unknownEventType, notRawBody, bodyTooLarge, syncVerificationUnavailable,
} from './errors.js'
export type {
  IngestError, IngestErrorTag, IngestErrorHandlers, SignatureFailure, PayloadIssue,
  InvalidSignature, MalformedJson, InvalidPayload, UnknownEventType, NotRawBody, BodyTooLarge, SyncVerificationUnavailable,
} from './errors.js'

// Decoding without a receiver (bytes or text → payload)
export { toBytes, decodeBytes, decodeJsonText, decodeUtf8, decodeText, parseJsonText, decodeEvent, warnOnCountMismatch } from './decode.js'
export type { DecodeError, Decoded, CountMismatch } from './decode.js'

// The receiver
export { WebhookReceiver, DEFAULT_MAX_BODY_BYTES } from './receiver.js'
export type { WebhookReceiverOptions, Dispatch } from './receiver.js'
export type { PayloadCallback, CallbackFailure, CallbackOutcome } from './callbacks.js'

// Telemetry hooks (built from OpenTelemetry by `autoplay-rx/otel`)
export type { Telemetry, DeliveryProbe, HeaderReader, BudgetView, StreamProbe, RedisReaderProbe, RedisGroup } from './telemetry.js'

// Logging
export { consoleLogger, silentLogger } from './logger.js'
export type { Logger, LogContext } from './logger.js'

// Operators: retry dedupe, per-session grouping and batching, a pull buffer
export { dedupeDeliveries } from './operators/dedupeDeliveries.js'
export type { DedupeDeliveriesOptions, DedupeInMemoryOptions, DedupeWithStoreOptions } from './operators/dedupeDeliveries.js'
export { memoryDedupeStore } from './operators/memoryDedupeStore.js'
export type { DedupeStore } from './operators/dedupeStore.js'
export type { MemoryDedupeStore, MemoryDedupeStoreOptions } from './operators/memoryDedupeStore.js'
export { bySession } from './operators/bySession.js'
export type { BySessionOptions } from './operators/bySession.js'
export { mergeSessionBatches } from './operators/mergeSessionBatches.js'
export type { MergeSessionBatchesOptions } from './operators/mergeSessionBatches.js'
export { EventBuffer } from './operators/EventBuffer.js'
export type { EventBufferOptions } from './operators/EventBuffer.js'

// Session context: the context store in memory, the summarizer, and what both stores share
export { ContextStore } from './context/ContextStore.js'
export type { ContextStoreOptions } from './context/ContextStore.js'
export { intoContext, writeToContext } from './context/intoContext.js'
export type { IntoContextOptions } from './context/intoContext.js'
export { SessionSummarizer } from './context/SessionSummarizer.js'
export type {
  SessionSummarizerOptions, SessionSummary, SummarizerError, SummarizerFailure, PromptWithoutActions, LlmFailed, TargetFailed,
} from './context/SessionSummarizer.js'
export type { ContextReader, ContextWriter, ContextGetOptions, ContextDefaults } from './context/options.js'
export {
  bucketKey, contextBatch, keptLines, numberedLines, formatActions, contextText, enrichText, renderPrompt,
  DEFAULT_SUMMARY_PROMPT, UNKNOWN_SESSION,
} from './context/text.js'
export type { ContextBatch } from './context/text.js'

// SSE source
export { connectorStream } from './sse/connectorStream.js'
export type { ConnectorStreamOptions } from './sse/options.js'
export type { FetchFunction, FetchResponse } from './sse/fetch.js'
export {
  ConnectorStreamError, FatalStatusError, RetriesExhaustedError, isConnectorStreamFailure, matchConnectorStreamFailure,
} from './sse/errors.js'
export type { ConnectorStreamFailure } from './sse/errors.js'
export type { ConnectorStreamEvent, ConnectionEvent, DisconnectReason, FrameRejection, FrameError } from './sse/lifecycle.js'
export type { Connecting, Connected, Disconnected, Retrying } from './sse/lifecycle.js'
export type {
  HttpStatus, UnexpectedContentType, NetworkError, ConnectTimeout, Stalled, FrameTooLarge, StreamEnded,
} from './sse/lifecycle.js'
