/**
 * WebhookReceiver: raw body + signature → `Either<IngestError, Payload>`,
 * with every outcome pushed into hot streams. The reference SDK's methods
 * (verify, parse, handle, handleSync) are thin layers over the same step;
 * onActions and onSummary register into the handler list of callbacks.ts.
 */
import * as E from 'fp-ts/lib/Either.js'
import { Observable, Subject } from 'rxjs'
import { callbackList, SETTLED, type CallbackList, type CallbackMode, type CallbackOutcome, type PayloadCallback } from './callbacks.js'
import type { ActionsPayload, Payload, SummaryPayload } from './codecs.js'
import { decodeUtf8, toBytes, warnOnCountMismatch, type Decoded } from './decode.js'
import {
  bodyTooLarge, describe, invalidSignature, InvalidSignatureError, syncVerificationUnavailable,
  type IngestError,
} from './errors.js'
import { consoleLogger, log, type Logger } from './logger.js'
import {
  prepareSignatureCheck, prepareSignatureCheckAsync, SYNC_SIGNATURES, type AsyncSignatureCheck, type SignatureCheck,
} from './signature.js'
import { positiveInteger } from './internal/options.js'
import type { DeliveryProbe, Telemetry } from './telemetry.js'

/**
 * Options of a {@link WebhookReceiver}.
 *
 * @example
 * ```ts
 * const options: WebhookReceiverOptions = {
 *   secret: [process.env.NEXT_SECRET!, process.env.CURRENT_SECRET!],
 *   onSummary: (summary) => console.log(summary.summary),
 *   maxBodyBytes: 256 * 1024,
 * }
 * ```
 */
export interface WebhookReceiverOptions {
  /**
   * The shared secret, or several (rotation: any one verifies). An empty
   * string accepts every delivery unsigned, as the reference does: for
   * development only, and the receiver warns once.
   */
  readonly secret: string | ReadonlyArray<string>
  /** Called for each accepted actions batch (same as `onActions(fn)`). */
  readonly onActions?: PayloadCallback<ActionsPayload>
  /** Called for each accepted summary (same as `onSummary(fn)`). */
  readonly onSummary?: PayloadCallback<SummaryPayload>
  /** Where warnings and callback failures go; defaults to {@link consoleLogger}. */
  readonly logger?: Logger
  /** Largest body accepted, in bytes; default 1 MiB. */
  readonly maxBodyBytes?: number
  /**
   * Metrics and traces of every delivery (`otelTelemetry()` from
   * `autoplay-rx/otel`); the adapters built on this receiver report through
   * it too. Default: none, at no cost.
   */
  readonly telemetry?: Telemetry
}

/**
 * The outcome of one delivery: the decoded result, and how its callbacks
 * ended (at once, or as a promise that never rejects). Returned by
 * {@link WebhookReceiver.dispatch}.
 *
 * @example
 * ```ts
 * const { result, callbacks } = receiver.dispatch(body, signature)
 * if (E.isRight(result)) {
 *   const failures = callbacks._tag === 'Settled' ? callbacks.failures : await callbacks.done
 * }
 * ```
 */
export interface Dispatch {
  /** What `ingest` returned: the payload, or why it was refused. */
  readonly result: E.Either<IngestError, Payload>
  /** How this delivery's callbacks ended; `Settled` with no failures for a refusal. */
  readonly callbacks: CallbackOutcome
}

/**
 * The default body limit: 1 MiB (1,048,576 bytes), the receiver's
 * `maxBodyBytes` when none is given.
 *
 * @example
 * ```ts
 * new WebhookReceiver({ secret, maxBodyBytes: 4 * DEFAULT_MAX_BODY_BYTES })
 * ```
 */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024

