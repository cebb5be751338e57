/**
 * The reading side of the Redis bridge: a consumer group read as an Observable of deliveries, each acknowledged by
 * the worker (XACK), with what a dead worker left pending claimed, and poison entries dead-lettered.
 */
import * as E from 'fp-ts/lib/Either.js'
import type { EventEmitter } from 'node:events'
import {
  BehaviorSubject, concat, concatMap, defer, EMPTY, filter, finalize, first, from, fromEvent, map, merge, mergeMap,
  Observable, of, race, repeat, retry, Subject, takeUntil, throwError, timeout, timer,
} from 'rxjs'
import { backoffDelay } from '../backoff.js'
import type { Payload, UsertourTriggerPayload } from '../codecs.js'
import { passTrigger } from '../internal/triggers.js'
import { decodeText, type Decoded } from '../decode.js'
import { bounded } from '../internal/within.js'
import { errorText, log, rateLimited } from '../logger.js'
import type { RedisReaderProbe } from '../telemetry.js'
import { BODY_FIELD, PAYLOAD_FIELD } from './append.js'
import { OWN_TIMEOUT, parseEntries, streamEntries, type RawEntry, type RedisCommandClient } from './client.js'
import { deliveryLimit, entryTrimmed, missingPayloadField, type RedisEntryError } from './errors.js'
import { readerSettings, type FromRedisStreamOptions, type ReaderSettings } from './options.js'
import {
  closedError, isClosed, layoutMismatch, leases, partitionStream, recordedPartitions, type Lease,
} from './partitions.js'

/** A payload read through a consumer group, with the acknowledgement that ends its delivery. */
export interface RedisDelivery {
  /** The stream entry's id: stable across redeliveries, so (with `stream`) a good idempotency key. */
  readonly id: string
  /** The stream it is in: `stream`, or with `partitions` its partition's, `<stream>:{p}` (ids are per stream). */
  readonly stream: string
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
  /**
   * On a partitioned reader: the work is done in memory and the entry is acknowledged later, once the state it went
   * into is stored (call `ack()` then). Frees its room and lets its session's next delivery out; the entry stays
   * pending, so after a crash or a move of the partition its next owner reads it again. `false` when it cannot:
   * without `partitions`, past `maxHeld`, or once acknowledged or released (then settle it now).
   */
  hold(): boolean
  /**
   * Aborted when this worker gives the entry's partition up (another worker takes it): settle what you hold, by
   * `ack()` when it is stored, by `release()` to leave it to the next owner. Never aborted without `partitions`.
   */
  readonly signal: AbortSignal
  /**
   * Whether this worker surely still holds the entry's partition: false once its lease was not renewed in time
   * (Redis unreachable, a stalled event loop), when another worker may take it. Check it right before an effect
   * only one worker may have (an offer, a message). Always true without `partitions`.
   */
  owned(): boolean
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
  /** How long an entry is pending before it is claimed: 0 for a partition's new owner, which scans once. */
  readonly claimIdleMs: number
  /** Released deliveries of a partition, each read again (counted) when due, before their session's next; and a
   * suspect read but not counted (`alone`), claimed when its turn comes. */
  readonly retries: Array<{ readonly id: string; readonly at: number; alone?: boolean; own?: boolean }>
  /** The last read of new entries gave some, fewer than it asked for. */
  short?: boolean
}

/** What one read gives: entries to hand out, and pending ones it dead-lettered (id, deliveries) or found trimmed. */
interface Batch {
  readonly entries: RawEntry[]
  readonly claimed: boolean
  /** One entry handed out before: it goes out alone, so a poison that kills the process takes nothing with it. */
  readonly alone: boolean
  readonly dead: [string, number][]
  readonly lost: string[]
  /** The id a retry read asked for. */
  readonly retry?: string | undefined
}

