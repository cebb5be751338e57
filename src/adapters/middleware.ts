/**
 * The runtime-free core of every adapter: it sequences each step of a delivery once — path, method,
 * head → body under the limits → the receiver → callbacks as the ack mode says → the answer. A runtime
 * only reads its request ({@link Runtime}) and writes the answer the core returns.
 */
import { bodyTooLarge, notRawBody } from '../errors.js'
import { errorText, log } from '../logger.js'
import type { CallbackFailure } from '../callbacks.js'
import type { Dispatch, Store, WebhookReceiver } from '../receiver.js'
import { SIGNATURE_HEADER } from '../signature.js'
import type { DeliveryProbe } from '../telemetry.js'
import { within } from '../internal/within.js'
import type { BodyLimits, BodyOutcome } from './body.js'
import type { Share } from './budget.js'
import { deadlineSweep } from './deadlines.js'
import { resolveOptions, type AdapterOptions } from './options.js'
import { codeOf, NOT_FOUND, OK, overloaded, response, type AdapterResponse } from './status.js'

/** The answer to write, or `null` when the client went away. */
export type Answer = AdapterResponse | null

/** How a runtime reads its requests: the few functions an adapter is made of. */
export interface Runtime<Req> {
  readonly method: (req: Req) => string | undefined
  /** The path without the query; absent where the framework routes (Fastify). */
  readonly path?: (req: Req) => string
  /** A header by lower-case name (the first, when repeated). */
  readonly header: (req: Req, name: string) => Header
  /** The raw body under `limits` and `share`: at once where it is already held. May throw (answered 500). */
  readonly readBody: (req: Req, declared: number, limits: BodyLimits, share: Share) => Read
}

/**
 * Handles one request from the remote address `peer`. `passOn`: a next handler exists, so a request that
 * is not ours (another path, or any method but POST when no path is set) gets {@link NOT_FOUND} to hand on.
 * Never throws, never rejects: a bug in a step is logged and answered 500, so the connector retries.
 */
export type Handle<Req> = (req: Req, passOn: boolean, peer: string | undefined) => Answer | Promise<Answer>

/** A request target's path: the URL up to its query. */
export function pathOf(url: string | undefined): string {
  const q = url?.indexOf('?') ?? -1
  return url === undefined ? '' : q === -1 ? url : url.slice(0, q)
}

// Blank counts as absent.
const JSON_TYPE = /^\s*(application\/([a-z0-9.+-]*\+)?json\s*(;|$)|$)/i

type Header = string | null | undefined
type Read = BodyOutcome | Promise<BodyOutcome>
type Probe = DeliveryProbe | undefined
const CLOSE = { connection: 'close' }

