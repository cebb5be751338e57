/**
 * The library's one backoff: the SSE source's reconnections, the Redis
 * reader's retries, `send`'s retries and the CLI's Redis reconnects all
 * space their attempts with {@link backoffDelay}, so one pure function (no
 * clock) says how every part of the library waits.
 */

/**
 * How a backoff grows. Only `initialMs` and `maxMs` are required.
 *
 * @example
 * ```ts
 * const sse: BackoffPolicy = { initialMs: 1000, maxMs: 30_000, minMs: 250 }      // 1 s, 2 s, … 30 s, +0–10 %
 * const redis: BackoffPolicy = { initialMs: 100, maxMs: 5000, jitter: 0 }         // 100 ms, 200 ms, … 5 s, exact
 * ```
 */
export interface BackoffPolicy {
  /** The first delay, in ms. */
  readonly initialMs: number
  /** The cap of the growing delay, before jitter, in ms. A base above it (a server's long `retry:`) is honoured, not cut. */
  readonly maxMs: number
  /** The floor under every delay, `initialMs` included, in ms; default 1, so that `initialMs: 0` never retries in a hot loop. */
  readonly minMs?: number
  /** The growth per attempt; default 2 (doubling). */
  readonly factor?: number
  /** The largest jitter added on top, as a fraction of the delay; default 0.1 (0–10 %). 0 for exact delays. */
  readonly jitter?: number
}

/**
 * The delay before attempt number `attempt` (1-based, counted since the
 * last success): `initialMs`, raised to `minMs`, times `factor` per attempt,
 * capped at `maxMs`, plus up to `jitter` of itself drawn from `random`.
 *
 * @param attempt - 1 for the first retry
 * @param policy - see {@link BackoffPolicy}
 * @param random - a number in [0, 1); default `Math.random`. Values out of range are clamped.
 * @returns whole milliseconds
 *
 * @example
 * ```ts
 * const policy = { initialMs: 1000, maxMs: 30_000, minMs: 250 }
 * backoffDelay(1, policy, () => 0)                    // 1000
 * backoffDelay(4, policy, () => 0)                    // 8000
 * backoffDelay(9, policy, () => 0.5)                  // 31500: capped at 30 s, plus 5 %
 * backoffDelay(2, { ...policy, initialMs: 0 }, () => 0) // 500: a server's `retry: 0` starts from the floor
 * ```
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const { initialMs, maxMs, minMs = 1, factor = 2, jitter = 0.1 } = policy
  const base = Math.max(initialMs, minMs)
  // factor ** n overflows to Infinity on a very high attempt; the cap absorbs it.
  const delay = Math.min(base * factor ** (attempt - 1), Math.max(maxMs, base))
  const draw = Math.min(Math.max(random(), 0), 1)
  return Math.round(delay * (1 + jitter * draw))
}