/**
 * Receives the connector's push deliveries: raw body and signature in,
 * `Either<IngestError, Payload>` out, and every outcome pushed into hot
 * streams (`payloads$`, `actions$`, `summary$`, `rejected$`) that never
 * error. The reference SDK's `verify`, `parse`, `handle`, `handle_sync`,
 * `on_actions` and `on_summary` are here too. The HTTP adapters
 * (`autoplay-rx/node`, `/web`, `/fastify`) are built on it.
 *
 * @example
 * ```ts
 * import { WebhookReceiver } from 'autoplay-rx'
 *
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 * receiver.actions$.subscribe((batch) => console.log(batch.session_id, batch.count))
 * receiver.rejected$.subscribe((error) => console.warn(error._tag, error.message))
 *
 * // in any HTTP handler, with the raw body bytes:
 * const result = receiver.ingest(rawBody, headers['x-connector-signature'])
 * ```
 */
export class WebhookReceiver {
  private readonly secrets: ReadonlyArray<string>
  // null where the runtime has no node:crypto: the synchronous calls refuse, the async ones verify.
  private readonly checkSignature: SignatureCheck | null
  private asyncCheck: AsyncSignatureCheck | undefined
  /**
   * Whether `ingest`, `dispatch` and `handleSync` can verify in this runtime:
   * `true` where it has `node:crypto` (Node, Bun, Deno, workerd with
   * nodejs_compat) or the secret is empty; `false` on Cloudflare Workers
   * without nodejs_compat and the Edge runtime, where they refuse with
   * `SyncVerificationUnavailable` and {@link WebhookReceiver.ingestAsync} verifies.
   */
  readonly verifiesSync: boolean
  /** Where this receiver (and adapters built on it) log. */
  readonly logger: Logger
  /** Largest body accepted, in bytes. */
  readonly maxBodyBytes: number
  /** The telemetry this receiver (and adapters built on it) report to, if any. */
  readonly telemetry: Telemetry | undefined
  private readonly payloadSubject = new Subject<Payload>()
  private readonly actionsSubject = new Subject<ActionsPayload>()
  private readonly summarySubject = new Subject<SummaryPayload>()
  private readonly rejectedSubject = new Subject<IngestError>()
  private readonly callbacks: CallbackList

  /** Every accepted payload, both kinds, in arrival order. Hot; never errors. */
  readonly payloads$: Observable<Payload> = this.payloadSubject.asObservable()
  /** Every accepted actions batch. Hot; never errors. */
  readonly actions$: Observable<ActionsPayload> = this.actionsSubject.asObservable()
  /** Every accepted summary. Hot; never errors. */
  readonly summary$: Observable<SummaryPayload> = this.summarySubject.asObservable()
  /** Every refused delivery (each `Left` of `ingest`), for dead-lettering and metrics. Hot; never errors. */
  readonly rejected$: Observable<IngestError> = this.rejectedSubject.asObservable()

  /**
   * Creates a receiver; nothing is listened to until an adapter or your
   * handler calls {@link WebhookReceiver.ingest}.
   *
   * @param options - the secret (required), callbacks, logger and body limit
   * @throws TypeError on a configuration that cannot be right: an empty
   *   list of secrets, a list mixing an empty secret with real ones, a
   *   secret that is not a string, or a non-positive body limit.
   */
  constructor(options: WebhookReceiverOptions) {
    this.logger = options.logger ?? consoleLogger
    this.callbacks = callbackList(this.logger)
    this.secrets = normaliseSecrets(options.secret)
    this.checkSignature = SYNC_SIGNATURES ? prepareSignatureCheck(this.secrets) : null
    this.verifiesSync = this.secrets.length === 0 || this.checkSignature !== null
    this.maxBodyBytes = positiveInteger('maxBodyBytes', options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES)
    this.telemetry = options.telemetry
    if (this.secrets.length === 0) {
      log(this.logger, 'warn',
        'The secret is empty: every delivery is accepted without a signature check. ' +
        'Use this in development only; in production, give the receiver the secret the connector signs with.')
    }
    if (options.onActions) this.onActions(options.onActions)
    if (options.onSummary) this.onSummary(options.onSummary)
  }

