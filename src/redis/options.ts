/** The Redis reader's options, checked at the call, before any connection is opened. */
import { asyncScheduler, type SchedulerLike } from 'rxjs'
import type { BackoffPolicy } from '../backoff.js'
import { fenced, type Telemetry } from '../telemetry.js'
import { consoleLogger, type Logger } from '../logger.js'
import type { UsertourTriggerPayload } from '../codecs.js'
import type { RedisCommandClient } from './client.js'
import type { RedisEntryRejection } from './errors.js'
import { integer, must, nonEmpty, positiveInteger } from '../internal/options.js'

/** The entry a `usertour_trigger` came in: its id, in its stream (ids are per stream), and whether read before. */
type TriggerEntry = { readonly id: string; readonly stream: string; readonly claimed: boolean }

/** Options of {@link fromRedisStream}; `stream`, `group` and `consumer` are required. */
export interface FromRedisStreamOptions {
  /** The stream key (created with the group when missing). */
  readonly stream: string
  /** The consumer group: every group gets every entry; the workers of one group share them. */
  readonly group: string
  /** This worker's name in the group; unique per worker, stable across its restarts. */
  readonly consumer: string
  /**
   * The number of partition streams `redisAppender` writes to (the same `partitions`): each is read by one worker
   * of the group at a time, the holder of its lease, and a session's deliveries come one at a time, in stream
   * order; a worker holds a connection per partition it reads. 1 to 1024; default none: one stream, shared by
   * every worker of the group.
   */
  readonly partitions?: number | undefined
  /** With `partitions`: how long a lease lasts unrenewed, so how soon a dead worker's partitions move (+2 s). 10000. */
  readonly leaseMs?: number | undefined
  /** With `partitions`: most deliveries held (`hold()`); past it `hold()` keeps the room. Default 100,000. */
  readonly maxHeld?: number | undefined
  /** Entries per read; default 100. */
  readonly batchSize?: number | undefined
  /** How long one read blocks waiting for entries; default 2000 ms. */
  readonly blockMs?: number | undefined
  /**
   * After a read that found a few new entries (fewer than it asked for), wait this long before the next, so that
   * entries are read and acknowledged in batches under load; default 5 ms (0: read again at once).
   */
  readonly lingerMs?: number | undefined
  /** A command not answered this many ms past its BLOCK fails as a Redis error (retried; an ack `false`); 5000. */
  readonly timeoutMs?: number | undefined
  /** Entries pending in any consumer for this long are claimed (XCLAIM); default 30000 ms. */
  readonly claimIdleMs?: number | undefined
  /** Most deliveries neither acknowledged nor released; reading pauses beyond it. Default 2 × batchSize. */
  readonly maxInFlight?: number | undefined
  /** The same in bytes (an entry's fields, UTF-8, `body` or `payload` alike); default 32 MiB. */
  readonly maxInFlightBytes?: number | undefined
  /** Times an entry is handed out; one more and it is moved to `<stream>:dead` and acknowledged. Default 5. */
  readonly maxDeliveries?: number | undefined
  /** Most entries the dead-letter stream keeps (exact MAXLEN: dead letters are rare); default 10000. */
  readonly deadLetterMaxLen?: number | undefined
  /** Consumers of the group idle this long with nothing pending are removed (XGROUP DELCONSUMER); default 1 h. */
  readonly idleConsumerMs?: number | undefined
  /**
   * Where the group starts when this call creates it (again, after Redis forgot it): `'0'` (default) every entry
   * in the stream, so nothing stored meanwhile is skipped; `'$'` live only.
   */
  readonly startAt?: '0' | '$' | undefined
  /** The connection the reads block on; default a duplicate of `client` per subscription. Required for a wrapper. */
  readonly readClient?: RedisCommandClient | undefined
  /** Entries not handed out: not decoded, dead-lettered, trimmed while pending (acknowledged). Throwing is logged. */
  readonly rejected?: ((rejection: RedisEntryRejection) => void) | undefined
  /**
   * Given each `usertour_trigger` entry (not a payload, so never a delivery) as it is read: the entry is
   * acknowledged once it returns (or its promise fulfils); a throw, a rejection or `claimIdleMs` passing is logged
   * and the entry comes back, as a failed delivery's. Without it, such entries are acknowledged and dropped, said
   * once (`warn`).
   */
  readonly usertourTriggers?:
    ((trigger: UsertourTriggerPayload, entry: TriggerEntry) => void | PromiseLike<unknown>) | undefined
  /** Where Redis errors and failed acknowledgements are reported, one line each; default `consoleLogger`. */
  readonly logger?: Logger | undefined
  /** The pauses between retries after a Redis error; default 100 ms doubling to 5 s, with jitter. */
  readonly backoff?: BackoffPolicy | undefined
  /** The clock of the retry pauses and the claim interval; default `asyncScheduler` (virtual time in tests). */
  readonly scheduler?: SchedulerLike | undefined
  /** Counts entries read, claimed, acknowledged and rejected, and the group's lag (`otelTelemetry()`). */
  readonly telemetry?: Telemetry | undefined
}

