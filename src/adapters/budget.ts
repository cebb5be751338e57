/**
 * What an adapter may hold in memory at once. Before the HMAC can be
 * checked a body must be read whole, so without a bound anyone who can
 * open connections (no secret needed) makes the server buffer
 * `maxBodyBytes` per connection; and a delivery answered before its slow
 * async callbacks finish leaves work queued behind the answer. The budget
 * bounds both; past it the adapters answer 503 so the connector retries.
 */
import { positiveInteger } from '../internal/options.js'

/**
 * Limits of an {@link InFlightBudget}; every field is optional.
 *
 * @example
 * ```ts
 * // A 512 MiB container: at most 64 MiB of bodies in flight, and few slow callbacks queued.
 * const options: InFlightBudgetOptions = { maxBytes: 64 * 1024 * 1024, maxPendingCallbacks: 128 }
 * createNodeMiddleware(receiver, { budget: new InFlightBudget(options) })
 * ```
 */
export interface InFlightBudgetOptions {
  /**
   * Body bytes held by reads in progress, counted from the declared
   * `Content-Length` (so a body that stalls holds its whole length from the
   * start) or, for a chunked body, as bytes arrive. Default 32 MiB.
   */
  readonly maxBytes?: number
  /** Bodies being read at once, whatever their size. Default 1024. */
  readonly maxRequests?: number
  /**
   * Accepted deliveries whose async callbacks (`onActions`, `onSummary`)
   * have not settled yet, answered or not. Default 512.
   */
  readonly maxPendingCallbacks?: number
}

/**
 * A budget of work in flight for one adapter, or shared by several in one
 * process (create one and pass it as `budget` to each). Every adapter
 * creates its own when none is given: there is no global state.
 *
 * The adapters answer 503 `overloaded` when a body would not fit
 * (`maxBytes`, `maxRequests`; the connection is closed, the rest never
 * read) and when a delivery arrives while `maxPendingCallbacks` deliveries
 * still have callbacks running (nothing is emitted for it, so the
 * connector's retry is its only delivery). A delivery answered 2xx always
 * has its callbacks run.
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
  /** See {@link InFlightBudgetOptions.maxBytes}. */
  readonly maxBytes: number
  /** See {@link InFlightBudgetOptions.maxRequests}. */
  readonly maxRequests: number
  /** See {@link InFlightBudgetOptions.maxPendingCallbacks}. */
  readonly maxPendingCallbacks: number
  private heldBytes = 0
  private reading = 0
  private pending = 0

  /**
   * @param options - the limits; omitted ones take their defaults
   * @throws TypeError when a limit is not a positive integer
   */
  constructor(options: InFlightBudgetOptions = {}) {
    this.maxBytes = options.maxBytes ?? 32 * 1024 * 1024
    this.maxRequests = options.maxRequests ?? 1024
    this.maxPendingCallbacks = options.maxPendingCallbacks ?? 512
    for (const key of ['maxBytes', 'maxRequests', 'maxPendingCallbacks'] as const) positiveInteger(`budget ${key}`, this[key])
  }

  /** Body bytes held now by reads in progress (never above `maxBytes`). */
  get bytes(): number {
    return this.heldBytes
  }

  /** Bodies being read now (never above `maxRequests`). */
  get requests(): number {
    return this.reading
  }

  /** Deliveries whose callbacks are still running (never above `maxPendingCallbacks`). */
  get pendingCallbacks(): number {
    return this.pending
  }

  /**
   * Starts a body read holding `bytes`, if a read slot and the bytes are
   * free; otherwise takes nothing. Each `true` must be paired with one
   * {@link endRead} of everything the read holds by then.
   *
   * @param bytes - the declared length, or 0 when unknown
   * @returns whether the read may go on
   */
  startRead(bytes: number): boolean {
    if (this.reading >= this.maxRequests || this.heldBytes + bytes > this.maxBytes) return false
    this.reading++
    this.heldBytes += bytes
    return true
  }

  /**
   * Holds `bytes` more for a read in progress (a chunked body, or one longer
   * than declared), if they are free; otherwise takes nothing.
   *
   * @returns whether they were taken
   */
  hold(bytes: number): boolean {
    if (this.heldBytes + bytes > this.maxBytes) return false
    this.heldBytes += bytes
    return true
  }

  /** Ends a read started with {@link startRead}, giving back the `bytes` it held. */
  endRead(bytes: number): void {
    this.reading--
    this.heldBytes -= bytes
  }

  /** Whether one more delivery's callbacks may run (see `maxPendingCallbacks`). */
  get callbacksFull(): boolean {
    return this.pending >= this.maxPendingCallbacks
  }

  /**
   * Counts a delivery's callbacks as pending until `settled` settles.
   *
   * @param settled - a promise that settles when the callbacks have (it may reject: that ends the count too)
   */
  trackCallbacks(settled: PromiseLike<unknown>): void {
    this.pending++
    const done = () => { this.pending-- }
    settled.then(done, done)
  }
}

/**
 * Whether `value` is a budget, by shape: a copy from the other module
 * format (ESM/CommonJS) is one too, where `instanceof` would say no.
 *
 * @example
 * ```ts
 * isBudget(new InFlightBudget()) // true
 * isBudget({ maxBytes: 1024 }) // false: options, not a budget
 * ```
 */
export function isBudget(value: unknown): value is InFlightBudget {
  const budget = value as InFlightBudget | null
  return typeof budget === 'object' && budget !== null && typeof budget.startRead === 'function' &&
    typeof budget.hold === 'function' && typeof budget.endRead === 'function' && typeof budget.trackCallbacks === 'function'
}