  /**
   * Verifies, parses and decodes one delivery, and pushes the outcome into
   * the streams before returning it. Never throws.
   *
   * The signature is checked over the exact bytes before anything is parsed.
   *
   * @param body - the raw request body: bytes or text exactly as received
   * @param signature - the `X-Connector-Signature` header value
   * @returns the payload, or why it was refused
   * @example
   * ```ts
   * const result = receiver.ingest(rawBody, req.headers['x-connector-signature'] as string | undefined)
   * res.writeHead(E.isRight(result) ? 200 : 400).end()
   * ```
   */
  ingest(body: Uint8Array | ArrayBuffer | string, signature?: string | null): E.Either<IngestError, Payload> {
    return this.deliver(body, signature, 'async').result
  }

  /**
   * `ingest` for every runtime: the same checks, results, error tags and
   * streams, with the signature checked by WebCrypto where the runtime has
   * no `node:crypto` (Cloudflare Workers, the Edge runtime), and by the
   * synchronous path where it has. The promise never rejects.
   *
   * A `Promise<Either>` rather than a `TaskEither`: the delivery is
   * verified and emitted when called, as `ingest` does, and fetch handlers
   * await it; `() => receiver.ingestAsync(body, signature)` is the TaskEither.
   *
   * @param body - the raw request body: bytes or text exactly as received
   * @param signature - the `X-Connector-Signature` header value
   * @returns the payload, or why it was refused
   * @example
   * ```ts
   * export default {
   *   async fetch(request: Request): Promise<Response> { // a Cloudflare Worker
   *     const body = new Uint8Array(await request.arrayBuffer())
   *     const result = await receiver.ingestAsync(body, request.headers.get('x-connector-signature'))
   *     return new Response(null, { status: E.isRight(result) ? 200 : 400 })
   *   },
   * }
   * ```
   */
  async ingestAsync(body: Uint8Array | ArrayBuffer | string, signature?: string | null): Promise<E.Either<IngestError, Payload>> {
    return (await this.dispatchAsync(body, signature)).result
  }

  /**
   * Like `ingest`, and also reports when this delivery's callbacks have
   * settled (sync and async). The adapters use it to answer the connector
   * after the work is done; it never throws and its promise never rejects.
   *
   * @param body - the raw request body: bytes or text exactly as received
   * @param signature - the `X-Connector-Signature` header value
   * @param probe - the delivery's {@link DeliveryProbe}, when an adapter already follows it
   *   (it then calls `finish`); without one, the receiver's telemetry (if any) gets a new one
   * @returns the result, and how this delivery's callbacks ended (`Settled`) or will (`Pending`)
   * @example
   * ```ts
   * const { result, callbacks } = receiver.dispatch(rawBody, signature)
   * const failures = callbacks._tag === 'Settled' ? callbacks.failures : await callbacks.done
   * res.writeHead(E.isLeft(result) ? 400 : failures.length > 0 ? 500 : 200).end()
   * ```
   */
  dispatch(body: Uint8Array | ArrayBuffer | string, signature?: string | null, probe?: DeliveryProbe): Dispatch {
    return this.deliver(body, signature, 'async', probe)
  }

  /**
   * `dispatch` for every runtime, as {@link WebhookReceiver.ingestAsync} is
   * `ingest`'s: WebCrypto verifies where the runtime has no `node:crypto`.
   * The fetch handler of `autoplay-rx/web` uses it there. Never rejects.
   *
   * @param body - the raw request body: bytes or text exactly as received
   * @param signature - the `X-Connector-Signature` header value
   * @param probe - the delivery's {@link DeliveryProbe}, when an adapter already follows it
   * @returns the result, and how this delivery's callbacks ended or will
   * @example
   * ```ts
   * const { result, callbacks } = await receiver.dispatchAsync(bytes, request.headers.get('x-connector-signature'))
   * const failures = callbacks._tag === 'Settled' ? callbacks.failures : await callbacks.done
   * ```
   */
  async dispatchAsync(body: Uint8Array | ArrayBuffer | string, signature?: string | null, probe?: DeliveryProbe): Promise<Dispatch> {
    if (this.verifiesSync) return this.deliver(body, signature, 'async', probe)
    const own = this.probeOf(probe)
    return this.finish(await this.decodeAsync(body, signature, own), 'async', own, probe)
  }

