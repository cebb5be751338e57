/**
 * The adapters' options: what each means, their defaults, and the checks
 * that refuse options which cannot work. The body limit is not here: it
 * belongs to the receiver (`new WebhookReceiver({ maxBodyBytes })`), which
 * is the one owner of it.
 */
import type { Payload } from '../codecs.js'
import type { WebhookReceiver } from '../receiver.js'
import { InFlightBudget, isBudget } from './budget.js'
import { positiveNumber } from '../internal/options.js'

/**
 * Options shared by every adapter. All are optional. The largest body is
 * the receiver's `maxBodyBytes`.
 *
 * @example
 * ```ts
 * const receiver = new WebhookReceiver({ secret, maxBodyBytes: 256 * 1024 }) // the body limit lives here
 * const options: AdapterOptions = {
 *   path: '/events',          // a plain http.createServer handler: other paths get 404
 *   ack: 'on-accept',         // answer once verified and decoded, without waiting for callbacks
 *   persist: redisAppender(redis, { stream: 'autoplay:events' }), // answer 200 only once stored
 * }
 * createServer(createNodeMiddleware(receiver, options)).listen(8787)
 * ```
 */
export interface AdapterOptions {
  /**
   * The route's path, for a plain `http.createServer` handler, `app.use(middleware)`
   * or a Fetch handler that sees every request: other paths fall through to
   * `next()` where there is one, else get 404. Leave unset when the framework
   * routes (`app.post('/events', middleware)`). Fastify's plugin requires it.
   */
  readonly path?: string
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

/** The options with defaults applied, and the receiver's body limit. */
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
  if ('maxBodyBytes' in options) {
    // Removed in the redesign: a silently ignored limit would be worse than a loud one.
    throw new TypeError('autoplay-rx: maxBodyBytes is set on the WebhookReceiver only (new WebhookReceiver({ secret, maxBodyBytes }))')
  }
  const resolved: ResolvedOptions = {
    path: options.path,
    maxBodyBytes: receiver.maxBodyBytes,
    ack: options.ack ?? 'after-callbacks',
    ackTimeoutMs: options.ackTimeoutMs ?? 5000,
    retryOnCallbackError: options.retryOnCallbackError ?? false,
    bodyTimeoutMs: options.bodyTimeoutMs ?? 10_000,
    persist: options.persist,
    persistTimeoutMs: options.persistTimeoutMs ?? 2000,
    budget: options.budget ?? new InFlightBudget(),
  }
  for (const key of ['ackTimeoutMs', 'bodyTimeoutMs', 'persistTimeoutMs'] as const) positiveNumber(key, resolved[key])
  if (resolved.path !== undefined && !(typeof resolved.path === 'string' && resolved.path.startsWith('/'))) {
    throw new TypeError('autoplay-rx: path must be a string starting with /')
  }
  if (!isBudget(resolved.budget)) throw new TypeError('autoplay-rx: budget must be an InFlightBudget')
  if (resolved.persist !== undefined && typeof resolved.persist !== 'function') throw new TypeError('autoplay-rx: persist must be a function')
  if (resolved.ack !== 'after-callbacks' && resolved.ack !== 'on-accept') {
    throw new TypeError(`autoplay-rx: ack must be 'after-callbacks' or 'on-accept'`)
  }
  return resolved
}
