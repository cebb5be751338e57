/**
 * The context store on Redis: receivers and workers write, chatbot servers on other machines read. Writes and
 * reads are one Lua script each (concurrent writers never interleave a bucket), and the text comes from the same
 * functions as the memory store's. Keys under `prefix`, each with a TTL renewed at every write to it:
 * - `b:{bucket key}`: a list, one element per action, `{forwarded_at}\t{toText(action)}`, oldest first;
 * - `e:{bucket key}`: an empty string, the mark of a key written with no action (as the reference lists it);
 * - `s:{session}`: a hash, `text` and `at` (the summary's time, absent when it had none);
 * - `i:{session}`: a list, the session's product-scoped bucket keys, least recently written first.
 * The scripts build key names themselves: one Redis (or a replica set), not Redis Cluster.
 */
import type { ActionsPayload } from '../codecs.js'
import { positiveInteger } from '../internal/options.js'
import { bounded } from '../internal/within.js'
import { consoleLogger, log, type Logger } from '../logger.js'
import {
  batchTime, byCodePoint, keepCutoff, optionalCount, optionalString, resolveDefaults, resolveGet, summaryTime,
  type ContextDefaults, type ContextGetOptions, type ContextReader, type ContextWriter, type ResolvedDefaults,
} from '../context/options.js'
import {
  bucketKey, contextBatch, cutText, enrichText, fallbackWarning, foreignIds, sessionContext, UNKNOWN_SESSION,
  type ContextBatch,
} from '../context/text.js'
import { scriptRunner, type RedisCommandClient } from './client.js'

interface RedisContextStoreOptions extends ContextDefaults {
  /** Prefix of every key; default `autoplay-rx:context:`. */
  readonly prefix?: string | undefined
  /** How long a key lives after its last write, in seconds (what bounds Redis's memory); default a day. */
  readonly ttlSeconds?: number | undefined
  /** Where warnings go; default `consoleLogger`. */
  readonly logger?: Logger | undefined
  /** Keep at most this many keys, the least recently written evicted first (as `ContextStore`); default none. */
  readonly maxSessions?: number | undefined
  /** A call Redis has not answered within this many ms rejects with a `TimeoutError`; default 5,000. */
  readonly timeoutMs?: number | undefined
}

// With maxSessions: a sorted set orders the keys by last write; a write moves its key last (or, for a key left
// holding nothing, out) and evicts the first past the cap, with its bucket, mark, summary and index entry.
const LRU = `
local function touch(prefix, member, held, max, ttl)
  if max == '' then return end
  local lru, n = prefix .. 'lru', prefix .. 'n'
  if not held then redis.call('ZREM', lru, member) return end
  local new = redis.call('ZADD', lru, redis.call('INCR', n), member)
  while new == 1 and redis.call('ZCARD', lru) > tonumber(max) do
    local old = redis.call('ZRANGE', lru, 0, 0)[1]
    redis.call('ZREM', lru, old)
    redis.call('DEL', prefix .. 'b:' .. old, prefix .. 'e:' .. old, prefix .. 's:' .. old)
    local sep = string.find(old, '\\31', 1, true)
    if sep then redis.call('LREM', prefix .. 'i:' .. string.sub(old, sep + 1), 0, old) end
  end
  redis.call('EXPIRE', lru, ttl)
  redis.call('EXPIRE', n, ttl)
end
`