  /**
   * Checks the signature only (the reference's `verify`). An empty secret
   * accepts everything. Never throws.
   *
   * @param body - the raw request body: bytes or text exactly as received
   * @param signature - the `X-Connector-Signature` header value
   * @returns whether the signature is valid for one of the secrets (false for a body that is not raw bytes
   *   or text, and, with a secret, on a runtime without `node:crypto`: see {@link WebhookReceiver.verifyAsync})
   * @example
   * ```ts
   * if (!receiver.verify(rawBody, signature)) return res.writeHead(401).end()
   * ```
   */
  verify(body: Uint8Array | ArrayBuffer | string, signature: string | null | undefined): boolean {
    const bytes = toBytes(body)
    return E.isRight(bytes) && (this.secrets.length === 0 || (this.checkSignature !== null && this.checkSignature(bytes.right, signature) === null))
  }

  /**
   * `verify` for every runtime (WebCrypto where there is no `node:crypto`).
   * Never rejects.
   *
   * @param body - the raw request body: bytes or text exactly as received
   * @param signature - the `X-Connector-Signature` header value
   * @returns whether the signature is valid for one of the secrets (false for a body that is not raw bytes or text)
   * @example
   * ```ts
   * if (!(await receiver.verifyAsync(bytes, request.headers.get('x-connector-signature')))) return new Response(null, { status: 401 })
   * ```
   */
  async verifyAsync(body: Uint8Array | ArrayBuffer | string, signature: string | null | undefined): Promise<boolean> {
    if (this.verifiesSync) return this.verify(body, signature)
    const bytes = toBytes(body)
    return E.isRight(bytes) && (await this.signatureCheckAsync()(bytes.right, signature)) === null
  }

  /**
   * Parses and decodes a body without checking the signature and without
   * emitting anything (the reference's `parse`). Never throws.
   *
   * @param body - the request body: bytes or text
   * @returns the payload, or null for a body that is not a modelled event
   * @example
   * ```ts
   * receiver.parse('{"type":"summary","summary":"hi"}')?.type // 'summary'
   * receiver.parse('not json')                               // null
   * ```
   */
  parse(body: Uint8Array | ArrayBuffer | string): Payload | null {
    const result = this.decode(body, undefined, false)
    return E.isRight(result) ? result.right.payload : null
  }

  /**
   * The reference's `handle`: verifies, decodes, emits, and waits for this
   * delivery's callbacks (sync or async). A failing callback is logged and
   * does not change the result.
   *
   * @param body - the raw request body: bytes or text exactly as received
   * @param signature - the `X-Connector-Signature` header value
   * @returns the payload, or null for bad JSON, an invalid payload or an unknown type
   * @throws InvalidSignatureError (as a rejection) on a bad signature
   * @example
   * ```ts
   * try {
   *   const payload = await receiver.handle(rawBody, signature)
   *   res.writeHead(200).end()
   * } catch (error) {
   *   res.writeHead(error instanceof InvalidSignatureError ? 401 : 500).end()
   * }
   * ```
   */
  async handle(body: Uint8Array | ArrayBuffer | string, signature: string | null | undefined): Promise<Payload | null> {
    const { result, callbacks } = await this.dispatchAsync(body, signature)
    if (callbacks._tag === 'Pending') await callbacks.done
    return this.settle(result)
  }

