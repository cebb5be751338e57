/**
 * The runtime-free heart of every adapter: given what a request is (method,
 * content type, declared length) and, later, its raw bytes, decide the
 * response. The outcome → status mapping lives here and nowhere else; the
 * per-runtime files only read bodies and write responses.
 */
import * as E from 'fp-ts/lib/Either.js'
import { bodyTooLarge, matchIngestError, type IngestError } from '../errors.js'
import { log, type Logger } from '../logger.js'
import type { Payload } from '../codecs.js'
import type { CallbackFailure, CallbackOutcome } from '../callbacks.js'
import type { WebhookReceiver } from '../receiver.js'
import { InFlightBudget, isBudget } from './budget.js'

export { InFlightBudget, type InFlightBudgetOptions } from './budget.js'

/**
 * Options shared by every adapter. All are optional.
 *
 * @example
 * ```ts
 * const options: AdapterOptions = {
 *   path: '/events',          // a plain http.createServer handler: other paths get 404
 *   ack: 'on-accept',         // answer once verified and decoded, without waiting for callbacks
 *   maxBodyBytes: 256 * 1024, // at most the receiver's maxBodyBytes
 *   persist: redisAppender(redis, { stream: 'autoplay:events' }), // answer 200 only once stored
 * }
 * createServer(createNodeMiddleware(receiver, options)).listen(8787)
 * ```
 */
export interface AdapterOptions {
  /**
   * The route's path, for a plain `http.createServer` handler or
   * `app.use(middleware)`: other paths fall through to `next()` (404 without one).
   * Leave unset when the framework routes (`app.post('/events', middleware)`).
   */
  readonly path?: string
  /**
   * Largest body accepted, in bytes; default (and at most) the receiver's
   * `maxBodyBytes` (1 MiB unless raised there).
   */
  readonly maxBodyBytes?: number
  /**
   * When to answer the connector: `'after-callbacks'` (default, as the
   * reference) once this delivery's callbacks have settled, or
   * `'on-accept'` as soon as it is verified and decoded.
   */
  readonly ack?: 'after-callbacks' | 'on-accept'
  /**
   * With `'after-callbacks'`: the longest wait for callbacks before answering
   * 202 and letting them finish, so that a slow callback never makes the
   * connector time out and send again. Default 5000 ms.
   */
  readonly ackTimeoutMs?: number
  /** Answer 500 (so the connector retries) when a callback of the delivery failed. Default false. */
  readonly retryOnCallbackError?: boolean
  /** Longest time to receive the whole body once headers are in; default 10000 ms. */
  readonly bodyTimeoutMs?: number
  /**
   * A durable write that must succeed before the connector is acknowledged
   * (e.g. `redisAppender` from `autoplay-rx/redis`). When it fails or
   * outlasts `persistTimeoutMs` the answer is 503, so the connector retries
   * and nothing is dropped (a retry may duplicate: dedupe downstream).
   */
  readonly persist?: (payload: Payload) => PromiseLike<unknown>
  /** Longest wait for `persist`; default 2000 ms. */
  readonly persistTimeoutMs?: number
  /**
   * What this adapter may hold at once: body bytes and bodies being read,
   * and deliveries whose async callbacks are still running. Past it the
   * answer is 503 `overloaded` (the connector retries). Default: a budget of
   * its own with {@link InFlightBudget}'s defaults; pass one object to several
   * adapters to share it.
   */
  readonly budget?: InFlightBudget
}

/** The options with defaults applied. */
export interface ResolvedOptions {
  readonly path: string | undefined
  readonly maxBodyBytes: number
  readonly ack: 'after-callbacks' | 'on-accept'
  readonly ackTimeoutMs: number
  readonly retryOnCallbackError: boolean
  readonly bodyTimeoutMs: number
  readonly persist: ((payload: Payload) => PromiseLike<unknown>) | undefined
  readonly persistTimeoutMs: number
  readonly budget: InFlightBudget
}

