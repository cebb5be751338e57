/** The one fold over the library's tagged unions (refusals, SSE failures, Redis entry errors): a handler per `_tag`. */
import { hasOwn } from './internal/compile.js'

/** One handler per tag of `U`, each given its own variant; a missing tag is a compile error. */
type TagHandlers<U extends { readonly _tag: string }, R> = {
  readonly [K in U['_tag']]: (value: Extract<U, { readonly _tag: K }>) => R
}

/** What the handlers of `H` return, as one union. */
type Returned<H> = { [K in keyof H]: H[K] extends (value: never) => infer R ? R : never }[keyof H]

/**
 * Folds a value of a tagged union by its `_tag`: `match(value, handlers)`, or `match<U, R>(handlers)` for a
 * function to pass around (`pipe`, `map`). Each handler receives its own variant, narrowed.
 *
 * @example
 * ```ts
 * import { match, type IngestError } from 'autoplay-rx'
 *
 * receiver.rejected$.subscribe((error: IngestError) => console.log(match(error, {
 *   InvalidSignature: (e) => `forged or misconfigured (${e.reason})`,
 *   MalformedJson: () => 'not JSON', InvalidPayload: (e) => e.issues.map((i) => i.path).join(', '),
 *   UnknownEventType: (e) => `new event type ${e.eventType}`, NotRawBody: () => 'a body parser ran first',
 *   BodyTooLarge: (e) => `${e.size} bytes`, SyncVerificationUnavailable: () => 'use ingestAsync here',
 * })))
 * ```
 */
export function match<U extends { readonly _tag: string }, H extends TagHandlers<U, unknown>>(value: U, handlers: H):
  Returned<H>
export function match<U extends { readonly _tag: string }, R>(handlers: TagHandlers<U, R>): (value: U) => R
export function match(first: unknown, second?: unknown): unknown {
  const fold = (handlers: Table, value: Tagged): unknown => {
    // Own handlers only: a `_tag` of 'toString' or 'constructor' must not find Object's methods.
    const handler = hasOwn.call(handlers, value._tag) ? handlers[value._tag] : undefined
    if (typeof handler !== 'function') {
      throw new TypeError(`autoplay-rx: match has no handler for _tag ${String(value._tag)}`)
    }
    return handler(value)
  }
  if (second === undefined) return (value: Tagged) => fold(first as Table, value)
  return fold(second as Table, first as Tagged)
}

type Tagged = { readonly _tag: string }
type Table = Readonly<Record<string, (value: Tagged) => unknown>>