  /**
   * The reference's `handle_sync`: like {@link handle} without waiting. A
   * callback that returns a promise is reported as unsupported through the
   * logger (use `handle`); its rejection is still caught.
   *
   * @param body - the raw request body: bytes or text exactly as received
   * @param signature - the `X-Connector-Signature` header value
   * @returns the payload, or null for bad JSON, an invalid payload or an unknown type
   * @throws InvalidSignatureError on a bad signature; TypeError, naming `handle`, on a runtime
   *   without `node:crypto` (nothing is verified nor emitted then)
   * @example
   * ```ts
   * const payload = receiver.handleSync(rawBody, signature) // throws InvalidSignatureError on a bad signature
   * ```
   */
  handleSync(body: Uint8Array | ArrayBuffer | string, signature: string | null | undefined): Payload | null {
    return this.settle(this.deliver(body, signature, 'sync').result)
  }

  /**
   * Registers a callback for actions batches; it runs after `actions$` has
   * emitted the batch. A throw or a rejection is logged, reported by
   * `dispatch`, and changes nothing else.
   *
   * @param fn - called with each accepted batch; may be async
   * @returns the receiver, for chaining
   * @example
   * ```ts
   * receiver.onActions(async (batch) => { await index(batch) }).onSummary((s) => remember(s))
   * ```
   */
  onActions(fn: PayloadCallback<ActionsPayload>): this {
    this.callbacks.onActions(fn)
    return this
  }

  /**
   * Registers a callback for summaries; it runs after `summary$` has emitted
   * the summary. A throw or a rejection is logged, reported by `dispatch`,
   * and changes nothing else.
   *
   * @param fn - called with each accepted summary; may be async
   * @returns the receiver, for chaining
   * @example
   * ```ts
   * receiver.onSummary((summary) => console.log(summary.session_id, summary.summary))
   * ```
   */
  onSummary(fn: PayloadCallback<SummaryPayload>): this {
    this.callbacks.onSummary(fn)
    return this
  }

  /**
   * Completes every stream (graceful shutdown) and drops the callbacks.
   * Later deliveries are still answered, but emit nothing.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => server.close(() => receiver.complete()))
   * ```
   */
  complete(): void {
    this.payloadSubject.complete()
    this.actionsSubject.complete()
    this.summarySubject.complete()
    this.rejectedSubject.complete()
    this.callbacks.clear()
  }

  /**
   * Records a refusal that happened before `ingest` could run (an adapter's
   * size limit, say), so that `rejected$` sees every refused delivery.
   *
   * @param error - the refusal, made with one of the error constructors
   * @param probe - the delivery's {@link DeliveryProbe}, when an adapter follows it
   * @example
   * ```ts
   * receiver.reject(bodyTooLarge(receiver.maxBodyBytes, bytesSeen))
   * ```
   */
  reject(error: IngestError, probe?: DeliveryProbe): void {
    log(this.logger, 'debug', `Delivery refused: ${error.message}`, { tag: error._tag })
    if (probe !== undefined) probe.refused(error)
    else if (this.telemetry !== undefined) this.refusedAlone(this.telemetry, error)
    this.rejectedSubject.next(error)
  }

  /** A refusal no probe follows (`reject` called by hand): counted and traced as a delivery of its own. */
  private refusedAlone(telemetry: Telemetry, error: IngestError): void {
    const probe = telemetry.delivery()
    probe.refused(error)
    probe.finish()
  }

  /** The body's bytes within the limit: the checks made before any signature is. */
  private bytesOf(body: unknown): E.Either<IngestError, Uint8Array> {
    const bytes = toBytes(body)
    if (E.isRight(bytes) && bytes.right.byteLength > this.maxBodyBytes) return E.left(bodyTooLarge(this.maxBodyBytes, bytes.right.byteLength))
    return bytes
  }

  private decode(body: unknown, signature: string | null | undefined, checkSignatures = true, probe?: DeliveryProbe): E.Either<IngestError, Decoded> {
    const bytes = this.bytesOf(body)
    if (E.isLeft(bytes)) return bytes
    const raw = bytes.right
    if (checkSignatures && this.secrets.length > 0) {
      // Never a fake verification: without node:crypto the synchronous path refuses and names the async one.
      if (this.checkSignature === null) return E.left(syncVerificationUnavailable(raw))
      const failure = this.checkSignature(raw, signature)
      if (failure !== null) return E.left(invalidSignature(failure, raw))
    }
    if (probe !== undefined) probe.verified()
    return decodeUtf8(raw)
  }

