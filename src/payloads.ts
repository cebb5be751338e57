/**
 * Pure functions over decoded payloads: their text forms, the merge of a session's batches, and the keys
 * payloads are grouped (session) and deduplicated (delivery) by. They never mutate their arguments.
 */
import type { ActionsPayload, Payload, SlimAction } from './codecs.js'

/**
 * The text of a payload or an action, as the reference SDK renders them for embeddings and logs: an action
 * `[{index}] {type}: {description} — {canonical_url}`, a batch `Session {id} — {n} actions` then a line per
 * action, a summary its text.
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

export type NonEmptyArray<A> = readonly [A, ...A[]]

/**
 * Merges batches of one session: actions concatenated and renumbered from 0, ids from the first batch (the
 * first non-null user, email and conversation), the latest `forwarded_at`. Throws a RangeError on no batch.
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
 * The group key of payloads without a session: a symbol, so that no session id collides with it
 * (`Symbol.for`, so that the ESM and CommonJS builds agree on it).
 */
export const NO_SESSION: unique symbol = Symbol.for('autoplay-rx/no-session')

export type SessionKey = string | typeof NO_SESSION

export interface HasSession {
  readonly session_id: string | null
}

/** A payload's `session_id`, or {@link NO_SESSION} when it has none: what `bySession` groups by. */
export function sessionKey(payload: HasSession): SessionKey {
  return payload.session_id ?? NO_SESSION
}

/**
 * The identity of a delivery, which a retry repeats: type, product, session, `forwarded_at` and, for a batch,
 * its action indexes as ranges (`["actions","prod","ps_1",1700000000.5,"0-2,7"]`).
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
