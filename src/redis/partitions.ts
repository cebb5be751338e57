/**
 * One owner per session at a time, Kafka's way on Redis: each event goes to one of N partition streams by a
 * stable hash of its (product, session), and each partition is read by one worker at a time, the one holding its
 * lease (SET NX PX, renewed; Redis' single-instance lock). Leases spread evenly over the live workers.
 */
import { randomUUID } from 'node:crypto'
import { exhaustMap, Observable, Subject, timer } from 'rxjs'
import { errorText, rateLimited } from '../logger.js'
import { bounded, within } from '../internal/within.js'
import { OWN_TIMEOUT, type RedisBytesClient, type RedisCommandClient } from './client.js'
import type { ReaderSettings } from './options.js'

/** The partition of a session's events: FNV-1a of `product \n session`, the same in every process and version. */
export function partitionOf(event: { readonly product_id?: string; readonly session_id?: string | null },
  partitions: number): number {
  const key = `${event.product_id ?? ''}\n${event.session_id ?? ''}`
  let hash = 0x811c9dc5
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193)
  return (hash >>> 0) % partitions
}

// The stream's partition count, recorded by the first appender or reader that has one: a reader and an appender
// that disagree would leave partitions no one reads. Returns the recorded count, 0 for none.
const LAYOUT = `local v = redis.call('GET', KEYS[1])
if v then return tonumber(v) end
if ARGV[1] ~= '0' then redis.call('SET', KEYS[1], ARGV[1]) end
return tonumber(ARGV[1])`

/** The partition count recorded for `stream` (recording `partitions` when none is): 0 for an unpartitioned one. */
export async function recordedPartitions(client: RedisCommandClient | RedisBytesClient, stream: string,
  partitions: number | undefined): Promise<number> {
  const args: [string, ...string[]] = ['EVAL', LAYOUT, '1', `${stream}:partitions`, String(partitions ?? 0)]
  return Number(await (client as RedisBytesClient).sendCommand(args)) || 0 // a reply that is no count: none
}

/** What to say when a stream is written and read with different partition counts. */
export const layoutMismatch = (stream: string, recorded: number, ours: number | undefined) =>
  `${stream} is partitioned ${recorded === 0 ? 'not at all' : `${recorded} ways`} (as recorded in ` +
  `${stream}:partitions) but used with partitions: ${ours ?? 'none'}: entries would sit where no reader reads them`

/** Partition p's stream; the hash tag keeps its stream, dead letters and leases in one Redis Cluster slot. */
export const partitionStream = (stream: string, p: number): string => `${stream}:{${p}}`

/** A partition held by this worker: read until `stop`; `signal` aborts when it is given up. */
export interface Lease {
  readonly partition: number
  readonly stop: Subject<void>
  readonly abort: AbortController
  /** Deliveries of the partition handed out and not yet acknowledged or released (held ones included). */
  unsettled: number
  readonly settled: Subject<void>
  /**
   * Scheduler time until which the lease is surely ours: the last renewal's send time plus `leaseMs`, less a tick
   * (past it another worker may take it soon). Deliveries' `owned()` reads it.
   */
  until: number
  leaving: boolean
  /** Emits on each renewal in time: a lease past `until` hands nothing more out until then. */
  readonly resumed: Subject<void>
}

