/**
 * The one body accumulator of every adapter: a runtime's chunks ({@link ChunkSource}) gathered under the
 * size limit, the in-flight budget and the deadline; it holds what arrived, never a buffer of the declared length.
 */
import type { InFlightBudget, Share } from './budget.js'
import type { Deadlines, Expiring } from './deadlines.js'

/** How reading a request body ended. */
export type BodyOutcome =
  | { readonly _tag: 'Body'; readonly bytes: Uint8Array | string }
  /** Something read the body first (a body parser): the signed bytes are gone. */
  | { readonly _tag: 'NotRaw'; readonly received: unknown; readonly hint?: string }
  | { readonly _tag: 'TooLarge'; readonly size: number }
  | { readonly _tag: 'Timeout' }
  /** Slower than `minBodyRate`. */
  | { readonly _tag: 'TooSlow' }
  /** The client went away, or the stream broke, before the body ended. */
  | { readonly _tag: 'Aborted' }
  | { readonly _tag: 'OverBudget' }

/** What a body read works under. */
export interface BodyLimits {
  readonly maxBodyBytes: number
  readonly bodyTimeoutMs: number
  /** Bytes per second a body must average, from its first second on. */
  readonly minBodyRate: number
  readonly budget: InFlightBudget
  /** One sweep shared by every read of an adapter: a timer per request costs more than a small delivery. */
  readonly deadlines: Deadlines
}

/** A runtime's body as chunks, pushed into the read it is started with. */
export interface ChunkSource {
  /** Pushes `read.chunk` for each chunk, then `read.end()`; `read.fail(outcome)` when the body breaks. */
  start(read: BodyRead): void
  /** The read is over before the body (limit, budget, deadline, failure): push no more, let the body go. */
  stop(): void
  /** Whether the client went away; asked at each deadline sweep. */
  gone?(): boolean
}

export const ABORTED: BodyOutcome = { _tag: 'Aborted' }
const OVER_BUDGET: BodyOutcome = { _tag: 'OverBudget' }
const TIMEOUT: BodyOutcome = { _tag: 'Timeout' }
const TOO_SLOW: BodyOutcome = { _tag: 'TooSlow' }

/**
 * Reads `source` whole under `limits`, within its sender's `share` of the budget. It holds bytes as they arrive,
 * or `held` from the start (a source whose chunks the budget cannot see). Never rejects.
 */
export function readBody(source: ChunkSource, held: number, limits: BodyLimits, share: Share) {
  if (!limits.budget.startRead(held, share)) {
    source.stop()
    return OVER_BUDGET
  }
  return new Promise<BodyOutcome>((resolve) => new BodyRead(source, held, limits, share, resolve).start())
}

/** One read in progress: its chunks, what it holds in the budget, and its deadline. */
export class BodyRead implements Expiring {
  readonly at: number
  private readonly chunks: Uint8Array[] = []
  private size = 0
  private settled = false

  constructor(
    private readonly source: ChunkSource,
    /** Bytes held in the budget: as much as arrived, or more from the start. */
    private held: number,
    private readonly limits: BodyLimits,
    private readonly share: Share,
    private readonly resolve: (outcome: BodyOutcome) => void,
  ) {
    this.at = Date.now() + limits.bodyTimeoutMs
  }

  start(): void {
    this.limits.deadlines.add(this)
    this.source.start(this)
  }

  /** Takes a chunk; `false` once the read is over (the chunk is then not kept). */
  chunk(bytes: Uint8Array): boolean {
    if (this.settled) return false
    const size = (this.size += bytes.byteLength)
    if (size > this.limits.maxBodyBytes) return this.fail({ _tag: 'TooLarge', size })
    if (size > this.held) {
      if (!this.limits.budget.hold(size - this.held, this.share)) return this.fail(OVER_BUDGET)
      this.held = size
    }
    this.chunks.push(bytes)
    return true
  }

  /** The body ended: one view of it (a lone chunk is not copied). */
  end(): void {
    // A read already over (timed out, too large) keeps nothing: a late end must not build the body.
    if (this.settled) return
    const { chunks, size } = this
    if (chunks.length === 1) return this.settle({ _tag: 'Body', bytes: chunks[0]! }, false)
    const bytes = new Uint8Array(size)
    let offset = 0
    for (const chunk of chunks) {
      bytes.set(chunk, offset)
      offset += chunk.byteLength
    }
    this.settle({ _tag: 'Body', bytes }, false)
  }

  /** Ends the read before the body did: the source is stopped. Returns `false`, for {@link chunk}. */
  fail(outcome: BodyOutcome): false {
    this.settle(outcome, true)
    return false
  }

  expire(abandoned: boolean): void {
    this.fail(abandoned ? ABORTED : TIMEOUT)
  }

  abandoned(now: number): boolean {
    if (this.source.gone?.() === true) return true
    // A body trickled in, or never sent, holds a slot for nothing: cut below the rate after a second.
    const elapsed = now - this.at + this.limits.bodyTimeoutMs
    if (elapsed > 1000 && this.size * 1000 < this.limits.minBodyRate * elapsed) this.fail(TOO_SLOW)
    return this.settled
  }

  private settle(outcome: BodyOutcome, early: boolean): void {
    if (this.settled) return
    this.settled = true
    if (early) {
      this.source.stop()
      this.chunks.length = 0
    }
    this.limits.budget.endRead(this.held, this.share)
    this.limits.deadlines.remove(this)
    this.resolve(outcome)
  }
}
