/** Every option of the Redis bridge is checked at the call, with a TypeError naming it, before any connection is used. */
import { expect } from 'chai'
import { fromRedisStream, redisAppender, toRedisStream, type FromRedisStreamOptions } from '../../src/redis/index.js'
import { type RedisCommandClient } from '../../src/redis/client.js'

describe('redis/options: option checks', () => {
  const sent: string[][] = []
  // Typed to take a Buffer too, as redisAppender's client must (both entries take it).
  const client = {
    sendCommand: async (args: Array<string | Buffer>) => { sent.push(args.map(String)); return null },
    duplicate: () => { throw new Error('no connection may be opened before the options are checked') },
  }
  const valid: FromRedisStreamOptions = { stream: 's', group: 'g', consumer: 'c' }
  afterEach(() => expect(sent).to.deep.equal([]))

  it('fromRedisStream: whole positive numbers, non-empty names, startAt, backoff', () => {
    const cases: Array<[Partial<Record<keyof FromRedisStreamOptions, unknown>>, string]> = [
      ...(['batchSize', 'blockMs', 'timeoutMs', 'claimIdleMs', 'maxInFlight', 'maxInFlightBytes', 'maxDeliveries', 'deadLetterMaxLen', 'idleConsumerMs'] as const).flatMap((name) =>
        [0, -5, 2.5, Number.NaN, Number.POSITIVE_INFINITY, '10'].map((value): [Record<string, unknown>, string] =>
          [{ [name]: value }, `autoplay-rx: ${name} must be a positive integer`])),
      ...(['stream', 'group', 'consumer'] as const).flatMap((name) =>
        ['', undefined, 7].map((value): [Record<string, unknown>, string] => [{ [name]: value }, `autoplay-rx: ${name} must be a non-empty string`])),
      [{ startAt: '>' }, "autoplay-rx: startAt must be '0' or '$'"],
      [{ backoff: { initialMs: 100, maxMs: 0 } }, 'autoplay-rx: backoff.maxMs must be a positive integer'],
      [{ backoff: { initialMs: -1, maxMs: 100 } }, 'autoplay-rx: backoff.initialMs must be a number of ms, 0 or more'],
    ]
    for (const [bad, message] of cases) {
      expect(() => fromRedisStream(client, { ...valid, ...bad } as FromRedisStreamOptions), JSON.stringify(bad)).to.throw(TypeError, message)
    }
  })

  it('fromRedisStream: a client that cannot be duplicated needs a readClient', () => {
    const wrapper: RedisCommandClient = { sendCommand: client.sendCommand }
    expect(() => fromRedisStream(wrapper, valid)).to.throw(TypeError, 'autoplay-rx: fromRedisStream needs a readClient')
    expect(() => fromRedisStream(wrapper, { ...valid, readClient: wrapper })).not.to.throw()
  })

  it('fromRedisStream is cold: valid options open nothing until subscribed', () => {
    expect(() => fromRedisStream(client, valid)).not.to.throw()
  })

  it('redisAppender and toRedisStream: maxLen and stream', () => {
    for (const append of [redisAppender, toRedisStream]) {
      for (const maxLen of [0, -1, 1.5, Number.NaN]) {
        expect(() => append(client, { stream: 's', maxLen }), String(maxLen)).to.throw(TypeError, 'autoplay-rx: maxLen must be a positive integer')
      }
      expect(() => append(client, { stream: '' })).to.throw(TypeError, 'autoplay-rx: stream must be a non-empty string')
    }
  })
})
