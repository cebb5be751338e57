/**
 * The reading side of the Redis bridge: a consumer group read as an Observable of deliveries, each acknowledged by
 * the worker (XACK), with what a dead worker left pending claimed, and poison entries dead-lettered.
 */
import * as E from 'fp-ts/lib/Either.js'
import type { EventEmitter } from 'node:events'
import {
  BehaviorSubject, concat, concatMap, defer, filter, finalize, first, from, fromEvent, map, Observable, of, race,
  repeat, retry, throwError, timeout, timer,
} from 'rxjs'
import { backoffDelay } from '../backoff.js'
import type { Payload, UsertourTriggerPayload } from '../codecs.js'
import { passTrigger } from '../internal/triggers.js'
import { decodeText, type Decoded } from '../decode.js'
import { bounded } from '../internal/within.js'
import { errorText, log, rateLimited } from '../logger.js'
import type { RedisReaderProbe } from '../telemetry.js'
import { BODY_FIELD, PAYLOAD_FIELD } from './append.js'
import { parseEntries, streamEntries, type RawEntry, type RedisCommandClient } from './client.js'
import { deliveryLimit, entryTrimmed, missingPayloadField, type RedisEntryError } from './errors.js'
import { readerSettings, type FromRedisStreamOptions, type ReaderSettings } from './options.js'

/** A payload read through a consumer group, with the acknowledgement that ends its delivery. */
export interface RedisDelivery {
  /** The stream entry's id: stable across redeliveries, so a good idempotency key. */
  readonly id: string
  /** The decoded payload, as push mode gives it. */
  readonly payload: Payload
  /** Handed out before (to this consumer before a restart, or to another): its work may be done already. */
  readonly claimed: boolean
  /**
   * XACKs the entry once the work is done; never rejects. The acks of one turn of the event loop go out as one
   * XACK on the next: await it before closing the client. `false` when Redis could not take it (logged): the
   * entry stays pending and comes back, so the work is done at least once.
   */
  ack(): Promise<boolean>
  /**
   * Ends a delivery whose work failed, without acknowledging it: its room under `maxInFlight` is freed, and the
   * entry comes back after `claimIdleMs`. A delivery neither acked nor released is work under way: it keeps its
   * room, and its claims are not handed out again here.
   */
  release(): void
}

/** The part of a node-redis client that a read connection of our own needs. */
type OwnConnection = RedisCommandClient & Pick<EventEmitter, 'addListener' | 'removeListener'> &
  { readonly isOpen: boolean; connect(): Promise<unknown>; destroy(): void }

/** Where the reads are; kept across retries, so an error does not hand out this consumer's pending entries twice. */
interface Cursor {
  /** Where the next read of this consumer's own pending entries starts; null once all are handed out. */
  ownPending: string | null
  /** When (scheduler time) the next claim of idle entries is due. */
  nextClaim: number
  /** Where the claim scan goes on; `-` once a scan is done. */
  claimFrom: string
}

/** What one read gives: entries to hand out, and pending ones it dead-lettered (id, deliveries) or found trimmed. */
interface Batch {
  readonly entries: RawEntry[]
  readonly claimed: boolean
  /** One entry handed out before: it goes out alone, so a poison that kills the process takes nothing with it. */
  readonly alone: boolean
  readonly dead: [string, number][]
  readonly lost: string[]
}

