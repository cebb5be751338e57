import { expect } from 'chai'
import { redisAppender } from '../../src/redis/index.js'
import { recordingLogger } from '../helpers/fixtures.js'
import { payloads, redisSuite } from '../helpers/redis.js'

type Entries = Array<[string, string[]]>

describe('redis/append: maxLen trims only what every consumer group has acknowledged (real redis-server)', function () {
  this.timeout(30_000)
  const suite = redisSuite()

  it('50 entries pending for a dead consumer, maxLen 10: after 300 more appends they are all there and claimable; the overflow is logged, once', async () => {
    const redis = await suite.client()
    const stream = suite.name('pending')
    const logger = recordingLogger()
    const append = redisAppender(redis, { stream, maxLen: 10, logger })
    await redis.sendCommand(['XGROUP', 'CREATE', stream, 'g', '$', 'MKSTREAM'])
    const sent = payloads(350, 5)
    for (const p of sent.slice(0, 50)) await append(p)
    const read = await redis.sendCommand(['XREADGROUP', 'GROUP', 'g', 'dead', 'COUNT', '50', 'STREAMS', stream, '>']) as Record<string, Entries>
    const pending = read[stream]!.map(([id]) => id)
    expect(pending).to.have.length(50)
    for (const p of sent.slice(50)) await append(p)
    const [next, claimed, deleted] = await redis.sendCommand(['XAUTOCLAIM', stream, 'g', 'alive', '0', '0-0', 'COUNT', '100']) as [string, Entries, string[]]
    expect([next, claimed.map(([id]) => id), deleted]).to.deep.equal(['0-0', pending, []])
    // The 300 never read are kept too: unread is not acknowledged.
    expect(Number(await redis.sendCommand(['XLEN', stream]))).to.equal(350)
    expect(logger.lines.map((l) => [l.level, l.message])).to.deep.equal([['warn',
      `Stream ${stream} holds 111 entries, over maxLen 10: entries pending or unread in a consumer group are ` +
      'not trimmed until acknowledged']])
  })

  it('once every group has acknowledged, the stream is trimmed to about maxLen again; undelivered entries wait for their group', async () => {
    const redis = await suite.client()
    const stream = suite.name('acked')
    const append = redisAppender(redis, { stream, maxLen: 100, logger: recordingLogger() })
    await redis.sendCommand(['XGROUP', 'CREATE', stream, 'a', '$', 'MKSTREAM'])
    await redis.sendCommand(['XGROUP', 'CREATE', stream, 'b', '$'])
    const sent = payloads(610, 5)
    for (const p of sent.slice(0, 400)) await append(p)
    // Group a reads and acknowledges everything; b has read nothing: nothing may go.
    const all = await redis.sendCommand(['XREADGROUP', 'GROUP', 'a', 'c', 'COUNT', '1000', 'STREAMS', stream, '>']) as Record<string, Entries>
    await redis.sendCommand(['XACK', stream, 'a', ...all[stream]!.map(([id]) => id)])
    for (const p of sent.slice(400, 500)) await append(p)
    expect(Number(await redis.sendCommand(['XLEN', stream]))).to.equal(500)
    // b reads and acknowledges the first 300: those may go, the 200 it has not read stay.
    const first = await redis.sendCommand(['XREADGROUP', 'GROUP', 'b', 'c', 'COUNT', '300', 'STREAMS', stream, '>']) as Record<string, Entries>
    await redis.sendCommand(['XACK', stream, 'b', ...first[stream]!.map(([id]) => id)])
    for (const p of sent.slice(500, 600)) await append(p)
    const left = await redis.sendCommand(['XRANGE', stream, '-', '+']) as Entries
    const unread = (await redis.sendCommand(['XRANGE', stream, `(${first[stream]!.at(-1)![0]}`, '+']) as Entries).length
    expect(unread).to.equal(300)
    expect(left.length).to.be.within(300, 400)
    // Everything acknowledged by both: about maxLen (Redis trims whole nodes).
    const rest = await redis.sendCommand(['XREADGROUP', 'GROUP', 'b', 'c', 'COUNT', '1000', 'STREAMS', stream, '>']) as Record<string, Entries>
    await redis.sendCommand(['XACK', stream, 'b', ...rest[stream]!.map(([id]) => id)])
    const more = await redis.sendCommand(['XREADGROUP', 'GROUP', 'a', 'c', 'COUNT', '1000', 'STREAMS', stream, '>']) as Record<string, Entries>
    await redis.sendCommand(['XACK', stream, 'a', ...more[stream]!.map(([id]) => id)])
    for (const p of sent.slice(600, 610)) await append(p)
    expect(Number(await redis.sendCommand(['XLEN', stream]))).to.be.within(100, 199)
  })
  it('1,000 appends over maxLen 100, 50 at a time: a plain XADD each and the trimming script about once per 100, one at a time', async () => {
    const redis = await suite.client()
    const stream = suite.name('amortised')
    const append = redisAppender(redis, { stream, maxLen: 100, logger: recordingLogger() })
    await redis.sendCommand(['CONFIG', 'RESETSTAT'])
    const sent = payloads(1000, 5)
    for (let i = 0; i < sent.length; i += 50) await Promise.all(sent.slice(i, i + 50).map((p) => append(p)))
    const stats = String(await redis.sendCommand(['INFO', 'commandstats']))
    const calls = (command: string) => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
    expect(calls('xadd')).to.equal(1000)
    // The first append trims (the length is unknown), then one per node over maxLen.
    expect(calls('evalsha')).to.be.within(5, 20)
    expect(Number(await redis.sendCommand(['XLEN', stream]))).to.be.within(100, 250)
  })

  it('a trim Redis refuses (an ACL without scripts) fails no append: every entry stored, the failure said once', async () => {
    const admin = await suite.client()
    await admin.sendCommand(['ACL', 'SETUSER', 'noscripts', 'on', 'nopass', '~*', '&*', '+@all', '-@scripting'])
    const redis = await suite.client()
    await redis.sendCommand(['AUTH', 'noscripts', 'any'])
    const stream = suite.name('refused')
    const logger = recordingLogger()
    const append = redisAppender(redis, { stream, maxLen: 10, logger })
    for (const p of payloads(50, 5)) await append(p)
    expect(Number(await admin.sendCommand(['XLEN', stream]))).to.equal(50)
    expect(logger.lines.map((l) => l.level)).to.deep.equal(['warn'])
    expect(logger.lines[0]!.message).to.match(new RegExp(`^Trimming stream ${stream} failed: .*NOPERM.*; tried again at the next append$`))
  })
})
