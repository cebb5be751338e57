import fc from 'fast-check'
import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import { decodeBytes, decodeText, toBytes } from '../src/decode.js'
import { fixture } from './helpers/fixtures.js'

const utf8 = (s: string) => new TextEncoder().encode(s)
const leftOf = <L, R>(r: E.Either<L, R>): L => {
  if (E.isRight(r)) throw new Error(`expected a Left, got ${JSON.stringify(r.right).slice(0, 80)}`)
  return r.left
}
const rightOf = <L, R>(r: E.Either<L, R>): R => {
  if (E.isLeft(r)) throw new Error(`expected a Right, got ${JSON.stringify(r.left).slice(0, 120)}`)
  return r.right
}

describe('decode', () => {
  it('toBytes: a string as UTF-8, bytes as they are, an ArrayBuffer viewed, anything else NotRawBody', () => {
    expect(Array.from(rightOf(toBytes('é')))).to.deep.equal([0xc3, 0xa9])
    const bytes = new Uint8Array([1, 2])
    expect(rightOf(toBytes(bytes))).to.equal(bytes)
    expect(Array.from(rightOf(toBytes(bytes.buffer)))).to.deep.equal([1, 2])
    expect(leftOf(toBytes({ type: 'summary' }))).to.deep.include({ _tag: 'NotRawBody', received: 'object' })
  })

  it('a syntax error is MalformedJson carrying the given body', () => {
    const body = utf8('{"a":')
    const error = leftOf(decodeBytes(body))
    expect(error._tag).to.equal('MalformedJson')
    expect(error).to.deep.include({ reason: 'syntax' })
    expect(error.body).to.equal(body)
  })

  it('decodeBytes: the fixture decodes with no count note', () => {
    const decoded = rightOf(decodeBytes(fixture('actions-small')))
    expect(decoded.countMismatch).to.equal(null)
    expect(decoded.payload).to.deep.include({ type: 'actions', count: 3, session_id: 'ps_abc123' })
  })

  it('a declared count that differs is reported as data, and the payload carries the real count', () => {
    const decoded = rightOf(decodeText('{"type":"actions","count":5,"actions":[{},{}]}'))
    expect(decoded.countMismatch).to.deep.equal({ declared: 5, actual: 2 })
    expect(decoded.payload).to.deep.include({ type: 'actions', count: 2 })
  })

  it('a missing count, or a summary, is no mismatch', () => {
    expect(rightOf(decodeText('{"type":"actions","actions":[{}]}')).countMismatch).to.equal(null)
    expect(rightOf(decodeText('{"type":"actions","count":null,"actions":[{}]}')).countMismatch).to.equal(null)
    expect(rightOf(decodeText('{"type":"summary","replaces":4}')).countMismatch).to.equal(null)
  })

  it('decodeBytes attaches the very bytes it was given to every refusal', () => {
    for (const text of ['{"a":', '[1]', '{"type":"usertour_trigger"}', '{"type":"actions","actions":{}}', '{"type":3}']) {
      const bytes = utf8(text)
      expect(leftOf(decodeBytes(bytes)).body, text).to.equal(bytes)
    }
    const invalid = new Uint8Array([0x7b, 0xff, 0x7d])
    expect(leftOf(decodeBytes(invalid))).to.deep.include({ _tag: 'MalformedJson', reason: 'invalid-utf8', body: invalid })
  })

  it('decodeBytes tells a real U+FFFD (EF BF BD) from malformed bytes, which a replacing decoder would both show as U+FFFD', () => {
    const real = utf8('{"type":"summary","summary":"a \ufffd b"}')
    expect(rightOf(decodeBytes(real)).payload).to.deep.include({ summary: 'a \ufffd b' })
    const both = new Uint8Array([...utf8('{"type":"summary","summary":"\ufffd'), 0xc3, ...utf8('"}')])
    expect(leftOf(decodeBytes(both))).to.deep.include({ _tag: 'MalformedJson', reason: 'invalid-utf8' })
  })

  it('decodeBytes refuses exactly the bytes a fatal TextDecoder refuses, and keeps the text of the rest', () => {
    const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
    const piece = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 6 }).map(utf8),
      fc.uint8Array({ maxLength: 3 }),
      fc.constantFrom(new Uint8Array([0xef, 0xbf, 0xbd]), new Uint8Array([0xed, 0xa0, 0x80]), new Uint8Array([0xf4, 0x90, 0x80, 0x80])),
    )
    fc.assert(fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
      const inner = pieces.flatMap((p) => [...p]).filter((b) => b !== 0x22 && b !== 0x5c && b >= 0x20)
      const bytes = new Uint8Array([...utf8('{"type":"summary","summary":"'), ...inner, ...utf8('"}')])
      let text: string | null
      try {
        text = fatal.decode(bytes)
      } catch {
        text = null
      }
      const result = decodeBytes(bytes)
      if (text === null) expect(leftOf(result)).to.deep.include({ reason: 'invalid-utf8' })
      else expect(rightOf(result).payload).to.deep.include({ summary: (JSON.parse(text) as { summary: string }).summary })
    }), { numRuns: 1000 })
  })

  it('decodeText attaches the text\'s UTF-8 bytes to a refusal', () => {
    const text = '{"type":"summary","summary":5,"x":"é"}'
    const error = leftOf(decodeText(text))
    expect(error._tag).to.equal('InvalidPayload')
    expect(Array.from(error.body)).to.deep.equal(Array.from(utf8(text)))
  })

  it('each refusal has its exact tag and message', () => {
    expect(leftOf(decodeText('[1]'))).to.deep.include({ _tag: 'InvalidPayload', eventType: null,
      message: 'Invalid event payload: (root): expected an event object, got array' })
    expect(leftOf(decodeText('{"type":3}'))).to.deep.include({ _tag: 'InvalidPayload', eventType: null,
      message: 'Invalid event payload: type: expected string, got number' })
    expect(leftOf(decodeText('{"type":"actions","actions":{}}'))).to.deep.include({ _tag: 'InvalidPayload', eventType: 'actions',
      message: 'Invalid actions payload: actions: expected Array<SlimAction>, got object' })
    expect(leftOf(decodeText('{"type":"session_started","x":1}'))).to.deep.include({ _tag: 'UnknownEventType',
      eventType: 'session_started', event: { type: 'session_started', x: 1 } })
    expect(leftOf(decodeText('{"type":"usertour_trigger","session_id":"ps_1"}'))).to.deep.include({ _tag: 'InvalidPayload',
      eventType: 'usertour_trigger', message: 'Invalid usertour_trigger payload: flow_id: expected string, got undefined' })
  })

  describe('usertour_trigger (the connector\'s request to start a Usertour flow in one browser)', () => {
    it('decodes the full form and the four-key minimal form the reference builds, with the reference\'s blanks as absent', () => {
      expect(rightOf(decodeText(JSON.stringify({ type: 'usertour_trigger', product_id: 'prod_1', flow_id: 'flow_42',
        reason: 'stuck on billing', user_id: 'u_1', session_id: 'ps_1' }))).payload).to.deep.equal({ type: 'usertour_trigger',
        product_id: 'prod_1', flow_id: 'flow_42', session_id: 'ps_1', reason: 'stuck on billing', user_id: 'u_1' })
      expect(rightOf(decodeText('{"type":"usertour_trigger","product_id":"prod_1","flow_id":"flow_42","session_id":""}'))
        .payload).to.deep.equal({ type: 'usertour_trigger', product_id: 'prod_1', flow_id: 'flow_42', session_id: null,
        reason: '', user_id: null })
    })

    it('drops unknown fields (forwarded_at, __proto__) and refuses a flow_id that is missing, not a string, or holds a control', () => {
      const decoded = rightOf(decodeText('{"type":"usertour_trigger","flow_id":"f","forwarded_at":1,"__proto__":{"polluted":1}}'))
      expect(Object.keys(decoded.payload)).to.deep.equal(['type', 'product_id', 'flow_id', 'session_id', 'reason', 'user_id'])
      expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined)
      expect(decoded.countMismatch).to.equal(null)
      for (const [flow, got] of [[undefined, 'undefined'], [null, 'null'], [42, 'number'], ['f\u001fx', 'string']] as const) {
        const text = JSON.stringify({ type: 'usertour_trigger', flow_id: flow })
        expect(leftOf(decodeText(text)), text).to.deep.include({ issues: [{ path: 'flow_id',
          expected: got === 'string' ? 'an id: at most 1024 characters, no control' : 'string', got }] })
      }
      for (const field of ['product_id', 'session_id', 'user_id']) {
        expect(leftOf(decodeText(JSON.stringify({ type: 'usertour_trigger', flow_id: 'f', [field]: 'a\u0000b' }))), field)
          .to.deep.include({ issues: [{ path: field, expected: 'an id: at most 1024 characters, no control', got: 'string' }] })
      }
    })
  })

  describe('ids hold no control character (C0, DEL, C1): stores join them into keys with U+001F', () => {
    const ids = {
      actions: ['product_id', 'session_id', 'user_id', 'email', 'conversation_id'],
      summary: ['product_id', 'session_id'],
      action: ['session_id', 'user_id', 'email', 'conversation_id'],
    } as const
    const controls = ['\x00', '\t', '\n', '\x1f', '\x7f', '\x80', '\x85', '\x9f']

    it('refuses each id field holding one, with the path and what an id must be', () => {
      for (const c of controls) {
        const id = `prod_abc${c}ps_victim`
        for (const field of ids.actions) {
          expect(leftOf(decodeText(JSON.stringify({ type: 'actions', [field]: id }))), `${field} ${JSON.stringify(c)}`)
            .to.deep.include({ _tag: 'InvalidPayload', eventType: 'actions',
              issues: [{ path: field, expected: 'an id: at most 1024 characters, no control', got: 'string' }],
              message: `Invalid actions payload: ${field}: expected an id: at most 1024 characters, no control, got string` })
        }
        for (const field of ids.summary) {
          expect(leftOf(decodeText(JSON.stringify({ type: 'summary', [field]: id }))), `${field} ${JSON.stringify(c)}`)
            .to.deep.include({ issues: [{ path: field, expected: 'an id: at most 1024 characters, no control', got: 'string' }] })
        }
        for (const field of ids.action) {
          const text = JSON.stringify({ type: 'actions', actions: [{}, { [field]: id }] })
          expect(leftOf(decodeText(text)), `actions.1.${field} ${JSON.stringify(c)}`).to.deep.include({
            issues: [{ path: `actions.1.${field}`, expected: 'an id: at most 1024 characters, no control', got: 'string' }] })
        }
      }
    })

    it('refuses each id field over 1,024 characters (every store keys by them), with the path; takes 1,024', () => {
      const long = 'x'.repeat(1025)
      const expected = 'an id: at most 1024 characters, no control'
      for (const field of ids.actions) {
        expect(leftOf(decodeText(JSON.stringify({ type: 'actions', [field]: long }))), field).to.deep.include({
          _tag: 'InvalidPayload', issues: [{ path: field, expected, got: 'string' }] })
        expect(E.isRight(decodeText(JSON.stringify({ type: 'actions', [field]: long.slice(1) }))), field).to.equal(true)
      }
      for (const field of ids.summary) {
        expect(leftOf(decodeText(JSON.stringify({ type: 'summary', [field]: long }))), field).to.deep.include({
          issues: [{ path: field, expected, got: 'string' }] })
      }
      for (const field of ids.action) {
        // A repeated id is compared with the last one accepted, not checked again: a long one is never accepted.
        const text = JSON.stringify({ type: 'actions', actions: [{ [field]: long }, { [field]: long }] })
        expect(leftOf(decodeText(text)), field).to.deep.include({
          issues: [0, 1].map((i) => ({ path: `actions.${i}.${field}`, expected, got: 'string' })) })
      }
    })

    it('keeps the other types\' messages, and accepts what borders the ranges and control characters in text fields', () => {
      expect(leftOf(decodeText('{"type":"actions","session_id":7}'))).to.deep.include({
        message: 'Invalid actions payload: session_id: expected string | null, got number' })
      expect(leftOf(decodeText('{"type":"summary","product_id":false}'))).to.deep.include({
        message: 'Invalid summary payload: product_id: expected string, got boolean' })
      const near = ' ~\xa0\u2028\ufeff\u{1F600}é'
      const { payload } = rightOf(decodeText(JSON.stringify({ type: 'actions', product_id: near, session_id: near,
        actions: [{ session_id: near, description: 'line\nbreak\ttab\x1f\x85', title: '\x00' }] })))
      expect(payload).to.deep.include({ product_id: near, session_id: near })
      expect(payload.type === 'actions' && payload.actions[0]).to.deep.include({ session_id: near,
        description: 'line\nbreak\ttab\x1f\x85', title: '\x00' })
    })
  })

  it('decodeBytes and decodeText give the same payload', () => {
    const body = fixture('summary')
    const { payload } = rightOf(decodeBytes(body))
    expect(rightOf(decodeText(body.toString('utf8'))).payload).to.deep.equal(payload)
    expect(payload).to.deep.include({ type: 'summary', replaces: 12 })
  })
})
