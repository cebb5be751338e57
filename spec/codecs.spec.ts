import { expect } from 'chai'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { ActionsPayload, INVALID, Payload, SlimAction, SummaryPayload } from '../src/index.js'
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
      const nulls = Object.fromEntries(Object.keys(SlimAction.props).map((k) => [k, null]))
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
      expect(ActionsPayload.fast(input)).to.deep.equal(decodeRight(ActionsPayload, input))
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

  describe('fast path, interpreter and io-ts validate agree', () => {
    // Values drawn near the schema: mostly right for each field, sometimes any other JSON-ish value.
    const scalar = fc.oneof(fc.string({ maxLength: 4 }), fc.constant(''), fc.integer(), fc.double(), fc.constant(null),
      fc.constant(undefined), fc.boolean(), fc.constant(1.5), fc.constant(Number.POSITIVE_INFINITY), fc.constant({}))
    const near = <A>(valid: fc.Arbitrary<A>) => fc.oneof({ arbitrary: valid, weight: 30 }, { arbitrary: scalar, weight: 1 })
    const str = near(fc.oneof(fc.string({ maxLength: 4 }), fc.constant(''), fc.constant(null)))
    const int = near(fc.oneof(fc.integer(), fc.constant(null)))
    const num = near(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer()))
    const action = near(fc.record({ index: int, type: str, title: str, description: str, canonical_url: str, raw_url: str,
      timestamp_start: num, timestamp_end: num, session_id: str, user_id: str, email: str, conversation_id: str,
      other: scalar }, { requiredKeys: [] }))
    const actions = fc.record({ type: near(fc.constant('actions')), product_id: str, session_id: str,
      user_id: str, email: str, conversation_id: str, count: int, forwarded_at: num,
      actions: near(fc.array(action, { maxLength: 4 })) }, { requiredKeys: ['type'] })
    const summary = fc.record({ type: near(fc.constant('summary')), product_id: str, session_id: str,
      summary: str, replaces: int, forwarded_at: num }, { requiredKeys: ['type'] })
    // JSON.parse makes `__proto__` an own key; the codecs must read past it.
    const withProto = (arb: fc.Arbitrary<Record<string, unknown>>) => fc.oneof(arb,
      arb.map((o) => JSON.parse(JSON.stringify(o).replace(/^\{/, '{"__proto__":{"product_id":"x","title":"y"},').replace(/,}$/, '}'))))

    for (const [name, codec, arb] of [['ActionsPayload', ActionsPayload, actions], ['SummaryPayload', SummaryPayload, summary]] as const) {
      it(`${name}: same verdict and same value on 3,000 generated inputs`, () => {
        let accepted = 0
        fc.assert(fc.property(fc.oneof(withProto(arb as fc.Arbitrary<Record<string, unknown>>), scalar), (u) => {
          const input = u
          const slow = (codec as typeof ActionsPayload).decode(input)
          const fast = (codec as typeof ActionsPayload).fast(input)
          const interpreted = (codec as typeof ActionsPayload).interpret(input)
          if (E.isRight(slow)) {
            accepted++
            expect(fast).to.deep.equal(slow.right)
            expect(interpreted).to.deep.equal(slow.right)
          } else {
            expect(fast).to.equal(INVALID)
            expect(interpreted).to.equal(INVALID)
          }
        }), { numRuns: 3000 })
        expect(accepted).to.be.greaterThan(300)
      })
    }
  })
})
