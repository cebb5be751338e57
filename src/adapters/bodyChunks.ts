/**
 * The one accumulator of a body's chunks under the size limit and the
 * in-flight budget, for every reader (Node streams in nodeBody.ts, Fetch
 * API streams in web.ts): runtime-free, bytes as `Uint8Array`.
 */
import type { InFlightBudget } from './budget.js'
import type { BodyLimits, BodyOutcome } from './middleware.js'

const OVER_BUDGET: BodyOutcome = { _tag: 'OverBudget' }

/**
 * The chunks of one body read so far. Made by {@link startBody}, which takes
 * the read slot; `end` gives back what the read held, once, however the
 * read ended.
 */
export class BodyChunks {
  private readonly chunks: Uint8Array[] = []
  private size = 0
  private ended = false

  constructor(
    private readonly limit: number,
    private readonly budget: InFlightBudget,
    /** Bytes held in the budget: the declared length, then as much as arrived. */
    private held: number,
  ) {}

  /** Takes a chunk: `null`, or why the read must stop now (the chunk is then not kept). */
  add(chunk: Uint8Array): BodyOutcome | null {
    const size = (this.size += chunk.byteLength)
    if (size > this.limit) return { _tag: 'TooLarge', size }
    if (size > this.held) {
      if (!this.budget.hold(size - this.held)) return OVER_BUDGET
      this.held = size
    }
    this.chunks.push(chunk)
    return null
  }

  /** The whole body, one view (a single chunk is not copied). */
  body(): BodyOutcome {
    const { chunks, size } = this
    if (chunks.length === 1) return { _tag: 'Body', bytes: chunks[0]! }
    const bytes = new Uint8Array(size)
    let offset = 0
    for (const chunk of chunks) {
      bytes.set(chunk, offset)
      offset += chunk.byteLength
    }
    return { _tag: 'Body', bytes }
  }

  /** Gives back the budget the read held; later calls do nothing. */
  end(): void {
    if (this.ended) return
    this.ended = true
    this.budget.endRead(this.held)
  }
}

/**
 * Starts reading a body: its chunks, or `null` when the read slot or the
 * declared length does not fit the budget (answer `OverBudget`).
 */
export function startBody({ maxBodyBytes, budget }: BodyLimits, declared: number): BodyChunks | null {
  return budget.startRead(declared) ? new BodyChunks(maxBodyBytes, budget, declared) : null
}
