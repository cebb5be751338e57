import { expect } from 'chai'
import {
  bodyTooLarge, invalidPayload, invalidSignature, malformedJson, notRawBody, unknownEventType, type IngestError,
} from '../../src/errors.js'
import { codeOf, NOT_FOUND, OK, overloaded, response, type ResponseCode } from '../../src/adapters/status.js'

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' }

describe('adapters/status', () => {
  describe('response', () => {
    it('writes stable bodies: ok, ignored, processing, and errors with code and message', () => {
      expect(response('ok')).to.deep.equal({ status: 200, code: 'ok', headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{"status":"ok"}' })
      expect(response('ignored').body).to.equal('{"status":"ok","code":"ignored"}')
      expect(response('processing')).to.include({ status: 202, body: '{"status":"accepted","code":"processing"}' })
      expect(response('method_not_allowed', 'Only POST')).to.deep.equal({
        status: 405, code: 'method_not_allowed', headers: { 'content-type': 'application/json; charset=utf-8', allow: 'POST' },
        body: '{"status":"error","code":"method_not_allowed","message":"Only POST"}',
      })
      expect(response('unavailable').status).to.equal(503)
      expect([response('overloaded').status, response('body_not_raw').status]).to.deep.equal([503, 500])
    })

    it('maps every code to its status and body: the whole table', () => {
      const table: Array<[ResponseCode, number, string]> = [
        ['ok', 200, '{"status":"ok"}'],
        ['ignored', 200, '{"status":"ok","code":"ignored"}'],
        ['processing', 202, '{"status":"accepted","code":"processing"}'],
        ['invalid_signature', 401, '{"status":"error","code":"invalid_signature","message":"invalid_signature"}'],
        ['malformed_json', 400, '{"status":"error","code":"malformed_json","message":"malformed_json"}'],
        ['invalid_payload', 400, '{"status":"error","code":"invalid_payload","message":"invalid_payload"}'],
        ['body_not_raw', 500, '{"status":"error","code":"body_not_raw","message":"body_not_raw"}'],
        ['body_too_large', 413, '{"status":"error","code":"body_too_large","message":"body_too_large"}'],
        ['unsupported_media_type', 415, '{"status":"error","code":"unsupported_media_type","message":"unsupported_media_type"}'],
        ['method_not_allowed', 405, '{"status":"error","code":"method_not_allowed","message":"method_not_allowed"}'],
        ['callback_failed', 500, '{"status":"error","code":"callback_failed","message":"callback_failed"}'],
        ['body_timeout', 503, '{"status":"error","code":"body_timeout","message":"body_timeout"}'],
        ['unavailable', 503, '{"status":"error","code":"unavailable","message":"unavailable"}'],
        ['overloaded', 503, '{"status":"error","code":"overloaded","message":"overloaded"}'],
        ['not_found', 404, '{"status":"error","code":"not_found","message":"not_found"}'],
      ]
      expect(table.map(([code]) => response(code))).to.deep.equal(table.map(([code, status, body]) => ({
        status, code, body, headers: code === 'method_not_allowed' ? { ...JSON_TYPE, allow: 'POST' } : JSON_TYPE,
      })))
    })

    it('puts the message, JSON-escaped, only in error bodies, and adds extra headers beside content-type', () => {
      expect(response('ok', 'ignored message').body).to.equal('{"status":"ok"}')
      expect(response('processing', 'ignored message').body).to.equal('{"status":"accepted","code":"processing"}')
      expect(response('malformed_json', 'Body is not "JSON"\n').body)
        .to.equal('{"status":"error","code":"malformed_json","message":"Body is not \\"JSON\\"\\n"}')
      expect(response('body_too_large', 'Too large', { connection: 'close' })).to.deep.equal({
        status: 413, code: 'body_too_large', headers: { ...JSON_TYPE, connection: 'close' },
        body: '{"status":"error","code":"body_too_large","message":"Too large"}',
      })
    })
  })

  describe('the answers made once', () => {
    it('OK is response(\'ok\'); NOT_FOUND is 404 "Not found"', () => {
      expect(OK).to.deep.equal({ status: 200, code: 'ok', headers: JSON_TYPE, body: '{"status":"ok"}' })
      expect(NOT_FOUND).to.deep.equal({ status: 404, code: 'not_found', headers: JSON_TYPE, body: '{"status":"error","code":"not_found","message":"Not found"}' })
    })

    it('overloaded is 503 with retry-after: 1, and its extra headers', () => {
      expect(overloaded('Too many bodies in flight')).to.deep.equal({
        status: 503, code: 'overloaded', headers: { ...JSON_TYPE, 'retry-after': '1' },
        body: '{"status":"error","code":"overloaded","message":"Too many bodies in flight"}',
      })
      expect(overloaded('Full', { connection: 'close' }).headers).to.deep.equal({ ...JSON_TYPE, 'retry-after': '1', connection: 'close' })
    })
  })

  describe('codeOf', () => {
    it('maps every IngestError to its code, and so to its status', () => {
      const body = new TextEncoder().encode('{}')
      const errors: Array<[IngestError, ResponseCode, number]> = [
        [invalidSignature('mismatch', body), 'invalid_signature', 401],
        [malformedJson('syntax', 'Unexpected token', body), 'malformed_json', 400],
        [invalidPayload('summary', [], body), 'invalid_payload', 400],
        [unknownEventType('later', { type: 'later' }, body), 'ignored', 200],
        [notRawBody({ parsed: true }), 'body_not_raw', 500],
        [bodyTooLarge(10, 11), 'body_too_large', 413],
      ]
      expect(errors.map(([error]) => [error._tag, codeOf(error), response(codeOf(error)).status]))
        .to.deep.equal(errors.map(([error, code, status]) => [error._tag, code, status]))
    })
  })
})
