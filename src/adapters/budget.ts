/**
 * What an adapter may hold at once: a body is read whole before its HMAC is checked, so without a bound
 * anyone who can connect makes the server buffer `maxBodyBytes` each. Past it: 503, the connector retries.
 */
import { positiveInteger } from '../internal/options.js'

/** Limits of an {@link InFlightBudget}; each has a default. */
export interface InFlightBudgetOptions {
  /** Body bytes held by reads in progress, as they arrive. Default 32 MiB. */
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
 * While others compete, each remote address is held to a share of each limit (docs/reliability.md).
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
  // `declare`: set in the constructor, with no field defined first (less code in a bundle).
  /** As given to the constructor, or its default. */
  declare readonly maxBytes: number
  /** As given to the constructor, or its default. */
  declare readonly maxRequests: number
  /** As given to the constructor, or its default. */
  declare readonly maxPendingCallbacks: number
  #bytes = 0
  #requests = 0
  #pending = 0
  /** @internal What each remote address holds: `shares.of(peer)` is passed to the calls below. */
  readonly shares = shareTable()

  /** @throws TypeError when a limit is not a positive integer */
  constructor(options: InFlightBudgetOptions = {}) {
    this.maxBytes = positiveInteger('budget maxBytes', options.maxBytes ?? 32 * 1024 * 1024)
    this.maxRequests = positiveInteger('budget maxRequests', options.maxRequests ?? 1024)
    this.maxPendingCallbacks = positiveInteger('budget maxPendingCallbacks', options.maxPendingCallbacks ?? 512)
  }

  // Over the limit, or over the share of `share`'s address.
  #over(share: Share, held: number, used: number, max: number): boolean {
    return used > max || this.shares.over(share, held, used, max)
  }

  /** Body bytes held now by reads in progress. */
  get bytes(): number {
    return this.#bytes
  }

  /** Bodies being read now. */
  get requests(): number {
    return this.#requests
  }

  /** Deliveries whose callbacks are still running. */
  get pendingCallbacks(): number {
    return this.#pending
  }

  /** Starts a read holding `bytes` if a slot, the bytes and its share are free; each `true` ends in {@link endRead}. */
  startRead(bytes: number, share: Share = EXEMPT): boolean {
    if (this.#over(share, share.reads + 1, this.#requests + 1, this.maxRequests) || !this.hold(bytes, share)) {
      return false
    }
    this.#requests++
    share.reads++
    return true
  }

  /** Holds `bytes` more for a read in progress, if they and its share are free. */
  hold(bytes: number, share: Share = EXEMPT): boolean {
    if (this.#over(share, share.bytes + bytes, this.#bytes + bytes, this.maxBytes)) return false
    this.#bytes += bytes
    share.bytes += bytes
    return true
  }

  /** Ends a read, giving back the `bytes` it held. */
  endRead(bytes: number, share: Share = EXEMPT): void {
    this.#requests--
    this.#bytes -= bytes
    share.reads--
    share.bytes -= bytes
  }

  /** Whether one more delivery's callbacks from `share`'s address may not run. */
  callbacksFull(share: Share = EXEMPT): boolean {
    return this.#over(share, share.pending + 1, this.#pending + 1, this.maxPendingCallbacks)
  }

  /** Counts a delivery's callbacks as pending until `settled` settles (a rejection ends the count too). */
  trackCallbacks(settled: PromiseLike<unknown>, share: Share = EXEMPT): void {
    this.#pending++
    share.pending++
    const done = () => {
      this.#pending--
      share.pending--
    }
    settled.then(done, done)
  }
}

/** What one remote address holds: reads, body bytes, pending callbacks (or connections, in `reads`). */
export interface Share {
  reads: number
  bytes: number
  pending: number
  /** The generation of its table it was last seen in. */
  seen: number
}

/** The share of every exempt address (trusted, or not known): counted, never over. */
const EXEMPT: Share = { reads: 0, bytes: 0, pending: 0, seen: 0 }

/**
 * Who holds what, by remote address. Under contention, when more than half of a limit is used, an
 * address may not hold more than the larger of an eighth of it and an even split among the addresses
 * seen lately; alone, an address may use it all, so a connector behind one load balancer is never
 * starved by its own share. Addresses seen in the last 1,024 to 2,048 calls count, idle ones are forgotten.
 */
export interface Shares {
  /** The share of `peer`, or of the exempt ones when it is `undefined`; it counts as seen. */
  of(peer: string | undefined): Share
  /** Whether `share`, holding `held` once `used` of `max` is held in all, is over its share. */
  over(share: Share, held: number, used: number, max: number): boolean
}

export function shareTable(): Shares {
  const held = new Map<string, Share>()
  let generation = 0
  let calls = 0
  return {
    of: (peer) => {
      if (peer === undefined) return EXEMPT
      let share = held.get(peer)
      if (share === undefined) held.set(peer, (share = { reads: 0, bytes: 0, pending: 0, seen: 0 }))
      share.seen = generation
      if (++calls === 1024) {
        // Forgets the idle addresses not seen in this generation.
        calls = 0
        for (const [address, { seen, reads, bytes, pending }] of held) {
          if (seen !== generation && reads + bytes + pending === 0) held.delete(address)
        }
        generation++
      }
      return share
    },
    over: (share, used, all, max) => share !== EXEMPT && all * 2 > max && used * Math.min(8, held.size) > max,
  }
}

/** Whether `value` is a budget, by shape: a copy from the other module format (ESM/CommonJS) is one too. */
export function isBudget(value: unknown): value is InFlightBudget {
  const budget = value as InFlightBudget | null
  return typeof budget === 'object' && budget !== null &&
    (['startRead', 'hold', 'endRead', 'trackCallbacks'] as const).every((name) => typeof budget[name] === 'function')
}
