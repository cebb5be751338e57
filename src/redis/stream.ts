/**
 * Redis Streams as the durable hand-off between receivers and workers:
 * receivers append each verified payload (XADD, approximate MAXLEN trim),
 * workers read through a consumer group (XREADGROUP), acknowledge what they
 * processed (XACK), and claim what a dead worker left pending (XAUTOCLAIM).
 */
import * as E from 'fp-ts/lib/Either.js'
import { from, map, mergeMap, Observable, type OperatorFunction } from 'rxjs'
import type { Payload } from '../codecs.js'
import { decodeJsonText, type DecodeError } from '../decode.js'
import { consoleLogger, log, type Logger } from '../logger.js'
import { streamEntries, parseEntries, type RedisCommandClient } from './client.js'

/**
 * The field of each stream entry that holds the payload's JSON.
 *
 * @example
 * ```ts
 * // Another producer (a replay script, say) writes entries fromRedisStream reads:
 * await redis.sendCommand(['XADD', 'autoplay:events', '*', PAYLOAD_FIELD, JSON.stringify(payload)])
 * ```
 */
export const PAYLOAD_FIELD = 'payload'

/**
 * Options of {@link redisAppender} and {@link toRedisStream}.
 *
 * @example
 * ```ts
 * // About a day of events at 10/s; older entries are trimmed as new ones come.
 * const options: RedisAppendOptions = { stream: 'autoplay:events', maxLen: 1_000_000 }
 * const persist = redisAppender(redis, options)
 * ```
 */
export interface RedisAppendOptions {
  /** The stream key. */
  readonly stream: string
  /**
   * Approximate maximum length (`XADD … MAXLEN ~ n`): Redis trims whole
   * nodes, so the stream may hold up to about 100 entries more. Default 1,000,000.
   */
  readonly maxLen?: number
}

/**
 * A function that appends one payload to a stream and resolves with the
 * entry id once Redis has it. It is what the adapters' `persist` option
 * takes, to acknowledge the connector only after the delivery is durable.
 *
 * @example
 * ```ts
 * const persist = redisAppender(redis, { stream: 'autoplay:events' })
 * createNodeMiddleware(receiver, { persist }) // 503 when Redis cannot take it: the connector retries
 * ```
 */
export function redisAppender(client: RedisCommandClient, options: RedisAppendOptions): (payload: Payload) => Promise<string> {
  const maxLen = options.maxLen ?? 1_000_000
  if (!(Number.isSafeInteger(maxLen) && maxLen > 0)) throw new TypeError('autoplay-rx: maxLen must be a positive whole number')
  if (typeof options.stream !== 'string' || options.stream === '') throw new TypeError('autoplay-rx: stream must be a non-empty string')
  const head = ['XADD', options.stream, 'MAXLEN', '~', String(maxLen), '*', PAYLOAD_FIELD]
  return async (payload) => String(await client.sendCommand([...head, JSON.stringify(payload)]))
}

/**
 * A payload and the id of its stream entry, as {@link toRedisStream} emits them.
 *
 * @example
 * ```ts
 * receiver.payloads$.pipe(toRedisStream(redis, { stream: 'autoplay:events' }))
 *   .subscribe((entry: RedisStreamEntry) => console.log(entry.id, entry.payload.type)) // e.g. 1795772944706-0 actions
 * ```
 */
export interface RedisStreamEntry {
  /** The entry id Redis gave it (`<ms>-<seq>`). */
  readonly id: string
  /** The payload stored. */
  readonly payload: Payload
}

/**
 * Appends every payload of the source to a Redis Stream, emitting each
 * entry id when Redis has it. A failed XADD errors the stream (add `retry`
 * to keep going); for HTTP deliveries prefer the adapters' `persist`
 * option, which answers 503 so that the connector retries instead.
 *
 * @example
 * ```ts
 * receiver.payloads$.pipe(toRedisStream(redis, { stream: 'autoplay:events', maxLen: 100_000 }))
 *   .subscribe(({ id }) => console.log('stored', id))
 * ```
 */
