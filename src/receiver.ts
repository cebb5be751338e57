/**
 * WebhookReceiver: one path from raw body + signature to `Either<IngestError, Payload>` (size limit,
 * signature, UTF-8, JSON, codec), each outcome pushed into hot streams, then the callbacks. Every public
 * method is a door onto that path; only the signature step may answer later (WebCrypto).
 */
import * as E from 'fp-ts/lib/Either.js'
import { Observable, Subject } from 'rxjs'
import {
  callbackList, SETTLED, type CallbackList, type CallbackMode, type CallbackOutcome, type PayloadCallback,
} from './callbacks.js'
import type { ActionsPayload, Payload, SummaryPayload, UsertourTriggerPayload, WireEvent } from './codecs.js'
import { decodeBytes, toBytes, type Decoded } from './decode.js'
import {
  bodyTooLarge, describe, invalidSignature, InvalidSignatureError, syncVerificationUnavailable,
  type IngestError, type SignatureFailure,
} from './errors.js'
import { consoleLogger, log, rateLimited, warnCountMismatch, type Logger } from './logger.js'
import { signatureCheck, SYNC_SIGNATURES, type SignatureCheck } from './signature.js'
import { positiveInteger } from './internal/options.js'
import { fenced, type DeliveryProbe, type Telemetry } from './telemetry.js'

/** Options of a {@link WebhookReceiver}. */
export interface WebhookReceiverOptions {
  /**
   * The shared secret, or several (rotation: any one verifies). An empty string accepts every delivery
   * unsigned, as the reference does: for development only, and the receiver warns once.
   */
  readonly secret: string | ReadonlyArray<string>
  /** Called for each accepted actions batch (as `onActions(fn)`). */
  readonly onActions?: PayloadCallback<ActionsPayload> | undefined
  /** Called for each accepted summary (as `onSummary(fn)`). */
  readonly onSummary?: PayloadCallback<SummaryPayload> | undefined
  /** Where warnings and callback failures go; default {@link consoleLogger}. */
  readonly logger?: Logger | undefined
  /** Largest body accepted, in bytes; default 1 MiB. */
  readonly maxBodyBytes?: number | undefined
  /** A refusal (on `rejected$`, in `ingest`'s result) keeps this many bytes of its body; default 4 KiB. */
  readonly maxRejectedBodyBytes?: number | undefined
  /** Metrics and traces of every delivery (`otelTelemetry()` from `autoplay-rx/otel`); default none, at no cost. */
  readonly telemetry?: Telemetry | undefined
}

/**
 * One delivery's outcome: the result, and how its callbacks ended (`Settled` for a refusal).
 * @internal
 */
export interface Dispatch {
  readonly result: E.Either<IngestError, WireEvent>
  readonly callbacks: CallbackOutcome
}

type Signature = string | null | undefined
/** Stores an event (and the bytes verified) before it is emitted: false (or a rejection) emits nothing. @internal */
export type Store = (payload: WireEvent, body: Uint8Array) => Promise<boolean>

// With no secret, every body verifies (the receiver's rule, not the HMAC check's).
const UNSIGNED: SignatureCheck = () => null
const isNull = (failure: SignatureFailure | null) => failure === null