/** The core of every adapter: `runtime` reads its requests, the core decides the answer. */
export function createMiddleware<Req>(receiver: WebhookReceiver, options: AdapterOptions, runtime: Runtime<Req>) {
  const resolved = resolveOptions(receiver.maxBodyBytes, options)
  const {
    path, budget, maxBodyBytes, bodyTimeoutMs, minBodyRate, ack, persist, persistTimeoutMs, ackTimeoutMs, trustedPeers,
    trustedProxies, retryOnCallbackError,
  } = resolved
  // A tenth of the body timeout late at most, between 5 ms and 1 s.
  const deadlines = deadlineSweep(Math.min(1000, Math.max(5, Math.floor(bodyTimeoutMs / 10))))
  const limits: BodyLimits = { ...resolved, deadlines }
  const { telemetry, logger } = receiver
  telemetry?.budget(budget)
  // A body the budget can never hold is answered 503 until the connector gives up: say so once, at setup.
  if (budget.maxBytes < maxBodyBytes) {
    log(logger, 'warn', `budget.maxBytes (${budget.maxBytes}) < maxBodyBytes (${maxBodyBytes}): larger bodies get 503`)
  }

  const failed = (error: unknown): AdapterResponse => {
    log(logger, 'error', 'autoplay-rx adapter failed', { error })
    return response('callback_failed', 'internal error')
  }

  // The one place a delivery's probe is finished (it is made below, once the request is ours).
  const finish = (answer: Answer, probe: Probe): Answer => {
    if (probe !== undefined) {
      if (answer !== null) probe.answered(answer.status, answer.code)
      probe.finish()
    }
    return answer
  }

  const answerBody = (read: BodyOutcome, signature: Header, probe: Probe, share: Share): Answer | Promise<Answer> => {
    switch (read._tag) {
      case 'Body': {
        // Refused before dispatch, so nothing is emitted and no callback runs: the retry is the delivery.
        const running = budget.pendingCallbacks
        if (budget.callbacksFull(share)) return overloaded(`${running} deliveries' callbacks running; retry later`)
        // A promise only where the signature is checked asynchronously (WebCrypto, without node:crypto).
        const dispatched = receiver.dispatch(read.bytes, signature, probe, persist && persisted)
        if (dispatched instanceof Promise) return dispatched.then((done) => acknowledge(done, share))
        return acknowledge(dispatched, share)
      }
      case 'NotRaw': {
        const refusal = notRawBody(read.received)
        const error = { ...refusal, message: read.hint ?? refusal.message }
        // The server's own misconfiguration: its operator must hear of it, not only the connector.
        log(logger, 'error', error.message)
        receiver.reject(error, probe)
        return response('body_not_raw', error.message)
      }
      case 'TooLarge': {
        const error = bodyTooLarge(maxBodyBytes, read.size)
        receiver.reject(error, probe)
        return response('body_too_large', error.message, CLOSE)
      }
      case 'Timeout': return response('body_timeout', `Body not received in ${bodyTimeoutMs} ms`, CLOSE)
      case 'TooSlow': return response('body_timeout', `Body slower than ${minBodyRate} B/s`, CLOSE)
      case 'Aborted': return null
      case 'OverBudget':
        return overloaded(`Over budget (${budget.maxBytes} B, ${budget.maxRequests} reads) or share`, CLOSE)
    }
  }

  // null: `persist` failed, so the receiver emitted nothing and the connector's retry is the delivery.
  const acknowledge = (dispatched: Dispatch | null, share: Share): AdapterResponse | Promise<AdapterResponse> => {
    if (dispatched === null) return response('unavailable', 'Not stored; retry later')
    const { result, callbacks } = dispatched
    if (callbacks._tag === 'Pending') budget.trackCallbacks(callbacks.done, share)
    if (result._tag === 'Left') {
      const code = codeOf(result.left)
      return response(code, code === 'ignored' ? undefined : result.left.message)
    }
    // The common case (callbacks done) answers at once: no promise, no timer.
    if (callbacks._tag === 'Settled') return afterCallbacks(callbacks.failures)
    return ack === 'on-accept' ? OK : afterWork(callbacks.done)
  }

  const afterWork = async (done: Promise<ReadonlyArray<CallbackFailure>>): Promise<AdapterResponse> => {
    const failures = await within(done, ackTimeoutMs, null)
    if (failures) return afterCallbacks(failures)
    log(logger, 'warn', `Callbacks still running after ${ackTimeoutMs} ms; answered 202`)
    return response('processing')
  }

  const afterCallbacks = (failures: ReadonlyArray<CallbackFailure>): AdapterResponse =>
    failures.length > 0 && retryOnCallbackError && ack !== 'on-accept'
      ? response('callback_failed', `${failures.length} callback(s) failed; retry`)
      : OK

  // A store that fails or hangs is an outage: one line per delivery answered 503, no stack.
  const persisted: Store = async (payload, body) => {
    const stored = Promise.resolve().then(() => persist!(payload, body)).then(() => true, errorText)
    const outcome = await within(stored, persistTimeoutMs, `timed out after ${persistTimeoutMs} ms`)
    if (outcome !== true) {
      log(logger, 'error', `persist failed: ${outcome}; answered 503`, { session_id: payload.session_id })
    }
    return outcome === true
  }

  const handle: Handle<Req> = (req, passOn, peer) => {
    let probe: DeliveryProbe | undefined
    let answer: Answer | Promise<Answer>
    try {
      if (path !== undefined && runtime.path?.(req) !== path) return NOT_FOUND
      const method = runtime.method(req)
      if (passOn && path === undefined && method !== 'POST') return NOT_FOUND
      // Another route's request is no delivery. With no telemetry: no probe, no closure, one check.
      probe = telemetry?.delivery((name) => runtime.header(req, name))
      answer = checkHead(method, runtime.header(req, 'content-type'))
      if (answer === null) {
        // Absent (0 or NaN) or not a number (NaN): no declared length.
        const length = Number(runtime.header(req, 'content-length'))
        const signature = runtime.header(req, SIGNATURE_HEADER)
        // The client behind a trusted proxy is the last address it added; a trusted client holds no share.
        if (trustedProxies.has(peer)) {
          peer = runtime.header(req, 'x-forwarded-for')?.split(',').pop()?.trim() || peer
        }
        const share = budget.shares.of(trustedPeers.has(peer) ? undefined : peer)
        // A declared length over the limit: refused before a byte is read, by the branch of a body that grew too large.
        const body: Read = length > maxBodyBytes ? { _tag: 'TooLarge', size: length }
          : runtime.readBody(req, Number.isSafeInteger(length) && length > 0 ? length : 0, limits, share)
        answer = body instanceof Promise
          ? body.then((read) => answerBody(read, signature, probe, share)) : answerBody(body, signature, probe, share)
      }
    } catch (error) {
      answer = failed(error)
    }
    if (!(answer instanceof Promise)) return finish(answer, probe)
    const settled = answer.catch(failed)
    return probe === undefined ? settled : settled.then((done) => finish(done, probe))
  }
  return handle
}

/** What the head alone decides: 405 for another method, 415 for a content type that is present and not JSON. */
export function checkHead(method: string | undefined, contentType: Header): AdapterResponse | null {
  if (method !== 'POST') return response('method_not_allowed', 'Only POST')
  const json = !contentType || JSON_TYPE.test(contentType)
  return json ? null : response('unsupported_media_type', 'Content-Type must be application/json')
}
