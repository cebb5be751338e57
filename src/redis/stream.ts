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

/** The field of each stream entry that holds the payload's JSON. */
export const PAYLOAD_FIELD = 'payload'

/** Options of {@link redisAppender} and {@link toRedisStream}. */
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

/** A payload and the id of its stream entry. */
export interface RedisStreamEntry {
  readonly id: string
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

/** A payload read through a consumer group, with the acknowledgement that ends its delivery. */
export interface RedisDelivery {
  readonly id: string
  readonly payload: Payload
  /**
   * Whether the entry was handed out before: to this consumer before it
   * restarted, or to another one it was claimed from. Its work may already
   * have been done (dedupe, or make it idempotent).
   */
  readonly claimed: boolean
  /** XACKs the entry: call it once the work is done. Until then it stays pending, and is claimed by another consumer after `claimIdleMs`. */
  ack(): Promise<void>
}

/** An entry that could not be decoded: acknowledged (so it is not claimed for ever) and reported. */
export interface RedisEntryRejection {
  readonly id: string
  readonly text: string
  readonly error: DecodeError | { readonly _tag: 'MissingField'; readonly message: string }
}

/** Options of {@link fromRedisStream}. */
export interface FromRedisStreamOptions {
  readonly stream: string
  readonly group: string
  /** This worker's name in the group; unique per worker, stable across its restarts. */
  readonly consumer: string
  /** Entries per read; default 100. */
  readonly batchSize?: number
  /** How long one read blocks waiting for entries; default 2000 ms (an unsubscribe waits at most this for the read in flight). */
  readonly blockMs?: number
  /** Entries pending in another consumer for this long are claimed (XAUTOCLAIM); default 30000 ms. */
  readonly claimIdleMs?: number
  /** Most entries handed out and not yet acknowledged; reading pauses beyond it. Default 2 × batchSize. */
  readonly maxInFlight?: number
  /** Where a group created by this call starts: `'$'` (new entries only, default) or `'0'` (the whole stream). */
  readonly startAt?: '$' | '0'
  /** Entries that do not decode. */
  readonly rejected?: (rejection: RedisEntryRejection) => void
  /** Where Redis errors (retried with backoff) are reported; default {@link consoleLogger}. */
  readonly logger?: Logger
}

/**
 * Reads payloads through a Redis consumer group: at-least-once delivery to
 * the workers of the group. Each item carries `ack()`; call it after the
 * work, e.g. `mergeMap(async (d) => { await work(d.payload); await d.ack() }, 8)`.
 * Unacknowledged items are redelivered: to this consumer when it comes
 * back under the same name, or to another after `claimIdleMs`.
 *
 * Reads block the connection: give this a client of its own
 * (`redis.duplicate()`), not the one the receivers write with.
 *
 * Cold: each subscription runs its own read loop; unsubscribing stops it
 * (a read in flight finishes within `blockMs`; what it read stays pending,
 * nothing is lost). Redis errors are retried with backoff (an outage, a
 * restart); only a client closed by its owner errors the Observable.
 *
 * @example
 * ```ts
 * const reader = redis.duplicate()
 * await reader.connect()
 * fromRedisStream(reader, { stream: 'autoplay:events', group: 'indexers', consumer: `indexer-${process.pid}` })
 *   .pipe(mergeMap(async (delivery) => { await index(delivery.payload); await delivery.ack() }, 8))
 *   .subscribe()
 * ```
 */
export function fromRedisStream(client: RedisCommandClient, options: FromRedisStreamOptions): Observable<RedisDelivery> {
  const batchSize = options.batchSize ?? 100
  const blockMs = options.blockMs ?? 2000
  const claimIdleMs = options.claimIdleMs ?? 30_000
  const maxInFlight = options.maxInFlight ?? batchSize * 2
  const logger = options.logger ?? consoleLogger
  for (const [name, value] of [['batchSize', batchSize], ['blockMs', blockMs], ['claimIdleMs', claimIdleMs], ['maxInFlight', maxInFlight]] as const) {
    if (!(Number.isSafeInteger(value) && value > 0)) throw new TypeError(`autoplay-rx: ${name} must be a positive whole number`)
  }
  for (const name of ['stream', 'group', 'consumer'] as const) {
    if (typeof options[name] !== 'string' || options[name] === '') throw new TypeError(`autoplay-rx: ${name} must be a non-empty string`)
  }
  const { stream, group, consumer } = options

  return new Observable<RedisDelivery>((subscriber) => {
    let active = true
    let inFlight = 0
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
        : decodeJsonText(text, () => Buffer.from(text, 'utf8'))
      if (E.isLeft(decoded)) {
        options.rejected?.({ id, text: text ?? '', error: decoded.left })
        void client.sendCommand(['XACK', stream, group, id]).catch(() => undefined)
        return null
      }
      let acked = false
      inFlight++
      return {
        id, payload: decoded.right, claimed,
        ack: async () => {
          if (acked) return
          await client.sendCommand(['XACK', stream, group, id])
          if (!acked) { acked = true; settle() }
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
          if (inFlight >= maxInFlight) {
            waitingForRoom = true
            await wait()
            waitingForRoom = false
            continue
          }
          // (Again after a NOGROUP: a Redis restarted without persistence forgot the group.)
          if (ownPending === '0') await ensureGroup(client, stream, group, options.startAt ?? '$')
          const room = Math.min(batchSize, maxInFlight - inFlight)
          if (ownPending !== null) {
            // Entries this consumer read before a restart and never acknowledged come first, each once.
            const reply = await client.sendCommand(['XREADGROUP', 'GROUP', group, consumer, 'COUNT', String(room), 'STREAMS', stream, ownPending])
            const entries = streamEntries(reply, stream)
            ownPending = entries.length < room ? null : entries[entries.length - 1]!.id
            emit(entries, true)
            failures = 0
            continue
          }
          if (Date.now() >= nextClaim) {
            const reply = await client.sendCommand(['XAUTOCLAIM', stream, group, consumer, String(claimIdleMs), '0-0', 'COUNT', String(room)])
            const entries = Array.isArray(reply) ? parseEntries(reply[1]) : []
            emit(entries, true)
            // Claim again soon while there is a backlog; otherwise every half idle period.
            nextClaim = Date.now() + (entries.length === room ? 0 : Math.max(50, Math.floor(claimIdleMs / 2)))
            failures = 0
            if (entries.length > 0) continue
          }
          const block = Math.min(blockMs, Math.max(1, nextClaim - Date.now()))
          const reply = await client.sendCommand(['XREADGROUP', 'GROUP', group, consumer, 'COUNT', String(room), 'BLOCK', String(block), 'STREAMS', stream, '>'])
          emit(streamEntries(reply, stream), false)
          failures = 0
        } catch (error) {
          if (!active) return
          if (isClosedClient(client, error)) {
            // Closed by its owner: no retry can help, and a silent stop would hide it.
            subscriber.error(error)
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
    }
  })
}

async function ensureGroup(client: RedisCommandClient, stream: string, group: string, startAt: '$' | '0'): Promise<void> {
  try {
    await client.sendCommand(['XGROUP', 'CREATE', stream, group, startAt, 'MKSTREAM'])
  } catch (error) {
    if (!/BUSYGROUP/.test(String((error as Error)?.message ?? error))) throw error
  }
}

/** node-redis says `isOpen: false` once its owner closed it (it stays true while reconnecting). */
function isClosedClient(client: RedisCommandClient, error: unknown): boolean {
  return (client as { isOpen?: unknown }).isOpen === false || (error as Error | undefined)?.constructor?.name === 'ClientClosedError'
}

function isNoGroup(error: unknown): boolean {
  return /NOGROUP/.test(String((error as Error)?.message ?? error))
}
