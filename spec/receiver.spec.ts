import { expect } from 'chai'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { InvalidSignatureError, WebhookReceiver, sign, silentLogger, type ActionsPayload, type IngestError, type Payload, type SummaryPayload, type UsertourTriggerPayload } from '../src/index.js'
import { fixture, recordingLogger, SECRET, signed } from './helpers/fixtures.js'
import { runChild, sourceModule } from './sse/helpers.js'
import type { Dispatch } from '../src/receiver.js'

/** A dispatch where node:crypto is (here) is synchronous: the adapters' contract. */
const now = (dispatched: Dispatch | Promise<Dispatch>): Dispatch => {
  if (dispatched instanceof Promise) throw new Error('expected a synchronous dispatch where node:crypto is')
  return dispatched
}

const newReceiver = (extra: Partial<ConstructorParameters<typeof WebhookReceiver>[0]> = {}) =>
  new WebhookReceiver({ secret: SECRET, logger: silentLogger, ...extra })

const leftOf = (r: E.Either<IngestError, Payload | UsertourTriggerPayload>): IngestError => {
  if (E.isRight(r)) throw new Error(`expected a Left, got ${JSON.stringify(r.right).slice(0, 80)}`)
  return r.left
}

/** Collects unhandled rejections and uncaught exceptions while `run` (and a few ticks after it) runs. */
async function processFaults(run: () => Promise<void> | void): Promise<unknown[]> {
  const faults: unknown[] = []
  const onFault = (e: unknown) => faults.push(e)
  process.on('unhandledRejection', onFault)
  process.on('uncaughtException', onFault)
  try {
    await run()
    await new Promise((r) => setTimeout(r, 20))
  } finally {
    process.off('unhandledRejection', onFault)
    process.off('uncaughtException', onFault)
  }
  return faults
}

