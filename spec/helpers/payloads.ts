/**
 * Decoded-payload builders shared by the operator specs: valid `actions`
 * batches and summaries with predictable fields, and a TestScheduler that
 * compares frames with chai's deep equality.
 */
import { expect } from 'chai'
import { TestScheduler } from 'rxjs/testing'
import type { ActionsPayload, SlimAction, SummaryPayload } from '../../src/codecs.js'

/** A click action of `session` at `index`; its text and timestamps follow the index. */
export function action(session: string | null, index: number): SlimAction {
  return {
    index, type: 'click', title: `Button ${index}`, description: `clicked button ${index}`,
    canonical_url: '/app/:id', raw_url: '/app/42', timestamp_start: 1_700_000_000 + index, timestamp_end: 1_700_000_001 + index,
    session_id: session, user_id: null, email: null, conversation_id: null,
  }
}

/** The batch-level identity fields a spec may set; the others stay null. */
export interface BatchIdentity {
  readonly user_id?: string | null
  readonly email?: string | null
}

/**
 * A valid actions batch whose actions carry the given (session) indexes; a
 * fresh object each call, as a retried delivery decodes to.
 */
export function batch(session: string | null, forwardedAt: number, indexes: number[] = [0], identity: BatchIdentity = {}): ActionsPayload {
  const actions = indexes.map((index) => action(session, index))
  return {
    type: 'actions', product_id: 'prod_1', session_id: session, user_id: identity.user_id ?? null, email: identity.email ?? null,
    conversation_id: null, count: actions.length, forwarded_at: forwardedAt, actions,
  }
}

/** A valid summary of `session`. */
export function summary(session: string | null, forwardedAt: number): SummaryPayload {
  return { type: 'summary', product_id: 'prod_1', session_id: session, summary: 'The user exported a CSV.', replaces: 3, forwarded_at: forwardedAt }
}

/** A TestScheduler whose frame comparison fails through chai, with its diff. */
export const testScheduler = () => new TestScheduler((actual, expected) => {
  expect(actual).to.deep.equal(expected)
})
