import { expect } from 'chai'
import { ActionsPayload, NO_SESSION, SummaryPayload, deliveryKey, mergeActions, sessionKey, toText, type SlimAction } from '../src/index.js'
import * as helpers from './helpers/payloads.js'

const action = (index: number, extra: Partial<SlimAction> = {}): SlimAction => ({
  index, type: 'click', title: `t${index}`, description: `clicked ${index}`, canonical_url: `https://x.test/p/:id`,
  raw_url: `https://x.test/p/${index}`, timestamp_start: index, timestamp_end: index + 1,
  session_id: 's1', user_id: null, email: null, conversation_id: null, ...extra,
})
const batch = (actions: SlimAction[], extra: Partial<ActionsPayload> = {}): ActionsPayload => ({
  type: 'actions', product_id: 'p1', session_id: 's1', user_id: null, email: null, conversation_id: null,
  count: actions.length, forwarded_at: 10, actions, ...extra,
})

describe('payloads', () => {
  it('the specs\' shared builders (spec/helpers/payloads.ts) make valid payloads', () => {
    expect(ActionsPayload.is(helpers.batch('s1', 1))).to.equal(true)
    expect(SummaryPayload.is(helpers.summary('s1', 1))).to.equal(true)
  })

  describe('toText', () => {
    it('renders an action without its title, with an em dash', () => {
      expect(toText(action(3))).to.equal('[3] click: clicked 3 \u2014 https://x.test/p/:id')
    })
    it('renders a batch with a header line and one line per action', () => {
      expect(toText(batch([action(0), action(1)]))).to.equal(
        'Session s1 \u2014 2 actions\n[0] click: clicked 0 \u2014 https://x.test/p/:id\n[1] click: clicked 1 \u2014 https://x.test/p/:id')
    })
    it('says "unknown" for a batch without a session', () => {
      expect(toText(batch([], { session_id: null }))).to.equal('Session unknown \u2014 0 actions')
    })
    it('renders a summary as the summary itself', () => {
      expect(toText({ type: 'summary', product_id: 'p', session_id: 's', summary: 'Did things.', replaces: 3, forwarded_at: 1 }))
        .to.equal('Did things.')
    })
  })

  describe('mergeActions', () => {
    it('concatenates, re-indexes from 0, resolves identities and takes the latest forwarded_at', () => {
      const a = batch([action(0), action(1)], { forwarded_at: 20, user_id: null, email: 'a@x.test' })
      const b = batch([action(0)], { forwarded_at: 15, user_id: 'u2', email: 'b@x.test', conversation_id: 'c2', product_id: 'other', session_id: 'other' })
      const merged = mergeActions([a, b])
      expect(merged.actions.map((x) => x.index)).to.deep.equal([0, 1, 2])
      expect(merged.actions.map((x) => x.title)).to.deep.equal(['t0', 't1', 't0'])
      expect(merged).to.include({ product_id: 'p1', session_id: 's1', user_id: 'u2', email: 'a@x.test',
        conversation_id: 'c2', forwarded_at: 20, count: 3, type: 'actions' })
    })
    it('does not mutate its inputs', () => {
      const a = batch([action(5)])
      mergeActions([a, a])
      expect(a.actions[0]!.index).to.equal(5)
    })
    it('refuses an empty list', () => {
      expect(() => mergeActions([] as unknown as [ActionsPayload])).to.throw(RangeError, 'at least one batch')
    })
  })

  describe('sessionKey', () => {
    it('is the session id, or NO_SESSION (a registered symbol) when there is none', () => {
      expect(sessionKey(helpers.batch('s1', 1))).to.equal('s1')
      expect(sessionKey(helpers.summary('s2', 1))).to.equal('s2')
      expect(sessionKey(helpers.summary(null, 1))).to.equal(NO_SESSION)
      expect(NO_SESSION).to.equal(Symbol.for('autoplay-rx/no-session'))
    })
    it('keeps an empty session id as the key, not NO_SESSION', () => {
      expect(sessionKey({ session_id: '' })).to.equal('')
    })
  })

  describe('deliveryKey', () => {
    // Real deliveries carry a user id: the key must not depend on it.
    const keyed = (session: string | null, forwardedAt: number, indexes: number[] = [0]): ActionsPayload =>
      helpers.batch(session, forwardedAt, indexes, { user_id: 'u_1' })

    it('keys an actions batch by type, product, session, forwarded_at and index ranges', () => {
      expect(deliveryKey(keyed('s1', 1_700_000_000.25, [0, 1, 2, 5, 7, 8])))
        .to.equal('["actions","prod_1","s1",1700000000.25,"0-2,5,7-8"]')
    })
    it('keys a summary by type, product, session and forwarded_at', () => {
      expect(deliveryKey(helpers.summary('s1', 12.5))).to.equal('["summary","prod_1","s1",12.5]')
    })
    it('keys a null session as null and an empty batch with no ranges', () => {
      expect(deliveryKey(keyed(null, 3, []))).to.equal('["actions","prod_1",null,3,""]')
    })
    it('tells apart two batches of one session forwarded at the same time', () => {
      expect(deliveryKey(keyed('s1', 1, [0, 1]))).to.not.equal(deliveryKey(keyed('s1', 1, [2, 3])))
    })
    it('is the same for a retry of a delivery whatever its user id', () => {
      expect(deliveryKey(keyed('s1', 1, [0, 1]))).to.equal(deliveryKey(helpers.batch('s1', 1, [0, 1], { user_id: 'u_2' })))
    })
  })
})
