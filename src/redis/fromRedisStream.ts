/**
 * The reading side of the Redis bridge: a consumer group read as an Observable of deliveries, each acknowledged by
 * the worker (XACK), with what a dead worker left pending claimed (XAUTOCLAIM).
 */
import * as E from 'fp-ts/lib/Either.js'
import type { EventEmitter } from 'node:events'
import {
  BehaviorSubject, concatMap, defer, filter, finalize, first, from, fromEvent, map, Observable, race, repeat, retry,
  throwError, timeout, timer,
} from 'rxjs'
import { backoffDelay } from '../backoff.js'
import type { Payload } from '../codecs.js'
import { decodeText, type Decoded } from '../decode.js'
import { errorText, log } from '../logger.js'
import type { RedisReaderProbe } from '../telemetry.js'
import { PAYLOAD_FIELD } from './append.js'
import { parseEntries, streamEntries, type RawEntry, type RedisCommandClient } from './client.js'
import { missingPayloadField, type RedisEntryError } from './errors.js'
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
  /** When (scheduler time) the next XAUTOCLAIM is due. */
  nextClaim: number
  /** Redis's XAUTOCLAIM cursor; `0-0` once a scan is done. */
  claimFrom: string
}

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
  const { stream, group, consumer, maxInFlight, logger, readClient, scheduler } = settings
  // A user's connection closed by its owner: no retry can help, and a silent stop would hide it.
  const closedByOwner = (error?: unknown) => isClosed(client) || (readClient !== undefined &&
    (isClosed(readClient) || (error as Error | undefined)?.constructor?.name === 'ClientClosedError'))
  const acknowledge = acknowledger(client, settings)

  return defer(() => {
    const own = readClient ? undefined : (client as unknown as { duplicate(): OwnConnection }).duplicate()
    own?.addListener('error', () => undefined) // the read loop reports each failure, with its backoff
    const reads: RedisCommandClient = readClient ?? own!
    // Deliveries neither acknowledged nor released, by entry id: each holds one room, and a claim of one of them
    // is work still under way here, not handed out again.
    const held = new Map<string, object>()
    const inFlight = new BehaviorSubject(0)
    const cursor: Cursor = { ownPending: '0', nextClaim: 0, claimFrom: '0-0' }
    const probe = settings.telemetry?.redisReader({ client, stream, group })
    const ack = (id: string) => acknowledge(id).then((ok) => (probe?.acked(ok), ok))

    // Every (re)start: connect our own connection, and create the group (again after a Redis restart forgot it).
    const start = defer(async () => {
      if (own && !own.isOpen) await own.connect()
      await ensureGroup(reads, stream, group, settings.startAt)
    })
    const room = inFlight.pipe(first((n) => n < maxInFlight))
    // Deliveries that neither ack nor release keep their room for good: a pause this long is worth a word.
    const stalled = () => {
      log(logger, 'warn', `Reading paused for ${settings.claimIdleMs} ms: ${held.size} deliveries neither ` +
        'acknowledged nor released (call release() when work fails)', { stream, group, consumer })
      return waitForRoom()
    }
    const waitForRoom = (): Observable<number> =>
      room.pipe(timeout({ first: settings.claimIdleMs, with: stalled, scheduler }))
    const step = defer(() => {
      if (closedByOwner()) throw new ClosedByOwner()
      return waitForRoom()
    }).pipe(concatMap((n) => from(read(reads, settings, cursor, maxInFlight - n))))

    const toDelivery = (entry: RawEntry, claimed: boolean): RedisDelivery | null => {
      if (held.has(entry.id)) return null // claimed while its work still runs here: once is enough
      const payload = decodeEntry(entry, settings, ack, probe)
      if (payload === null) return null
      probe?.read(1, claimed)
      const slot = {}
      held.set(entry.id, slot)
      inFlight.next(held.size)
      // Only this delivery's own slot: a late answer must not free the room of the entry's next delivery.
      const release = () => {
        if (held.get(entry.id) !== slot) return
        held.delete(entry.id)
        inFlight.next(held.size)
      }
      let acked = false
      return {
        id: entry.id, payload, claimed, release,
        ack: async () => {
          acked ||= await ack(entry.id)
          // Answered either way: the room is freed, and an entry not acknowledged comes back through a claim.
          release()
          return acked
        },
      }
    }

    return start.pipe(
      concatMap(() => step.pipe(repeat())),
      retry({
        resetOnSuccess: true, // every read that answered, even with nothing, ends a run of failures
        delay: (error: unknown, attempt) => {
          if (error instanceof ClosedByOwner) return throwError(() => closedError())
          if (closedByOwner(error)) return throwError(() => closedError(error))
          const ms = backoffDelay(attempt, settings.backoff)
          const why = `Redis read failed: ${errorText(error)}; retry ${attempt} in ${ms} ms`
          log(logger, 'error', why, { stream, group, consumer })
          const pause = timer(ms, scheduler)
          // Our connection is back: no need to sit out the rest of the pause.
          return own ? race(pause, fromEvent(own, 'ready')) : pause
        },
      }),
      // from() stops between entries once the subscriber is gone: the rest of a batch stays pending, untouched.
      concatMap(({ entries, claimed }) => from(entries).pipe(map((entry) => toDelivery(entry, claimed)),
        filter((delivery): delivery is RedisDelivery => delivery !== null))),
      // Ours alone: closing it ends a blocking read at once (what it took stays pending).
      finalize(() => {
        probe?.closed()
        try { own?.destroy() } catch { /* already closed */ }
      }),
    )
  })
}