// Pending entries, this consumer's own (ARGV[9] '') or any idle ones, in one atomic step: past maxDeliveries an
// entry is moved to the dead-letter stream and acknowledged; one trimmed while pending is acknowledged and reported.
// A scan's start also removes consumers idle for ARGV[9] ms with nothing pending.
const CLAIM = `local stream, dead, group, me, idle = KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3]
local count, max = tonumber(ARGV[5]), tonumber(ARGV[6])
local skip = {}
for i = 10, #ARGV do skip[ARGV[i]] = true end
local query = {'XPENDING', stream, group, 'IDLE', idle, ARGV[4], '+', count}
if ARGV[9] == '' then query[9] = me elseif ARGV[4] == '-' then
  for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', stream, group)) do
    local info = {}
    for i = 1, #c, 2 do info[c[i]] = c[i + 1] end
    if info.pending == 0 and info.idle >= tonumber(ARGV[9]) and info.name ~= me then
      redis.call('XGROUP', 'DELCONSUMER', stream, group, info.name)
    end
  end
end
local pending = redis.call(unpack(query))
local entries, deadIds, lost, last, alone, stopped = {}, {}, {}, nil, 0, false
for _, p in ipairs(pending) do
  local id, n = p[1], p[4]
  if not skip[id] then
    if n > 1 and #entries > 0 then stopped = true break end
    local e = n >= max and redis.call('XRANGE', stream, id, id) or redis.call('XCLAIM', stream, group, me, idle, id)
    if type(e[1]) ~= 'table' then
      lost[#lost + 1] = id
      redis.call('XACK', stream, group, id)
    elseif n >= max then
      local f = e[1][2]
      for _, v in ipairs({'dead:why', 'maxDeliveries', 'dead:deliveries', n, 'dead:id', id, 'dead:group', group,
        'dead:at', ARGV[8]}) do f[#f + 1] = v end
      redis.call('XADD', dead, 'MAXLEN', ARGV[7], '*', unpack(f))
      redis.call('XACK', stream, group, id)
      deadIds[#deadIds + 1] = {id, n}
    else
      entries[#entries + 1] = e[1]
      if n > 1 then alone, last, stopped = 1, id, true break end
    end
  end
  last = id
end
return {(stopped or #pending == count) and ('(' .. last) or '-', entries, deadIds, lost, alone}`

/**
 * Reads payloads through a Redis consumer group: at-least-once delivery to the workers of the group. Call
 * `ack()` after the work, `release()` when it failed; what is not acknowledged is handed out again, to this
 * consumer when it comes back under its name or to any after `claimIdleMs`. Cold: each subscription runs its own
 * read loop on its own connection (acks go through `client` and never wait behind a blocking read). Redis errors
 * are retried with backoff; only a client closed by its owner errors the Observable.
 *
 * @example
 * ```ts
 * fromRedisStream(redis, { stream: 'autoplay:events', group: 'indexers', consumer: `indexer-${process.pid}` })
 *   .pipe(mergeMap(async (delivery) => { await index(delivery.payload); await delivery.ack() }, 8))
 *   .subscribe()
 * ```
 */
