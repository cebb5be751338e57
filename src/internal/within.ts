// The one timeout race: the adapters bound `persist` and the callbacks they wait for with it, the telemetry its
// Redis reads, the summarizer and the Redis bridge their calls; a promise that never settles cannot hold them.

const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Resolves with what `promise` settles to, or with `fallback` once `ms` have passed, whichever
 * comes first; the timer is cleared either way. A rejection passes through.
 */
export function within<A, F>(promise: PromiseLike<A>, ms: number, fallback: F): Promise<A | F> {
  let timer: ReturnType<typeof setTimeout> | undefined
  // setTimeout fires at once past 2^31 - 1 ms (about 24.8 days): a longer wait is that long.
  const timeout = new Promise<F>((resolve) => { timer = setTimeout(resolve, Math.min(ms, MAX_TIMER_MS), fallback) })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

const TIMED_OUT = Symbol('timed out')

/** `promise`, rejected with a `TimeoutError` (a DOMException) naming `who` if it has not settled within `ms`. */
export const bounded = <A>(promise: PromiseLike<A>, ms: number, who: string): Promise<A> =>
  within(promise, ms, TIMED_OUT).then((value) => {
    if (value === TIMED_OUT) throw new DOMException(`${who} did not answer within ${ms} ms`, 'TimeoutError')
    return value
  })
