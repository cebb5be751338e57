import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import { ActionsPayload, InvalidSignatureError, match, type IngestError } from '../src/index.js'
import {
  bodyTooLarge, formatIssue, invalidPayload, invalidSignature, malformedJson, notRawBody, unknownEventType,
  syncVerificationUnavailable, type IngestErrorTag,
} from '../src/errors.js'
import { describe as describeValue } from '../src/errors.js'

const body = Buffer.from('{"type":"x"}')

/** An io-ts report of a batch whose second action has a number for a title, and more. */
function errorsOf(value: unknown) {
  const report = ActionsPayload.decode(value)
  if (E.isRight(report)) throw new Error('expected the value to be refused')
  return report.left
}

/** One of each tag, as the constructors make them. */
const oneOfEach = (): Record<IngestErrorTag, IngestError> => ({
  InvalidSignature: invalidSignature('mismatch', body),
  MalformedJson: malformedJson('syntax', 'Unexpected end of JSON input', body),
  InvalidPayload: invalidPayload('actions', errorsOf({ type: 'actions', product_id: 1 }), body),
  UnknownEventType: unknownEventType('usertour_trigger', { type: 'usertour_trigger' }, body),
  NotRawBody: notRawBody({ type: 'summary' }),
  BodyTooLarge: bodyTooLarge(100, 101),
  SyncVerificationUnavailable: syncVerificationUnavailable(body),
})

