/** Whether a value a user's function returned is a promise (any thenable). */
export const isThenable = (x: unknown): x is PromiseLike<unknown> =>
  (typeof x === 'object' || typeof x === 'function') && x !== null &&
  typeof (x as PromiseLike<unknown>).then === 'function'