/**
 * Receives the connector's push deliveries: raw body and signature in, `Either<IngestError, Payload>` out,
 * and every outcome in hot streams that never error. The reference SDK's `verify`, `parse`, `handle`,
 * `handle_sync`, `on_actions` and `on_summary` are here too; the HTTP adapters are built on it.
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
  readonly #check: SignatureCheck
  /**
   * Whether `ingest`, `verify` and `handleSync` can verify in this runtime: `false` only with a secret on a
   * runtime without `node:crypto` (Workers without nodejs_compat, the Edge), where they refuse and the async
   * calls verify.
   */
  readonly verifiesSync: boolean
  /** @internal */
  readonly logger: Logger
  /** @internal */
  readonly maxBodyBytes: number
  /** @internal */
  readonly telemetry: Telemetry | undefined
  readonly #payloadSubject = new Subject<Payload>()
  readonly #actionsSubject = new Subject<ActionsPayload>()
  readonly #summarySubject = new Subject<SummaryPayload>()
  readonly #usertourSubject = new Subject<UsertourTriggerPayload>()
  readonly #rejectedSubject = new Subject<IngestError>()
  readonly #callbacks: CallbackList
  readonly #maxRejected: number
  readonly #logRefusal = rateLimited(10_000)

  /** Every accepted payload, both kinds, in arrival order. Hot; never errors. */
  readonly payloads$: Observable<Payload> = this.#payloadSubject.asObservable()
  /** Every accepted actions batch. Hot; never errors. */
  readonly actions$: Observable<ActionsPayload> = this.#actionsSubject.asObservable()
  /** Every accepted summary. Hot; never errors. */
  readonly summary$: Observable<SummaryPayload> = this.#summarySubject.asObservable()
  /** Every accepted `usertour_trigger` (no {@link Payload}: on no other stream, no callback). Hot; never errors. */
  readonly usertourTrigger$: Observable<UsertourTriggerPayload> = this.#usertourSubject.asObservable()
  /** Every refused delivery, for dead-lettering and metrics. Hot; never errors. */
  readonly rejected$: Observable<IngestError> = this.#rejectedSubject.asObservable()

  /**
   * Throws a TypeError on a configuration that cannot be right: no secret, an empty secret among real ones,
   * a secret that is not a string, a non-positive body limit.
   */
  constructor(options: WebhookReceiverOptions) {
    this.logger = options.logger ?? consoleLogger
    this.#callbacks = callbackList(this.logger)
    const secrets = normaliseSecrets(options.secret)
    this.#check = secrets.length === 0 ? UNSIGNED : signatureCheck(secrets)
    this.verifiesSync = secrets.length === 0 || SYNC_SIGNATURES
    this.maxBodyBytes = positiveInteger('maxBodyBytes', options.maxBodyBytes ?? 1024 * 1024)
    this.#maxRejected = positiveInteger('maxRejectedBodyBytes', options.maxRejectedBodyBytes ?? 4096)
    this.telemetry = fenced(options.telemetry, this.logger)
    if (secrets.length === 0) {
      log(this.logger, 'warn',
        'The secret is empty: every delivery is accepted unsigned (for development only)')
    }
    if (options.onActions) this.onActions(options.onActions)
    if (options.onSummary) this.onSummary(options.onSummary)
  }

  /**
   * Verifies (over the exact bytes, before parsing), decodes and emits one delivery, and returns its
   * outcome: a payload, or a `usertour_trigger`. Never throws; without `node:crypto` it refuses
   * (`SyncVerificationUnavailable`): see `ingestAsync`.
   */
  ingest(
    body: Uint8Array | ArrayBuffer | string, signature?: string | null,
  ): E.Either<IngestError, Payload | UsertourTriggerPayload> {
    return this.#deliver(body, signature, 'async', false).result
  }

  /** `ingest` on every runtime: WebCrypto verifies where there is no `node:crypto`. Never rejects. */
  async ingestAsync(
    body: Uint8Array | ArrayBuffer | string, signature?: string | null,
  ): Promise<E.Either<IngestError, Payload | UsertourTriggerPayload>> {
    return (await this.dispatch(body, signature)).result
  }

  /**
   * `ingest` that also tells how the delivery's callbacks ended; a promise only where the signature must be
   * checked asynchronously. The probe's owner (the adapter) finishes it. With `store`, an accepted payload is
   * emitted only once stored, and null is returned when it was not.
   * @internal
   */
  dispatch(body: Uint8Array | ArrayBuffer | string, signature?: Signature, probe?: DeliveryProbe):
    Dispatch | Promise<Dispatch>
  /** @internal */
  dispatch(body: Uint8Array | ArrayBuffer | string, signature: Signature, probe: DeliveryProbe | undefined,
    store: Store | undefined): Dispatch | Promise<Dispatch | null>
  /** @internal */
  dispatch(
    body: Uint8Array | ArrayBuffer | string, signature?: Signature, probe?: DeliveryProbe, store?: Store,
  ): Dispatch | Promise<Dispatch | null> {
    return this.#deliver(body, signature, 'async', true, probe, store)
  }

  /** Checks the signature only (the reference's `verify`); false where only `verifyAsync` can check. */
  verify(body: Uint8Array | ArrayBuffer | string, signature: string | null | undefined): boolean {
    return this.verifiesSync && this.#verdict(body, signature) === true
  }

  /** `verify` on every runtime. Never rejects. */
  async verifyAsync(body: Uint8Array | ArrayBuffer | string, signature: string | null | undefined): Promise<boolean> {
    return this.#verdict(body, signature)
  }

  /**
   * Decodes a body without checking its signature nor emitting (the reference's `parse`): null if no
   * payload (a `usertour_trigger` included, as the reference).
   */
  parse(body: Uint8Array | ArrayBuffer | string): Payload | null {
    const bytes = this.#bytesOf(body)
    const decoded = E.isRight(bytes) ? decodeBytes(bytes.right) : bytes
    return E.isRight(decoded) ? payloadOrNull(decoded.right.payload) : null
  }

  /**
   * The reference's `handle`: verifies, decodes, emits, and waits for the delivery's callbacks. Resolves to
   * null for a body that is no payload (a `usertour_trigger` too, still emitted on `usertourTrigger$`); rejects
   * with {@link InvalidSignatureError} on a bad signature.
   */
  async handle(body: Uint8Array | ArrayBuffer | string, signature: string | null | undefined): Promise<Payload | null> {
    const { result, callbacks } = await this.dispatch(body, signature)
    if (callbacks._tag === 'Pending') await callbacks.done
    return settle(result)
  }

  /**
   * The reference's `handle_sync`: `handle` without waiting (a callback's promise is reported through the
   * logger). Throws {@link InvalidSignatureError}, or a TypeError naming `handle` without `node:crypto`.
   */
  handleSync(body: Uint8Array | ArrayBuffer | string, signature: string | null | undefined): Payload | null {
    return settle(this.#deliver(body, signature, 'sync', false).result)
  }

  /** Registers a callback run after `actions$` emits a batch; a throw or rejection is logged. */
  onActions(fn: PayloadCallback<ActionsPayload>): this {
    this.#callbacks.onActions(fn)
    return this
  }

  /** Registers a callback run after `summary$` emits a summary; a throw or rejection is logged. */
  onSummary(fn: PayloadCallback<SummaryPayload>): this {
    this.#callbacks.onSummary(fn)
    return this
  }

  /** Completes every stream and drops the callbacks (graceful shutdown); later deliveries emit nothing. */
  complete(): void {
    this.#payloadSubject.complete()
    this.#actionsSubject.complete()
    this.#summarySubject.complete()
    this.#usertourSubject.complete()
    this.#rejectedSubject.complete()
    this.#callbacks.clear()
  }

  /**
   * Records a refusal made before the body reached `dispatch` (an adapter's size limit), so that
   * `rejected$` sees every refused delivery.
   * @internal
   */
  reject(error: IngestError, probe?: DeliveryProbe): void {
    this.#conclude(E.left(error), 'async', probe ?? this.telemetry?.delivery(), probe === undefined)
  }

  #verdict(body: unknown, signature: Signature): boolean | Promise<boolean> {
    const bytes = toBytes(body)
    if (E.isLeft(bytes)) return false
    const failure = this.#check(bytes.right, signature)
    return failure instanceof Promise ? failure.then(isNull) : failure === null
  }

  #bytesOf(body: unknown): E.Either<IngestError, Uint8Array> {
    const bytes = toBytes(body)
    if (E.isLeft(bytes) || bytes.right.byteLength <= this.maxBodyBytes) return bytes
    return E.left(bodyTooLarge(this.maxBodyBytes, bytes.right.byteLength))
  }

  // The one path. `awaits`: whether this door may return a promise (else it refuses where only WebCrypto
  // verifies, never faking a check). With no telemetry `probe` stays undefined and each hook costs one check.
  #deliver(body: unknown, signature: Signature, mode: CallbackMode, awaits: false, given?: DeliveryProbe):
    Dispatch
  #deliver(
    body: unknown, signature: Signature, mode: CallbackMode, awaits: true, given?: DeliveryProbe, store?: Store,
  ): Dispatch | Promise<Dispatch | null>
  #deliver(
    body: unknown, signature: Signature, mode: CallbackMode, awaits: boolean, given?: DeliveryProbe, store?: Store,
  ): Dispatch | Promise<Dispatch | null> {
    const probe = given ?? this.telemetry?.delivery()
    probe?.ingest()
    const owned = given === undefined
    const bytes = this.#bytesOf(body)
    if (E.isLeft(bytes)) return this.#conclude(bytes, mode, probe, owned)
    const raw = bytes.right
    if (!awaits && !this.verifiesSync) {
      return this.#conclude(E.left(syncVerificationUnavailable(raw)), mode, probe, owned)
    }
    const failure = this.#check(raw, signature)
    if (failure instanceof Promise) return failure.then((late) => this.#decode(raw, late, mode, probe, owned, store))
    return this.#decode(raw, failure, mode, probe, owned, store)
  }

  #decode(
    raw: Uint8Array, failure: SignatureFailure | null, mode: CallbackMode, probe: DeliveryProbe | undefined,
    owned: boolean, store?: Store,
  ): Dispatch | Promise<Dispatch | null> {
    if (failure !== null) return this.#conclude(E.left(invalidSignature(failure, raw)), mode, probe, owned)
    probe?.verified()
    const decoded = decodeBytes(raw)
    // Stored first: a delivery answered 503 (to be retried) must reach nothing in-process.
    if (store === undefined || E.isLeft(decoded)) return this.#conclude(decoded, mode, probe, owned)
    return store(decoded.right.payload, raw).then((ok) => ok ? this.#conclude(decoded, mode, probe, owned) : null)
  }

  // Streams first, then callbacks (they are not subscribers). The receiver finishes only a probe it made:
  // an adapter finishes its own once it has answered.
  #conclude(
    decoded: E.Either<IngestError, Decoded>, mode: CallbackMode, probe: DeliveryProbe | undefined, owned: boolean,
  ): Dispatch {
    let outcome: Dispatch
    if (E.isLeft(decoded)) {
      let error = decoded.left
      // A forged megabyte is not handed on: a copy of its head, so the rest can be collected.
      const { body } = error as { body?: Uint8Array }
      const max = this.#maxRejected
      if (body && body.byteLength > max) {
        error = { ...error, body: new Uint8Array(body.subarray(0, max)), bodySize: body.byteLength } as IngestError
      }
      this.#logRefusal(this.logger, 'debug', `Delivery refused: ${error.message}`, { tag: error._tag })
      probe?.refused(error)
      this.#rejectedSubject.next(error)
      outcome = { result: E.left(error), callbacks: SETTLED }
    } else {
      const payload = decoded.right.payload
      let callbacks = SETTLED
      if (payload.type === 'usertour_trigger') {
        this.#usertourSubject.next(payload)
        probe?.accepted(payload, false)
      } else {
        warnCountMismatch(this.logger, decoded.right)
        this.#payloadSubject.next(payload)
        if (payload.type === 'actions') this.#actionsSubject.next(payload)
        else this.#summarySubject.next(payload)
        const handled = probe !== undefined && this.#callbacks.handles(payload)
        probe?.accepted(payload, handled)
        callbacks = this.#callbacks.run(payload, mode)
        if (handled) probe?.callbacks(callbacks)
      }
      outcome = { result: E.right(payload), callbacks }
    }
    if (owned) probe?.finish()
    return outcome
  }

}