export function toRedisStream(client: RedisCommandClient, options: RedisAppendOptions): OperatorFunction<Payload, RedisStreamEntry> {
  const append = redisAppender(client, options)
  // One connection answers in order, so ids come out in the order payloads went in.
  return (source) => source.pipe(mergeMap((payload) => from(append(payload)).pipe(map((id) => ({ id, payload })))))
}

/**
 * A payload read through a consumer group, with the acknowledgement that ends its delivery.
 *
 * @example
 * ```ts
 * const work = async (delivery: RedisDelivery) => {
 *   if (delivery.claimed && (await alreadyIndexed(delivery.id))) return delivery.ack() // done before a crash
 *   await index(delivery.payload)
 *   await delivery.ack()
 * }
 * fromRedisStream(redis, { stream: 'autoplay:events', group: 'indexers', consumer: 'indexer-1' }).pipe(mergeMap(work, 8)).subscribe()
 * ```
 */
export interface RedisDelivery {
  /** The stream entry's id: stable across redeliveries, so a good idempotency key. */
  readonly id: string
  /** The decoded payload, typed as push mode gives it. */
  readonly payload: Payload
  /**
   * Whether the entry was handed out before: to this consumer before it
   * restarted, or to another one it was claimed from. Its work may already
   * have been done (dedupe, or make it idempotent).
   */
  readonly claimed: boolean
  /**
   * XACKs the entry: call it once the work is done. It never rejects.
   *
   * @returns `true` once Redis has answered the XACK (the entry is no longer
   * pending); `false` when it could not (connection down, Redis restarting):
   * the failure is logged, the entry stays pending and is handed out again
   * (claimed after `claimIdleMs`), so the work is done at least once. Calling
   * it again retries; after `true` it answers `true` at once.
   *
   * @example
   * ```ts
   * if (!(await delivery.ack())) metrics.increment('redis.ack.failed') // it will come back
   * ```
   */
  ack(): Promise<boolean>
}

/**
 * An entry that could not be decoded: acknowledged (so it is not claimed for ever) and reported.
 *
 * @example
 * ```ts
 * const rejected = (rejection: RedisEntryRejection) =>
 *   void redis.sendCommand(['XADD', 'autoplay:dead', '*', 'id', rejection.id, 'text', rejection.text, 'why', rejection.error.message])
 * fromRedisStream(redis, { stream: 'autoplay:events', group: 'indexers', consumer: 'indexer-1', rejected })
 * ```
 */
export interface RedisEntryRejection {
  /** The entry's id (already acknowledged). */
  readonly id: string
  /** The entry's `payload` field as stored; empty when it had none. */
  readonly text: string
  /** Why it was refused: the decode error push mode would give, or `MissingField` for an entry without a `payload` field. */
  readonly error: DecodeError | {
    /** The entry has no {@link PAYLOAD_FIELD} field (written by something else). */
    readonly _tag: 'MissingField'
    /** `Entry has no "payload" field`. */
    readonly message: string
  }
}

/**
 * Options of {@link fromRedisStream}. `stream`, `group` and `consumer` are required.
 *
 * @example
 * ```ts
 * const options: FromRedisStreamOptions = {
 *   stream: 'autoplay:events',
 *   group: 'indexers',
 *   consumer: process.env.HOSTNAME ?? 'indexer-1', // stable across restarts: its pending entries come back to it
 *   claimIdleMs: 60_000,                           // work may take up to a minute before another worker takes over
 *   maxInFlight: 50,
 * }
 * fromRedisStream(redis, options).pipe(mergeMap(work, 8)).subscribe()
 * ```
 */
