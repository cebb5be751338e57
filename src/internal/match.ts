/**
 * The one fold over a tagged union: a handler per `_tag`, each given its
 * own variant. `matchIngestError`, `matchConnectorStreamFailure` and
 * `matchRedisEntryError` are this, typed for their unions.
 */

/** One handler per tag of `U`, each taking its own variant (the public handler types spell it out for their union). */
type TagHandlers<U extends { readonly _tag: string }, R> = {
  readonly [K in U['_tag']]: (value: Extract<U, { readonly _tag: K }>) => R
}

/**
 * Folds a tagged union by `_tag` (data-last, for `pipe`).
 *
 * @param handlers - one function per tag; a missing one is a compile error
 * @returns a function from a value of the union to what its tag's handler returns
 */
export const matchTag = <U extends { readonly _tag: string }, R>(handlers: TagHandlers<U, R>) =>
  (value: U): R => (handlers[value._tag as U['_tag']] as (value: U) => R)(value)
