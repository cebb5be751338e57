/** `autoplay-rx dead`: the dead letters `fromRedisStream` moved to `<stream>:dead`, listed, shown, replayed. */
import { within } from '../internal/within.js'
import { parseEntries, type RawEntry } from '../redis/client.js'
import { CliError } from './errors.js'
import { writeLine } from './io.js'
import { connectRedis } from './redis.js'

// One dead letter back into the stream with its original fields, and deleted, in one step (null: not there).
const REPLAY = `local e = redis.call('XRANGE', KEYS[2], ARGV[1], ARGV[1])
if #e == 0 then return false end
local f, out = e[1][2], {}
for i = 1, #f, 2 do if string.sub(f[i], 1, 5) ~= 'dead:' then out[#out + 1] = f[i] out[#out + 1] = f[i + 1] end end
local id = redis.call('XADD', KEYS[1], '*', unpack(out))
redis.call('XDEL', KEYS[2], ARGV[1])
return id`

export interface DeadOptions {
  readonly redisUrl: string
  readonly stream: string
  readonly action: 'list' | 'show' | 'replay'
  /** The dead letter's id (show, replay); undefined with `all`. */
  readonly id?: string | undefined
  readonly count: number
  readonly json: boolean
  /** How long the command waits for Redis to connect, then for its answers; default 10,000 ms each. */
  readonly timeoutMs?: number | undefined
}

const line = ({ id, fields: f }: RawEntry) =>
  `${id} ${f['dead:id']} ${f['dead:deliveries']} deliveries (${f['dead:why']}), group ${f['dead:group']}, ` +
  new Date(Number(f['dead:at'])).toISOString()

/** Runs one `dead` action; resolves with 0, or fails with exit 1 (no such dead letter, Redis unreachable or silent). */
export async function deadCommand(options: DeadOptions): Promise<number> {
  const { stream, id, json, timeoutMs = 10_000 } = options
  const dead = `${stream}:dead`
  const why = `Redis did not answer within ${timeoutMs} ms: is it overloaded? (--timeout waits longer)`
  const silent = new CliError(why, 1)
  const redis = await connectRedis(options.redisUrl, timeoutMs).catch((error: Error) => {
    throw error.name === 'TimeoutError' ? silent : error
  })
  const range = async (from: string, to: string, count: number) =>
    parseEntries(await redis.sendCommand(['XRANGE', dead, from, to, 'COUNT', String(count)]))
  const missing = () => new CliError(`no dead letter ${id} in ${dead}: see autoplay-rx dead list`, 1)
  const run = async () => {
    if (options.action === 'list') {
      for (const entry of await range('-', '+', options.count)) writeLine(json ? JSON.stringify(entry) : line(entry))
    } else if (options.action === 'show') {
      const [entry] = await range(id!, id!, 1)
      if (!entry) throw missing()
      writeLine(JSON.stringify(entry, null, json ? undefined : 2))
    } else {
      // --all: the dead letters there now (as many as the dead-letter stream's cap), not those added meanwhile.
      const ids = id !== undefined ? [id] : (await range('-', '+', Number.MAX_SAFE_INTEGER)).map((e) => e.id)
      for (const each of ids) {
        const added = await redis.sendCommand(['EVAL', REPLAY, '2', stream, dead, each])
        if (added == null) throw missing()
        writeLine(json ? JSON.stringify({ id: each, replayed: String(added) }) : `${each} → ${stream} ${added}`)
      }
    }
    return 0
  }
  try {
    // An outage mid-command is the user's to fix, not a bug of ours: one line, no stack.
    const answered = run().catch((error: unknown) => {
      throw error instanceof CliError ? error : new CliError(`redis: ${(error as Error).message}`, 1)
    })
    const code = await within(answered, timeoutMs, null)
    if (code === null) throw silent
    return code
  } finally {
    redis.destroy()
  }
}