/** Applies defaults, and refuses options that cannot work. */
export function resolveOptions(receiver: WebhookReceiver, options: AdapterOptions = {}): ResolvedOptions {
  const resolved: ResolvedOptions = {
    path: options.path,
    maxBodyBytes: options.maxBodyBytes ?? receiver.maxBodyBytes,
    ack: options.ack ?? 'after-callbacks',
    ackTimeoutMs: options.ackTimeoutMs ?? 5000,
    retryOnCallbackError: options.retryOnCallbackError ?? false,
    bodyTimeoutMs: options.bodyTimeoutMs ?? 10_000,
    persist: options.persist,
    persistTimeoutMs: options.persistTimeoutMs ?? 2000,
    budget: options.budget ?? new InFlightBudget(),
  }
  for (const key of ['maxBodyBytes', 'ackTimeoutMs', 'bodyTimeoutMs', 'persistTimeoutMs'] as const) {
    if (!(Number.isFinite(resolved[key]) && resolved[key] > 0)) throw new TypeError(`autoplay-rx: ${key} must be a positive number`)
  }
  if (resolved.maxBodyBytes > receiver.maxBodyBytes) {
    // The receiver would refuse what the adapter read: one limit must hold, so say where to raise it.
    throw new TypeError(`autoplay-rx: maxBodyBytes (${resolved.maxBodyBytes}) exceeds the receiver's (${receiver.maxBodyBytes}); raise it on the WebhookReceiver`)
  }
  if (!isBudget(resolved.budget)) throw new TypeError('autoplay-rx: budget must be an InFlightBudget')
  if (resolved.persist !== undefined && typeof resolved.persist !== 'function') throw new TypeError('autoplay-rx: persist must be a function')
  if (resolved.ack !== 'after-callbacks' && resolved.ack !== 'on-accept') {
    throw new TypeError(`autoplay-rx: ack must be 'after-callbacks' or 'on-accept'`)
  }
  return resolved
}

/**
 * Stable, machine-readable codes of every response, in the JSON body's
 * `code` (and `status: 'error'` from 400 on). The statuses are in
 * `docs/protocol.md`: 200 `ok`/`ignored`, 202 `processing`, 400, 401, 404,
 * 405, 413, 415, 500 (`body_not_raw`, `callback_failed`: the connector
 * retries) and 503 (`body_timeout`, `unavailable`, `overloaded`: likewise).
 *
 * @example
 * ```ts
 * const handler = createFetchHandler(receiver)
 * const res = await handler(new Request('http://localhost/events', {
 *   method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', // no signature header
 * }))
 * const { code } = (await res.json()) as { code?: ResponseCode }
 * console.log(res.status, code) // 401 invalid_signature
 * ```
 */
export type ResponseCode =
  | 'ok' | 'ignored' | 'processing'
  | 'invalid_signature' | 'malformed_json' | 'invalid_payload' | 'body_not_raw'
  | 'body_too_large' | 'unsupported_media_type' | 'method_not_allowed'
  | 'callback_failed' | 'body_timeout' | 'unavailable' | 'overloaded' | 'not_found'

/**
 * What an adapter writes back. The body never holds the secret nor an expected signature.
 *
 * @example
 * ```ts
 * // The answer to a correctly signed body that is not JSON:
 * const answer: AdapterResponse = {
 *   status: 400,
 *   headers: { 'content-type': 'application/json; charset=utf-8' },
 *   body: '{"status":"error","code":"malformed_json","message":"Body is not valid JSON: Unexpected token …"}',
 * }
 * ```
 */
export interface AdapterResponse {
  /** The HTTP status (see {@link ResponseCode}). */
  readonly status: number
  /** Lower-case header names: always `content-type`, plus `allow`, `retry-after` or `connection: close` where they apply. */
  readonly headers: Readonly<Record<string, string>>
  /** JSON: `{"status":"ok"}`, or `status`, `code` (a {@link ResponseCode}) and, for errors, a short `message`. */
  readonly body: string
}

const STATUS: Record<ResponseCode, number> = {
  ok: 200, ignored: 200, processing: 202,
  invalid_signature: 401, malformed_json: 400, invalid_payload: 400,
  body_too_large: 413, unsupported_media_type: 415, method_not_allowed: 405, not_found: 404,
  // A body parser mounted before the adapter is the server's own fault: the connector drops a 4xx
  // for good, so every delivery would be lost until the deploy is fixed; a 5xx is retried after it.
  body_not_raw: 500,
  callback_failed: 500,
  // A body that does not arrive in time, a store that is down, or a server over its budget may
  // work on a retry: 503 makes the connector send again (a 4xx would make it drop the batch).
  body_timeout: 503, unavailable: 503, overloaded: 503,
}

