/**
 * The one thing the Redis bridge needs of a client: send a command, get
 * the raw reply. node-redis (v4+) clients fit as they are; any other client
 * fits with a one-line wrapper.
 */

/**
 * A Redis connection as the bridge uses it. A node-redis client
 * (`createClient(…).connect()`) is one; for ioredis pass
 * `{ sendCommand: (args) => redis.call(args[0], ...args.slice(1)) }`, and give
 * `fromRedisStream` a second such wrapper, over `redis.duplicate()`, as its
 * `readClient` (a wrapper cannot be duplicated for the blocking reads).
 *
 * @example
 * ```ts
 * import Redis from 'ioredis'
 *
 * const redis = new Redis(process.env.REDIS_URL!)
 * const reader = redis.duplicate()
 * const client: RedisCommandClient = { sendCommand: (args) => redis.call(args[0]!, ...args.slice(1)) }
 * const readClient: RedisCommandClient = { sendCommand: (args) => reader.call(args[0]!, ...args.slice(1)) }
 * fromRedisStream(client, { stream: 'autoplay:events', group: 'indexers', consumer: 'indexer-1', readClient })
 * ```
 */
export interface RedisCommandClient {
  /**
   * Sends one command and resolves with Redis's raw reply (RESP2 arrays or
   * RESP3 maps both work); rejects on a Redis error or a broken connection.
   *
   * @param args - the command and its arguments, as strings: `['XACK', stream, group, id]`
   */
  sendCommand(args: string[]): Promise<unknown>
}

/** A stream entry as Redis returns it: its id and its field/value list. */
export interface RawEntry {
  readonly id: string
  readonly fields: Record<string, string>
}

/** Reads the entries of one stream out of an XREADGROUP/XAUTOCLAIM entry list (RESP2 arrays or RESP3 maps). */
export function parseEntries(list: unknown): RawEntry[] {
  if (!Array.isArray(list)) return []
  const entries: RawEntry[] = []
  for (const item of list) {
    // XAUTOCLAIM on Redis 6.2 returns null in place of an entry deleted meanwhile.
    if (!Array.isArray(item) || item.length < 2) continue
    const [id, flat] = item as [unknown, unknown]
    const fields: Record<string, string> = Object.create(null) as Record<string, string>
    if (Array.isArray(flat)) {
      for (let i = 0; i + 1 < flat.length; i += 2) fields[String(flat[i])] = String(flat[i + 1])
    } else if (flat instanceof Map) {
      for (const [k, v] of flat) fields[String(k)] = String(v)
    } else if (flat && typeof flat === 'object') {
      for (const [k, v] of Object.entries(flat)) fields[k] = String(v)
    }
    entries.push({ id: String(id), fields })
  }
  return entries
}

/** The entry list of `stream` in an XREADGROUP reply (null when the read timed out). */
export function streamEntries(reply: unknown, stream: string): RawEntry[] {
  if (reply === null || reply === undefined) return []
  if (reply instanceof Map) return parseEntries(reply.get(stream))
  if (Array.isArray(reply)) {
    for (const item of reply) {
      if (Array.isArray(item) && String(item[0]) === stream) return parseEntries(item[1])
    }
    return []
  }
  if (typeof reply === 'object') return parseEntries((reply as Record<string, unknown>)[stream])
  return []
}
