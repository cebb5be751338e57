/**
 * The reconnect delay of the SSE source, as a pure function so that the
 * policy (floor, doubling, cap, jitter, the server's `retry:`) is testable
 * without a clock.
 */

/**
 * The delay before reconnection number `retry` (1-based, counted since the
 * last stable connection): `baseMs`, raised to `minMs`, doubled per retry
 * and capped at `maxMs`, plus 0–10 % jitter drawn from `random`. A base
 * above `maxMs` (a server asking for a long `retry:`) is honoured rather
 * than cut.
 *
 * @param retry - 1 for the first reconnection
 * @param baseMs - `initialBackoffMs`, or the server's `retry:` field once it sent one
 * @param minMs - `minBackoffMs`, the floor under every delay; must be positive
 * @param maxMs - `maxBackoffMs`
 * @param random - a number in [0, 1), `Math.random` in production
 * @returns whole milliseconds
 *
 * @example
 * ```ts
 * backoffDelay(1, 1000, 250, 30000, () => 0)   // 1000
 * backoffDelay(4, 1000, 250, 30000, () => 0)   // 8000
 * backoffDelay(9, 1000, 250, 30000, () => 0.5) // 31500: capped at 30 s, plus 5 %
 * backoffDelay(2, 0, 250, 30000, () => 0)      // 500: a server's `retry: 0` starts from the floor
 * ```
 */
export function backoffDelay(retry: number, baseMs: number, minMs: number, maxMs: number, random: () => number): number {
  // Without a floor, a server's `retry: 0` doubles nothing and a reconnect loop runs hot.
  const base = Math.max(baseMs, minMs)
  const delay = Math.min(base * 2 ** (retry - 1), Math.max(maxMs, base))
  const jitter = Math.min(Math.max(random(), 0), 1)
  return Math.round(delay * (1 + 0.1 * jitter))
}
