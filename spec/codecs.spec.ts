import { expect } from 'chai'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { ActionsPayload, Payload, SlimAction, SummaryPayload } from '../src/index.js'
import { fixture } from './helpers/fixtures.js'

const decodeRight = <A>(codec: { decode: (u: unknown) => E.Either<unknown, A> }, u: unknown): A => {
  const r = codec.decode(u)
  if (E.isLeft(r)) throw new Error('expected Right')
  return r.right
}

describe('codecs', () => {
  describe('SlimAction defaults', () => {
    it('fills every missing field with the reference default', () => {
      expect(decodeRight(SlimAction, {})).to.deep.equal({
        index: 0, type: '', title: '', description: '', canonical_url: '', raw_url: '',
        timestamp_start: 0, timestamp_end: 0, session_id: null, user_id: null, email: null, conversation_id: null,
      })
    })
    it('treats null like missing', () => {
      const nulls = Object.fromEntries(Object.keys(decodeRight(SlimAction, {})).map((k) => [k, null]))
      expect(decodeRight(SlimAction, nulls)).to.deep.equal(decodeRight(SlimAction, {}))
    })
    it('keeps an empty identity string as "" inside an action', () => {
      const a = decodeRight(SlimAction, { session_id: '', user_id: '', email: '', conversation_id: '' })
      expect([a.session_id, a.user_id, a.email, a.conversation_id]).to.deep.equal(['', '', '', ''])
    })
    it('refuses wrong JSON types instead of coercing them', () => {
      for (const bad of [{ index: '1' }, { index: 1.5 }, { title: 5 }, { timestamp_start: '0' }, { email: 3 }, { type: false }]) {
        expect(E.isLeft(SlimAction.decode(bad)), JSON.stringify(bad)).to.equal(true)
      }
    })
  })

  describe('ActionsPayload', () => {
    it('applies batch defaults: "" product, null identities, [] actions, 0 forwarded_at', () => {
      expect(decodeRight(ActionsPayload, { type: 'actions' })).to.deep.equal({
        type: 'actions', product_id: '', session_id: null, user_id: null, email: null, conversation_id: null,
        count: 0, forwarded_at: 0, actions: [],
      })
    })
    it('turns empty batch-level identity strings into null', () => {
      const p = decodeRight(ActionsPayload, { type: 'actions', session_id: '', user_id: '', email: '', conversation_id: '' })
      expect([p.session_id, p.user_id, p.email, p.conversation_id]).to.deep.equal([null, null, null, null])
    })
    it('reconciles count to actions.length', () => {
      expect(decodeRight(ActionsPayload, { type: 'actions', count: 7, actions: [{}, {}] }).count).to.equal(2)
      expect(decodeRight(ActionsPayload, { type: 'actions', actions: [{}] }).count).to.equal(1)
    })
    it('drops unknown fields, at both levels', () => {
      const p = decodeRight(ActionsPayload, { type: 'actions', extra: 1, actions: [{ index: 0, extra: { deep: true } }] })
      expect(p).not.to.have.property('extra')
      expect(p.actions[0]).not.to.have.property('extra')
    })
    it('decodes the fixtures, keeping every action', () => {
      for (const name of ['actions-small', 'actions-medium', 'actions-large'] as const) {
        const json = JSON.parse(fixture(name).toString('utf8'))
        const p = decodeRight(ActionsPayload, json)
        expect(p.actions.length).to.equal(json.actions.length)
        expect(p.actions.map((a) => a.index)).to.deep.equal(json.actions.map((a: { index: number }) => a.index))
        expect(p.session_id).to.equal(json.session_id)
      }
    })
    it('refuses an infinite number (JSON 1e999)', () => {
      expect(E.isLeft(ActionsPayload.decode(JSON.parse('{"type":"actions","forwarded_at":1e999}')))).to.equal(true)
    })
    it('ignores values inherited from a prototype', () => {
      const input = Object.assign(Object.create({ product_id: 'inherited' }), { type: 'actions' })
      expect(decodeRight(ActionsPayload, input).product_id).to.equal('')
    })
  })

  describe('SummaryPayload', () => {
    it('decodes the fixture and applies defaults', () => {
      expect(decodeRight(SummaryPayload, JSON.parse(fixture('summary').toString()))).to.deep.equal({
        type: 'summary', product_id: 'prod_abc', session_id: 'ps_abc123',
        summary: 'The user navigated to the Dashboard, exported a CSV report, then opened account settings to update their billing plan.',
        replaces: 12, forwarded_at: 1700000060,
      })
      expect(decodeRight(SummaryPayload, { type: 'summary', session_id: '' })).to.deep.equal({
        type: 'summary', product_id: '', session_id: null, summary: '', replaces: 0, forwarded_at: 0,
      })
    })
  })

  describe('Payload union', () => {
    it('decodes either kind', () => {
      expect(decodeRight(Payload, { type: 'summary' }).type).to.equal('summary')
      expect(decodeRight(Payload, { type: 'actions' }).type).to.equal('actions')
      expect(E.isLeft(Payload.decode({ type: 'usertour_trigger' }))).to.equal(true)
    })
  })
})
