/**
 * The runtime-free middleware core: it sequences every step of a delivery
 * once, for every adapter — path, method, content type and declared length
 * → body read under the limits and the budget → signature, decode and
 * dispatch (the receiver) → callbacks bounded by the ack mode → the answer.
 * An adapter only says how its runtime reads a header and the raw body
 * ({@link Runtime}), and writes the answer it is given.
 */
import * as E from 'fp-ts/lib/Either.js'
import { bodyTooLarge, notRawBody } from '../errors.js'
import { log, type Logger } from '../logger.js'
import type { Payload } from '../codecs.js'
import type { CallbackFailure, CallbackOutcome } from '../callbacks.js'
import type { Dispatch, WebhookReceiver } from '../receiver.js'
import { SIGNATURE_HEADER } from '../signature.js'
import type { DeliveryProbe } from '../telemetry.js'
import { bodyDeadlines, type Deadlines } from './deadlines.js'
import type { InFlightBudget } from './budget.js'
import { resolveOptions, type AdapterOptions, type ResolvedOptions } from './options.js'
import { codeOf, NOT_FOUND, OK, overloaded, response, type AdapterResponse } from './status.js'

/**
 * How reading a request body ended (every runtime's reader says it this way).
 *
 * @example
 * ```ts
 * const outcome = await readBody(req, declaredLength(req.headers['content-length']), limits, deadlines)
 * switch (outcome._tag) {
 *   case 'Body': return receiver.ingest(outcome.bytes, signature)
 *   case 'NotRaw': return reply(500, 'a body parser ran first')
 *   case 'TooLarge': return reply(413, `over the limit after ${outcome.size} bytes`)
 *   case 'Timeout': return reply(503, 'the body did not arrive in time')
 *   case 'OverBudget': return reply(503, 'too many bodies in flight')
 *   case 'Aborted': return // the client went away: nobody to answer
 * }
 * ```
 */
export type BodyOutcome =
  | {
    /** The whole body arrived within the limits. */
    readonly _tag: 'Body'
    /** The body's exact bytes (a string only when a framework kept it so). */
    readonly bytes: Uint8Array | string
  }
  | {
    /** Something read the body before the adapter (a body parser): the signed bytes are gone. */
    readonly _tag: 'NotRaw'
    /** What was left in their place (a parsed object, say). */
    readonly received: unknown
    /** What helps in this runtime, said instead of the default hint. */
    readonly hint?: string
  }
  | {
    /** The body outgrew `maxBodyBytes`; the rest was not read. */
    readonly _tag: 'TooLarge'
    /** The bytes received when the read stopped (over the limit). */
    readonly size: number
  }
  | {
    /** The body did not end within `bodyTimeoutMs`. */
    readonly _tag: 'Timeout'
  }
  | {
    /** The client went away (or the stream failed) before the body ended. */
    readonly _tag: 'Aborted'
  }
  | {
    /** The body would not fit in the adapter's {@link InFlightBudget}. */
    readonly _tag: 'OverBudget'
  }

/**
 * The limits a body read works under.
 *
 * @example
 * ```ts
 * const limits: BodyLimits = { maxBodyBytes: receiver.maxBodyBytes, bodyTimeoutMs: 10_000, budget: new InFlightBudget() }
 * ```
 */
export interface BodyLimits {
  /** Largest body, in bytes: past it the read stops with `TooLarge`. */
  readonly maxBodyBytes: number
  /** Longest time for the whole body, in ms: then the read stops with `Timeout`. */
  readonly bodyTimeoutMs: number
  /** Holds a read slot and the body's bytes while it is read: `OverBudget` when they do not fit. */
  readonly budget: InFlightBudget
}

/**
 * The declared body length to hold in the budget at the start of a read.
 *
 * @param contentLength - the `Content-Length` header, if any
 * @returns the length, or 0 when absent or not a positive whole number
 * @example
 * ```ts
 * declaredLength('1024') // 1024
 * declaredLength(undefined) // 0: a chunked body is held as it arrives
 * declaredLength('-5') // 0
 * ```
 */
export function declaredLength(contentLength: string | null | undefined): number {
  return heldLength(lengthOf(contentLength))
}

/** The `Content-Length` header as a number: `NaN` when absent or not a number. */
const lengthOf = (contentLength: string | null | undefined): number => (contentLength == null ? NaN : Number(contentLength))

/** What a parsed length holds in the budget: 0 unless a positive whole number. */
const heldLength = (length: number): number => (Number.isSafeInteger(length) && length > 0 ? length : 0)

/** What a runtime tells the core about its requests: the few functions an adapter is made of. */
export interface Runtime<Req> {
  /** The request's method. */
  readonly method: (req: Req) => string | undefined
  /**
   * The request's path, without the query (only asked when `options.path` is set). Absent where the
   * framework routes (Fastify); a path option there would then answer every request 404.
   */
  readonly path?: (req: Req) => string
  /** A header's value by lower-case name (the first, when repeated). */
  readonly header: (req: Req, name: string) => string | null | undefined
  /** Reads the raw body under `limits`, then calls `done` once with how it ended. Must not throw. */
  readonly readBody: (req: Req, declared: number, limits: BodyLimits, deadlines: Deadlines, done: (outcome: BodyOutcome) => void) => void
}