/** One read: this consumer's own pending entries first, then claims of idle ones when due, then new entries. */
async function read(reads: RedisCommandClient, settings: ReaderSettings, cursor: Cursor, space: number) {
  const { stream, group, consumer, scheduler, claimIdleMs } = settings
  const room = Math.min(settings.batchSize, space)
  const count = ['COUNT', String(room)]
  const readGroup = ['XREADGROUP', 'GROUP', group, consumer, ...count]
  if (cursor.ownPending !== null) {
    // What this consumer read before a restart and never acknowledged comes first, each once.
    const entries = streamEntries(await reads.sendCommand([...readGroup, 'STREAMS', stream, cursor.ownPending]), stream)
    cursor.ownPending = entries.length < room ? null : entries[entries.length - 1]!.id
    return { entries, claimed: true }
  }
  if (scheduler.now() >= cursor.nextClaim) {
    const claim = ['XAUTOCLAIM', stream, group, consumer, String(claimIdleMs), cursor.claimFrom, ...count]
    const reply = await reads.sendCommand(claim)
    const entries = Array.isArray(reply) ? parseEntries(reply[1]) : []
    // Go on from Redis's cursor, so entries skipped as still under way here are not claimed again in a loop;
    // claim again at once while the scan is not done, otherwise every half idle period.
    cursor.claimFrom = Array.isArray(reply) && reply[0] != null ? String(reply[0]) : '0-0'
    cursor.nextClaim = scheduler.now() + (cursor.claimFrom !== '0-0' ? 0 : Math.max(50, Math.floor(claimIdleMs / 2)))
    if (entries.length > 0) return { entries, claimed: true }
  }
  // Block no longer than until the next claim is due.
  const block = Math.min(settings.blockMs, Math.max(1, cursor.nextClaim - scheduler.now()))
  const reply = await reads.sendCommand([...readGroup, 'BLOCK', String(block), 'STREAMS', stream, '>'])
  return { entries: streamEntries(reply, stream), claimed: false }
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
      await client.sendCommand(['XACK', stream, group, ...ids])
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

/** The entry's payload, or null for one that does not decode: reported and acknowledged, not claimed for ever. */
function decodeEntry(
  { id, fields }: RawEntry, settings: ReaderSettings, acknowledge: (id: string) => Promise<boolean>,
  probe: RedisReaderProbe | undefined,
): Payload | null {
  const text = fields[PAYLOAD_FIELD]
  const decoded: E.Either<RedisEntryError, Decoded> =
    text === undefined ? E.left(missingPayloadField) : decodeText(text)
  if (E.isRight(decoded)) return decoded.right.payload
  probe?.rejected(decoded.left._tag)
  try {
    settings.rejected?.({ id, text: text ?? '', error: decoded.left })
  } catch (error) {
    // A bug in the user's callback: its stack is worth logging.
    const { stream, group, consumer } = settings
    log(settings.logger, 'error', 'The rejected callback threw; the entry is acknowledged all the same',
      { stream, group, consumer, id, error })
  }
  void acknowledge(id)
  return null
}

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