// Appends a batch's actions, drops what lookback and the caps leave out, renews the TTLs, and keeps the session's
// newest product keys (their buckets, past the cap, deleted).
// KEYS: bucket, mark, product index (for a product-scoped bucket). ARGV: ttl, cap (0: none), cutoff ('': none),
// bucket key, max bytes, max products, key prefix, the batch's time, max sessions ('': none), entries…
const ADD = LRU + `
local bucket = KEYS[1]
for i = 10, #ARGV, 1000 do redis.call('RPUSH', bucket, unpack(ARGV, i, math.min(i + 999, #ARGV))) end
if ARGV[3] ~= '' then
  local cutoff = tonumber(ARGV[3])
  local all = redis.call('LRANGE', bucket, 0, -1)
  local kept = {}
  for _, entry in ipairs(all) do
    if tonumber(string.match(entry, '^[^\\t]*')) >= cutoff then kept[#kept + 1] = entry end
  end
  if #kept < #all then
    redis.call('DEL', bucket)
    for i = 1, #kept, 1000 do redis.call('RPUSH', bucket, unpack(kept, i, math.min(i + 999, #kept))) end
  end
end
local cap = tonumber(ARGV[2])
if cap > 0 then redis.call('LTRIM', bucket, -cap, -1) end
local kept, room = redis.call('LRANGE', bucket, 0, -1), tonumber(ARGV[5])
for i = #kept, 1, -1 do
  room = room - #kept[i] + #string.match(kept[i], '^[^\\t]*') + 1
  if room < 0 then redis.call('LTRIM', bucket, i, -1) break end
end
-- The mark holds the newest empty batch's time: with no action left, the key stays while that is in the lookback.
local mark = tonumber(redis.call('GET', KEYS[2]) or '')
if #ARGV == 9 then mark = math.max(mark or -math.huge, tonumber(ARGV[8])) end
if redis.call('EXPIRE', bucket, ARGV[1]) == 1 or (mark and (ARGV[3] == '' or mark >= tonumber(ARGV[3]))) then
  if mark then redis.call('SET', KEYS[2], mark, 'EX', ARGV[1]) end
else
  redis.call('DEL', KEYS[2])
end
if KEYS[3] then
  redis.call('LREM', KEYS[3], 0, ARGV[4])
  local over = redis.call('RPUSH', KEYS[3], ARGV[4]) - tonumber(ARGV[6])
  for _, old in ipairs(over > 0 and redis.call('LRANGE', KEYS[3], 0, over - 1) or {}) do
    redis.call('DEL', ARGV[7] .. 'b:' .. old, ARGV[7] .. 'e:' .. old)
  end
  redis.call('LTRIM', KEYS[3], math.max(over, 0), -1)
  redis.call('EXPIRE', KEYS[3], ARGV[1])
end
touch(ARGV[7], ARGV[4], redis.call('EXISTS', bucket, KEYS[2]) > 0, ARGV[9], ARGV[1])
return 1`

// Stores a summary unless the stored one is newer; a stored time past the limit does not count.
// KEYS: summary hash. ARGV: text, at ('' : none), ttl, limit ('': none), key prefix, session, max sessions.
const SUMMARY = LRU + `
local stored = tonumber(redis.call('HGET', KEYS[1], 'at') or '')
local believed = stored and (ARGV[4] == '' or stored <= tonumber(ARGV[4]))
if ARGV[2] ~= '' and believed and tonumber(ARGV[2]) < stored then return 0 end
redis.call('HSET', KEYS[1], 'text', ARGV[1])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'at', ARGV[2]) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
touch(ARGV[5], ARGV[6], true, ARGV[7], ARGV[3])
return 1`

// Reads a context in one go. KEYS: summary hash, own bucket, product index.
// ARGV: include summary ('1'/'0'), include actions, fallback allowed, first list index, bucket key prefix, max
// products.
// Returns { summary, entries, n }: n > 1 when several product-scoped buckets left none to read.
const READ = `
local summary = ''
if ARGV[1] == '1' then summary = redis.call('HGET', KEYS[1], 'text') or '' end
local entries = {}
local several = 0
if ARGV[2] == '1' then
  entries = redis.call('LRANGE', KEYS[2], ARGV[4], -1)
  if #entries == 0 and ARGV[3] == '1' then
    local live = {}
    for _, member in ipairs(redis.call('LRANGE', KEYS[3], -tonumber(ARGV[6]), -1)) do
      if redis.call('EXISTS', ARGV[5] .. member) == 1 then live[#live + 1] = member end
    end
    if #live == 1 then
      entries = redis.call('LRANGE', ARGV[5] .. live[1], ARGV[4], -1)
    elseif #live > 1 then
      several = #live
    end
  end
end
return { summary, entries, several }`

