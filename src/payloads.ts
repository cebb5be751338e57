/**
 * Pure functions over decoded payloads: the text forms used for embeddings
 * and logs, and merging of a session's batches. They never mutate their
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
