/**
 * A Redis home for `proactive`'s `state` option: each session's gating (last offer, cooldowns, state) under one
 * key, so that whichever worker owns the session next goes on where the last one stopped.
 */
import { positiveInteger } from '../internal/options.js'
import { scriptRunner, type RedisCommandClient } from '../redis/client.js'
import type { SessionState } from './session.js'

/** What must outlive a move of a session to another worker: its gating (plain JSON: `-Infinity` kept as null). */
export interface StoredSession {
  readonly state: SessionState
  readonly lastOfferAt: number | null
  readonly offerTimeout: number
  /** Trigger id → when it may fire again. */
  readonly cooldowns: ReadonlyArray<readonly [string, number]>
  /** When it was saved (s): of two saves with the same last offer a store keeps the later (one may land late). */
  readonly savedAt?: number | undefined
}

/** Where `proactive` keeps each session's gating across workers (`redisProactiveState` is one). */
export interface SessionStore {
  /** The session's stored gating, or nothing for a session never saved; within `stateTimeoutMs`. */
  load(sessionId: string): StoredSession | null | undefined | PromiseLike<StoredSession | null | undefined>
  /**
   * Stores it (one save per session at a time); an offer goes out once the save holding it answers. Keep a stored
   * session with a later `lastOfferAt` (or the same and a later `savedAt`): a save from a worker cut off from the
   * store may land after the next owner's.
   */
  save(sessionId: string, session: StoredSession): unknown
}

/** The part of the operator's session that is stored. */
interface Gating {
  state: SessionState
  lastOfferAt: number
  offerTimeout: number
  cooldowns: Map<string, number> | undefined
}

export const toStored = ({ state, lastOfferAt, offerTimeout, cooldowns = new Map() }: Gating): StoredSession =>
  ({ state, lastOfferAt: lastOfferAt === -Infinity ? null : lastOfferAt, offerTimeout, cooldowns: [...cooldowns] })

/** Puts what a store answered into a session (a store's value is checked: a stored session or a `TypeError`). */
export function restore(session: Gating, found: StoredSession): StoredSession {
  if (typeof found.state?.mode !== 'string' || !Array.isArray(found.cooldowns) ||
    typeof found.offerTimeout !== 'number') throw new TypeError('not a stored session')
  session.state = found.state
  session.lastOfferAt = found.lastOfferAt ?? -Infinity
  session.offerTimeout = found.offerTimeout
  for (const [trigger, until] of found.cooldowns) (session.cooldowns ??= new Map()).set(trigger, until)
  return found
}

// Written unless what is stored has a later last offer (or the same, saved later): a save held up in the network,
// from a worker cut off, lands after the next owner's, and a last offer moved back would let an offer come early.
const LATER = `local function at(x) return type(x) == 'number' and x or -math.huge end
local old = redis.call('GET', KEYS[1])
if old then
  local ok, value = pcall(cjson.decode, old)
  if ok and type(value) == 'table' then
    local offer, ours = at(value.lastOfferAt), tonumber(ARGV[2]) or -math.huge
    if offer > ours or (offer == ours and at(value.savedAt) > tonumber(ARGV[3])) then return 0 end
  end
end
return redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[4])`

/** Where and for how long; a bad value is refused with a `TypeError` naming it. */
interface RedisProactiveStateOptions {
  /** Each session's key is this and its id; default `'autoplay:proactive:'`. */
  readonly prefix?: string | undefined
  /** Seconds a key lives after its last save: more than the longest cooldown or interval. Default 3,600. */
  readonly ttlSeconds?: number | undefined
}

/**
 * The `state` of `proactive` in Redis (GET; a script that SETs with EX unless a later offer is stored: one command
 * each, bounded by the operator's `stateTimeoutMs`). Give every worker reading one partitioned stream the same one.
 *
 * @example
 * ```ts
 * fromRedisStream(redis, { stream: 'autoplay:events', group: 'offers', consumer: hostname(), partitions: 8 })
 *   .pipe(proactive({ triggers: [pingPongTrigger()], state: redisProactiveState(redis) }))
 *   .subscribe((offer) => chat.offer(offer.sessionId, offer.offerId, offer.body, offer.replyLabels))
 * ```
 */
export function redisProactiveState(
  client: RedisCommandClient, options: RedisProactiveStateOptions = {},
): SessionStore {
  const prefix = options.prefix ?? 'autoplay:proactive:'
  const ttl = String(positiveInteger('ttlSeconds', options.ttlSeconds ?? 3600))
  const save = scriptRunner(client, LATER)
  return {
    load: async (sessionId: string): Promise<StoredSession | null> => {
      const text = await client.sendCommand(['GET', prefix + sessionId])
      return text === null || text === undefined ? null : JSON.parse(String(text)) as StoredSession
    },
    save: (sessionId: string, session: StoredSession): Promise<unknown> =>
      save([prefix + sessionId], [JSON.stringify(session), String(session.lastOfferAt ?? ''),
        String(session.savedAt ?? 0), ttl]),
  }
}