// Forgets a session's summary, own bucket, and one product's bucket, with their marks.
// KEYS: summary, own bucket, own mark, product bucket?, product mark?, product index?
// ARGV: product bucket key ('': none), the LRU set, session.
const RESET = `
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('ZREM', ARGV[2], ARGV[3], ARGV[1])
if KEYS[4] then
  redis.call('DEL', KEYS[4], KEYS[5])
  redis.call('LREM', KEYS[6], 0, ARGV[1])
end
return 1`

/** How many sessions the warnings remember (then they start over): a bound on this process's memory. */
const WARNED_LIMIT = 10_000

/**
 * Per-session context in Redis, shared by every process: the rules and the text of `ContextStore`, with async
 * calls. Every key lives `ttlSeconds` after its last write. Needs Redis ≥ 4, not Redis Cluster.
 *
 * @example
 * ```ts
 * const redis = createClient({ url: process.env.REDIS_URL })
 * redis.on('error', (error) => console.error('redis:', error.message))
 * await redis.connect()
 * const store = new RedisContextStore(redis, { maxActions: 30 })
 * receiver.payloads$.pipe(intoContext(store)).subscribe()     // receivers write
 * const text = await store.enrich('ps_1', 'how do I export?') // chatbot servers read
 * ```
 */
export class RedisContextStore implements ContextWriter, ContextReader {
  /** This store, as the {@link ContextReader} both stores have. */
  readonly reader: ContextReader = this
  private readonly defaults: ResolvedDefaults
  private readonly prefix: string
  private readonly ttl: string
  private readonly logger: Logger
  private readonly maxSessions: string
  private readonly timeoutMs: number
  private readonly warned = new Set<string>()
  private readonly scripts = new Map<string, ReturnType<typeof scriptRunner>>()

  /** @throws TypeError naming the option when one is invalid */
  constructor(private readonly client: RedisCommandClient, options: RedisContextStoreOptions = {}) {
    this.defaults = resolveDefaults(options)
    this.prefix = optionalString('prefix', options.prefix) ?? 'autoplay-rx:context:'
    this.ttl = String(positiveInteger('ttlSeconds', options.ttlSeconds ?? 86_400))
    this.logger = options.logger ?? consoleLogger
    this.maxSessions = String(optionalCount('maxSessions', options.maxSessions) ?? '')
    this.timeoutMs = positiveInteger('timeoutMs', options.timeoutMs ?? 5000)
  }

  /** Appends a batch's actions to its bucket, then applies lookback and `maxBucketActions`, in one script. */
  async add(batch: ActionsPayload): Promise<void> {
    if (foreignIds(batch.session_id, batch.product_id)) return
    const session = batch.session_id ?? UNKNOWN_SESSION
    const key = bucketKey(batch.product_id, session)
    const cutoff = keepCutoff(this.defaults)
    const { maxBucketActions, maxActionBytes, maxContextBytes, maxSessionProducts } = this.defaults
    const at = String(batchTime(batch.forwarded_at, this.defaults))
    const p = this.prefix
    const keys = [p + 'b:' + key, p + 'e:' + key, ...(key === session ? [] : [p + 'i:' + session])]
    await this.run(ADD, keys, [this.ttl, String(maxBucketActions === Infinity ? 0 : maxBucketActions),
      cutoff === undefined ? '' : String(cutoff), key, String(maxContextBytes), String(maxSessionProducts), p, at,
      this.maxSessions, ...contextBatch(batch, maxActionBytes).lines.map((line) => `${at}\t${line}`)])
  }

  /**
   * Stores a session's summary unless a newer one is there, by the rules of `ContextStore.onSummary` (rejects
   * with `SummaryTimeAheadError` as it throws).
   */
  async onSummary(sessionId: string | null, text: string, at?: number): Promise<boolean> {
    if (foreignIds(sessionId)) return false
    const session = sessionId ?? UNKNOWN_SESSION
    const { time, limit } = summaryTime(session, text, at, this.defaults)
    const args = [cutText(text, this.defaults.maxContextBytes), time === undefined ? '' : String(time), this.ttl,
      limit === Infinity ? '' : String(limit), this.prefix, session, this.maxSessions]
    return Number(await this.run(SUMMARY, [this.prefix + 's:' + session], args)) === 1
  }

