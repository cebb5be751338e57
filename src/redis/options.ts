/**
 * The Redis bridge's option checks and defaults, in one place, so that a
 * bad option fails at the call with a TypeError naming it, before any
 * connection is opened.
 */
import { asyncScheduler, type SchedulerLike } from 'rxjs'
import type { BackoffPolicy } from '../backoff.js'
import type { Telemetry } from '../telemetry.js'
import { consoleLogger, type Logger } from '../logger.js'
import type { RedisCommandClient } from './client.js'
import type { RedisEntryRejection } from './errors.js'
import { nonEmpty, positiveInteger } from '../internal/options.js'

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
 *   backoff: { initialMs: 250, maxMs: 10_000 },   // many workers: slower retries while Redis is away
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
  readonly batchSize?: number | undefined
  /** How long one read blocks waiting for entries; default 2000 ms. */
  readonly blockMs?: number | undefined
  /** Entries pending (in any consumer, this one included) for this long are claimed (XAUTOCLAIM); default 30000 ms. */
  readonly claimIdleMs?: number | undefined
  /** Most entries handed out and neither acknowledged nor released; reading pauses beyond it. Default 2 × batchSize. */
  readonly maxInFlight?: number | undefined
  /**
   * Where the group starts when this call creates it, or creates it again
   * after Redis forgot it (a restart without persistence): `'0'` (default)
   * every entry in the stream, so nothing stored before the first worker
   * started or during the restart is skipped; `'$'` live only: entries
   * stored while no group existed are never processed.
   */
  readonly startAt?: '0' | '$' | undefined
  /**
   * The connection the reads block on. Default: a duplicate of `client`
   * (`client.duplicate()`, node-redis) that each subscription opens and
   * closes itself. Required when `client` cannot be duplicated (a wrapper).
   */
  readonly readClient?: RedisCommandClient | undefined
  /** Entries that do not decode. A callback that throws is logged, and the entry still acknowledged. */
  readonly rejected?: ((rejection: RedisEntryRejection) => void) | undefined
  /** Where Redis errors (retried with backoff) and failed acknowledgements are reported; default `consoleLogger`. */
  readonly logger?: Logger | undefined
  /**
   * How the read loop spaces its retries after a Redis error, counted since
   * the last successful read; default `{ initialMs: 100, maxMs: 5000 }`
   * (doubling, 0–10 % jitter). A reconnection of the read connection ends
   * the pause at once.
   */
  readonly backoff?: BackoffPolicy | undefined
  /**
   * The clock of the retry pauses and of the claim interval; default
   * `asyncScheduler`. A virtual-time scheduler makes them testable without
   * waiting (the blocking reads themselves still wait in Redis).
   */
  readonly scheduler?: SchedulerLike | undefined
  /**
   * Metrics of this reader (`otelTelemetry()` from `autoplay-rx/otel`):
   * entries read, claimed, acknowledged and rejected, and the group's
   * pending count and lag, asked of Redis when metrics are collected. Default: none.
   */
  readonly telemetry?: Telemetry | undefined
}

/** The read loop's retries: 100 ms doubling to 5 s, 0–10 % jitter so that workers reconnecting together spread out. */
const READ_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 5000 }

/** {@link FromRedisStreamOptions} checked, with every default filled in. */
export interface ReaderSettings {
  readonly stream: string
  readonly group: string
  readonly consumer: string
  readonly batchSize: number
  readonly blockMs: number
  readonly claimIdleMs: number
  readonly maxInFlight: number
  readonly startAt: '0' | '$'
  readonly readClient: RedisCommandClient | undefined
  readonly rejected: FromRedisStreamOptions['rejected']
  readonly logger: Logger
  readonly backoff: BackoffPolicy
  readonly scheduler: SchedulerLike
  readonly telemetry: Telemetry | undefined
}

/**
 * Checks the options of fromRedisStream and fills in the defaults.
 *
 * @throws TypeError on an invalid option, or when `client` has no `duplicate()` and no `readClient` is given.
 */
export function readerSettings(client: RedisCommandClient, options: FromRedisStreamOptions): ReaderSettings {
  const batchSize = positiveInteger('batchSize', options.batchSize ?? 100)
  const startAt = options.startAt ?? '0'
  if (startAt !== '0' && startAt !== '$') throw new TypeError(`autoplay-rx: startAt must be '0' or '$'`)
  const backoff = options.backoff ?? READ_BACKOFF
  positiveInteger('backoff.maxMs', backoff.maxMs)
  if (!(backoff.initialMs >= 0)) throw new TypeError('autoplay-rx: backoff.initialMs must be a number of ms, 0 or more')
  if (options.readClient === undefined && typeof (client as { duplicate?: unknown }).duplicate !== 'function') {
    throw new TypeError('autoplay-rx: fromRedisStream needs a readClient (a connection of its own for the blocking reads) when client has no duplicate()')
  }
  return {
    stream: nonEmpty('stream', options.stream),
    group: nonEmpty('group', options.group),
    consumer: nonEmpty('consumer', options.consumer),
    batchSize,
    blockMs: positiveInteger('blockMs', options.blockMs ?? 2000),
    claimIdleMs: positiveInteger('claimIdleMs', options.claimIdleMs ?? 30_000),
    maxInFlight: positiveInteger('maxInFlight', options.maxInFlight ?? batchSize * 2),
    startAt,
    readClient: options.readClient,
    rejected: options.rejected,
    logger: options.logger ?? consoleLogger,
    backoff,
    scheduler: options.scheduler ?? asyncScheduler,
    telemetry: options.telemetry,
  }
}
