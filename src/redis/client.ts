/**
 * The one thing the Redis bridge needs of a client: send a command, get the raw reply; and the reading of stream
 * replies in RESP2 or RESP3.
 */

/**
 * A Redis connection as the bridge uses it. A node-redis client is one; for ioredis pass
 * `{ sendCommand: (args) => redis.call(args[0], ...args.slice(1)) }`, and to `fromRedisStream` a second such
 * wrapper, over `redis.duplicate()`, as `readClient`.
 */
export interface RedisCommandClient {
  /** Sends one command; resolves with the raw reply, rejects on a Redis error or a broken connection. */
  sendCommand(args: string[], options?: CommandOptions): Promise<unknown>
}

/** What the bridge passes with each command: node-redis' own per-command timer off, ours bounding every call. */
interface CommandOptions { readonly timeout?: number | undefined }
/**
 * Every command the bridge sends is bounded by a timeout of its own (or, for an append, by the adapter's
 * `persistTimeoutMs`): node-redis 6's default 5 s timer per command (an AbortSignal each, about half an XADD's client
 * CPU) is redundant, and would cut a read blocking longer than it.
 */
export const OWN_TIMEOUT: CommandOptions = { timeout: 0 }

/** What `redisAppender` needs: a client that sends a Buffer argument as it is. A node-redis client is one. */
export interface RedisBytesClient {
  /** Sends one command (a Buffer as it is); resolves with the raw reply, rejects on a Redis error or a lost link. */
  sendCommand(args: [command: string, ...args: Array<string | Buffer>], options?: CommandOptions): Promise<unknown>
}

export interface RawEntry {
  readonly id: string
  readonly fields: Record<string, string>
}

/** The entries of one stream out of an XREADGROUP or XCLAIM entry list. */
export function parseEntries(list: unknown): RawEntry[] {
  if (!Array.isArray(list)) return []
  const entries: RawEntry[] = []
  for (const item of list) {
    // XCLAIM on Redis 6.2 returns null in place of an entry deleted meanwhile.
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

/** The entries of `stream` in an XREADGROUP reply (null when the read timed out). */
export function streamEntries(reply: unknown, stream: string): RawEntry[] {
  if (reply instanceof Map) return parseEntries(reply.get(stream))
  const ours = (item: unknown) => Array.isArray(item) && String(item[0]) === stream
  if (Array.isArray(reply)) return parseEntries(reply.find(ours)?.[1])
  return reply && typeof reply === 'object' ? parseEntries((reply as Record<string, unknown>)[stream]) : []
}

/** Runs a Lua script by its SHA1: loaded on first use, and again when Redis forgot it (a restart, SCRIPT FLUSH). */
export function scriptRunner(client: RedisCommandClient | RedisBytesClient, source: string) {
  let sha: string | undefined
  // A Buffer argument goes only to a client that takes one: redisAppender's.
  const evalsha = async (keys: string[], args: Array<string | Buffer>) => {
    sha ??= String(await (client as RedisBytesClient).sendCommand(['SCRIPT', 'LOAD', source], OWN_TIMEOUT))
    const call: [string, ...Array<string | Buffer>] = ['EVALSHA', sha, String(keys.length), ...keys, ...args]
    return (client as RedisBytesClient).sendCommand(call, OWN_TIMEOUT)
  }
  return async (keys: string[], args: Array<string | Buffer>): Promise<unknown> => {
    try {
      return await evalsha(keys, args)
    } catch (error) {
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error
      sha = undefined
      return evalsha(keys, args)
    }
  }
}
