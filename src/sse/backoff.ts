/**
 * The reconnect delay of the SSE source, as a pure function so that the
 * policy (doubling, cap, jitter, the server's `retry:`) is testable without
 * a clock.
 */

/**
 * The delay before reconnection number `retry` (1-based, counted since the
 * last successful connect): `baseMs` doubled per retry and capped at
 * `maxMs`, plus 0–10 % jitter drawn from `random`. A `baseMs` above `maxMs`
 * (a server asking for a long `retry:`) is honoured rather than cut.
 *
 * @param retry - 1 for the first reconnection
 * @param baseMs - `initialBackoffMs`, or the server's `retry:` field once it sent one
 * @param maxMs - `maxBackoffMs`
 * @param random - a number in [0, 1), `Math.random` in production
 * @returns whole milliseconds
 *
 * @example
 * ```ts
 * backoffDelay(1, 1000, 30000, () => 0)   // 1000
 * backoffDelay(4, 1000, 30000, () => 0)   // 8000
 * backoffDelay(9, 1000, 30000, () => 0.5) // 31500: capped at 30 s, plus 5 %
 * ```
 */
export function backoffDelay(retry: number, baseMs: number, maxMs: number, random: () => number): number {
  const cap = Math.max(maxMs, baseMs)
  // A server's `retry: 0` must not turn repeated failures into a hot loop: the
  // first reconnection is immediate, later ones double from 1 ms.
  const doubled = retry <= 1 ? baseMs : Math.max(baseMs, 1) * 2 ** (retry - 1)
  const delay = Math.min(doubled, cap)
  const jitter = Math.min(Math.max(random(), 0), 1)
  return Math.round(delay * (1 + 0.1 * jitter))
}
