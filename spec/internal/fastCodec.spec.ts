import { expect } from 'chai'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { payloadCodecs, type Payload } from '../../src/codecs.js'
import { compileFunction, INVALID } from '../../src/internal/compile.js'
import {
  id as requiredId, idOr, integerOr0, integerOrNull, literal, nullableId, nullableString, numberOr0, stringOr, type FastCodec,
} from '../../src/internal/fastCodec.js'

describe('internal/fastCodec: fast path, interpreter and io-ts validate agree', () => {
  // Values drawn near the schema: mostly right for each field, sometimes any other JSON-ish value.
  const scalar = fc.oneof(fc.string({ maxLength: 4 }), fc.constant(''), fc.integer(), fc.double(), fc.constant(null),
    fc.constant(undefined), fc.boolean(), fc.constant(1.5), fc.constant(Number.POSITIVE_INFINITY), fc.constant({}))
  const near = <A>(valid: fc.Arbitrary<A>) => fc.oneof({ arbitrary: valid, weight: 30 }, { arbitrary: scalar, weight: 1 })
  const str = near(fc.oneof(fc.string({ maxLength: 4 }), fc.constant(''), fc.constant(null)))
  const int = near(fc.oneof(fc.integer(), fc.constant(null)))
  const num = near(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer()))
  // Ids: sometimes with a control character (C0, DEL, C1) or a character just outside those ranges.
  const edge = fc.constantFrom('\x00', '\t', '\x1f', ' ', '~', '\x7f', '\x80', '\x85', '\x9f', '\xa0', '\u2028')
  const id = fc.oneof({ arbitrary: str, weight: 5 },
    { arbitrary: fc.tuple(fc.string({ maxLength: 3 }), edge, fc.string({ maxLength: 3 })).map((p) => p.join('')), weight: 1 })
  const control = /[\x00-\x1f\x7f-\x9f]/
  const ids = ['product_id', 'session_id', 'user_id', 'email', 'conversation_id', 'flow_id']
  const holdsControl = (o: unknown): boolean => typeof o === 'object' && o !== null &&
    ids.some((k) => { const v = (o as Record<string, unknown>)[k]; return typeof v === 'string' && control.test(v) })
  const anyIdHoldsControl = (u: unknown): boolean => holdsControl(u) ||
    (typeof u === 'object' && u !== null && Array.isArray((u as { actions?: unknown }).actions) &&
      ((u as { actions: unknown[] }).actions).some(holdsControl))
  const action = near(fc.record({ index: int, type: str, title: str, description: str, canonical_url: str, raw_url: str,
    timestamp_start: num, timestamp_end: num, session_id: id, user_id: id, email: id, conversation_id: id,
    other: scalar }, { requiredKeys: [] }))
  const actions = fc.record({ type: near(fc.constant('actions')), product_id: id, session_id: id,
    user_id: id, email: id, conversation_id: id, count: int, forwarded_at: num,
    actions: near(fc.array(action, { maxLength: 4 })) }, { requiredKeys: ['type'] })
  const summary = fc.record({ type: near(fc.constant('summary')), product_id: id, session_id: id,
    summary: str, replaces: int, forwarded_at: num }, { requiredKeys: ['type'] })
  // flow_id is required: the one field with no default.
  const usertour = fc.record({ type: near(fc.constant('usertour_trigger')), product_id: id, flow_id: id, session_id: id,
    reason: str, user_id: id }, { requiredKeys: ['type'] })
  // JSON.parse makes `__proto__` an own key; the codecs must read past it.
  const withProto = (arb: fc.Arbitrary<Record<string, unknown>>) => fc.oneof(arb,
    arb.map((o) => JSON.parse(JSON.stringify(o).replace(/^\{/, '{"__proto__":{"product_id":"x","title":"y"},').replace(/,}$/, '}'))))

  for (const [name, codec, arb] of [['ActionsPayload', payloadCodecs.actions, actions], ['SummaryPayload', payloadCodecs.summary, summary],
    ['UsertourTriggerPayload', payloadCodecs.usertour_trigger, usertour]] as const) {
    it(`${name}: same verdict and same value on 3,000 generated inputs, every id with a control character refused`, () => {
      let accepted = 0
      let controls = 0
      fc.assert(fc.property(fc.oneof(withProto(arb as fc.Arbitrary<Record<string, unknown>>), scalar), (u) => {
        const input = u
        const slow = (codec as FastCodec<Payload>).decode(input)
        const fast = (codec as FastCodec<Payload>).fast(input)
        const interpreted = (codec as FastCodec<Payload>).interpret(input)
        if (anyIdHoldsControl(input)) {
          controls++
          expect(E.isLeft(slow), JSON.stringify(input)).to.equal(true)
        }
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
      expect(controls).to.be.greaterThan(150)
    })
  }

  it('each leaf: is, validate, fast and interpret agree (is holds exactly when decoding gives the value back unchanged)', () => {
    const leaves = { stringOr: stringOr('-'), numberOr0, integerOr0, integerOrNull, nullable: nullableString(false),
      emptyIsNull: nullableString(true), literal: literal('actions'), idOr: idOr('-'), nullableId: nullableId(false),
      emptyIsNullId: nullableId(true), id: requiredId } as Record<string, FastCodec<unknown>>
    const inputs = ['', 'a', '-', 'actions', 0, -0, 3, 3.5, 2 ** 53, Number.NaN, Infinity, null, undefined, true, {}, [],
      'a\x1fb', '\x00', '\x7f', '\x9f', '\xa0']
    const table = Object.entries(leaves).map(([name, leaf]) => [name, inputs.filter((u) => leaf.is(u)).map(String).join(' ')])
    expect(table).to.deep.equal([
      ['stringOr', ' a - actions a\x1fb \x00 \x7f \x9f \xa0'], ['numberOr0', '0 0 3 3.5 9007199254740992'], ['integerOr0', '0 0 3'],
      ['integerOrNull', '0 0 3 null'], ['nullable', ' a - actions null a\x1fb \x00 \x7f \x9f \xa0'],
      ['emptyIsNull', 'a - actions null a\x1fb \x00 \x7f \x9f \xa0'], ['literal', 'actions'],
      ['idOr', ' a - actions \xa0'], ['nullableId', ' a - actions null \xa0'], ['emptyIsNullId', 'a - actions null \xa0'],
      ['id', ' a - actions \xa0'],
    ])
    for (const [name, leaf] of Object.entries(leaves)) {
      const compiled = compileFunction<(u: unknown) => unknown>((gen) => `function (v) { return ${leaf.inline('v', gen)} }`)!
      for (const u of inputs) {
        const validated = leaf.validate(u, [])
        const expected = E.isRight(validated) ? validated.right : INVALID
        expect([leaf.fast(u), leaf.interpret(u), compiled(u)], `${name}(${String(u)})`).to.deep.equal([expected, expected, expected])
      }
    }
  })

  it('the fast path, remembering the last id each field accepted, still refuses a control character after it', () => {
    const long = 'i'.repeat(300)
    const batch = (ids: string[]) => ({ type: 'actions', session_id: ids[0], actions: ids.map((id) => ({ session_id: id })) })
    const fast = (u: unknown) => {
      const d = payloadCodecs.actions.fast(u)
      return d === INVALID ? 'refused' : d.actions.map((a) => a.session_id).join(',')
    }
    expect(fast(batch(['a', 'a', 'a']))).to.equal('a,a,a')
    expect(fast(batch(['a', 'a', 'a\x1f']))).to.equal('refused')
    expect(fast(batch(['a\x1f', 'a']))).to.equal('refused')
    expect(fast(batch([long, long]))).to.equal(`${long},${long}`)
    expect(fast(batch([long, `${long}\x7f`]))).to.equal('refused')
    expect(fast(batch(['a', 'a']))).to.equal('a,a')
  })

  it('ignores values inherited from a prototype on the fast path too', () => {
    const input = Object.assign(Object.create({ product_id: 'inherited' }), { type: 'actions' })
    const fast = payloadCodecs.actions.fast(input)
    expect(fast !== INVALID && fast.product_id).to.equal('')
  })
})
