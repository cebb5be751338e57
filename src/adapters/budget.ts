/**
 * What an adapter may hold at once: a body is read whole before its HMAC is checked, so without a bound
 * anyone who can connect makes the server buffer `maxBodyBytes` each. Past it: 503, the connector retries.
 */
import { positiveInteger } from '../internal/options.js'

/** Limits of an {@link InFlightBudget}; each has a default. */
export interface InFlightBudgetOptions {
  /** Body bytes held by reads in progress, from the declared length or as they arrive. Default 32 MiB. */
  readonly maxBytes?: number | undefined
  /** Bodies being read at once, whatever their size. Default 1024. */
  readonly maxRequests?: number | undefined
  /** Accepted deliveries whose async callbacks have not settled yet, answered or not. Default 512. */
  readonly maxPendingCallbacks?: number | undefined
}

/**
 * A budget of work in flight, for one adapter or shared by several (pass one as `budget` to each);
 * every adapter makes its own when none is given. Past `maxBytes` or `maxRequests` a body is answered
 * 503 `overloaded` and its connection closed; past `maxPendingCallbacks` a delivery is answered 503 and
 * not emitted, so the connector's retry is its only delivery. A delivery answered 2xx has its callbacks run.
 *
 * @example
 * ```ts
 * import { InFlightBudget, createNodeMiddleware } from 'autoplay-rx/node'
 * import { createFetchHandler } from 'autoplay-rx/web'
 *
 * const budget = new InFlightBudget({ maxBytes: 16 * 1024 * 1024, maxPendingCallbacks: 100 })
 * const middleware = createNodeMiddleware(receiver, { budget })
 * const handler = createFetchHandler(receiver, { budget }) // the same 16 MiB for both
 * ```
 */
export class InFlightBudget {
  /** As given to the constructor, or its default. */
  readonly maxBytes: number
  /** As given to the constructor, or its default. */
  readonly maxRequests: number
  /** As given to the constructor, or its default. */
  readonly maxPendingCallbacks: number
  private heldBytes = 0
  private reading = 0
  private pending = 0

  /** @throws TypeError when a limit is not a positive integer */
  constructor(options: InFlightBudgetOptions = {}) {
    this.maxBytes = options.maxBytes ?? 32 * 1024 * 1024
    this.maxRequests = options.maxRequests ?? 1024
    this.maxPendingCallbacks = options.maxPendingCallbacks ?? 512
    for (const key of ['maxBytes', 'maxRequests', 'maxPendingCallbacks'] as const) {
      positiveInteger(`budget ${key}`, this[key])
    }
  }

  /** Body bytes held now by reads in progress. */
  get bytes(): number {
    return this.heldBytes
  }

  /** Bodies being read now. */
  get requests(): number {
    return this.reading
  }

  /** Deliveries whose callbacks are still running. */
  get pendingCallbacks(): number {
    return this.pending
  }

  /** Starts a read holding `bytes`, if a slot and the bytes are free; each `true` ends with one {@link endRead}. */
  startRead(bytes: number): boolean {
    if (this.reading >= this.maxRequests || this.heldBytes + bytes > this.maxBytes) return false
    this.reading++
    this.heldBytes += bytes
    return true
  }

  /** Holds `bytes` more for a read in progress, if they are free. */
  hold(bytes: number): boolean {
    if (this.heldBytes + bytes > this.maxBytes) return false
    this.heldBytes += bytes
    return true
  }

  /** Ends a read, giving back the `bytes` it held. */
  endRead(bytes: number): void {
    this.reading--
    this.heldBytes -= bytes
  }

  /** Whether one more delivery's callbacks may not run. */
  get callbacksFull(): boolean {
    return this.pending >= this.maxPendingCallbacks
  }

  /** Counts a delivery's callbacks as pending until `settled` settles (a rejection ends the count too). */
  trackCallbacks(settled: PromiseLike<unknown>): void {
    this.pending++
    const done = () => { this.pending-- }
    settled.then(done, done)
  }
}

/** Whether `value` is a budget, by shape: a copy from the other module format (ESM/CommonJS) is one too. */
export function isBudget(value: unknown): value is InFlightBudget {
  const budget = value as InFlightBudget | null
  return typeof budget === 'object' && budget !== null &&
    (['startRead', 'hold', 'endRead', 'trackCallbacks'] as const).every((name) => typeof budget[name] === 'function')
}