/** The response for a code; `message` is short and safe to show. */
export function response(code: ResponseCode, message?: string, extraHeaders: Record<string, string> = {}): AdapterResponse {
  const status = STATUS[code]
  const body = status < 300
    ? JSON.stringify(code === 'ok' ? { status: 'ok' } : { status: code === 'processing' ? 'accepted' : 'ok', code })
    : JSON.stringify({ status: 'error', code, message: message ?? code })
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', ...extraHeaders }
  if (code === 'method_not_allowed') headers.allow = 'POST'
  return { status, headers, body }
}

/** The answer to an accepted delivery, made once: it is the hot path. */
const OK: AdapterResponse = response('ok')

/** A header's first value (Node gives repeated headers as a list). */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** The response code of each refusal: the one mapping from outcome to status. */
export const codeOf: (error: IngestError) => ResponseCode = matchIngestError<ResponseCode>({
  InvalidSignature: () => 'invalid_signature',
  MalformedJson: () => 'malformed_json',
  InvalidPayload: () => 'invalid_payload',
  UnknownEventType: () => 'ignored',
  NotRawBody: () => 'body_not_raw',
  BodyTooLarge: () => 'body_too_large',
})

/** What an adapter knows of a request before reading its body. */
export interface RequestHead {
  readonly method: string | undefined
  readonly contentType: string | null | undefined
  /** The Content-Length header, when present. */
  readonly contentLength: string | null | undefined
}

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i

/**
 * Decides what can be decided from the head alone: 405 for another method,
 * 415 for a content type that is present and not JSON, 413 for a declared
 * length over the limit. `null` means: read the body.
 */
export function checkHead(receiver: WebhookReceiver, head: RequestHead, options: ResolvedOptions): AdapterResponse | null {
  if (head.method !== 'POST') return response('method_not_allowed', 'Only POST is accepted here')
  const type = head.contentType?.trim()
  if (type && !JSON_TYPE.test(type)) return response('unsupported_media_type', 'Content-Type must be application/json')
  const declared = head.contentLength == null ? NaN : Number(head.contentLength)
  if (declared > options.maxBodyBytes) return tooLarge(receiver, options.maxBodyBytes, declared)
  return null
}

/** 413, recorded on `rejected$` (there is no body to carry: it was never read). */
export function tooLarge(receiver: WebhookReceiver, limit: number, size: number): AdapterResponse {
  const error = bodyTooLarge(limit, size)
  receiver.reject(error)
  return response('body_too_large', error.message, { connection: 'close' })
}

/**
 * Ingests the raw body and decides the response, waiting for the delivery's
 * callbacks as `options.ack` says: at once when nothing is left to wait for,
 * else as a promise. Never throws, never rejects.
 */