describe('WebhookReceiver', () => {
  describe('ingest: accepted deliveries', () => {
    it('decodes every modelled fixture and emits it before returning', () => {
      const receiver = newReceiver()
      const seen: string[] = []
      receiver.payloads$.subscribe((p) => seen.push(`payload:${p.type}`))
      receiver.actions$.subscribe((p) => seen.push(`actions:${p.count}`))
      receiver.summary$.subscribe((p) => seen.push(`summary:${p.replaces}`))
      for (const name of ['actions-small', 'summary', 'actions-medium'] as const) {
        const { body, signature } = signed(fixture(name))
        const result = receiver.ingest(body, signature)
        expect(E.isRight(result), name).to.equal(true)
        seen.push(`returned:${name}`)
      }
      const medium = JSON.parse(fixture('actions-medium').toString()).actions.length
      expect(seen).to.deep.equal([
        'payload:actions', 'actions:3', 'returned:actions-small',
        'payload:summary', 'summary:12', 'returned:summary',
        'payload:actions', `actions:${medium}`, 'returned:actions-medium',
      ])
    })

    it('accepts a body given as a string, a Buffer, a Uint8Array view or an ArrayBuffer', () => {
      const receiver = newReceiver()
      const { body, signature } = signed(fixture('summary'))
      const padded = new Uint8Array(body.length + 4)
      padded.set(body, 2)
      const view = padded.subarray(2, 2 + body.length)
      const arrayBuffer = new Uint8Array(body).buffer
      for (const input of [body.toString('utf8'), body, view, arrayBuffer]) {
        expect(E.isRight(receiver.ingest(input, signature))).to.equal(true)
      }
    })

    it('warns when the declared count does not match the actions, and uses the actions', () => {
      const logger = recordingLogger()
      const receiver = newReceiver({ logger })
      const { body, signature } = signed('{"type":"actions","session_id":"s1","product_id":"p1","count":5,"actions":[{},{}]}')
      const result = receiver.ingest(body, signature)
      expect(E.isRight(result) && result.right.type === 'actions' && result.right.count).to.equal(2)
      expect(logger.lines.filter((l) => l.level === 'warn')).to.deep.equal([{
        level: 'warn', message: 'Declared count 5 does not match the 2 actions received; count set to 2',
        context: { session_id: 's1', product_id: 'p1', type: 'actions' },
      }])
    })

    it('keeps prototypes intact and returns plain data for __proto__ and constructor keys', () => {
      const receiver = newReceiver()
      const text = '{"type":"actions","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},' +
        '"actions":[{"__proto__":{"title":"from proto"},"constructor":{"prototype":{"x":1}},"index":0}]}'
      const { body, signature } = signed(text)
      const result = receiver.ingest(body, signature)
      if (E.isLeft(result) || result.right.type !== 'actions') throw new Error('expected actions')
      const payload = result.right
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined)
      expect(Object.getPrototypeOf(payload)).to.equal(Object.prototype)
      expect(Object.getPrototypeOf(payload.actions[0])).to.equal(Object.prototype)
      expect(Object.keys(payload)).to.not.include('__proto__')
      expect(Object.keys(payload)).to.not.include('constructor')
      expect(payload.actions[0]!.title).to.equal('')
      expect(Object.keys(payload.actions[0]!)).to.deep.equal(['index', 'type', 'title', 'description', 'canonical_url',
        'raw_url', 'timestamp_start', 'timestamp_end', 'session_id', 'user_id', 'email', 'conversation_id'])
    })

    it('accepts deep nesting inside an unknown field (it is ignored)', () => {
      const receiver = newReceiver()
      const deep = '['.repeat(5000) + ']'.repeat(5000)
      const { body, signature } = signed(`{"type":"summary","extra":${deep}}`)
      expect(E.isRight(receiver.ingest(body, signature))).to.equal(true)
    })
  })

  describe('ingest: refused deliveries, each with its tag and fields', () => {
    const receiver = newReceiver()
    const body = fixture('actions-small')

    it('InvalidSignature: missing, malformed, mismatch, with the raw body', () => {
      const cases: Array<[string | null | undefined, string]> = [
        [undefined, 'missing'], [null, 'missing'], ['', 'missing'],
        ['sha1=abc', 'malformed'], [sign(body, SECRET).slice(0, 40), 'malformed'],
        [sign(body, 'wrong-secret'), 'mismatch'],
      ]
      for (const [signature, reason] of cases) {
        const error = leftOf(receiver.ingest(body, signature))
        expect(error).to.deep.include({ _tag: 'InvalidSignature', reason })
        expect(error._tag === 'InvalidSignature' && Buffer.from(error.body).equals(body)).to.equal(true)
        expect(error.message).to.match(/^Invalid X-Connector-Signature/)
        expect(error.message).to.not.include(SECRET)
      }
    })

    it('InvalidSignature when one byte of the body changed, or the body was truncated', () => {
      const signature = sign(body, SECRET)
      const flipped = Buffer.from(body)
      flipped[20] = flipped[20]! ^ 0x20
      expect(leftOf(receiver.ingest(flipped, signature))).to.deep.include({ _tag: 'InvalidSignature', reason: 'mismatch' })
      expect(leftOf(receiver.ingest(body.subarray(0, body.length - 1), signature))).to.deep.include({ reason: 'mismatch' })
    })

    it('verifies the signature before parsing: a forged malformed body is InvalidSignature, not MalformedJson', () => {
      expect(leftOf(receiver.ingest('{not json', sign('{other', SECRET)))._tag).to.equal('InvalidSignature')
    })

    it('MalformedJson: syntax errors, a second BOM (one leading BOM is dropped, as the reference reads it), and invalid UTF-8', () => {
      const syntax = signed('{"type":"actions",')
      expect(leftOf(receiver.ingest(syntax.body, syntax.signature))).to.deep.include({ _tag: 'MalformedJson', reason: 'syntax' })
      const bom = Buffer.from([0xef, 0xbb, 0xbf])
      const one = signed(Buffer.concat([bom, fixture('summary')]))
      expect(E.isRight(receiver.ingest(one.body, one.signature))).to.equal(true)
      const two = signed(Buffer.concat([bom, bom, fixture('summary')]))
      expect(leftOf(receiver.ingest(two.body, two.signature))).to.deep.include({ _tag: 'MalformedJson', reason: 'syntax' })
      const invalid = signed(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]))
      const error = leftOf(receiver.ingest(invalid.body, invalid.signature))
      expect(error).to.deep.include({ _tag: 'MalformedJson', reason: 'invalid-utf8', message: 'Body is not valid UTF-8' })
      expect(error._tag === 'MalformedJson' && Buffer.from(error.body).equals(invalid.body)).to.equal(true)
    })

    it('InvalidPayload at the root for 200,000 nested arrays (V8 parses them without recursing): never a throw', () => {
      const deep = signed('['.repeat(200_000) + ']'.repeat(200_000))
      const error = leftOf(receiver.ingest(deep.body, deep.signature))
      expect(error._tag).to.equal('InvalidPayload')
      if (error._tag === 'InvalidPayload') expect(error.issues).to.deep.equal([{ path: '', expected: 'an event object', got: 'array' }])
    })

    it('MalformedJson, not a throw, when the parser gives up on depth (a RangeError, as engines that recurse raise)', () => {
      // V8 does not recurse, so the engine's refusal is stood in for: the fence must turn any throw of JSON.parse into data.
      const { body: b, signature } = signed('[[[]]]')
      const parse = JSON.parse
      JSON.parse = () => { throw new RangeError('Maximum call stack size exceeded') }
      let result: E.Either<IngestError, Payload | UsertourTriggerPayload>
      try {
        result = receiver.ingest(b, signature)
      } finally {
        JSON.parse = parse
      }
      expect(leftOf(result)).to.deep.include({
        _tag: 'MalformedJson', reason: 'syntax', message: 'Body is not valid JSON: Maximum call stack size exceeded',
      })
    })

    it('InvalidPayload for JSON that is not an object: arrays, null, numbers, strings', () => {
      for (const text of ['[]', 'null', '42', '"actions"', 'true']) {
        const { body: b, signature } = signed(text)
        const error = leftOf(receiver.ingest(b, signature))
        expect(error._tag, text).to.equal('InvalidPayload')
        if (error._tag === 'InvalidPayload') expect(error.issues[0]!.path).to.equal('')
      }
    })

    it('InvalidPayload with a readable path and the io-ts errors', () => {
      const { body: b, signature } = signed('{"type":"actions","actions":[{},{},{"title":5}],"forwarded_at":"soon"}')
      const error = leftOf(receiver.ingest(b, signature))
      if (error._tag !== 'InvalidPayload') throw new Error(error._tag)
      expect(error.eventType).to.equal('actions')
      expect(error.issues).to.deep.equal([
        { path: 'forwarded_at', expected: 'number', got: 'string' },
        { path: 'actions.2.title', expected: 'string', got: 'number' },
      ])
      expect(error.errors).to.have.length(2)
      expect(error.message).to.equal('Invalid actions payload: forwarded_at: expected number, got string; actions.2.title: expected string, got number')
    })

    it('InvalidPayload for a signed batch whose session id holds the key separator: nothing reaches the streams', () => {
      const forging = newReceiver()
      const seen: string[] = []
      forging.payloads$.subscribe((p) => seen.push(p.session_id ?? 'null'))
      forging.rejected$.subscribe((e) => seen.push(e._tag))
      const { body: b, signature } = signed(JSON.stringify({ type: 'actions', session_id: 'prod_abc\x1fps_victim',
        actions: [{ index: 0, type: 'click', description: 'Injected' }] }))
      const error = leftOf(forging.ingest(b, signature))
      expect(error).to.deep.include({ _tag: 'InvalidPayload', eventType: 'actions',
        issues: [{ path: 'session_id', expected: 'an id: at most 1024 characters, no control', got: 'string' }],
        message: 'Invalid actions payload: session_id: expected an id: at most 1024 characters, no control, got string' })
      expect(seen).to.deep.equal(['InvalidPayload'])
    })

    it('InvalidPayload when an action is not an object, or a string stands where a number belongs', () => {
      const { body: b, signature } = signed('{"type":"actions","actions":["click"]}')
      expect(leftOf(receiver.ingest(b, signature))).to.deep.include({ _tag: 'InvalidPayload' })
      const s = signed('{"type":"summary","replaces":"12"}')
      const error = leftOf(receiver.ingest(s.body, s.signature))
      expect(error._tag === 'InvalidPayload' && error.issues).to.deep.equal([{ path: 'replaces', expected: 'integer', got: 'string' }])
    })

    it('InvalidPayload for an object without a string type', () => {
      const { body: b, signature } = signed('{"type":7}')
      const error = leftOf(receiver.ingest(b, signature))
      expect(error._tag === 'InvalidPayload' && error.issues).to.deep.equal([{ path: 'type', expected: 'string', got: 'number' }])
    })

    it('UnknownEventType with the type seen and the parsed event', () => {
      const { body: b, signature } = signed(fixture('unknown-type'))
      const error = leftOf(receiver.ingest(b, signature))
      expect(error).to.deep.include({ _tag: 'UnknownEventType', eventType: 'session_started' })
      expect(error._tag === 'UnknownEventType' && error.event).to.deep.equal(JSON.parse(fixture('unknown-type').toString()))
    })

    it('NotRawBody for an already-parsed object, null, a number or undefined, saying how to fix it', () => {
      const hostile = new Proxy({}, { getPrototypeOf: () => { throw new Error('trap') } })
      const values: unknown[] = [{ type: 'actions' }, null, 42, undefined, [1, 2], new Date(0), hostile]
      const received = values.map((v) => {
        const error = leftOf(receiver.ingest(v as string, 'sha256=00'))
        expect(error.message).to.include('mount the receiver before any body parser')
        return error._tag === 'NotRawBody' ? error.received : error._tag
      })
      expect(received).to.deep.equal(['object', 'null', 'number', 'undefined', 'array', 'Date', 'object'])
    })

    it('BodyTooLarge over maxBodyBytes, checked before the signature', () => {
      const small = newReceiver({ maxBodyBytes: 100 })
      const error = leftOf(small.ingest(body, sign(body, SECRET)))
      expect(error).to.deep.include({ _tag: 'BodyTooLarge', limit: 100, size: body.length })
      expect(() => newReceiver({ maxBodyBytes: 0 })).to.throw(TypeError, 'maxBodyBytes')
    })

    it('refuses every body not signed with one of the secrets, and lets every genuine one past the signature (property)', () => {
      const NEXT = 'next-secret'
      const r = newReceiver({ secret: [SECRET, NEXT] }) // rotation: both verify
      const open = new WebhookReceiver({ secret: '', logger: silentLogger }) // the same decoding, no signature check
      let runs = 0
      let genuineRuns = 0
      fc.assert(fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 200 }), fc.constantFrom(fixture('summary'), fixture('actions-small'))),
        fc.oneof(fc.string({ maxLength: 80 }), fc.constant(undefined), fc.constant(null),
          fc.stringMatching(/^sha256=[0-9a-f]{64}$/), fc.string({ maxLength: 10 }).map((s) => sign(s, SECRET)),
          fc.constantFrom(SECRET, NEXT).map((secret) => ({ secret })),
          fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s !== SECRET && s !== NEXT).map((secret) => ({ secret }))),
        (body, header) => {
          runs++
          const signature = typeof header === 'object' && header !== null ? sign(body, header.secret) : header
          const result = r.ingest(body, signature)
          const genuine = signature === sign(body, SECRET) || signature === sign(body, NEXT)
          expect(r.verify(body, signature)).to.equal(genuine)
          // Bodies here stay far below the 1 MiB limit, so a forged one has exactly one answer.
          if (!genuine) expect(E.isLeft(result) && result.left._tag).to.equal('InvalidSignature')
          else {
            genuineRuns++
            // Past the signature, the answer is exactly what decoding alone gives.
            expect(result).to.deep.equal(open.ingest(body, undefined))
          }
        }), { numRuns: 2000 })
      expect(runs).to.equal(2000)
      // About one run in seven is signed with a configured secret: both sides were exercised.
      expect(genuineRuns).to.be.within(100, 1900)
    })
  })

  describe('bodies that fight back', () => {
    const { proxy, revoke } = Proxy.revocable({}, {})
    revoke()
    class Sly extends Uint8Array {
      override get byteLength(): number { throw new Error('byteLength getter') }
    }
    const bodies: Array<[string, unknown]> = [['a revoked Proxy', proxy], ['a Uint8Array whose byteLength throws', new Sly(4)]]

    for (const [name, body] of bodies) {
      it(`${name}: a NotRawBody refusal from ingest and ingestAsync, false from verify, null from parse; nothing throws`, async () => {
        const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
        const refused: string[] = []
        receiver.rejected$.subscribe((error) => refused.push(error._tag))
        const tagOf = (result: E.Either<IngestError, Payload | UsertourTriggerPayload>) => (E.isLeft(result) ? result.left._tag : 'accepted')
        expect(tagOf(receiver.ingest(body as string, 'sha256=00'))).to.equal('NotRawBody')
        expect(tagOf(await receiver.ingestAsync(body as string, 'sha256=00'))).to.equal('NotRawBody')
        expect([receiver.verify(body as string, 'sha256=00'), await receiver.verifyAsync(body as string, 'sha256=00')])
          .to.deep.equal([false, false])
        expect(receiver.parse(body as string)).to.equal(null)
        expect(refused).to.deep.equal(['NotRawBody', 'NotRawBody'])
      })
    }

    it('1,000 forged 1 MiB bodies: rejected$ carries the first maxRejectedBodyBytes (4 KiB) of each and its size; one log line per 10 s', () => {
      const logger = recordingLogger()
      const receiver = new WebhookReceiver({ secret: SECRET, logger })
      const refused: IngestError[] = []
      receiver.rejected$.subscribe((error) => refused.push(error))
      const forged = Buffer.alloc(1024 * 1024, 'x')
      for (let i = 0; i < 1000; i++) receiver.ingest(forged, i % 10 === 0 ? sign('other', SECRET) : 'sha256=forged')
      expect(refused).to.have.length(1000)
      for (const error of refused) {
        if (error._tag !== 'InvalidSignature') throw new Error(`expected InvalidSignature, got ${error._tag}`)
        // A copy: the megabyte it was cut from is not held.
        expect([error.body.buffer.byteLength, error.bodySize]).to.deep.equal([4096, 1024 * 1024])
        expect(Buffer.from(error.body).equals(forged.subarray(0, 4096))).to.equal(true)
      }
      expect(logger.lines.map((l) => l.message)).to.deep.equal([
        'Delivery refused: Invalid X-Connector-Signature: the signature does not match the body'])
      const small = newReceiver({ maxRejectedBodyBytes: 100 })
      const cut = leftOf(small.ingest(Buffer.alloc(100, 'y'), 'sha256=forged'))
      expect(cut._tag === 'InvalidSignature' && [cut.body.byteLength, cut.bodySize]).to.deep.equal([100, undefined])
      expect(() => newReceiver({ maxRejectedBodyBytes: 0 })).to.throw(TypeError, /maxRejectedBodyBytes/)
    })
  })

  describe('secrets', () => {
    it('accepts any one of several secrets (rotation)', () => {
      const receiver = newReceiver({ secret: ['next-secret', SECRET] })
      const body = fixture('summary')
      expect(E.isRight(receiver.ingest(body, sign(body, SECRET)))).to.equal(true)
      expect(E.isRight(receiver.ingest(body, sign(body, 'next-secret')))).to.equal(true)
      expect(leftOf(receiver.ingest(body, sign(body, 'old')))._tag).to.equal('InvalidSignature')
    })

    it('an empty secret accepts everything unsigned and warns once', () => {
      const logger = recordingLogger()
      const receiver = new WebhookReceiver({ secret: '', logger })
      expect(E.isRight(receiver.ingest(fixture('summary'), undefined))).to.equal(true)
      expect(E.isRight(receiver.ingest(fixture('summary'), 'sha256=nonsense'))).to.equal(true)
      expect(receiver.verify(fixture('summary'), undefined)).to.equal(true)
      expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).to.deep.equal([
        'The secret is empty: every delivery is accepted unsigned (for development only)',
      ])
    })

    it('refuses an empty list, a list mixing "" with real secrets, and non-strings', () => {
      expect(() => new WebhookReceiver({ secret: [] })).to.throw(TypeError, 'secret list is empty')
      expect(() => new WebhookReceiver({ secret: ['', 'real'] })).to.throw(TypeError, 'empty secret among real ones')
      expect(() => new WebhookReceiver({ secret: 42 as unknown as string })).to.throw(TypeError, 'must be a string')
      // The usual cause, an unset environment variable, is named with its fix.
      expect(() => new WebhookReceiver({ secret: process.env.AUTOPLAY_RX_UNSET_VARIABLE! })).to.throw(TypeError,
        'got undefined: pass the secret the connector signs with (is the environment variable that holds it set?)')
    })
  })

  describe('streams', () => {
    it('rejected$ sees every Left, payloads$ every Right, in order', () => {
      const receiver = newReceiver()
      const events: string[] = []
      receiver.payloads$.subscribe((p) => events.push(`ok:${p.type}`))
      receiver.rejected$.subscribe((e) => events.push(`rejected:${e._tag}`))
      const s = signed(fixture('summary'))
      const t = signed(fixture('unknown-type'))
      receiver.ingest(s.body, s.signature)
      receiver.ingest(s.body, 'sha256=' + '0'.repeat(64))
      receiver.ingest(t.body, t.signature)
      receiver.ingest({} as unknown as string, s.signature)
      expect(events).to.deep.equal(['ok:summary', 'rejected:InvalidSignature', 'rejected:UnknownEventType', 'rejected:NotRawBody'])
    })

    it('are hot and multicast: late subscribers see only later deliveries', () => {
      const receiver = newReceiver()
      const s = signed(fixture('summary'))
      receiver.ingest(s.body, s.signature)
      const a: number[] = []
      const b: number[] = []
      receiver.summary$.subscribe((p) => a.push(p.replaces))
      receiver.summary$.subscribe((p) => b.push(p.replaces))
      receiver.ingest(s.body, s.signature)
      expect([a, b]).to.deep.equal([[12], [12]])
    })

    it('complete() completes every stream; later deliveries are answered but emit nothing', () => {
      const receiver = newReceiver()
      const completed: string[] = []
      const emitted: string[] = []
      for (const [name, stream] of [['payloads$', receiver.payloads$], ['actions$', receiver.actions$],
        ['summary$', receiver.summary$], ['usertourTrigger$', receiver.usertourTrigger$], ['rejected$', receiver.rejected$]] as const) {
        (stream as typeof receiver.payloads$).subscribe({ next: () => emitted.push(name), complete: () => completed.push(name) })
      }
      const called: string[] = []
      receiver.onSummary(() => { called.push('onSummary') })
      receiver.complete()
      expect(completed).to.deep.equal(['payloads$', 'actions$', 'summary$', 'usertourTrigger$', 'rejected$'])
      const s = signed(fixture('summary'))
      expect(E.isRight(receiver.ingest(s.body, s.signature))).to.equal(true)
      const t = signed(fixture('usertour-trigger'))
      expect(E.isRight(receiver.ingest(t.body, t.signature))).to.equal(true)
      expect(leftOf(receiver.ingest(s.body, undefined))._tag).to.equal('InvalidSignature')
      expect(emitted).to.deep.equal([])
      expect(called).to.deep.equal([])
      let lateCompleted = false
      receiver.actions$.subscribe({ complete: () => { lateCompleted = true } })
      expect(lateCompleted).to.equal(true)
    })

    it('are independent between receivers', () => {
      const a = newReceiver()
      const b = newReceiver()
      const seen: string[] = []
      a.payloads$.subscribe(() => seen.push('a'))
      b.payloads$.subscribe(() => seen.push('b'))
      const s = signed(fixture('summary'))
      a.ingest(s.body, s.signature)
      expect(seen).to.deep.equal(['a'])
    })
  })

  describe('usertour_trigger: typed, on a stream of its own, never a payload', () => {
    const trigger = JSON.parse(fixture('usertour-trigger').toString()) as Record<string, unknown>

    it('ingest gives it on the right and usertourTrigger$ emits it; payloads$, actions$, summary$, rejected$ and the callbacks see nothing', async () => {
      const called: string[] = []
      const receiver = newReceiver({ onActions: () => { called.push('actions') }, onSummary: () => { called.push('summary') } })
      const seen: string[] = []
      receiver.usertourTrigger$.subscribe((t) => seen.push(`trigger:${t.flow_id}:${t.session_id}`))
      for (const stream of ['payloads$', 'actions$', 'summary$', 'rejected$'] as const) {
        (receiver[stream] as import('rxjs').Observable<unknown>).subscribe(() => seen.push(stream))
      }
      const { body, signature } = signed(fixture('usertour-trigger'))
      const result = receiver.ingest(body, signature)
      const expected: UsertourTriggerPayload = { type: 'usertour_trigger', product_id: 'prod_abc', flow_id: 'flow_42',
        session_id: 'ps_abc123', reason: '', user_id: null }
      expect(result).to.deep.equal(E.right(expected))
      expect(await receiver.ingestAsync(body, signature)).to.deep.equal(E.right(expected))
      expect(trigger['forwarded_at']).to.be.a('number') // sent, and dropped: the wire form has none
      expect(seen).to.deep.equal(['trigger:flow_42:ps_abc123', 'trigger:flow_42:ps_abc123'])
      expect(called).to.deep.equal([])
    })

    it('parse, handle and handleSync return null for it, as the reference; handle still emits it, and a forged one throws', async () => {
      const receiver = newReceiver()
      const seen: string[] = []
      receiver.usertourTrigger$.subscribe((t) => seen.push(t.flow_id))
      const { body, signature } = signed(fixture('usertour-trigger'))
      expect(receiver.parse(body)).to.equal(null)
      expect(await receiver.handle(body, signature)).to.equal(null)
      expect(receiver.handleSync(body, signature)).to.equal(null)
      expect(seen).to.deep.equal(['flow_42', 'flow_42'])
      expect(() => receiver.handleSync(body, 'sha256=' + '0'.repeat(64))).to.throw(InvalidSignatureError)
      expect(seen).to.have.length(2)
    })

    it('one without a flow_id is an InvalidPayload on rejected$, with its body; an unknown type stays a non-fault UnknownEventType', () => {
      const receiver = newReceiver()
      const tags: string[] = []
      receiver.rejected$.subscribe((e) => tags.push(e._tag))
      receiver.usertourTrigger$.subscribe(() => tags.push('trigger'))
      const bad = signed(JSON.stringify({ ...trigger, flow_id: undefined }))
      const error = leftOf(receiver.ingest(bad.body, bad.signature))
      expect(error).to.deep.include({ _tag: 'InvalidPayload', eventType: 'usertour_trigger' })
      expect(Buffer.from((error as { body: Uint8Array }).body).toString()).to.equal(bad.body.toString())
      const unknown = signed(fixture('unknown-type'))
      expect(leftOf(receiver.ingest(unknown.body, unknown.signature))).to.deep.include({ _tag: 'UnknownEventType' })
      expect(tags).to.deep.equal(['InvalidPayload', 'UnknownEventType'])
    })
  })

  describe('callbacks', () => {
    it('options and builder methods register callbacks; builders return the receiver', () => {
      const calls: string[] = []
      const receiver = newReceiver({ onActions: (p) => { calls.push(`opt-actions:${p.count}`) } })
      const returned = receiver
        .onActions((p) => { calls.push(`actions:${p.session_id}`) })
        .onSummary((p) => { calls.push(`summary:${p.replaces}`) })
      expect(returned).to.equal(receiver)
      for (const name of ['actions-small', 'summary'] as const) {
        const s = signed(fixture(name))
        receiver.ingest(s.body, s.signature)
      }
      expect(calls).to.deep.equal(['opt-actions:3', 'actions:ps_abc123', 'summary:12'])
    })

    it('a throwing callback is logged with session and product ids and stops nothing', async () => {
      const logger = recordingLogger()
      const receiver = newReceiver({ logger })
      const calls: string[] = []
      const boom = new Error('boom')
      receiver.onActions(() => { throw boom })
      receiver.onActions(() => { calls.push('second callback') })
      receiver.actions$.subscribe(() => calls.push('subscriber'))
      const faults = await processFaults(() => {
        for (let i = 0; i < 3; i++) {
          const s = signed(fixture('actions-small'))
          expect(E.isRight(receiver.ingest(s.body, s.signature))).to.equal(true)
        }
      })
      expect(faults).to.deep.equal([])
      // Callbacks are not subscribers: the streams see each payload first, then the callbacks run.
      expect(calls).to.deep.equal(Array(3).fill(['subscriber', 'second callback']).flat())
      const errors = logger.lines.filter((l) => l.level === 'error')
      expect(errors).to.have.length(3)
      expect(errors[0]).to.deep.equal({ level: 'error', message: 'onActions callback failed',
        context: { session_id: 'ps_abc123', product_id: 'prod_abc', type: 'actions', error: boom } })
    })

    it('a rejecting async callback is logged, with no unhandled rejection', async () => {
      const logger = recordingLogger()
      const receiver = newReceiver({ logger })
      receiver.onSummary(async () => { throw new Error('later') })
      const faults = await processFaults(() => {
        const s = signed(fixture('summary'))
        receiver.ingest(s.body, s.signature)
      })
      expect(faults).to.deep.equal([])
      expect(logger.lines.filter((l) => l.level === 'error').map((l) => (l.context?.error as Error).message)).to.deep.equal(['later'])
    })
  })

  describe('reference parity', () => {
    const s = signed(fixture('summary'))
    const a = signed(fixture('actions-small'))
    const t = signed(fixture('usertour-trigger'))
    const bad = signed('{"type":')

    it('verify: a boolean, signature only', () => {
      const receiver = newReceiver()
      expect(receiver.verify(s.body, s.signature)).to.equal(true)
      expect(receiver.verify(bad.body, bad.signature)).to.equal(true)
      expect(receiver.verify(s.body, a.signature)).to.equal(false)
      expect(receiver.verify(s.body, undefined)).to.equal(false)
      expect(receiver.verify({} as unknown as string, s.signature)).to.equal(false)
    })

    it('parse: the payload without a signature check and without emitting; null for bad JSON or an unknown type', () => {
      const receiver = newReceiver()
      const emitted: unknown[] = []
      receiver.payloads$.subscribe((p) => emitted.push(p))
      receiver.rejected$.subscribe((p) => emitted.push(p))
      expect(receiver.parse(s.body)).to.deep.include({ type: 'summary', replaces: 12 })
      expect(receiver.parse(bad.body)).to.equal(null)
      expect(receiver.parse(t.body)).to.equal(null)
      expect(receiver.parse('{"type":"actions","actions":5}')).to.equal(null)
      expect(emitted).to.deep.equal([])
    })

    it('handle: awaits sync and async callbacks, then resolves with the payload', async () => {
      const order: string[] = []
      const receiver = newReceiver()
        .onSummary(async (p) => { await new Promise((r) => setTimeout(r, 15)); order.push(`async:${p.replaces}`) })
        .onSummary(() => { order.push('sync') })
      const result = await receiver.handle(s.body, s.signature)
      order.push('resolved')
      expect((result as SummaryPayload).replaces).to.equal(12)
      expect(order).to.deep.equal(['sync', 'async:12', 'resolved'])
    })

    it('handle: rejects with InvalidSignatureError on a bad signature, calling nothing', async () => {
      let called = false
      const receiver = newReceiver().onSummary(() => { called = true })
      const error = await receiver.handle(s.body, a.signature).then(() => null, (e: unknown) => e)
      expect(error).to.be.instanceOf(InvalidSignatureError)
      expect(error).to.include({ message: 'Invalid X-Connector-Signature: the signature does not match the body', reason: 'mismatch' })
      expect(called).to.equal(false)
    })

    it('handle: resolves null for bad JSON and unknown types, calling nothing', async () => {
      let called = false
      const receiver = newReceiver().onActions(() => { called = true }).onSummary(() => { called = true })
      expect(await receiver.handle(bad.body, bad.signature)).to.equal(null)
      expect(await receiver.handle(t.body, t.signature)).to.equal(null)
      expect(called).to.equal(false)
    })

    it('handle: resolves with the payload even when callbacks throw or reject', async () => {
      const receiver = newReceiver()
        .onActions(() => { throw new Error('sync failure') })
        .onActions(async () => { throw new Error('async failure') })
      const faults = await processFaults(async () => {
        const result = await receiver.handle(a.body, a.signature)
        expect((result as ActionsPayload).count).to.equal(3)
      })
      expect(faults).to.deep.equal([])
    })

    it('dispatch: reports the callbacks that failed once they settle', async () => {
      const receiver = newReceiver()
        .onActions(() => { throw new Error('one') })
        .onActions(async () => { throw new Error('two') })
        .onActions(async () => undefined)
      const { result, callbacks } = now(receiver.dispatch(a.body, a.signature))
      expect(E.isRight(result)).to.equal(true)
      if (callbacks._tag !== 'Pending') expect.fail(`an async callback leaves the outcome Pending, got ${callbacks._tag}`)
      const failures = await callbacks.done
      expect(failures.map((f) => [f.callback, (f.error as Error).message])).to.deep.equal([['onActions', 'one'], ['onActions', 'two']])
    })

    it('handleSync: returns the payload, throws on a bad signature, null for bad JSON', () => {
      const receiver = newReceiver()
      expect(receiver.handleSync(a.body, a.signature)).to.deep.include({ type: 'actions', count: 3 })
      expect(() => receiver.handleSync(a.body, 'sha256=zz')).to.throw(InvalidSignatureError, 'Invalid X-Connector-Signature')
      expect(receiver.handleSync(bad.body, bad.signature)).to.equal(null)
      expect(receiver.handleSync(t.body, t.signature)).to.equal(null)
    })

    it('handleSync: an async callback is reported as unsupported through the logger', async () => {
      const logger = recordingLogger()
      const receiver = newReceiver({ logger }).onSummary(async () => { throw new Error('rejected later') })
      const faults = await processFaults(() => {
        expect(receiver.handleSync(s.body, s.signature)).to.deep.include({ type: 'summary' })
      })
      expect(faults).to.deep.equal([])
      expect(logger.lines.map((l) => [l.level, l.message, (l.context?.error as Error | undefined)?.message])).to.deep.equal([
        ['warn', 'onSummary returned a promise, which handleSync does not wait for: use handle (a rejection is logged)', undefined],
        ['error', 'onSummary callback failed', 'rejected later'],
      ])
    })
  })

  describe('the asynchronous calls', () => {
    it('where node:crypto is (here): verifiesSync, and ingestAsync gives what ingest gives, tags and streams alike', async () => {
      const receiver = newReceiver({ secret: ['next-secret', SECRET] })
      expect(receiver.verifiesSync).to.equal(true)
      const seen: string[] = []
      receiver.payloads$.subscribe((p) => seen.push(p.type))
      receiver.rejected$.subscribe((e) => seen.push(e._tag))
      const a = signed(fixture('actions-small'))
      const cases: Array<[Uint8Array | string, string | undefined]> = [
        [a.body, a.signature], [a.body, sign(a.body, 'next-secret')], [a.body, sign(a.body, 'retired')],
        [a.body, 'sha256=xyz'], [a.body, undefined], [signed('{"type":').body, signed('{"type":').signature],
      ]
      for (const [body, signature] of cases) {
        const sync = receiver.ingest(body, signature)
        const async = await receiver.ingestAsync(body, signature)
        expect(E.isRight(async) ? async.right.type : async.left._tag).to.equal(E.isRight(sync) ? sync.right.type : sync.left._tag)
        expect(await receiver.verifyAsync(body, signature)).to.equal(receiver.verify(body, signature))
      }
      expect(seen).to.deep.equal(['actions', 'actions', 'actions', 'actions', 'InvalidSignature', 'InvalidSignature',
        'InvalidSignature', 'InvalidSignature', 'InvalidSignature', 'InvalidSignature', 'MalformedJson', 'MalformedJson'])
    })

    it('where node:crypto is not (a Node without process.getBuiltinModule): sync calls refuse by name, nothing fake, the async ones verify', async function () {
      this.timeout(20_000)
      const good = signed(fixture('summary'))
      const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), good.body])
      const { stdout } = await runChild(15_000, `
        import * as E from 'fp-ts/lib/Either.js'
        import { WebhookReceiver, silentLogger, sign, signAsync } from '${sourceModule('index.ts')}'
        import { signatureCheck } from '${sourceModule('signature.ts')}'
        import { decodeBytes } from '${sourceModule('decode.ts')}'
        import { createFetchHandler } from '${sourceModule('adapters/web.ts')}'
        const body = new Uint8Array(${JSON.stringify([...good.body])})
        const signature = ${JSON.stringify(good.signature)}
        const receiver = new WebhookReceiver({ secret: ['next-secret', ${JSON.stringify(SECRET)}], logger: silentLogger })
        const seen = []
        receiver.payloads$.subscribe((p) => seen.push(p.type))
        receiver.rejected$.subscribe((e) => seen.push(e._tag))
        const tag = (r) => (E.isRight(r) ? r.right.type : r.left._tag + (r.left.reason ? ':' + r.left.reason : ''))
        const sync = receiver.ingest(body, signature)
        const thrown = (f) => { try { f(); return 'none' } catch (e) { return e.constructor.name + ': ' + e.message } }
        const handler = createFetchHandler(receiver)
        const post = async (b, s) => (await handler(new Request('http://x/', { method: 'POST', body: b, headers: { 'content-type': 'application/json', ...(s ? { 'x-connector-signature': s } : {}) } }))).status
        console.log(JSON.stringify({
          verifiesSync: receiver.verifiesSync,
          sync: tag(sync), syncBody: E.isLeft(sync) && sync.left.body === body, syncMessage: E.isLeft(sync) ? sync.left.message : '',
          handleSync: thrown(() => receiver.handleSync(body, signature)),
          verify: receiver.verify(body, signature), verifyAsync: await receiver.verifyAsync(body, signature),
          async: tag(await receiver.ingestAsync(body, signature)),
          rotated: tag(await receiver.ingestAsync(body, await signAsync(body, 'next-secret'))),
          forged: tag(await receiver.ingestAsync(body, await signAsync(body, 'retired'))),
          malformed: tag(await receiver.ingestAsync(body, 'sha256=' + 'G'.repeat(64))),
          missing: tag(await receiver.ingestAsync(body, null)),
          handle: (await receiver.handle(body, signature))?.type,
          statuses: [await post(body, signature), await post(body, await signAsync(body, 'retired')), await post('{"type":', await signAsync('{"type":', ${JSON.stringify(SECRET)}))],
          sign: thrown(() => sign(body, 's')), webCrypto: signatureCheck(['s'])(body, signature) instanceof Promise,
          utf8: [tag(decodeBytes(new Uint8Array([0x7b, 0xff, 0x7d]))), tag(E.map((d) => d.payload)(decodeBytes(new Uint8Array(${JSON.stringify([...bom])}))))],
          seen,
        }))
      `, ['--import', './spec/helpers/withoutNodeBuiltins.mjs'])
      const out = JSON.parse(stdout) as Record<string, unknown>
      const bomHere = decodeBytesTag(bom)
      expect(out).to.deep.include({
        verifiesSync: false, sync: 'SyncVerificationUnavailable', syncBody: true, verify: false, verifyAsync: true,
        async: 'summary', rotated: 'summary', forged: 'InvalidSignature:mismatch', malformed: 'InvalidSignature:malformed',
        missing: 'InvalidSignature:missing', handle: 'summary', statuses: [200, 401, 400],
      })
      expect(out.syncMessage).to.match(/no node:crypto/i).and.to.match(/ingestAsync/)
      expect(out.handleSync).to.match(/^TypeError: .*handle\b/)
      expect(out.sign).to.match(/^TypeError: .*signAsync/)
      expect(out.webCrypto).to.equal(true)
      // The TextDecoder path reads what Node's Buffer path reads, a leading BOM dropped on both.
      expect(out.utf8).to.deep.equal(['MalformedJson:invalid-utf8', bomHere])
      // Refused sync call, handleSync, then the async ones: only verified deliveries reached payloads$.
      expect(out.seen).to.deep.equal(['SyncVerificationUnavailable', 'SyncVerificationUnavailable', 'summary', 'summary',
        'InvalidSignature', 'InvalidSignature', 'InvalidSignature', 'summary', 'summary', 'InvalidSignature', 'MalformedJson'])
    })
  })
})

function decodeBytesTag(bytes: Uint8Array): string {
  const result = newReceiver({ secret: '' }).ingest(bytes)
  return E.isRight(result) ? result.right.type : `${result.left._tag}${'reason' in result.left ? `:${result.left.reason}` : ''}`
}