/** Handles one request; `reply` is called once, with the answer or `null` when the client went away; if it throws, that is logged. */
export type Handle<Req> = (req: Req, reply: (answer: AdapterResponse | null) => void) => void

/** A request target's path: the URL up to its query. */
export function pathOf(url: string | undefined): string {
  const q = url?.indexOf('?') ?? -1
  return url === undefined ? '' : q === -1 ? url : url.slice(0, q)
}

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i

/**
 * The core every adapter is built on. Never throws once made, nor leaves a
 * promise rejected: a bug in a step is logged and answered 500, so the
 * connector retries, and a reply that throws is logged.
 */
export function createMiddleware<Req>(receiver: WebhookReceiver, options: AdapterOptions, runtime: Runtime<Req>): Handle<Req> {
  const resolved = resolveOptions(receiver, options)
  const deadlines = bodyDeadlines(resolved.bodyTimeoutMs)
  const telemetry = receiver.telemetry
  if (telemetry !== undefined) telemetry.budget(resolved.budget)
  const failed = (error: unknown, reply: (answer: AdapterResponse | null) => void) => {
    log(receiver.logger, 'error', 'autoplay-rx adapter failed', { error })
    reply(response('callback_failed', 'internal error'))
  }
  return (req, send) => {
    let probe: DeliveryProbe | undefined
    // A reply that throws (a write to a socket already destroyed, say) is logged here: rethrown, it
    // would come back as a second reply, or reject a promise nobody holds and crash the process.
    let replied = false
    const reply = (answer: AdapterResponse | null): void => {
      if (replied) return
      replied = true
      if (probe !== undefined) {
        if (answer !== null) probe.answered(answer.status, answer.code)
        probe.finish()
      }
      try {
        send(answer)
      } catch (error) {
        log(receiver.logger, 'error', 'autoplay-rx adapter could not write its answer', { error })
      }
    }
    try {
      if (resolved.path !== undefined && runtime.path?.(req) !== resolved.path) return reply(NOT_FOUND)
      // Another route's request is no delivery. With no telemetry: no probe, no closure, one check.
      if (telemetry !== undefined) probe = telemetry.delivery((name) => runtime.header(req, name))
      // Read and parsed once: the head check and the budget both need it, on every delivery.
      const length = lengthOf(runtime.header(req, 'content-length'))
      const head = checkHead(receiver, runtime.method(req), runtime.header(req, 'content-type'), length, resolved, probe)
      if (head !== null) return reply(head)
      const signature = runtime.header(req, SIGNATURE_HEADER)
      runtime.readBody(req, heldLength(length), resolved, deadlines, (outcome) => {
        try {
          const answer = answerBody(receiver, outcome, signature, resolved, probe)
          if (answer instanceof Promise) answer.then(reply, (error: unknown) => failed(error, reply))
          else reply(answer)
        } catch (error) {
          failed(error, reply)
        }
      })
    } catch (error) {
      failed(error, reply)
    }
  }
}

/**
 * Decides what can be decided from the head alone: 405 for another method,
 * 415 for a content type that is present and not JSON, 413 for a declared
 * length over the limit. `declared` is the `Content-Length` as a number
 * (`NaN` when absent). `null` means: read the body.
 */
export function checkHead(
  receiver: WebhookReceiver,
  method: string | undefined,
  contentType: string | null | undefined,
  declared: number,
  options: ResolvedOptions,
  probe?: DeliveryProbe,
): AdapterResponse | null {
  if (method !== 'POST') return response('method_not_allowed', 'Only POST is accepted here')
  const type = contentType?.trim()
  if (type && !JSON_TYPE.test(type)) return response('unsupported_media_type', 'Content-Type must be application/json')
  if (declared > options.maxBodyBytes) return tooLarge(receiver, options.maxBodyBytes, declared, probe)
  return null
}

/** 413, recorded on `rejected$` (there is no body to carry: it was never read). */
function tooLarge(receiver: WebhookReceiver, limit: number, size: number, probe: DeliveryProbe | undefined): AdapterResponse {
  const error = bodyTooLarge(limit, size)
  receiver.reject(error, probe)
  return response('body_too_large', error.message, { connection: 'close' })
}

/**
 * The response to a body read under the limits: delivered, 500 when a
 * parser took the bytes, 413, 503 after the body timeout or over the
 * budget, or `null` when the client went away (nothing to answer).
 */
