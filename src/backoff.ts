/**
 * The library's one backoff: the SSE source, the Redis reader, `send` and the CLI's Redis reconnects
 * all space their attempts with {@link backoffDelay}, a pure function (no clock).
 */

/** How a backoff grows; only `initialMs` and `maxMs` are required. */
export interface BackoffPolicy {
  /** The first delay, in ms. */
  readonly initialMs: number
  /** The cap of the growing delay before jitter, in ms; a base above it (a server's `retry:`) is kept, up to 10×. */
  readonly maxMs: number
  /** The floor under every delay, in ms; default 1, so that `initialMs: 0` never retries in a hot loop. */
  readonly minMs?: number | undefined
  /** The growth per attempt; default 2. */
  readonly factor?: number | undefined
  /** The largest jitter added on top, as a fraction of the delay; default 0.1. 0 for exact delays. */
  readonly jitter?: number | undefined
}

/**
 * The delay before attempt `attempt` (1-based, since the last success), in whole ms: `initialMs` raised
 * to `minMs` and cut at 10 × `maxMs`, times `factor` per attempt, capped at `maxMs` (or that base, if
 * above), plus up to `jitter` of itself drawn from `random` (clamped to [0, 1]).
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const { initialMs, maxMs, minMs = 1, factor = 2, jitter = 0.1 } = policy
  // A base above the cap (a server's retry:) is honoured up to ten caps: an untrusted time needs a ceiling.
  const base = Math.min(Math.max(initialMs, minMs), Math.max(10 * maxMs, minMs))
  // factor ** n overflows to Infinity on a very high attempt; the cap absorbs it.
  const delay = Math.min(base * factor ** (attempt - 1), Math.max(maxMs, base))
  const draw = Math.min(Math.max(random(), 0), 1)
  return Math.round(delay * (1 + jitter * draw))
}
