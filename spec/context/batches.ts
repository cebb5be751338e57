/** Small, readable actions batches for the context specs (memory and Redis share them). */
import type { ActionsPayload, SlimAction } from '../../src/index.js'

/** One action whose text form is `[{index}] click: {description} — /{page}`. */
export function action(index: number, description: string, page = 'home'): SlimAction {
  return {
    index, type: 'click', title: description, description, canonical_url: `/${page}`, raw_url: `/${page}?x=1`,
    timestamp_start: 0, timestamp_end: 0, session_id: null, user_id: null, email: null, conversation_id: null,
  }
}

/** A batch of `session` (null: none) in `product` ('' : none) sent at `at`, with one action per description, indexed from `from`. */
export function batch(session: string | null, product: string, at: number, descriptions: string[], from = 0): ActionsPayload {
  const actions = descriptions.map((d, i) => action(from + i, d))
  return { type: 'actions', product_id: product, session_id: session, user_id: null, email: null, conversation_id: null, count: actions.length, forwarded_at: at, actions }
}

/** The text line of an action made by `action(index, description)`, numbered `n`. */
export const line = (n: number, index: number, description: string, page = 'home') => `${n}. [${index}] click: ${description} \u2014 /${page}`
