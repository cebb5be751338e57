// The one timeout race: the adapters bound `persist` and the callbacks they wait for with it, and the
// telemetry bounds its Redis reads; a promise that never settles cannot hold an answer or a gauge.

/**
 * Resolves with what `promise` settles to, or with `fallback` once `ms` have passed, whichever
 * comes first; the timer is cleared either way. A rejection passes through.
 */
export function within<A, F>(promise: PromiseLike<A>, ms: number, fallback: F): Promise<A | F> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<F>((resolve) => { timer = setTimeout(resolve, ms, fallback) })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