/** `partitions` (optional): a worker reads each partition it holds on a connection of its own. */
export const partitionCount = (n: number | undefined) => n === undefined ? undefined : integer('partitions', n, 1, 1024)

// Jitter spreads out workers that reconnect together.
const READ_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 5000 }

export type ReaderSettings = ReturnType<typeof readerSettings>

/** @throws TypeError on an invalid option, or without `readClient` when `client` has no `duplicate()` */
export function readerSettings(client: RedisCommandClient, options: FromRedisStreamOptions) {
  const batchSize = positiveInteger('batchSize', options.batchSize ?? 100)
  const startAt = options.startAt ?? '0'
  if (startAt !== '0' && startAt !== '$') throw new TypeError(`autoplay-rx: startAt must be '0' or '$'`)
  const backoff = options.backoff ?? READ_BACKOFF
  positiveInteger('backoff.maxMs', backoff.maxMs)
  if (!(backoff.initialMs >= 0)) throw new TypeError('autoplay-rx: backoff.initialMs must be a number of ms, 0 or more')
  const { usertourTriggers } = options
  must(usertourTriggers === undefined || typeof usertourTriggers === 'function', 'usertourTriggers', 'a function')
  if (options.readClient === undefined && typeof (client as { duplicate?: unknown }).duplicate !== 'function') {
    throw new TypeError('autoplay-rx: fromRedisStream needs a readClient (a connection of its own for the blocking ' +
      'reads) when client has no duplicate()')
  }
  return {
    stream: nonEmpty('stream', options.stream),
    group: nonEmpty('group', options.group),
    consumer: nonEmpty('consumer', options.consumer),
    batchSize,
    blockMs: positiveInteger('blockMs', options.blockMs ?? 2000),
    lingerMs: integer('lingerMs', options.lingerMs ?? 5, 0, 1000),
    timeoutMs: positiveInteger('timeoutMs', options.timeoutMs ?? 5000),
    claimIdleMs: positiveInteger('claimIdleMs', options.claimIdleMs ?? 30_000),
    partitions: partitionCount(options.partitions),
    // A third of it is the renewal period: shorter would be a busy loop on Redis.
    leaseMs: integer('leaseMs', options.leaseMs ?? 10_000, 300),
    maxHeld: positiveInteger('maxHeld', options.maxHeld ?? 100_000),
    maxInFlight: positiveInteger('maxInFlight', options.maxInFlight ?? batchSize * 2),
    maxInFlightBytes: positiveInteger('maxInFlightBytes', options.maxInFlightBytes ?? 32 * 2 ** 20),
    maxDeliveries: positiveInteger('maxDeliveries', options.maxDeliveries ?? 5),
    deadLetterMaxLen: positiveInteger('deadLetterMaxLen', options.deadLetterMaxLen ?? 10_000),
    idleConsumerMs: positiveInteger('idleConsumerMs', options.idleConsumerMs ?? 3_600_000),
    startAt,
    readClient: options.readClient,
    rejected: options.rejected,
    usertourTriggers: options.usertourTriggers,
    logger: options.logger ?? consoleLogger,
    backoff,
    scheduler: options.scheduler ?? asyncScheduler,
    telemetry: fenced(options.telemetry, options.logger ?? consoleLogger),
  }
}