export function answerBody(
  receiver: WebhookReceiver,
  outcome: BodyOutcome,
  signature: string | null | undefined,
  options: ResolvedOptions,
  probe?: DeliveryProbe,
): Promise<AdapterResponse> | AdapterResponse | null {
  switch (outcome._tag) {
    case 'Body': return deliver(receiver, outcome.bytes, signature, options, probe)
    case 'NotRaw': {
      const refusal = notRawBody(outcome.received)
      const error = outcome.hint === undefined ? refusal : { ...refusal, message: outcome.hint }
      // The server's own misconfiguration: its operator must hear of it, not only the connector.
      log(receiver.logger, 'error', error.message)
      receiver.reject(error, probe)
      return response('body_not_raw', error.message)
    }
    case 'TooLarge': return tooLarge(receiver, options.maxBodyBytes, outcome.size, probe)
    case 'Timeout': return response('body_timeout', `The body did not arrive within ${options.bodyTimeoutMs} ms`, { connection: 'close' })
    case 'Aborted': return null
    case 'OverBudget': {
      const { maxBytes, maxRequests } = options.budget
      return overloaded(`Too many bodies in flight (budget: ${maxBytes} bytes, ${maxRequests} requests); retry later`, { connection: 'close' })
    }
  }
}

/**
 * Ingests the raw body and decides the response, waiting for the delivery's
 * callbacks as `options.ack` says: at once when nothing is left to wait for,
 * else as a promise. Never rejects.
 */
function deliver(
  receiver: WebhookReceiver,
  body: Uint8Array | string,
  signature: string | null | undefined,
  options: ResolvedOptions,
  probe: DeliveryProbe | undefined,
): AdapterResponse | Promise<AdapterResponse> {
  const budget = options.budget
  // Refused before dispatch, so nothing is emitted and no callback runs: the retry is the delivery.
  if (budget.callbacksFull) return overloaded(`${budget.pendingCallbacks} deliveries still have callbacks running; retry later`)
  // Without node:crypto (Workers, the Edge runtime) WebCrypto verifies, asynchronously; elsewhere nothing waits.
  if (!receiver.verifiesSync) {
    return receiver.dispatchAsync(body, signature, probe).then((dispatched) => answerDispatch(dispatched, receiver, options))
  }
  return answerDispatch(receiver.dispatch(body, signature, probe), receiver, options)
}

function answerDispatch(
  { result, callbacks }: Dispatch,
  receiver: WebhookReceiver,
  options: ResolvedOptions,
): AdapterResponse | Promise<AdapterResponse> {
  const budget = options.budget
  if (callbacks._tag === 'Pending') budget.trackCallbacks(callbacks.done)
  if (E.isLeft(result)) {
    const code = codeOf(result.left)
    return response(code, code === 'ignored' ? undefined : result.left.message)
  }
  // The common case (no durable write, callbacks done) answers at once: no promise, no timer.
  if (options.persist || callbacks._tag === 'Pending') return acknowledge(result.right, callbacks, options, receiver.logger)
  return afterCallbacks(callbacks.failures, options)
}

async function acknowledge(
  payload: Payload,
  callbacks: CallbackOutcome,
  options: ResolvedOptions,
  logger: Logger | undefined,
): Promise<AdapterResponse> {
  if (options.persist && !(await persisted(options.persist, payload, options.persistTimeoutMs, logger))) {
    return response('unavailable', 'The delivery could not be stored; retry later')
  }
  if (options.ack === 'on-accept') return OK
  const failures = callbacks._tag === 'Settled' ? callbacks.failures : await within(callbacks.done, options.ackTimeoutMs, 'timeout' as const)
  if (failures === 'timeout') {
    if (logger) log(logger, 'warn', `Callbacks still running after ${options.ackTimeoutMs} ms; answered 202`)
    return response('processing')
  }
  return afterCallbacks(failures, options)
}

function afterCallbacks(failures: ReadonlyArray<CallbackFailure>, options: ResolvedOptions): AdapterResponse {
  if (failures.length > 0 && options.retryOnCallbackError && options.ack !== 'on-accept') {
    return response('callback_failed', `${failures.length} callback(s) failed; retry`)
  }
  return OK
}

async function persisted(persist: (payload: Payload) => PromiseLike<unknown>, payload: Payload, ms: number, logger?: Logger): Promise<boolean> {
  const stored = Promise.resolve()
    .then(() => persist(payload))
    .then(() => true, (error: unknown) => {
      if (logger) log(logger, 'error', 'persist failed; answered 503 so the connector retries', { session_id: payload.session_id, error })
      return false
    })
  const ok = await within(stored, ms, 'timeout' as const)
  if (ok === 'timeout' && logger) log(logger, 'error', `persist took over ${ms} ms; answered 503 so the connector retries`, { session_id: payload.session_id })
  return ok === true
}

/** `promise`'s value, or `fallback` once `ms` have passed (the timer is always cleared). */
function within<A, F>(promise: Promise<A>, ms: number, fallback: F): Promise<A | F> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<F>((resolve) => { timer = setTimeout(resolve, ms, fallback) })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