describe('errors', () => {
  describe('constructors', () => {
    it('invalidSignature: one message per reason, the body kept, never the secret', () => {
      expect(invalidSignature('missing', body)).to.deep.equal({
        _tag: 'InvalidSignature', reason: 'missing', body,
        message: 'Invalid X-Connector-Signature: the header is missing',
      })
      expect(invalidSignature('malformed', body).message)
        .to.equal('Invalid X-Connector-Signature: expected "sha256=" followed by 64 lower-case hex digits')
      expect(invalidSignature('mismatch', body).message)
        .to.equal('Invalid X-Connector-Signature: the signature does not match the body')
      expect(invalidSignature('mismatch', body).body).to.equal(body)
    })

    it('malformedJson: invalid UTF-8 says so without the detail; a syntax error carries the parser\'s words', () => {
      expect(malformedJson('invalid-utf8', 'ignored', body)).to.deep.equal({
        _tag: 'MalformedJson', reason: 'invalid-utf8', message: 'Body is not valid UTF-8', body,
      })
      expect(malformedJson('syntax', 'Unexpected token } in JSON at position 3', body)).to.deep.equal({
        _tag: 'MalformedJson', reason: 'syntax', message: 'Body is not valid JSON: Unexpected token } in JSON at position 3', body,
      })
    })

    it('invalidPayload: readable issues from the io-ts errors, the first five in the message', () => {
      const errors = errorsOf({
        type: 'actions', product_id: 1, session_id: 2, user_id: 3, email: 4, conversation_id: 5, count: 'x', forwarded_at: 'y', actions: [],
      })
      const error = invalidPayload('actions', errors, body)
      expect(error._tag).to.equal('InvalidPayload')
      expect(error.eventType).to.equal('actions')
      expect(error.errors).to.equal(errors)
      expect(error.body).to.equal(body)
      expect(error.issues.length).to.equal(errors.length)
      expect(error.issues[0]).to.deep.equal({ path: 'product_id', expected: 'string', got: 'number' })
      expect(errors.length).to.be.greaterThan(5)
      expect(error.message).to.equal(
        `Invalid actions payload: ${error.issues.slice(0, 5).map(formatIssue).join('; ')} (and ${errors.length - 5} more)`)
    })

    it('invalidPayload: no "more" when there are five issues or fewer, "event" when the type is unknown', () => {
      const errors = errorsOf({
        type: 'actions', product_id: 'p', session_id: null, user_id: null, email: null, conversation_id: null, count: 1, forwarded_at: 1,
        actions: [{ index: 0, type: 'click', title: 7, description: 'd', canonical_url: 'c', raw_url: 'r', timestamp_start: 0, timestamp_end: 1,
          session_id: null, user_id: null, email: null, conversation_id: null }],
      })
      expect(errors).to.have.length(1)
      expect(invalidPayload(null, errors, body).message).to.equal('Invalid event payload: actions.0.title: expected string, got number')
    })

    it('unknownEventType: the type and the event kept, a long type cut to 100 characters in the message', () => {
      const event = { type: 'usertour_trigger', id: 1 }
      expect(unknownEventType('usertour_trigger', event, body)).to.deep.equal({
        _tag: 'UnknownEventType', eventType: 'usertour_trigger', event, body,
        message: 'Event type "usertour_trigger" is not modelled by this version; ignored',
      })
      const long = 'x'.repeat(500)
      const error = unknownEventType(long, { type: long }, body)
      expect(error.eventType).to.equal(long)
      expect(error.message).to.equal(`Event type "${'x'.repeat(100)}" is not modelled by this version; ignored`)
    })

    it('notRawBody: names what was received and how to mount the receiver', () => {
      const cases: Array<[unknown, string]> = [
        [{ type: 'summary' }, 'object'], [null, 'null'], [undefined, 'undefined'], [42, 'number'],
        [[1], 'array'], [new Map(), 'Map'], [Object.create(null), 'object'],
      ]
      for (const [value, received] of cases) {
        const error = notRawBody(value)
        expect(error._tag).to.equal('NotRawBody')
        expect(error.received, received).to.equal(received)
        expect(error.message).to.match(new RegExp(`^Expected the raw request body \\(Uint8Array, Buffer, ArrayBuffer or string\\), got ${received}\\. `))
      }
      const { message } = notRawBody({})
      expect(message).to.include('mount the receiver before any body parser')
      expect(message).to.include('express.json({ verify: (req, _res, buf) => { req.rawBody = buf } })')
    })

    it('bodyTooLarge: the limit and the size seen', () => {
      expect(bodyTooLarge(100, 101)).to.deep.equal({
        _tag: 'BodyTooLarge', limit: 100, size: 101, message: 'Body exceeds the limit of 100 bytes',
      })
    })
  })

  describe('describe', () => {
    it('names JSON types, classes, and an object whose traps throw as object', () => {
      const hostile = new Proxy({}, { getPrototypeOf: () => { throw new Error('trap') } })
      expect([null, undefined, [], {}, 1, 's', true, new Date(0), hostile].map(describeValue))
        .to.deep.equal(['null', 'undefined', 'array', 'object', 'number', 'string', 'boolean', 'Date', 'object'])
    })
  })

  describe('formatIssue', () => {
    it('writes path, expected and got; (root) for the empty path', () => {
      expect(formatIssue({ path: 'actions.2.title', expected: 'string', got: 'number' })).to.equal('actions.2.title: expected string, got number')
      expect(formatIssue({ path: '', expected: 'object', got: 'array' })).to.equal('(root): expected object, got array')
    })
  })

  describe('match over IngestError', () => {
    it('calls exactly the handler of the error\'s tag, with the error, for every tag', () => {
      const calls: Array<[IngestErrorTag, IngestError]> = []
      const record = <K extends IngestErrorTag>(tag: K) => (error: Extract<IngestError, { _tag: K }>) => {
        calls.push([tag, error])
        return tag
      }
      const fold = match<IngestError, IngestErrorTag>({
        InvalidSignature: record('InvalidSignature'), MalformedJson: record('MalformedJson'),
        InvalidPayload: record('InvalidPayload'), UnknownEventType: record('UnknownEventType'),
        NotRawBody: record('NotRawBody'), BodyTooLarge: record('BodyTooLarge'),
        SyncVerificationUnavailable: record('SyncVerificationUnavailable'),
      })
      const errors = oneOfEach()
      for (const [tag, error] of Object.entries(errors) as Array<[IngestErrorTag, IngestError]>) {
        calls.length = 0
        expect(fold(error)).to.equal(tag)
        expect(calls).to.have.length(1)
        expect(calls[0]![0]).to.equal(tag)
        expect(calls[0]![1]).to.equal(error)
      }
    })

    it('maps to the adapters\' statuses', () => {
      const status = match<IngestError, number>({
        InvalidSignature: () => 401, MalformedJson: () => 400, InvalidPayload: () => 400,
        UnknownEventType: () => 200, NotRawBody: () => 400, BodyTooLarge: () => 413, SyncVerificationUnavailable: () => 500,
      })
      const errors = oneOfEach()
      expect(Object.values(errors).map(status)).to.deep.equal([401, 400, 400, 200, 400, 413, 500])
    })

    it('lets a throwing handler\'s error through', () => {
      const boom = new Error('boom')
      const fold = match<IngestError, number>({
        InvalidSignature: () => { throw boom }, MalformedJson: () => 0, InvalidPayload: () => 0,
        UnknownEventType: () => 0, NotRawBody: () => 0, BodyTooLarge: () => 0, SyncVerificationUnavailable: () => 0,
      })
      expect(() => fold(oneOfEach().InvalidSignature)).to.throw(boom)
    })
  })

  describe('InvalidSignatureError', () => {
    it('carries the refusal, its reason and message, and is an Error', () => {
      const refusal = invalidSignature('malformed', body)
      const error = new InvalidSignatureError(refusal)
      expect(error).to.be.instanceOf(Error)
      expect(error.name).to.equal('InvalidSignatureError')
      expect(error.reason).to.equal('malformed')
      expect(error.message).to.equal(refusal.message)
      expect(error.error).to.equal(refusal)
    })
  })
})
