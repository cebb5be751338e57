/** Builders of one session's batches for the proactive specs. */
import type { ActionsPayload, SlimAction } from '../../src/index.js'

export const T0 = 1_700_000_000

/** An action on `url` from `start` to `end` (Unix seconds), `index` naming it. */
export const action = (index: number, url: string, start = T0, end = start): SlimAction => ({
  index, type: 'click', title: '', description: '', canonical_url: url, raw_url: url, timestamp_start: start,
  timestamp_end: end, session_id: 'ps_1', user_id: null, email: null, conversation_id: null,
})

export const batch = (at: number, actions: SlimAction[], extra: Partial<ActionsPayload> = {}): ActionsPayload => ({
  type: 'actions', product_id: 'prod_a', session_id: 'ps_1', user_id: null, email: null, conversation_id: null,
  count: actions.length, forwarded_at: at, actions, ...extra,
})
