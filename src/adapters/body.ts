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

/** One read in progress, as its source and the deadline sweep see it. */
export interface BodyRead extends Expiring {
  /** Takes a chunk; `false` once the read is over (the chunk is then not kept). */
  chunk(bytes: Uint8Array): boolean
  /** The body ended: one view of it (a lone chunk is not copied). */
  end(): void
  /** Ends the read before the body did: the source is stopped. Returns `false`, for `chunk`. */
  fail(outcome: BodyOutcome): false
}

/**
 * Reads `source` whole under `limits`, within its sender's `share` of the budget. It holds bytes as they arrive,
 * or `held` from the start (a source whose chunks the budget cannot see). Never rejects.
 */
export function readBody(source: ChunkSource, held: number, limits: BodyLimits, share: Share) {
  const { budget, deadlines, bodyTimeoutMs } = limits
  if (!budget.startRead(held, share)) {
    source.stop()
    return OVER_BUDGET
  }
  return new Promise<BodyOutcome>((resolve) => {
    const chunks: Uint8Array[] = []
    let size = 0
    let settled = false
    const started = Date.now()
    // Any outcome but the body ends the read before the body did: the source is stopped.
    const settle = (outcome: BodyOutcome): false => {
      if (!settled) {
        settled = true
        if (outcome._tag !== 'Body') {
          source.stop()
          chunks.length = 0
        }
        budget.endRead(held, share)
        deadlines.remove(read)
        resolve(outcome)
      }
      return false
    }
    // `chunks` is there for a spec to see that a read cut short lets its chunks go.
    const read: BodyRead & { chunks: Uint8Array[] } = {
      chunks,
      fail: settle,
      chunk: (bytes) => {
        if (settled) return false
        size += bytes.byteLength
        if (size > limits.maxBodyBytes) return settle({ _tag: 'TooLarge', size })
        if (size > held) {
          if (!budget.hold(size - held, share)) return settle(OVER_BUDGET)
          held = size
        }
        chunks.push(bytes)
        return true
      },
      end: () => {
        // A read already over (timed out, too large) keeps nothing: a late end must not build the body.
        if (settled) return
        let bytes = chunks[0]!
        if (chunks.length !== 1) {
          bytes = new Uint8Array(size)
          let offset = 0
          for (const chunk of chunks) {
            bytes.set(chunk, offset)
            offset += chunk.byteLength
          }
        }
        settle({ _tag: 'Body', bytes })
      },
      check: (now) => {
        const elapsed = now - started
        if (source.gone?.()) settle(ABORTED)
        // A body trickled in, or never sent, holds a slot for nothing: cut below the rate after a second.
        else if (elapsed > 1000 && size * 1000 < limits.minBodyRate * elapsed) settle(TOO_SLOW)
        else if (elapsed >= bodyTimeoutMs) settle(TIMEOUT)
      },
    }
    deadlines.add(read)
    source.start(read)
  })
}