function settle(result: E.Either<IngestError, WireEvent>): Payload | null {
  if (E.isRight(result)) return payloadOrNull(result.right)
  if (result.left._tag === 'InvalidSignature') throw new InvalidSignatureError(result.left)
  // Its message names ingestAsync (or handle), which verify with WebCrypto.
  if (result.left._tag === 'SyncVerificationUnavailable') refuse(`handleSync: ${result.left.message}`)
  return null
}

// What the reference's parse and handle give for an event: a trigger is no payload there.
const payloadOrNull = (event: WireEvent): Payload | null => (event.type === 'usertour_trigger' ? null : event)

function normaliseSecrets(secret: unknown): ReadonlyArray<string> {
  const list = typeof secret === 'string' ? [secret] : secret
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) {
    const got = Array.isArray(list) ? 'a list holding a non-string' : describe(list)
    refuse(`secret must be a string or a non-empty list of strings, got ${got}: ` +
      'pass the secret the connector signs with (is the environment variable that holds it set?)')
  }
  if (list.length === 0) refuse('secret list is empty; pass at least one secret (or "" for development)')
  if (list.length === 1 && list[0] === '') return []
  if (list.includes('')) refuse('an empty secret among real ones would accept unsigned deliveries; remove it')
  return [...list]
}

function refuse(why: string): never {
  throw new TypeError(`autoplay-rx: ${why}`)
}