export function fromRedisStream(
  client: RedisCommandClient, options: FromRedisStreamOptions,
): Observable<RedisDelivery> {
  const settings = readerSettings(client, options)
  const { stream, group, consumer, maxInFlight, maxInFlightBytes, logger, readClient, scheduler } = settings
  // A user's connection closed by its owner: no retry can help, and a silent stop would hide it.
  const closedByOwner = (error?: unknown) => isClosed(client) || (readClient !== undefined &&
    (isClosed(readClient) || (error as Error | undefined)?.constructor?.name === 'ClientClosedError'))
  const acknowledge = acknowledger(client, settings)

  return defer(() => {
    const own = readClient ? undefined : (client as unknown as { duplicate(): OwnConnection }).duplicate()
    own?.addListener('error', () => undefined) // the read loop reports each failure, with its backoff
    const reads: RedisCommandClient = readClient ?? own!
    // Deliveries neither acknowledged nor released, by entry id, with their bytes: each holds room, and a claim of
    // one of them is work still under way here, not handed out again.
    const held = new Map<string, { readonly bytes: number }>()
    let heldBytes = 0
    // The largest entry seen, at least a default body: reads take no more entries than the free bytes would hold.
    let largest = 2 ** 20
    let alone = false
    const changed = new BehaviorSubject<void>(undefined)
    const cursor: Cursor = { ownPending: '-', nextClaim: 0, claimFrom: '-' }
    const probe = settings.telemetry?.redisReader({ client, stream, group })
    const ack = (id: string) => acknowledge(id).then((ok) => (probe?.acked(ok), ok))
    const refuse = refuser(settings, probe)

    // Every (re)start: connect our own connection, and create the group (again after a Redis restart forgot it).
    const start = defer(async () => {
      if (own && !own.isOpen) await own.connect()
      await ensureGroup(timed(reads, settings.timeoutMs), stream, group, settings.startAt)
    })
    // A delivery out alone holds all the room until it ends.
    const hasRoom = () => alone ? held.size === 0 : held.size < maxInFlight && heldBytes < maxInFlightBytes
    // Deliveries that neither ack nor release keep their room for good: a pause this long is worth a word.
    const stalled = () => {
      log(logger, 'warn', `Reading paused for ${settings.claimIdleMs} ms: ${held.size} deliveries neither ` +
        'acknowledged nor released (call release() when work fails)', { stream, group, consumer })
      return waitForRoom()
    }
    const waitForRoom = (): Observable<void> =>
      changed.pipe(first(hasRoom), timeout({ first: settings.claimIdleMs, with: stalled, scheduler }))
    const space = () => Math.min(maxInFlight - held.size,
      Math.max(1, Math.floor((maxInFlightBytes - heldBytes) / largest)))
    const step: Observable<RedisDelivery | null> = defer(() => {
      if (closedByOwner()) throw new ClosedByOwner()
      return waitForRoom()
    }).pipe(
      concatMap(() => from(read(reads, settings, cursor, space(), [...held.keys()]))),
      concatMap((batch) => {
        for (const [id, n] of batch.dead) {
          refuse(id, '', deliveryLimit(n, `${stream}:dead`), `Entry ${id} dead-lettered after ${n} deliveries`)
        }
        for (const id of batch.lost) refuse(id, '', entryTrimmed, `Entry ${id} was trimmed while pending: lost`)
        alone = batch.alone
        // null first: a read that answered ends a run of failures (retry's resetOnSuccess). from() stops between
        // entries once the subscriber is gone: the rest of a batch stays pending, untouched.
        const handOut = () => from(batch.entries).pipe(map((entry) => toDelivery(entry, batch.claimed)))
        return concat(of(null), alone ? waitForRoom().pipe(concatMap(handOut)) : handOut())
      }),
    )

    const [dropped, reportTrigger] = [rateLimited(Infinity), rateLimited(10_000)] // said once; one line per 10 s
    // A trigger is no delivery: its own function is its work, holding its room until it ends. Acknowledged once it
    // succeeded; a failure (or claimIdleMs passing) releases it, so it comes back, as a delivery's would.
    const work = (trigger: UsertourTriggerPayload, done: RedisDelivery) => {
      const sink = settings.usertourTriggers
      if (sink === undefined) {
        dropped(logger, 'warn', 'usertour_trigger entries acknowledged and dropped: no usertourTriggers', { stream })
        return void done.ack()
      }
      const failed = (error: unknown) => reportTrigger(logger, 'error', 'usertourTriggers failed; the entry comes back',
        { stream, group, consumer, id: done.id, error })
      void passTrigger(sink, trigger, { id: done.id, claimed: done.claimed }, failed, settings.claimIdleMs)
        .then((ok) => (ok ? void done.ack() : done.release()))
    }

    const toDelivery = (entry: RawEntry, claimed: boolean): RedisDelivery | null => {
      if (held.has(entry.id)) return null // claimed while its work still runs here: once is enough
      const event = decodeEntry(entry, refuse, ack)
      if (event === null) return null
      probe?.read(1, claimed)
      let bytes = 0
      for (const [k, v] of Object.entries(entry.fields)) bytes += Buffer.byteLength(k) + Buffer.byteLength(v)
      largest = Math.max(largest, bytes)
      const slot = { bytes }
      held.set(entry.id, slot)
      heldBytes += bytes
      changed.next()
      // Only this delivery's own slot: a late answer must not free the room of the entry's next delivery.
      const release = () => {
        if (held.get(entry.id) !== slot) return
        held.delete(entry.id)
        heldBytes -= bytes
        changed.next()
      }
      let acked = false
      const delivery = {
        id: entry.id, payload: event as Payload, claimed, release,
        ack: async () => {
          acked ||= await ack(entry.id)
          // Answered either way: the room is freed, and an entry not acknowledged comes back through a claim.
          release()
          return acked
        },
      }
      if (event.type !== 'usertour_trigger') return delivery
      work(event, delivery)
      return null
    }

    return start.pipe(
      concatMap(() => step.pipe(repeat())),
      retry({
        resetOnSuccess: true, // every read that answered, even with nothing, ends a run of failures
        delay: (error: unknown, attempt) => {
          if (error instanceof ClosedByOwner) return throwError(() => closedError())
          if (closedByOwner(error)) return throwError(() => closedError(error))
          // A command given up on still runs once Redis answers: a read may take entries no one hands out. They are
          // this consumer's pending entries, read first again (on the same connection, after it).
          if ((error as Error)?.name === 'TimeoutError') cursor.ownPending = '-'
          const ms = backoffDelay(attempt, settings.backoff)
          const why = `Redis read failed: ${errorText(error)}; retry ${attempt} in ${ms} ms`
          log(logger, 'error', why, { stream, group, consumer })
          const pause = timer(ms, scheduler)
          // Our connection is back: no need to sit out the rest of the pause.
          return own ? race(pause, fromEvent(own, 'ready')) : pause
        },
      }),
      filter((delivery): delivery is RedisDelivery => delivery !== null),
      // Ours alone: closing it ends a blocking read at once (what it took stays pending).
      finalize(() => {
        probe?.closed()
        try { own?.destroy() } catch { /* already closed */ }
      }),
    )
  })
}