// Redis' clock for every worker: membership does not depend on the workers' clocks agreeing.
const MEMBERS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[1]))
return redis.call('ZRANGE', KEYS[1], 0, -1)`
// Taken when free, renewed when ours: held by a subscription (its name and a token of its own), so two processes
// under one name never both hold a partition.
const TAKE = `local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if v then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`

/**
 * The partitions this worker owns, as leases: each emitted when taken, stopped (and its signal aborted) when given
 * up or lost. Every `tick` (a third of `leaseMs`, at most 2 s) the worker says it is alive, reads who else is, and
 * takes, renews or gives up leases so that partition p belongs to the (p mod n)-th live worker by name. A partition
 * given up is released once its deliveries settle (at most `leaseMs`), so the next owner starts where it ended.
 */
export function leases(client: RedisCommandClient, settings: ReaderSettings, partitions: number): Observable<Lease> {
  const { stream, group, consumer, leaseMs, logger, scheduler } = settings
  const tick = Math.min(Math.floor(leaseMs / 3), 2000)
  const members = `${stream}:owners:${group}`
  const leaseKey = (p: number) => `${partitionStream(stream, p)}:lease:${group}`
  const send = (args: string[]) => bounded(client.sendCommand(args, OWN_TIMEOUT), settings.timeoutMs, 'Redis')
  const say = rateLimited(10_000)

  return new Observable<Lease>((subscriber) => {
    const holder = `${consumer}#${randomUUID()}`
    const held = new Map<number, Lease>()
    const lose = (lease: Lease) => {
      held.delete(lease.partition)
      lease.abort.abort()
      lease.stop.next()
      lease.stop.complete()
    }
    // Stop reading, ask holders to settle, then let the lease go once they did (or leaseMs passed).
    const giveUp = (lease: Lease) => {
      lease.leaving = true
      lease.abort.abort()
      lease.stop.next()
      const settled = lease.unsettled === 0 ? Promise.resolve() : new Promise<void>((resolve) =>
        lease.settled.subscribe(() => { if (lease.unsettled === 0) resolve() }))
      void within(settled, leaseMs, undefined).then(() => {
        if (held.get(lease.partition) !== lease) return
        held.delete(lease.partition)
        lease.stop.complete()
        lease.settled.complete()
        return send(['EVAL', RELEASE, '1', leaseKey(lease.partition), holder])
      }).catch(() => undefined) // not released: it expires within leaseMs
    }
    let checked = false
    const step = async () => {
      if (!checked) {
        const recorded = await bounded(recordedPartitions(client, stream, partitions), settings.timeoutMs, 'Redis')
        const wrong = recorded !== partitions && `autoplay-rx: ${layoutMismatch(stream, recorded, partitions)}`
        if (wrong) return subscriber.error(new TypeError(wrong))
        checked = true
      }
      const now = scheduler.now()
      const alive = await send(['EVAL', MEMBERS, '1', members, String(leaseMs), consumer]) as unknown[]
      const live = alive.map(String).sort()
      // One round trip for all (node-redis pipelines commands sent together).
      await Promise.all(Array.from({ length: partitions }, async (_, p) => {
        const mine = live[p % live.length] === consumer
        const lease = held.get(p)
        if (lease !== undefined && !mine && !lease.leaving) giveUp(lease)
        // Renewed while it is given up too: it must not expire before its deliveries settled.
        if (lease === undefined && !mine) return
        const taken = Number(await send(['EVAL', TAKE, '1', leaseKey(p), holder, String(leaseMs)])) === 1
        if (lease !== undefined) {
          if (!taken) return void (held.get(p) === lease && lose(lease))
          lease.until = now + leaseMs - tick
          // Answered too late to count (past until): still not ours for sure, as owned() says.
          if (scheduler.now() < lease.until) lease.resumed.next()
        } else if (taken && !subscriber.closed) {
          const lease: Lease = { partition: p, stop: new Subject(), abort: new AbortController(), unsettled: 0,
            settled: new Subject(), until: now + leaseMs - tick, leaving: false, resumed: new Subject() }
          held.set(p, lease)
          subscriber.next(lease)
        }
      }))
    }
    const loop = timer(0, tick, scheduler).pipe(exhaustMap(() => step().catch((error: unknown) => {
      // Closed by its owner: no renewal can succeed, and a silent stop would hide it.
      if (isClosed(client)) return subscriber.error(closedError(error))
      say(logger, 'error', `Redis lease renewal failed: ${errorText(error)}`, { stream, group, consumer })
    }))).subscribe()
    return () => {
      loop.unsubscribe()
      // Each let go once its deliveries settled, as when given up (unrenewed, it expires within leaseMs anyway).
      for (const lease of held.values()) if (!lease.leaving) giveUp(lease)
      // Gone at once: the others take its partitions on their next tick, not after leaseMs.
      void send(['ZREM', members, consumer]).catch(() => undefined)
    }
  })
}

/** Why the Observable ends; the failed command, if any, is its cause (alone it could read like an outage). */
export function closedError(cause?: unknown): Error {
  const message = 'autoplay-rx: fromRedisStream stopped: its Redis client is closed (closed by its owner)'
  return new Error(message, cause === undefined ? undefined : { cause })
}

/** node-redis says `isOpen: false` once its owner closed it (it stays true while reconnecting). */
export function isClosed(client: RedisCommandClient): boolean {
  return (client as { isOpen?: unknown }).isOpen === false
}
