/**
 * Pure functions over decoded payloads: the text forms used for embeddings
 * and logs, merging of a session's batches, and the keys payloads are
 * grouped (session) and deduplicated (delivery) by. They never mutate their
 * arguments.
 */
import type { ActionsPayload, Payload, SlimAction } from './codecs.js'

/**
 * The text form of an action, a batch or a summary, as the reference SDK
 * renders them for embedding and logs.
 *
 * - action: `[{index}] {type}: {description} — {canonical_url}`
 * - batch: `Session {session_id or "unknown"} — {n} actions`, then one action line each
 * - summary: the summary itself
 *
 * @param item - a payload of either kind, or one action of a batch
 * @returns the text; never throws
 * @example
 * ```ts
 * toText(summary)        // 'The user exported a CSV…'
 * toText(actions)        // 'Session ps_1 — 2 actions\n[0] click: …'
 * ```
 */
export function toText(item: Payload | SlimAction): string {
  if (item.type === 'actions' && 'actions' in item) {
    let text = `Session ${item.session_id ?? 'unknown'} \u2014 ${item.actions.length} actions`
    for (const action of item.actions) text += '\n' + actionLine(action)
    return text
  }
  if (item.type === 'summary' && 'replaces' in item) return item.summary
  return actionLine(item as SlimAction)
}

function actionLine(a: SlimAction): string {
  return `[${a.index}] ${a.type}: ${a.description} \u2014 ${a.canonical_url}`
}

/**
 * A non-empty list: a first element and the rest (what {@link mergeActions} takes).
 *
 * @example
 * ```ts
 * const batches: NonEmptyArray<ActionsPayload> = [first, second]
 * ```
 */
export type NonEmptyArray<A> = readonly [A, ...A[]]

/**
 * Merges batches of one session into one: actions concatenated and
 * re-indexed from 0; `product_id` and `session_id` from the first;
 * `user_id`, `email`, `conversation_id` from the first non-null; the latest
 * `forwarded_at`; `count` the new length.
 *
 * @param batches - one or more actions batches, meant to be of one session (not checked)
 * @returns a fresh batch; the arguments are not changed
 * @throws RangeError when `batches` is empty (the reference raises too;
 *   the type already forbids it for TypeScript callers)
 * @example
 * ```ts
 * const merged = mergeActions([first, second])
 * merged.actions.map((a) => a.index) // [0, 1, 2, …]
 * ```
 */
export function mergeActions(batches: NonEmptyArray<ActionsPayload>): ActionsPayload {
  const first = batches[0]
  if (first === undefined) throw new RangeError('mergeActions needs at least one batch')
  const actions: SlimAction[] = []
  let forwardedAt = first.forwarded_at
  let userId: string | null = null
  let email: string | null = null
  let conversationId: string | null = null
  for (const batch of batches) {
    for (const action of batch.actions) actions.push({ ...action, index: actions.length })
    if (batch.forwarded_at > forwardedAt) forwardedAt = batch.forwarded_at
    userId ??= batch.user_id
    email ??= batch.email
    conversationId ??= batch.conversation_id
  }
  return {
    type: 'actions',
    product_id: first.product_id,
    session_id: first.session_id,
    user_id: userId,
    email,
    conversation_id: conversationId,
    count: actions.length,
    forwarded_at: forwardedAt,
    actions,
  }
}

/**
 * The group key of payloads without a session (`session_id` null). A symbol,
 * so that it can never collide with a real session id; `Symbol.for`, so that
 * the ESM and CommonJS builds of this package agree on it when both load.
 * Turn it into text explicitly: a symbol in a template string throws.
 *
 * @example
 * ```ts
 * import { NO_SESSION, type SessionKey } from 'autoplay-rx'
 *
 * const label = (key: SessionKey) => (key === NO_SESSION ? 'anonymous' : key)
 * label(NO_SESSION) // 'anonymous'
 * ```
 */
export const NO_SESSION: unique symbol = Symbol.for('autoplay-rx/no-session')

/**
 * The key of a session group: the session id, or {@link NO_SESSION}.
 *
 * @example
 * ```ts
 * const keys = new Set<SessionKey>([sessionKey(batch)])
 * ```
 */
export type SessionKey = string | typeof NO_SESSION

/**
 * Anything that belongs to a session: both payload types qualify.
 *
 * @example
 * ```ts
 * const item: HasSession = { session_id: 'ps_1' }
 * ```
 */
export interface HasSession {
  /** The session id; `null` when the payload has none. */
  readonly session_id: string | null
}

/**
 * The session key of a payload: its `session_id`, or {@link NO_SESSION} when
 * null. The key {@link bySession} and {@link mergeSessionBatches} group by.
 *
 * @param payload - anything with a `session_id`
 * @returns the session id, or {@link NO_SESSION}
 *
 * @example
 * ```ts
 * import { sessionKey, NO_SESSION } from 'autoplay-rx'
 *
 * sessionKey({ session_id: 'ps_1' }) // 'ps_1'
 * sessionKey({ session_id: null })   // NO_SESSION
 * ```
 */
export function sessionKey(payload: HasSession): SessionKey {
  return payload.session_id ?? NO_SESSION
}

/**
 * The default identity of a delivery: its type, `product_id`, `session_id`
 * and `forwarded_at`, and for an actions batch the indexes of its actions
 * (as ranges, so that a batch of 500 actions makes a short key). A retried
 * delivery repeats all of these; two different batches of one session do not.
 *
 * @param payload - a decoded payload of either kind
 * @returns a JSON array as text, e.g. `["actions","prod","ps_1",1700000000.5,"0-2,7"]`
 *
 * @example
 * ```ts
 * import { deliveryKey } from 'autoplay-rx'
 *
 * deliveryKey({ type: 'summary', product_id: 'p', session_id: 's', summary: '…', replaces: 3, forwarded_at: 12.5 })
 * // '["summary","p","s",12.5]'
 * ```
 */
export function deliveryKey(payload: Payload): string {
  if (payload.type === 'actions') {
    return JSON.stringify([payload.type, payload.product_id, payload.session_id, payload.forwarded_at,
      indexRanges(payload.actions)])
  }
  return JSON.stringify([payload.type, payload.product_id, payload.session_id, payload.forwarded_at])
}

/** `0,1,2,5,7,8` → `0-2,5,7-8`, in the actions' order. */
function indexRanges(actions: ReadonlyArray<{ readonly index: number }>): string {
  const parts: string[] = []
  let i = 0
  while (i < actions.length) {
    const start = actions[i]!.index
    let end = start
    while (i + 1 < actions.length && actions[i + 1]!.index === end + 1) end = actions[++i]!.index
    parts.push(start === end ? String(start) : `${start}-${end}`)
    i++
  }
  return parts.join(',')
}