/**
 * One read: this consumer's own pending entries first, then claims of idle ones when due, then new entries.
 * `skip`: entries whose work is under way here, not claimed.
 */
async function read(
  reads: RedisCommandClient, settings: ReaderSettings, cursor: Cursor, space: number, skip: string[],
): Promise<Batch> {
  const { stream, group, consumer, scheduler, claimIdleMs } = settings
  const room = Math.min(settings.batchSize, space)
  const pending = async (from: string, own: boolean) => {
    const reply = await timed(reads, settings.timeoutMs).sendCommand(['EVAL', CLAIM, '2', stream, `${stream}:dead`,
      group, consumer, own ? '0' : String(claimIdleMs), from, String(room), String(settings.maxDeliveries),
      String(settings.deadLetterMaxLen), String(Date.now()), own ? '' : String(settings.idleConsumerMs),
      ...skip]) as [unknown, unknown, [unknown, unknown][], unknown[], unknown]
    const dead = reply[2].map(([id, n]): [string, number] => [String(id), Number(n)])
    const entries = parseEntries(reply[1])
    return { next: String(reply[0]), entries, claimed: true, alone: reply[4] === 1, dead, lost: reply[3].map(String) }
  }
  if (cursor.ownPending !== null) {
    // What this consumer read before a restart and never acknowledged comes first, each once.
    const batch = await pending(cursor.ownPending, true)
    cursor.ownPending = batch.next === '-' ? null : batch.next
    return batch
  }
  if (scheduler.now() >= cursor.nextClaim) {
    const batch = await pending(cursor.claimFrom, false)
    // Go on from the scan's cursor, so entries skipped as still under way here are not claimed again in a loop;
    // claim again at once while the scan is not done, otherwise every half idle period.
    cursor.claimFrom = batch.next
    cursor.nextClaim = scheduler.now() + (batch.next !== '-' ? 0 : Math.max(50, Math.floor(claimIdleMs / 2)))
    if (batch.entries.length + batch.dead.length + batch.lost.length > 0) return batch
  }
  // Block no longer than until the next claim is due.
  const block = Math.min(settings.blockMs, Math.max(1, cursor.nextClaim - scheduler.now()))
  const reply = await timed(reads, block + settings.timeoutMs).sendCommand(['XREADGROUP', 'GROUP', group, consumer,
    'COUNT', String(room), 'BLOCK', String(block), 'STREAMS', stream, '>'])
  return { entries: streamEntries(reply, stream), claimed: false, alone: false, dead: [], lost: [] }
}

