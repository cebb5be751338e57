/**
 * parseEntries / streamEntries read the replies of a real redis-server in
 * every shape node-redis gives them: RESP2 arrays, RESP3 objects, and RESP3
 * with maps typed as Map.
 */
import { expect } from 'chai'
import { createClient, RESP_TYPES } from 'redis'
import { parseEntries, streamEntries, type RedisCommandClient } from '../../src/redis/client.js'
import { redisSuite } from '../helpers/redis.js'

const shapes = {
  'RESP2 arrays': { RESP: 2 },
  'RESP3 objects': { RESP: 3 },
  'RESP3 Maps': { RESP: 3, commandOptions: { typeMapping: { [RESP_TYPES.MAP]: Map } } },
} as const

describe('redis/client: reading stream replies (real redis-server)', function () {
  this.timeout(10_000)
  const suite = redisSuite()
  const opened: Array<{ destroy(): void }> = []
  afterEach(() => { for (const c of opened.splice(0)) c.destroy() })

  async function open(options: object): Promise<RedisCommandClient> {
    const client = createClient({ url: suite.redis.url, ...options } as Parameters<typeof createClient>[0])
    client.on('error', () => undefined)
    await client.connect()
    opened.push(client)
    return client as unknown as RedisCommandClient
  }

  for (const [shape, options] of Object.entries(shapes)) {
    it(`${shape}: the entries of the asked stream out of a two-stream XREADGROUP, fields and UTF-8 exact`, async () => {
      const redis = await open(options)
      const [a, b] = [suite.name('a'), suite.name('b')]
      for (const stream of [a, b]) await redis.sendCommand(['XGROUP', 'CREATE', stream, 'g', '0', 'MKSTREAM'])
      await redis.sendCommand(['XADD', a, '1-1', 'payload', '{"text":"héllo ✓"}', 'other', ''])
      await redis.sendCommand(['XADD', a, '1-2', 'payload', 'x', '__proto__', 'y'])
      await redis.sendCommand(['XADD', b, '2-1', 'payload', 'from b'])
      const reply = await redis.sendCommand(['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', a, b, '>', '>'])
      const entries = streamEntries(reply, a)
      expect(entries.map((e) => ({ id: e.id, fields: { ...e.fields } }))).to.deep.equal([
        { id: '1-1', fields: { payload: '{"text":"héllo ✓"}', other: '' } },
        { id: '1-2', fields: JSON.parse('{ "payload": "x", "__proto__": "y" }') },
      ])
      expect(streamEntries(reply, b).map((e) => [e.id, e.fields['payload']])).to.deep.equal([['2-1', 'from b']])
      expect(streamEntries(reply, 'absent')).to.deep.equal([])
      // Field names come from Redis: an entry's "__proto__" field is data, not a prototype.
      expect(Object.keys(entries[1]!.fields)).to.deep.equal(['payload', '__proto__'])
      expect(Object.getPrototypeOf(entries[1]!.fields)).to.equal(null)
    })

    it(`${shape}: a BLOCK read that times out is no entries`, async () => {
      const redis = await open(options)
      const stream = suite.name('idle')
      await redis.sendCommand(['XGROUP', 'CREATE', stream, 'g', '$', 'MKSTREAM'])
      const reply = await redis.sendCommand(['XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '10', 'STREAMS', stream, '>'])
      expect(streamEntries(reply, stream)).to.deep.equal([])
    })

    it(`${shape}: XAUTOCLAIM's entry list, an entry deleted meanwhile left out`, async () => {
      const redis = await open(options)
      const stream = suite.name('claim')
      await redis.sendCommand(['XGROUP', 'CREATE', stream, 'g', '0', 'MKSTREAM'])
      for (const id of ['1-1', '1-2', '1-3']) await redis.sendCommand(['XADD', stream, id, 'payload', `p${id}`])
      await redis.sendCommand(['XREADGROUP', 'GROUP', 'g', 'dead', 'STREAMS', stream, '>'])
      await redis.sendCommand(['XDEL', stream, '1-2'])
      const reply = await redis.sendCommand(['XAUTOCLAIM', stream, 'g', 'alive', '0', '0-0']) as unknown[]
      expect(parseEntries(reply[1]).map((e) => ({ id: e.id, fields: { ...e.fields } }))).to.deep.equal([
        { id: '1-1', fields: { payload: 'p1-1' } },
        { id: '1-3', fields: { payload: 'p1-3' } },
      ])
    })
  }

  it('Redis 6.2 answers null in place of a deleted entry, and anything but a list is no entries', () => {
    expect(parseEntries([['1-1', ['payload', 'a']], null, ['1-3', ['payload', 'c', 'dangling']]]).map((e) => [e.id, { ...e.fields }])).to.deep.equal([
      ['1-1', { payload: 'a' }],
      ['1-3', { payload: 'c' }],
    ])
    for (const reply of [null, undefined, 'OK', 3, {}]) expect(parseEntries(reply)).to.deep.equal([])
    for (const reply of [null, undefined, 'OK', 3]) expect(streamEntries(reply, 's')).to.deep.equal([])
  })
})