// Pending entries from ARGV[4] to ARGV[10], this consumer's own (ARGV[9] '') or any idle ones, in one atomic step:
// past maxDeliveries an entry is moved to the dead-letter stream and acknowledged; one trimmed while pending is
// acknowledged and reported; one handed out before is only read (not counted) unless asked for by id (from = to).
// A scan's start also removes consumers idle for ARGV[9] ms with nothing pending.
const CLAIM = `local stream, dead, group, me, idle = KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3]
local count, max, skip = tonumber(ARGV[5]), tonumber(ARGV[6]), {}
for i = 11, #ARGV do skip[ARGV[i]] = true end
local query = {'XPENDING', stream, group, 'IDLE', idle, ARGV[4], ARGV[10], count}
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
    local peek = n >= max or n > 1 and ARGV[4] ~= ARGV[10]
    local e = peek and redis.call('XRANGE', stream, id, id) or redis.call('XCLAIM', stream, group, me, idle, id)
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
  const { partitions } = settings
  return defer(() => {
    // One room for every partition this worker reads: maxInFlight and maxInFlightBytes hold per worker.
    const room: Room = { count: 0, bytes: 0, exclusive: 0, forgiving: 0, reading: 0, released: 0,
      changed: new BehaviorSubject<void>(undefined) }
    if (partitions === undefined) return readStream(client, settings, room, undefined)
    return leases(client, settings, partitions).pipe(mergeMap((lease) =>
      readStream(client, { ...settings, stream: partitionStream(settings.stream, lease.partition) }, room, lease)
        .pipe(takeUntil(lease.stop))))
  })
}

/** Deliveries out (or waiting for their session, or released for a retry) of every stream read by one worker. */
interface Room {
  count: number
  bytes: number
  /** Streams with an entry to hand out alone: until it ends, no stream of the worker hands out another. */
  exclusive: number
  /** Held entries whose delivery count restart Redis has not confirmed: one out alone waits for them too. */
  forgiving: number
  /** Reads under way: what they take is counted, so a suspect is neither claimed nor handed out meanwhile. */
  reading: number
  /** Of `count`, those released and waiting for their retry: a suspect does not wait for them (they wait for it). */
  released: number
  readonly changed: BehaviorSubject<void>
}

/** One entry handed out or about to be: `out` holds room, `held` does not, `released` keeps it for its retry. */
interface Slot {
  readonly bytes: number
  readonly key: string
  state: 'waiting' | 'out' | 'held' | 'released'
  /** Handed out alone: the worker's other streams wait until it is no longer out. */
  readonly alone: boolean
}

const counted = (state: Slot['state'] | null) => state === 'waiting' || state === 'out' || state === 'released'

/** A signal never aborted: an unpartitioned stream is never given up. */
const NEVER = new AbortController().signal

/** One stream read through the group; with a lease, a partition: one delivery per session at a time, in order. */
function readStream(
  client: RedisCommandClient, settings: ReaderSettings, room: Room, lease: Lease | undefined,
): Observable<RedisDelivery> {
  const { stream, group, consumer, maxInFlight, maxInFlightBytes, logger, readClient, scheduler } = settings
  // A user's connection closed by its owner: no retry can help, and a silent stop would hide it.
  const closedByOwner = (error?: unknown) => isClosed(client) || (readClient !== undefined &&
    (isClosed(readClient) || (error as Error | undefined)?.constructor?.name === 'ClientClosedError'))
  const acknowledge = acknowledger(client, settings)
  // A held entry's work is done: its delivery count starts again, so crashes that re-read it while it waits for
  // its state to be stored do not make it a poison (the one out alone when they happen is).
  const forgive = acknowledger(client, settings,
    (ids) => ['XCLAIM', settings.stream, settings.group, settings.consumer, '0', ...ids, 'RETRYCOUNT', '0', 'JUSTID'],
    'keep their delivery counts')

  return defer(() => {
    const own = readClient ? undefined : (client as unknown as { duplicate(): OwnConnection }).duplicate()
    own?.addListener('error', () => undefined) // the read loop reports each failure, with its backoff
    const reads: RedisCommandClient = readClient ?? own!
    // Entries handed out and not yet acknowledged or released, by id: those out hold room, and a claim of one of
    // them is work still under way here, not handed out again.
    const slots = new Map<string, Slot>()
    let held = 0
    // The largest entry seen, at least a default body: reads take no more entries than the free bytes would hold.
    let largest = 2 ** 20
    let alone = false
    let exclusive = false
    const endExclusive = () => exclusive && (exclusive = false, room.exclusive--, room.changed.next())
    let stopped = false
    // A partition's owner claims every pending entry once, at once: whoever read them is gone or gave it up.
    const cursor: Cursor = lease === undefined
      ? { ownPending: '-', nextClaim: 0, claimFrom: '-', claimIdleMs: settings.claimIdleMs, retries: [] }
      : { ownPending: null, nextClaim: 0, claimFrom: '-', claimIdleMs: 0, retries: [] }
    // Each session's deliveries waiting behind the one out (partitions only).
    const sessions = new Map<string, Array<() => RedisDelivery | null>>()
    const later = new Subject<RedisDelivery>()
    const probe = settings.telemetry?.redisReader({ client, stream, group })
    const ack = (id: string) => acknowledge(id).then((ok) => (probe?.acked(ok), ok))
    const refuse = refuser(settings, probe)
    const [saidHeld, saidDropped, reportTrigger, saidLayout] =
      [rateLimited(10_000), rateLimited(Infinity), rateLimited(10_000), rateLimited(Infinity)]

    // Every (re)start: connect our own connection, and create the group (again after a Redis restart forgot it).
    const start = defer(async () => {
      if (own && !own.isOpen) await own.connect()
      await ensureGroup(timed(reads, settings.timeoutMs), stream, group, settings.startAt)
    })
    // A stream written in partitions and read whole: its entries are not here. Said once, beside the reads.
    if (lease === undefined) {
      void recordedPartitions(timed(client, settings.timeoutMs), stream, undefined).then((recorded) =>
        recorded > 0 && saidLayout(logger, 'error', layoutMismatch(stream, recorded, undefined)), () => undefined)
    }
    const retryDue = () => cursor.retries.length > 0 && scheduler.now() >= cursor.retries[0]!.at
    // A suspect is claimed (by a read that counts until it is out), then handed out, only when no other entry of the
    // worker is out, being claimed or forgiven: its crash counts no innocent. Out, it holds every partition's room
    // until it ends. A retry has its room, and goes even then: the one out alone waits for it (pending here anyway).
    // Past the lease's sure time another worker may hold it soon: nothing more is handed out until it is renewed (ours
    // still, reading goes on where it was) or found taken (then stopped). Not stopped at once: a stalled event loop
    // would have the worker claim its own deliveries under way again, counting them.
    const hasRoom = (claimed = false) => (lease === undefined || scheduler.now() < lease.until) && (alone
      ? room.count - room.released + room.forgiving + (claimed ? 0 : room.reading) === 0
      : retryDue() || (room.exclusive === 0 && room.count < maxInFlight && room.bytes < maxInFlightBytes))
    // Deliveries that neither ack nor release keep their room for good: a pause this long is worth a word.
    const stalled = (claimed: boolean) => {
      log(logger, 'warn', `Reading paused for ${settings.claimIdleMs} ms: ${room.count} deliveries neither ` +
        'acknowledged nor released (call release() when work fails)', { stream, group, consumer })
      return waitForRoom(claimed)
    }
    const resumed: Observable<void> = lease?.resumed ?? EMPTY
    const waitForRoom = (claimed = false): Observable<void> => merge(room.changed, resumed).pipe(first(() =>
      hasRoom(claimed)), timeout({ first: settings.claimIdleMs, with: () => stalled(claimed), scheduler }))
    const space = () =>
      Math.max(1, Math.min(maxInFlight - room.count, Math.floor((maxInFlightBytes - room.bytes) / largest)))
    const step: Observable<RedisDelivery | null> = defer(() => {
      if (closedByOwner()) throw new ClosedByOwner()
      return waitForRoom()
    }).pipe(
      concatMap(() => {
        // Counted from the read until its entries are in the room; a read of new entries only (for which a crash
        // is their first count) does not keep a suspect waiting up to blockMs.
        let counting = Boolean(++room.reading)
        const done = () => counting && (counting = false, room.reading--, room.changed.next())
        const batches = from(read(reads, settings, cursor, space(), [...slots.keys()], done))
        return batches.pipe(concatMap(handle), finalize(done))
      }),
    )
    const handle = (batch: Batch): Observable<RedisDelivery | null> => {
      for (const [id, n] of batch.dead) {
        refuse(id, '', deliveryLimit(n, `${stream}:dead`), `Entry ${id} dead-lettered after ${n} deliveries`)
        end(id)
      }
      for (const id of batch.lost) {
        refuse(id, '', entryTrimmed, `Entry ${id} was trimmed while pending: lost`)
        end(id)
      }
      if (batch.retry !== undefined && !batch.entries.some((entry) => entry.id === batch.retry)) end(batch.retry)
      alone = batch.alone && batch.entries.length > 0
      if (batch.alone && !alone) endExclusive() // its claim found it gone
      else if (alone) exclusive ||= (room.exclusive++, true)
      // A suspect read, not counted: claimed (counted) by id, as a retry is, once it can go out alone.
      const peek = { id: batch.entries[0]?.id ?? '', at: 0, alone, own: cursor.ownPending !== null }
      if (alone && batch.retry === undefined) return (cursor.retries.unshift(peek), of(null))
      // null first: a read that answered ends a run of failures (retry's resetOnSuccess). from() stops between
      // entries once the subscriber is gone: the rest of a batch stays pending, untouched.
      const handOut = () => from(batch.entries).pipe(map((entry) => toDelivery(entry, batch.claimed)))
      return concat(of(null), alone ? waitForRoom(true).pipe(concatMap(handOut)) : handOut())
    }

    /** Room and the slot's place in its session as `state` changes; `null` ends the slot. */
    const move = (id: string, slot: Slot, state: Slot['state'] | null) => {
      const was = slot.state
      if (slot.alone && was === 'out' && state !== 'out') endExclusive()
      if (counted(was) !== counted(state)) {
        room.count += counted(state) ? 1 : -1
        room.bytes += counted(state) ? slot.bytes : -slot.bytes
      }
      held += Number(state === 'held') - Number(was === 'held')
      room.released += Number(state === 'released') - Number(was === 'released')
      if (state === null) slots.delete(id)
      else slot.state = state
      // The session's next delivery goes out once this one is no longer out (nor waiting for its retry).
      if (lease !== undefined && (was === 'out' || was === 'released') && state !== 'out' && state !== 'released') {
        const next = sessions.get(slot.key)?.shift()
        if (next === undefined) sessions.delete(slot.key)
        else if (!stopped) {
          const delivery = next()
          if (delivery !== null) later.next(delivery)
        }
      }
      settle()
    }
    const settle = () => {
      if (lease !== undefined) {
        lease.unsettled = slots.size
        lease.settled.next()
      }
      room.changed.next()
    }
    /** An entry no longer pending here (dead-lettered, trimmed, gone before its retry). */
    const end = (id: string) => {
      const slot = slots.get(id)
      if (slot !== undefined) move(id, slot, null)
    }

    // A trigger is no delivery: its own function is its work, holding its room until it ends. Acknowledged once it
    // succeeded; a failure (or claimIdleMs passing) releases it, so it comes back, as a delivery's would.
    const work = (trigger: UsertourTriggerPayload, done: RedisDelivery) => {
      const sink = settings.usertourTriggers
      if (sink === undefined) {
        const why = 'usertour_trigger entries acknowledged and dropped: no usertourTriggers'
        saidDropped(logger, 'warn', why, { stream })
        return void done.ack()
      }
      const failed = (error: unknown) => reportTrigger(logger, 'error', 'usertourTriggers failed; the entry comes back',
        { stream, group, consumer, id: done.id, error })
      void passTrigger(sink, trigger, { id: done.id, stream, claimed: done.claimed }, failed, settings.claimIdleMs)
        .then((ok) => (ok ? void done.ack() : done.release()))
    }

    // One per partition, not per delivery: kept by whoever asks later, it holds no payload.
    const owned = () => lease === undefined || (!lease.abort.signal.aborted && scheduler.now() < lease.until)
    const toDelivery = ({ id, fields }: RawEntry, claimed: boolean): RedisDelivery | null => {
      const before = slots.get(id)
      // Claimed while its work still runs here: once is enough. A retry takes its slot back.
      if (before !== undefined && before.state !== 'released') return alone ? (endExclusive(), null) : null
      const event = decodeEntry(id, fields, refuse, ack)
      if (event === null) {
        if (alone) endExclusive()
        if (before !== undefined) move(id, before, null)
        return null
      }
      probe?.read(1, claimed)
      let bytes = 0
      for (const [k, v] of Object.entries(fields)) bytes += Buffer.byteLength(k) + Buffer.byteLength(v)
      largest = Math.max(largest, bytes)
      const key = lease === undefined ? '' : `${event.product_id}\n${event.session_id ?? ''}`
      const slot: Slot = before ?? { bytes, key, state: 'waiting', alone }
      if (before === undefined) {
        slots.set(id, slot)
        room.count++
        room.bytes += bytes
        settle()
      }
      // Only this delivery's own slot: a late answer must not free the room of the entry's next delivery.
      const mine = () => slots.get(id) === slot
      let acked = false
      const delivery: RedisDelivery = {
        id, stream, payload: event as Payload, claimed, signal: lease?.abort.signal ?? NEVER,
        owned,
        release: () => {
          if (!mine() || slot.state === 'released') return
          // In a partition the session waits for it: it comes back (counted) after claimIdleMs, then the next.
          if (lease === undefined || stopped || slot.state === 'held') return move(id, slot, null)
          move(id, slot, 'released')
          cursor.retries.push({ id, at: scheduler.now() + settings.claimIdleMs })
          scheduler.schedule(() => room.changed.next(), settings.claimIdleMs)
        },
        hold: () => {
          if (slot.state === 'held') return true
          if (!mine() || slot.state !== 'out' || lease === undefined) return false
          if (held >= settings.maxHeld) {
            saidHeld(logger, 'warn', `${held} deliveries held (maxHeld): hold() refused`, { stream })
            return false
          }
          room.forgiving++ // first: the move lets a suspect out at once, which must wait for this restart
          move(id, slot, 'held')
          void forgive(id).finally(() => (room.forgiving--, room.changed.next()))
          return true
        },
        ack: async () => {
          acked ||= await ack(id)
          // Answered either way: the room is freed, and an entry not acknowledged comes back through a claim.
          if (mine()) move(id, slot, null)
          return acked
        },
      }
      const out = (): RedisDelivery | null => {
        move(id, slot, 'out')
        if (event.type !== 'usertour_trigger') return delivery
        work(event, delivery)
        return null
      }
      if (lease === undefined || before !== undefined) return out()
      const waiting = sessions.get(key)
      if (waiting !== undefined) {
        waiting.push(out)
        return null
      }
      sessions.set(key, [])
      return out()
    }

    return merge(start.pipe(
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
    ), later).pipe(
      filter((delivery): delivery is RedisDelivery => delivery !== null),
      // Ours alone: closing it ends a blocking read at once (what it took stays pending).
      finalize(() => {
        stopped = true
        endExclusive()
        // Not out yet, or waiting for a retry: left pending for the partition's next owner.
        for (const [id, slot] of slots) if (slot.state === 'waiting' || slot.state === 'released') move(id, slot, null)
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
  reads: RedisCommandClient, settings: ReaderSettings, cursor: Cursor, space: number, skip: string[], fresh: () => void,
): Promise<Batch> {
  const { stream, group, consumer, scheduler, claimIdleMs } = settings
  const room = Math.min(settings.batchSize, space)
  const pending = async (from: string, own: boolean, to = '+') => {
    const reply = await timed(reads, settings.timeoutMs).sendCommand(['EVAL', CLAIM, '2', stream, `${stream}:dead`,
      group, consumer, own ? '0' : String(cursor.claimIdleMs), from, String(to === '+' ? room : 1),
      String(settings.maxDeliveries), String(settings.deadLetterMaxLen), String(Date.now()),
      own ? '' : String(settings.idleConsumerMs), to, ...(to === '+' ? skip : [])]) as
      [unknown, unknown, [unknown, unknown][], unknown[], unknown]
    const dead = reply[2].map(([id, n]): [string, number] => [String(id), Number(n)])
    const entries = parseEntries(reply[1])
    return { next: String(reply[0]), entries, claimed: true, alone: reply[4] === 1, dead, lost: reply[3].map(String) }
  }
  const again = cursor.retries[0]
  if (again !== undefined && scheduler.now() >= again.at) {
    cursor.retries.shift()
    // Put back when the claim fails: dropped, it would keep its room (a suspect, the worker's) for good.
    const claimed = await pending(again.id, again.own ?? true, again.id).catch((error: unknown) => {
      throw (cursor.retries.unshift(again), error)
    })
    return { ...claimed, retry: again.id, alone: again.alone === true }
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
    // claim again at once while the scan is not done, otherwise every half idle period (a partition's owner: never).
    cursor.claimFrom = batch.next
    cursor.nextClaim = batch.next !== '-' ? scheduler.now()
      : cursor.claimIdleMs === 0 ? Infinity : scheduler.now() + Math.max(50, Math.floor(claimIdleMs / 2))
    if (batch.entries.length + batch.dead.length + batch.lost.length > 0) return batch
  }
  fresh()
  // Block no longer than until the next claim or retry is due.
  const due = Math.min(cursor.nextClaim, cursor.retries[0]?.at ?? Infinity)
  const block = Math.min(settings.blockMs, Math.max(1, due - scheduler.now()))
  // The last read found a few entries, not a full batch: wait for more, so reads (and acks) come in batches.
  if (cursor.short && settings.lingerMs > 0) await new Promise((wake) => scheduler.schedule(wake, settings.lingerMs))
  const reply = await timed(reads, block + settings.timeoutMs).sendCommand(['XREADGROUP', 'GROUP', group, consumer,
    'COUNT', String(room), 'BLOCK', String(block), 'STREAMS', stream, '>'])
  const entries = streamEntries(reply, stream)
  cursor.short = entries.length > 0 && entries.length < room
  return { entries, claimed: false, alone: false, dead: [], lost: [] }
}

/**
 * XACK as a function that answers whether Redis took it and never rejects. The acks of one turn of the event loop
 * go out as one XACK of all their ids (a worker acks a read batch at about the same time); each caller still
 * learns whether its own entry was taken. `command` makes it another per-id command batched alike.
 */
function acknowledger(client: RedisCommandClient, settings: ReaderSettings,
  command = (ids: string[]) => ['XACK', settings.stream, settings.group, ...ids],
  failure = 'stay pending and will be handed out again'): (id: string) => Promise<boolean> {
  const { stream, group, consumer, logger } = settings
  let pending: { readonly ids: string[]; readonly taken: Promise<boolean> } | null = null
  const send = async (ids: string[]): Promise<boolean> => {
    try {
      await timed(client, settings.timeoutMs).sendCommand(command(ids))
      return true
    } catch (error) {
      const entries = `${ids.length} ${ids.length === 1 ? 'entry' : 'entries'}`
      const why = `Redis ${command(ids)[0]} failed: ${errorText(error)}; ${entries} ${failure}`
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
      settings.rejected?.({ id, stream, text, error })
    } catch (error) {
      // A bug in the user's callback: its stack is worth logging.
      log(logger, 'error', 'The rejected callback threw; the entry is acknowledged all the same',
        { stream, group, consumer, id, error })
    }
  }
}

/** The entry's event, or null for one that does not decode: reported and acknowledged, not claimed for ever. */
function decodeEntry(id: string, fields: RawEntry['fields'], refuse: Refuse, ack: (id: string) => Promise<boolean>) {
  // The verified body; else the JSON an entry written without it holds (toRedisStream, a receiver before the upgrade).
  const text = fields[BODY_FIELD] ?? fields[PAYLOAD_FIELD]
  // Without a leading BOM, as the receiver's decoding of the same bytes drops it.
  const decoded: E.Either<RedisEntryError, Decoded> =
    text === undefined ? E.left(missingPayloadField) : decodeText(text.replace(/^\ufeff/, ''))
  if (E.isRight(decoded)) return decoded.right.payload
  refuse(id, text ?? '', decoded.left)
  void ack(id)
  return null
}

/** `client` whose commands fail with a `TimeoutError` when Redis has not answered within `ms`. */
const timed = (client: RedisCommandClient, ms: number): RedisCommandClient =>
  ({ sendCommand: (args) => bounded(client.sendCommand(args, OWN_TIMEOUT), ms, 'Redis') })

const ensureGroup = (client: RedisCommandClient, stream: string, group: string, startAt: string): Promise<unknown> =>
  client.sendCommand(['XGROUP', 'CREATE', stream, group, startAt, 'MKSTREAM']).catch((error: unknown) => {
    if (!/BUSYGROUP/.test(String((error as Error)?.message ?? error))) throw error
  })

/** The read loop found its client closed before a read: no command failed, so nothing to wrap. */
class ClosedByOwner extends Error {}
