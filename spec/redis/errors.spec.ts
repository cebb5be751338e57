/** The reader's refusals: the guard and the fold over `RedisEntryError`. */
import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import { decodeJsonText } from '../../src/decode.js'
import { isMissingPayloadField, matchRedisEntryError, missingPayloadField, type RedisEntryError } from '../../src/redis/errors.js'

const refusal = (text: string): RedisEntryError => {
  const decoded = decodeJsonText(text)
  if (E.isRight(decoded)) throw new Error(`${text} decoded`)
  return decoded.left
}

describe('redis/errors', () => {
  const errors: RedisEntryError[] = [refusal('{'), refusal('{"type":"actions","actions":5}'), refusal('{"type":"usertour_trigger"}'), missingPayloadField]

  it('isMissingPayloadField holds for the missing field alone, and for nothing that is not an object', () => {
    expect(errors.map(isMissingPayloadField)).to.deep.equal([false, false, false, true])
    expect([null, undefined, 'MissingPayloadField', { tag: 'MissingPayloadField' }].map(isMissingPayloadField)).to.deep.equal([false, false, false, false])
    expect(missingPayloadField).to.deep.equal({ _tag: 'MissingPayloadField', message: 'Entry has no "payload" field' })
  })

  it('matchRedisEntryError calls the handler of each tag with its own variant', () => {
    const why = matchRedisEntryError({
      MalformedJson: (e) => `json:${e.reason}`, InvalidPayload: (e) => `shape:${e.eventType}`,
      UnknownEventType: (e) => `type:${e.eventType}`, MissingPayloadField: (e) => `foreign:${e.message}`,
    })
    expect(errors.map(why)).to.deep.equal(['json:syntax', 'shape:actions', 'type:usertour_trigger', 'foreign:Entry has no "payload" field'])
  })
})