export function deliver(
  receiver: WebhookReceiver,
  body: unknown,
  signature: string | null | undefined,
  options: ResolvedOptions,
): AdapterResponse | Promise<AdapterResponse> {
  const budget = options.budget
  // Refused before dispatch, so nothing is emitted and no callback runs: the retry is the delivery.
  if (budget.callbacksFull) return overloaded(`${budget.pendingCallbacks} deliveries still have callbacks running; retry later`)
  const { result, callbacks } = receiver.dispatch(body as Uint8Array, signature)
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

/**
 * How reading a request body ended (every runtime's reader says it this way).
 *
 * @example
 * ```ts
 * const outcome = await readBody(req, declaredLength(req.headers['content-length']), limits, deadlines)
 * switch (outcome._tag) {
 *   case 'Body': return receiver.ingest(outcome.bytes, signature)
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
    /** The body's exact bytes. */
    readonly bytes: Uint8Array
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
 * The response to a body read under the limits: delivered, 413, 503 after
 * the body timeout, or `null` when the client went away (nothing to answer).
 */
export function answerBody(
  receiver: WebhookReceiver,
  outcome: BodyOutcome,
  signature: string | null | undefined,
  options: ResolvedOptions,
): Promise<AdapterResponse> | AdapterResponse | null {
  switch (outcome._tag) {
    case 'Body': return deliver(receiver, outcome.bytes, signature, options)
    case 'TooLarge': return tooLarge(receiver, options.maxBodyBytes, outcome.size)
    case 'Timeout': return response('body_timeout', `The body did not arrive within ${options.bodyTimeoutMs} ms`, { connection: 'close' })
    case 'Aborted': return null
    case 'OverBudget': {
      const { maxBytes, maxRequests } = options.budget
      return overloaded(`Too many bodies in flight (budget: ${maxBytes} bytes, ${maxRequests} requests); retry later`, { connection: 'close' })
    }
  }
}

/** 503 `overloaded`: the connector retries later (with backoff), so nothing is lost. */
function overloaded(message: string, headers?: Record<string, string>): AdapterResponse {
  return response('overloaded', message, { 'retry-after': '1', ...headers })
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
  const declared = contentLength == null ? NaN : Number(contentLength)
  return Number.isSafeInteger(declared) && declared > 0 ? declared : 0
}

/** A deadline registered with {@link Deadlines}. */
export class Deadline {
  constructor(
    readonly at: number,
    /** Called once, when the deadline passed or `abandoned` said so. */
    readonly expire: (abandoned: boolean) => void,
    /** Checked at each sweep: the work was abandoned (its client went away), so expire early. */
    readonly abandoned: (() => boolean) | undefined,
  ) {}
}

/**
 * Many deadlines on one coarse timer. A body read needs a deadline per
 * request; a timer each costs more per request than the whole decode of a
 * small delivery, so one interval, running only while deadlines are
 * pending, sweeps them instead. A deadline fires up to `resolutionMs` late.
 * The timer never keeps a process alive.
 *
 * @example
 * ```ts
 * const deadlines = new Deadlines(100) // share one per server: one timer for all its reads
 * const deadline = deadlines.add(5000, (abandoned) => console.log(abandoned ? 'client gone' : 'too slow'))
 * deadlines.remove(deadline) // done in time: expire is never called
 * ```
 */
export class Deadlines {
  private readonly pending = new Set<Deadline>()
  private timer: ReturnType<typeof setInterval> | undefined
  /** @param resolutionMs - how often pending deadlines are checked, in ms: how late one may fire at most */
  constructor(private readonly resolutionMs: number) {}

  /** Deadlines pending. */
  get size(): number {
    return this.pending.size
  }

  /** Whether the sweeping timer runs (only while deadlines are pending). */
  get sweeping(): boolean {
    return this.timer !== undefined
  }

  /**
   * Calls `expire` once `ms` have passed (or `abandoned()` turns true), unless {@link remove}d first.
   *
   * @param ms - from now
   * @param expire - called once, with `true` when `abandoned` said so, `false` when the time ran out
   * @param abandoned - checked at each sweep: `true` expires the deadline early
   * @returns the handle to pass to {@link remove}
   */
  add(ms: number, expire: (abandoned: boolean) => void, abandoned?: () => boolean): Deadline {
    const deadline = new Deadline(Date.now() + ms, expire, abandoned)
    this.pending.add(deadline)
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.resolutionMs)
      // Never keep a process alive for a sweep: the sockets being read do that.
      ;(this.timer as { unref?: () => void }).unref?.()
    }
    return deadline
  }

  /** Drops a deadline before it fires (harmless once it has); the timer stops when none is left. */
  remove(deadline: Deadline): void {
    this.pending.delete(deadline)
    if (this.pending.size === 0) this.stop()
  }

  private sweep(): void {
    const now = Date.now()
    for (const deadline of this.pending) {
      const abandoned = deadline.abandoned?.() === true
      if (!abandoned && deadline.at > now) continue
      this.pending.delete(deadline)
      deadline.expire(abandoned)
    }
    if (this.pending.size === 0) this.stop()
  }

  private stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }
}

/** Deadlines for body reads: a tenth of the body timeout late at most, between 5 ms and 1 s. */
export function bodyDeadlines(options: ResolvedOptions): Deadlines {
  return new Deadlines(Math.min(1000, Math.max(5, Math.floor(options.bodyTimeoutMs / 10))))
}

/** `promise`'s value, or `fallback` once `ms` have passed (the timer is always cleared). */
function within<A, F>(promise: Promise<A>, ms: number, fallback: F): Promise<A | F> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<F>((resolve) => { timer = setTimeout(resolve, ms, fallback) })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