  /** `decode` with WebCrypto, for runtimes without node:crypto (only called with secrets). */
  private async decodeAsync(body: unknown, signature: string | null | undefined, probe?: DeliveryProbe): Promise<E.Either<IngestError, Decoded>> {
    const bytes = this.bytesOf(body)
    if (E.isLeft(bytes)) return bytes
    const raw = bytes.right
    const failure = await this.signatureCheckAsync()(raw, signature)
    if (failure !== null) return E.left(invalidSignature(failure, raw))
    if (probe !== undefined) probe.verified()
    return decodeUtf8(raw)
  }

  // Made at the first asynchronous check, so that a receiver that never needs it imports no WebCrypto key.
  private signatureCheckAsync(): AsyncSignatureCheck {
    return (this.asyncCheck ??= prepareSignatureCheckAsync(this.secrets))
  }

  /** The delivery's probe: the adapter's, else one of its own when there is telemetry. */
  private probeOf(given: DeliveryProbe | undefined): DeliveryProbe | undefined {
    const probe = given ?? (this.telemetry === undefined ? undefined : this.telemetry.delivery())
    if (probe !== undefined) probe.ingest()
    return probe
  }

  // With no telemetry, `probe` stays undefined and each hook costs one check.
  private deliver(body: unknown, signature: string | null | undefined, mode: CallbackMode, given?: DeliveryProbe): Dispatch {
    const probe = this.probeOf(given)
    return this.finish(this.decode(body, signature, true, probe), mode, probe, given)
  }

  // The streams see the payload first, then the callbacks run: they are not subscribers.
  private finish(decoded: E.Either<IngestError, Decoded>, mode: CallbackMode, probe: DeliveryProbe | undefined, given: DeliveryProbe | undefined): Dispatch {
    if (E.isLeft(decoded)) {
      this.reject(decoded.left, probe)
      if (probe !== undefined && given === undefined) probe.finish()
      return { result: decoded, callbacks: SETTLED }
    }
    warnOnCountMismatch(this.logger, decoded.right)
    const payload = decoded.right.payload
    this.emit(payload)
    if (probe === undefined) return { result: E.right(payload), callbacks: this.callbacks.run(payload, mode) }
    const handled = this.callbacks.handles(payload)
    probe.accepted(payload, handled)
    const callbacks = this.callbacks.run(payload, mode)
    if (handled) probe.callbacks(callbacks)
    if (given === undefined) probe.finish()
    return { result: E.right(payload), callbacks }
  }

  private emit(payload: Payload): void {
    this.payloadSubject.next(payload)
    if (payload.type === 'actions') this.actionsSubject.next(payload)
    else this.summarySubject.next(payload)
  }

  private settle(result: E.Either<IngestError, Payload>): Payload | null {
    if (E.isRight(result)) return result.right
    if (result.left._tag === 'InvalidSignature') throw new InvalidSignatureError(result.left)
    if (result.left._tag === 'SyncVerificationUnavailable') throw new TypeError(`autoplay-rx: handleSync: ${result.left.message.replace('ingestAsync (or dispatchAsync, handle)', 'handle')}`)
    return null
  }
}

function normaliseSecrets(secret: unknown): ReadonlyArray<string> {
  const list = typeof secret === 'string' ? [secret] : secret
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) {
    throw new TypeError(`autoplay-rx: secret must be a string or a non-empty list of strings, got ${Array.isArray(list) ? 'a list holding a non-string' : describe(list)}: ` +
      'pass the secret the connector signs with (is the environment variable that holds it set?)')
  }
  if (list.length === 0) throw new TypeError('autoplay-rx: secret list is empty; pass at least one secret (or "" for development)')
  if (list.length === 1 && list[0] === '') return []
  if (list.includes('')) {
    throw new TypeError('autoplay-rx: an empty secret among real ones would accept unsigned deliveries; remove it')
  }
  return [...list]
}
