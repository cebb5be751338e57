/**
 * The adapters' options, their defaults, and the checks that refuse options which cannot work. The
 * body limit is not here: its one owner is the receiver (`new WebhookReceiver({ maxBodyBytes })`).
 */
import type { Payload, UsertourTriggerPayload } from '../codecs.js'
import { InFlightBudget, isBudget } from './budget.js'
import { must, positiveNumber } from '../internal/options.js'

/**
 * Options shared by every adapter; all optional. The largest body is the receiver's `maxBodyBytes`.
 *
 * @example
 * ```ts
 * createNodeMiddleware(receiver, { path: '/events', persist: redisAppender(redis, { stream: 'events' }) })
 * ```
 */
export interface AdapterOptions {
  /**
   * The route's path, for a handler that sees every request: other paths go to `next()` where there is
   * one, else get 404. Leave unset where the framework routes. Fastify's plugin requires it.
   */
  readonly path?: string | undefined
  /** `'after-callbacks'` (default): answer once the delivery's callbacks settled; `'on-accept'`: once decoded. */
  readonly ack?: 'after-callbacks' | 'on-accept' | undefined
  /** The longest wait for callbacks before answering 202 and letting them finish; default 5000 ms. */
  readonly ackTimeoutMs?: number | undefined
  /** Answer 500 (so the connector retries) when a callback of the delivery failed. Default false. */
  readonly retryOnCallbackError?: boolean | undefined
  /** The longest time to receive the whole body once the headers are in; default 10000 ms. */
  readonly bodyTimeoutMs?: number | undefined
  /**
   * A durable write that must succeed before the connector is acknowledged (`redisAppender`), given every
   * accepted event (a `usertour_trigger` too) and the body bytes its signature was checked over (not to be
   * changed): when it fails or outlasts `persistTimeoutMs` the answer is 503 and the connector retries.
   */
  readonly persist?: ((payload: Payload | UsertourTriggerPayload, body: Uint8Array) => PromiseLike<unknown>) | undefined
  /** The longest wait for `persist`; default 2000 ms. */
  readonly persistTimeoutMs?: number | undefined
  /** What this adapter may hold at once (past it: 503); share one between adapters. Default: its own. */
  readonly budget?: InFlightBudget | undefined
  /** The slowest a body may arrive, in bytes per second averaged from its head, after 1 s; default 4096. */
  readonly minBodyRate?: number | undefined
  /** Remote addresses held to no share of the budget (docs/reliability.md); default none. */
  readonly trustedPeers?: ReadonlyArray<string> | undefined
  /** Proxies whose last `X-Forwarded-For` address is taken as the remote address; default none. */
  readonly trustedProxies?: ReadonlyArray<string> | undefined
}

/** The options with defaults applied, and the receiver's body limit. */
export type ResolvedOptions = ReturnType<typeof resolveOptions>

/** Applies defaults, and refuses options that cannot work. */
export function resolveOptions(maxBodyBytes: number, options: AdapterOptions = {}) {
  // A silently ignored limit would be worse than a loud one.
  const misplaced = (options as { maxBodyBytes?: unknown }).maxBodyBytes
  must(misplaced === undefined, 'maxBodyBytes', 'set on the WebhookReceiver only')
  const resolved = {
    path: options.path,
    maxBodyBytes,
    ack: options.ack ?? ('after-callbacks' as const),
    ackTimeoutMs: options.ackTimeoutMs ?? 5000,
    retryOnCallbackError: options.retryOnCallbackError ?? false,
    bodyTimeoutMs: options.bodyTimeoutMs ?? 10_000,
    persist: options.persist,
    persistTimeoutMs: options.persistTimeoutMs ?? 2000,
    budget: options.budget ?? new InFlightBudget(),
    minBodyRate: options.minBodyRate ?? 4096,
    // Of strings: an unknown address (`undefined`) is in neither.
    trustedPeers: new Set<string | undefined>(options.trustedPeers),
    trustedProxies: new Set<string | undefined>(options.trustedProxies),
  }
  for (const key of ['ackTimeoutMs', 'bodyTimeoutMs', 'persistTimeoutMs', 'minBodyRate'] as const) {
    positiveNumber(key, resolved[key])
  }
  const { path, persist, ack } = resolved
  must(path === undefined || (typeof path === 'string' && path.startsWith('/')), 'path', 'a string starting with /')
  must(isBudget(resolved.budget), 'budget', 'an InFlightBudget')
  must(persist === undefined || typeof persist === 'function', 'persist', 'a function')
  must(ack === 'after-callbacks' || ack === 'on-accept', 'ack', `'after-callbacks' or 'on-accept'`)
  return resolved
}
