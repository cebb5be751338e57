/** The reader's refusals: `RedisEntryError`, folded by the main entry's one `match`. */
import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import { decodeText } from '../../src/decode.js'
import { match } from '../../src/index.js'
import { deliveryLimit, entryTrimmed, missingPayloadField, type RedisEntryError } from '../../src/redis/errors.js'

const refusal = (text: string): RedisEntryError => {
  const decoded = decodeText(text)
  if (E.isRight(decoded)) throw new Error(`${text} decoded`)
  return decoded.left
}

describe('redis/errors', () => {
  const errors: RedisEntryError[] = [refusal('{'), refusal('{"type":"actions","actions":5}'), refusal('{"type":"session_started"}'), missingPayloadField]

  it('the missing field is one value, told apart by its tag', () => {
    expect(errors.map((e) => e._tag === 'MissingPayloadField')).to.deep.equal([false, false, false, true])
    expect(missingPayloadField).to.deep.equal({ _tag: 'MissingPayloadField', message: 'Entry has no "body" or "payload" field' })
  })

  it('match calls the handler of each tag with its own variant', () => {
    const why = match<RedisEntryError, string>({
      MalformedJson: (e) => `json:${e.reason}`, InvalidPayload: (e) => `shape:${e.eventType}`,
      UnknownEventType: (e) => `type:${e.eventType}`, MissingPayloadField: (e) => `foreign:${e.message}`,
      DeliveryLimit: (e) => `dead:${e.deliveries}`, EntryTrimmed: () => 'lost',
    })
    expect([...errors, deliveryLimit(5, 's:dead'), entryTrimmed].map(why)).to.deep.equal(['json:syntax', 'shape:actions',
      'type:session_started', 'foreign:Entry has no "body" or "payload" field', 'dead:5', 'lost'])
  })
})