export interface FromRedisStreamOptions {
  /** The stream key (created with the group when missing). */
  readonly stream: string
  /** The consumer group: every group gets every entry once; the workers of one group share them. */
  readonly group: string
  /** This worker's name in the group; unique per worker, stable across its restarts. */
  readonly consumer: string
  /** Entries per read; default 100. */
  readonly batchSize?: number
  /** How long one read blocks waiting for entries; default 2000 ms. */
  readonly blockMs?: number
  /** Entries pending (in any consumer, this one included) for this long are claimed (XAUTOCLAIM); default 30000 ms. */
  readonly claimIdleMs?: number
  /** Most entries handed out and not yet acknowledged; reading pauses beyond it. Default 2 × batchSize. */
  readonly maxInFlight?: number
  /**
   * Where the group starts when this call creates it, or creates it again
   * after Redis forgot it (a restart without persistence): `'0'` (default)
   * every entry in the stream, so nothing stored before the first worker
   * started or during the restart is skipped; `'$'` live only: entries
   * stored while no group existed are never processed.
   */
  readonly startAt?: '0' | '$'
  /**
   * The connection the reads block on. Default: a duplicate of `client`
   * (`client.duplicate()`, node-redis) that each subscription opens and
   * closes itself. Required when `client` cannot be duplicated (a wrapper).
   */
  readonly readClient?: RedisCommandClient
  /** Entries that do not decode. A callback that throws is logged, and the entry still acknowledged. */
  readonly rejected?: (rejection: RedisEntryRejection) => void
  /** Where Redis errors (retried with backoff) and failed acknowledgements are reported; default {@link consoleLogger}. */
  readonly logger?: Logger
}

/** The part of a node-redis client that a read connection of our own needs. */
interface OwnConnection extends RedisCommandClient {
  readonly isOpen: boolean
  connect(): Promise<unknown>
  destroy(): void
  on(event: 'error' | 'ready', listener: (error?: unknown) => void): unknown
}

/**
 * Reads payloads through a Redis consumer group: at-least-once delivery to
 * the workers of the group. Each item carries `ack()`; call it after the
 * work, e.g. `mergeMap(async (d) => { await work(d.payload); await d.ack() }, 8)`.
 * Unacknowledged items are redelivered: to this consumer when it comes
 * back under the same name, or to any consumer after `claimIdleMs`.
 *
 * Two connections: acknowledgements go through `client` (it may be the
 * one the receivers write with: nothing sent on it blocks), reads block on
 * `readClient`, by default a duplicate of `client` opened per subscription.
 * So an ack never waits behind a blocking read.
 *
 * Cold: each subscription runs its own read loop; unsubscribing stops it
 * (what a read in flight took stays pending, nothing is lost). Redis errors
 * are retried with backoff (an outage, a restart; a group Redis forgot is
 * created again at `startAt`); only a client closed by its owner errors the
 * Observable.
 *
 * @param client - a connected node-redis client (or any {@link RedisCommandClient}, then with `readClient`).
 * @param options - stream, group and consumer names, and tuning; see {@link FromRedisStreamOptions}.
 * @returns a cold Observable of deliveries; it errors only when `client` or `readClient` is closed by its owner.
 * @throws TypeError on an invalid option, or when `client` has no `duplicate()` and no `readClient` is given.
 *
 * @example
 * ```ts
 * const redis = createClient({ url, disableOfflineQueue: true })
 * redis.on('error', (error) => console.error('redis:', error.message))
 * await redis.connect()
 * fromRedisStream(redis, { stream: 'autoplay:events', group: 'indexers', consumer: `indexer-${process.pid}` })
 *   .pipe(mergeMap(async (delivery) => { await index(delivery.payload); await delivery.ack() }, 8))
 *   .subscribe()
 * ```
 */
