/**
 * Every option of the context and Redis APIs takes an explicit `undefined`: a user's file that passes one to each
 * compiles under `exactOptionalPropertyTypes`, against the package's declarations, and the stores treat it as "not
 * given".
 */
import { expect } from 'chai'
import { ContextStore, silentLogger } from '../../src/index.js'
import { RedisContextStore, fromRedisStream, redisAppender, redisDedupeStore } from '../../src/redis/index.js'
import { strictCompile } from '../helpers/strictUser.js'
import { batch, line } from './batches.js'

/** A user's file: each option given as `undefined` (what `?? undefined` and optional fields of their own produce). */
const USER_FILE = `
import { ContextStore, SessionSummarizer, intoContext, type ContextReader } from './types/index.js'
import { RedisContextStore, fromRedisStream, redisAppender, redisDedupeStore, toRedisStream } from './types/redis/index.js'

declare const client: { sendCommand(args: Array<string | Buffer>): Promise<unknown> }
declare const product: string | undefined
const none = undefined

const defaults = {
  includeSummary: none, includeActions: none, lookbackSeconds: none, maxActions: none, maxBucketActions: none, now: none,
  maxClockSkewSeconds: none,
}
const store = new ContextStore({ ...defaults, maxSessions: none, logger: none })
const perCall = { productId: product, includeSummary: none, includeActions: none, lookbackSeconds: none, maxActions: none }
store.get('ps_1', perCall)
store.enrich('ps_1', 'q', { productId: product })
store.context$('ps_1', perCall)
store.reset('ps_1', { productId: product })
intoContext(store, { onError: none, logger: none, writeTimeoutMs: none, maxQueued: none, maxQueuedBytes: none })
new SessionSummarizer({
  llm: (prompt) => prompt, threshold: none, prompt: none, formatActions: none, concurrency: none, maxSessions: none,
  target: none, logger: none, telemetry: none, now: none, maxClockSkewSeconds: none,
  maxPendingActions: none, maxPendingBytes: none, callTimeoutMs: none, backoff: none,
})
const redisStore = new RedisContextStore(client, { ...defaults, prefix: none, ttlSeconds: none, logger: none })
void redisStore.reset('ps_1', { productId: product })
const reader: ContextReader = redisStore.reader
void reader.enrich('ps_1', 'q', { productId: product })
redisAppender(client, { stream: 's', maxLen: none, telemetry: none })
toRedisStream(client, { stream: 's', maxLen: none, telemetry: none })
redisDedupeStore(client, { prefix: none, ttlMs: none })
fromRedisStream(client, {
  stream: 's', group: 'g', consumer: 'c', batchSize: none, blockMs: none, claimIdleMs: none, maxInFlight: none,
  startAt: none, readClient: none, rejected: none, logger: none, backoff: none, scheduler: none, telemetry: none,
})

`

describe('context and Redis options under exactOptionalPropertyTypes', function () {
  this.timeout(60_000)

  it('a user\'s strict project passes undefined to every option and compiles', async () => {
    expect(await strictCompile(USER_FILE)).to.equal('')
  })

  it('an explicit undefined is "not given": the defaults apply', async () => {
    const none = undefined
    const store = new ContextStore({ maxSessions: none, logger: silentLogger, maxActions: none, maxBucketActions: none, now: none, maxClockSkewSeconds: none })
    store.add(batch('s1', 'p1', Date.now() / 1000, ['A']))
    // The default allowance applies: a summary a day ahead is refused, one a minute ahead stored.
    expect(() => store.onSummary('s2', 'Tomorrow.', Date.now() / 1000 + 86_400)).to.throw('past this clock plus maxClockSkewSeconds')
    expect(store.onSummary('s2', 'Soon.', Date.now() / 1000 + 60)).to.equal(true)
    const text = `Recent activity:\n${line(1, 0, 'A')}`
    expect(store.get('s1', { productId: none, maxActions: none, lookbackSeconds: none, includeSummary: none })).to.equal(text)
    const sent: string[][] = []
    const client = { sendCommand: async (args: Array<string | Buffer>) => (sent.push(args.map(String)), 'OK') }
    await redisAppender(client, { stream: 's', maxLen: none, partitions: none, telemetry: none, logger: none })(batch('s1', '', 1, []))
    await new Promise((resolve) => setImmediate(resolve))
    // Unpartitioned (its layout check sends 0), a plain XADD to the stream itself, and the first append's trimming
    // script (this client answers OK, taken as its SHA1) with maxLen 1,000,000.
    const command = (name: string, n: number) => sent.find((args) => args[0] === name)?.slice(0, n)
    expect([command('XADD', 4), command('EVALSHA', 5), sent.find((args) => args[0] === 'EVAL')?.slice(2)]).to.deep.equal([
      ['XADD', 's', '*', 'payload'], ['EVALSHA', 'OK', '1', 's', '1000000'], ['1', 's:partitions', '0']])
    await redisDedupeStore(client, { prefix: none, ttlMs: none }).seen('k')
    expect(sent.at(-1)).to.deep.equal(['SET', 'autoplay-rx:seen:k', '1', 'NX', 'PX', '3600000'])
    expect(() => fromRedisStream(client, { stream: 's', group: 'g', consumer: 'c', readClient: client, partitions: none,
      leaseMs: none, maxHeld: none, lingerMs: none })).not.to.throw()
    expect(() => new RedisContextStore(client, { prefix: none, ttlSeconds: none, logger: none })).not.to.throw()
  })
})