/**
 * XACK as a function that answers whether Redis took it and never rejects. The acks of one turn of the event loop
 * go out as one XACK of all their ids (a worker acks a read batch at about the same time); each caller still
 * learns whether its own entry was taken.
 */
function acknowledger(client: RedisCommandClient, settings: ReaderSettings): (id: string) => Promise<boolean> {
  const { stream, group, consumer, logger } = settings
  let pending: { readonly ids: string[]; readonly taken: Promise<boolean> } | null = null
  const send = async (ids: string[]): Promise<boolean> => {
    try {
      await timed(client, settings.timeoutMs).sendCommand(['XACK', stream, group, ...ids])
      return true
    } catch (error) {
      const entries = `${ids.length} ${ids.length === 1 ? 'entry' : 'entries'}`
      const why = `Redis XACK failed: ${errorText(error)}; ${entries} stay pending and will be handed out again`
      log(logger, 'warn', why, { stream, group, consumer })
      return false
    }
  }
  return (id) => {
    if (pending !== null) {
      pending.ids.push(id)
      return pending.taken
    }
    const ids = [id]
    const taken = new Promise<boolean>((resolve) => setImmediate(() => {
      pending = null
      resolve(send(ids))
    }))
    pending = { ids, taken }
    return taken
  }
}

type Refuse = (id: string, text: string, error: RedisEntryError, line?: string) => void

/** Reports an entry not handed out: the metric, the `rejected` callback, and a warning line when `line` is given. */
function refuser(settings: ReaderSettings, probe: RedisReaderProbe | undefined): Refuse {
  const { stream, group, consumer, logger } = settings
  return (id, text, error, line) => {
    probe?.rejected(error._tag)
    if (line !== undefined) log(logger, 'warn', line, { stream, group, consumer, id })
    try {
      settings.rejected?.({ id, text, error })
    } catch (error) {
      // A bug in the user's callback: its stack is worth logging.
      log(logger, 'error', 'The rejected callback threw; the entry is acknowledged all the same',
        { stream, group, consumer, id, error })
    }
  }
}

/** The entry's event, or null for one that does not decode: reported and acknowledged, not claimed for ever. */
function decodeEntry({ id, fields }: RawEntry, refuse: Refuse, acknowledge: (id: string) => Promise<boolean>) {
  // The verified body; else the JSON an entry written without it holds (toRedisStream, a receiver before the upgrade).
  const text = fields[BODY_FIELD] ?? fields[PAYLOAD_FIELD]
  // Without a leading BOM, as the receiver's decoding of the same bytes drops it.
  const decoded: E.Either<RedisEntryError, Decoded> =
    text === undefined ? E.left(missingPayloadField) : decodeText(text.replace(/^\ufeff/, ''))
  if (E.isRight(decoded)) return decoded.right.payload
  refuse(id, text ?? '', decoded.left)
  void acknowledge(id)
  return null
}

/** `client` whose commands fail with a `TimeoutError` when Redis has not answered within `ms`. */
const timed = (client: RedisCommandClient, ms: number): RedisCommandClient =>
  ({ sendCommand: (args) => bounded(client.sendCommand(args), ms, 'Redis') })

async function ensureGroup(client: RedisCommandClient, stream: string, group: string, startAt: string): Promise<void> {
  try {
    await client.sendCommand(['XGROUP', 'CREATE', stream, group, startAt, 'MKSTREAM'])
  } catch (error) {
    if (!/BUSYGROUP/.test(String((error as Error)?.message ?? error))) throw error
  }
}

/** The read loop found its client closed before a read: no command failed, so nothing to wrap. */
class ClosedByOwner extends Error {}

/** Why the Observable ends; the failed command, if any, is its cause (alone it could read like an outage). */
function closedError(cause?: unknown): Error {
  const message = 'autoplay-rx: fromRedisStream stopped: its Redis client is closed (closed by its owner)'
  return new Error(message, cause === undefined ? undefined : { cause })
}

/** node-redis says `isOpen: false` once its owner closed it (it stays true while reconnecting). */
function isClosed(client: RedisCommandClient): boolean {
  return (client as { isOpen?: unknown }).isOpen === false
}
