/** The one fold over a tagged union (public as `match`): a handler per `_tag`, each given its own variant. */

/** A value of a tagged union. */
interface Tagged {
  /** Tells the variants apart. */
  readonly _tag: string
}

type TagHandlers<U extends Tagged, R> = {
  readonly [K in U['_tag']]: (value: Extract<U, { readonly _tag: K }>) => R
}

/** Folds a tagged union by `_tag` (data-last, for `pipe`); a missing handler is a compile error. */
export const matchTag = <U extends Tagged, R>(handlers: TagHandlers<U, R>) =>
  (value: U): R => (handlers[value._tag as U['_tag']] as (value: U) => R)(value)