  /** The time (`at`) of the session's stored summary, as `ContextStore.summaryTime` gives it. */
  async summaryTime(sessionId: string): Promise<number | undefined> {
    const at = await bounded(this.client.sendCommand(['HGET', this.prefix + 's:' + sessionId, 'at']), this.timeoutMs,
      'Redis')
    return at === null || at === undefined ? undefined : Number(at)
  }

  /** The session's context text, as `ContextStore.get` gives it for the same writes. */
  async get(sessionId: string, options?: ContextGetOptions): Promise<string> {
    const o = resolveGet(this.defaults, options)
    if (foreignIds(sessionId, o.productId)) return ''
    // Without lookback only the newest maxActions entries can be shown: read no more.
    const first = o.maxActions !== undefined && o.cutoff === undefined ? -o.maxActions : 0
    const p = this.prefix
    const reply = await this.run(READ,
      [p + 's:' + sessionId, p + 'b:' + bucketKey(o.productId, sessionId), p + 'i:' + sessionId],
      [o.includeSummary ? '1' : '0', o.includeActions ? '1' : '0', o.productId === undefined ? '1' : '0',
        String(first), p + 'b:', String(this.defaults.maxSessionProducts)])
    const [summary, entries, several] = reply as [string, string[], number]
    if (Number(several) > 1) this.warnFallback(sessionId, Number(several))
    const batches = entries.map(parseEntry)
    return sessionContext(String(summary), batches, o.cutoff, o.maxActions, this.defaults.maxContextBytes)
  }

  /** The query with the session's context in front, as `ContextStore.enrich` gives it. */
  async enrich(sessionId: string, query: string, options?: ContextGetOptions): Promise<string> {
    return enrichText(await this.get(sessionId, options), query)
  }

  /** Forgets the session's summary and own bucket, and with `productId` that product's bucket, in one script. */
  async reset(sessionId: string, options: { readonly productId?: string | undefined } = {}): Promise<void> {
    if (foreignIds(sessionId, options.productId)) return
    const p = this.prefix
    const keys = [p + 's:' + sessionId, p + 'b:' + sessionId, p + 'e:' + sessionId]
    const product = options.productId ? bucketKey(options.productId, sessionId) : undefined
    if (product !== undefined) keys.push(p + 'b:' + product, p + 'e:' + product, p + 'i:' + sessionId)
    await this.run(RESET, keys, [product ?? '', p + 'lru', sessionId])
    this.warned.delete(sessionId)
  }

  /** The keys holding actions or a summary, sorted as the memory store sorts them; walks the keyspace (SCAN). */
  async activeSessions(): Promise<string[]> {
    const found = new Set<string>()
    const pattern = this.prefix.replace(/[*?[\]\\]/g, '\\$&') + '[bse]:*'
    let cursor = '0'
    do {
      const reply = await bounded(this.client.sendCommand(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000']),
        this.timeoutMs, 'Redis')
      const [next, keys] = reply as [string, string[]]
      cursor = String(next)
      for (const key of keys) found.add(String(key).slice(this.prefix.length + 2))
    } while (cursor !== '0')
    return [...found].sort(byCodePoint)
  }

  /** Runs a script by its SHA1 (see scriptRunner), one runner per script, within `timeoutMs`. */
  private run(source: string, keys: string[], args: string[]): Promise<unknown> {
    let runner = this.scripts.get(source)
    if (runner === undefined) this.scripts.set(source, runner = scriptRunner(this.client, source))
    return bounded(runner(keys, args), this.timeoutMs, 'Redis')
  }

  private warnFallback(sessionId: string, buckets: number): void {
    if (this.warned.has(sessionId)) return
    if (this.warned.size >= WARNED_LIMIT) this.warned.clear()
    this.warned.add(sessionId)
    log(this.logger, 'warn', fallbackWarning(sessionId, buckets), { session_id: sessionId })
  }
}

/** One list element back into a one-action batch, the shape the shared text functions take. */
function parseEntry(entry: string): ContextBatch {
  const tab = entry.indexOf('\t')
  return { forwarded_at: Number(entry.slice(0, tab)), lines: [entry.slice(tab + 1)] }
}