export function fromRedisStream(client: RedisCommandClient, options: FromRedisStreamOptions): Observable<RedisDelivery> {
  const batchSize = options.batchSize ?? 100
  const blockMs = options.blockMs ?? 2000
  const claimIdleMs = options.claimIdleMs ?? 30_000
  const maxInFlight = options.maxInFlight ?? batchSize * 2
  const startAt = options.startAt ?? '0'
  const logger = options.logger ?? consoleLogger
  for (const [name, value] of [['batchSize', batchSize], ['blockMs', blockMs], ['claimIdleMs', claimIdleMs], ['maxInFlight', maxInFlight]] as const) {
    if (!(Number.isSafeInteger(value) && value > 0)) throw new TypeError(`autoplay-rx: ${name} must be a positive whole number`)
  }
  for (const name of ['stream', 'group', 'consumer'] as const) {
    if (typeof options[name] !== 'string' || options[name] === '') throw new TypeError(`autoplay-rx: ${name} must be a non-empty string`)
  }
  if (startAt !== '0' && startAt !== '$') throw new TypeError(`autoplay-rx: startAt must be '0' or '$'`)
  const { stream, group, consumer, readClient } = options
  if (readClient === undefined && typeof (client as { duplicate?: unknown }).duplicate !== 'function') {
    throw new TypeError('autoplay-rx: fromRedisStream needs a readClient (a connection of its own for the blocking reads) when client has no duplicate()')
  }
  // A user's connection closed by its owner: no retry can help, and a silent stop would hide it.
  const closedByOwner = (error?: unknown) => isClosed(client) ||
    (readClient !== undefined && (isClosed(readClient) || (error as Error | undefined)?.constructor?.name === 'ClientClosedError'))

  const acknowledge = async (id: string): Promise<boolean> => {
    try {
      await client.sendCommand(['XACK', stream, group, id])
      return true
    } catch (error) {
      log(logger, 'warn', 'Redis XACK failed; the entry stays pending and will be handed out again', { stream, group, consumer, id, error })
      return false
    }
  }

  return new Observable<RedisDelivery>((subscriber) => {
    let active = true
    let inFlight = 0
    const own = readClient === undefined ? (client as unknown as { duplicate(): OwnConnection }).duplicate() : undefined
    own?.on('error', () => undefined) // the read loop reports each failure, with its backoff
    own?.on('ready', () => wake?.()) // reconnected: end a retry's pause at once
    const reads: RedisCommandClient = readClient ?? own!
    // At most one wait at a time: for room under maxInFlight, or a retry's pause. Both end on teardown.
    let wake: (() => void) | undefined
    let waitingForRoom = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const wait = (ms?: number) => new Promise<void>((resolve) => {
      wake = resolve
      if (ms !== undefined) timer = setTimeout(resolve, ms)
    }).finally(() => {
      wake = undefined
      clearTimeout(timer)
      timer = undefined
    })
    const settle = () => {
      inFlight--
      if (waitingForRoom) wake?.()
    }

    const toDelivery = (id: string, fields: Record<string, string>, claimed: boolean): RedisDelivery | null => {
      const text = fields[PAYLOAD_FIELD]
      const decoded: E.Either<RedisEntryRejection['error'], Payload> = text === undefined
        ? E.left({ _tag: 'MissingField', message: `Entry has no "${PAYLOAD_FIELD}" field` })
        : decodeJsonText(text)
      if (E.isLeft(decoded)) {
        try {
          options.rejected?.({ id, text: text ?? '', error: decoded.left })
        } catch (error) {
          log(logger, 'error', 'The rejected callback threw; the entry is acknowledged all the same', { stream, group, consumer, id, error })
        }
        void acknowledge(id)
        return null
      }
      let acked = false
      let counted = true
      inFlight++
      return {
        id, payload: decoded.right, claimed,
        ack: async () => {
          acked ||= await acknowledge(id)
          // Answered either way: the room is freed, and an entry not acknowledged comes back through a claim.
          if (counted) { counted = false; settle() }
          return acked
        },
      }
    }

    const emit = (entries: ReadonlyArray<{ id: string; fields: Record<string, string> }>, claimed: boolean) => {
      for (const { id, fields } of entries) {
        if (!active) return
        const delivery = toDelivery(id, fields, claimed)
        if (delivery) subscriber.next(delivery)
      }
    }

    const run = async () => {
      let failures = 0
      // Where the next read of this consumer's own pending entries starts; null once they are all handed out.
      let ownPending: string | null = '0'
      let nextClaim = 0
      while (active) {
        try {
          if (closedByOwner()) {
            subscriber.error(closedError())
            return
          }
          if (inFlight >= maxInFlight) {
            waitingForRoom = true
            await wait()
            waitingForRoom = false
            continue
          }
          if (own && !own.isOpen) await own.connect()
          // (Again after a NOGROUP: a Redis restarted without persistence forgot the group.)
          if (ownPending === '0') await ensureGroup(reads, stream, group, startAt)
          const room = Math.min(batchSize, maxInFlight - inFlight)
          if (ownPending !== null) {
            // Entries this consumer read before a restart and never acknowledged come first, each once.
            const reply = await reads.sendCommand(['XREADGROUP', 'GROUP', group, consumer, 'COUNT', String(room), 'STREAMS', stream, ownPending])
            const entries = streamEntries(reply, stream)
            ownPending = entries.length < room ? null : entries[entries.length - 1]!.id
            emit(entries, true)
            failures = 0
            continue
          }
          if (Date.now() >= nextClaim) {
            const reply = await reads.sendCommand(['XAUTOCLAIM', stream, group, consumer, String(claimIdleMs), '0-0', 'COUNT', String(room)])
            const entries = Array.isArray(reply) ? parseEntries(reply[1]) : []
            emit(entries, true)
            // Claim again soon while there is a backlog; otherwise every half idle period.
            nextClaim = Date.now() + (entries.length === room ? 0 : Math.max(50, Math.floor(claimIdleMs / 2)))
            failures = 0
            if (entries.length > 0) continue
          }
          const block = Math.min(blockMs, Math.max(1, nextClaim - Date.now()))
          const reply = await reads.sendCommand(['XREADGROUP', 'GROUP', group, consumer, 'COUNT', String(room), 'BLOCK', String(block), 'STREAMS', stream, '>'])
          emit(streamEntries(reply, stream), false)
          failures = 0
        } catch (error) {
          if (!active) return
          if (closedByOwner(error)) {
            subscriber.error(closedError(error))
            return
          }
          failures++
          const delay = Math.min(5000, 100 * 2 ** Math.min(failures - 1, 6))
          log(logger, 'error', `Redis read failed; retrying in ${delay} ms`, { stream, group, consumer, error })
          if (isNoGroup(error)) ownPending = '0'
          await wait(delay)
        }
      }
    }
    void run()
    return () => {
      active = false
      wake?.()
      // Ours alone: closing it ends a blocking read at once (what it took stays pending).
      try { own?.destroy() } catch { /* already closed */ }
    }
  })
}

async function ensureGroup(client: RedisCommandClient, stream: string, group: string, startAt: '0' | '$'): Promise<void> {
  try {
    await client.sendCommand(['XGROUP', 'CREATE', stream, group, startAt, 'MKSTREAM'])
  } catch (error) {
    if (!/BUSYGROUP/.test(String((error as Error)?.message ?? error))) throw error
  }
}

/** Why the Observable ends: the failed command (if any) is its cause, which alone could read like an outage. */
function closedError(cause?: unknown): Error {
  return new Error('autoplay-rx: fromRedisStream stopped: its Redis client is closed (closed by its owner)', { cause })
}

/** node-redis says `isOpen: false` once its owner closed it (it stays true while reconnecting). */
function isClosed(client: RedisCommandClient): boolean {
  return (client as { isOpen?: unknown }).isOpen === false
}

function isNoGroup(error: unknown): boolean {
  return /NOGROUP/.test(String((error as Error)?.message ?? error))
}
