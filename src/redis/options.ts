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
import type { FromRedisStreamOptions } from './fromRedisStream.js'
import { positiveInteger } from '../internal/options.js'

/** Throws unless `value` is a non-empty string. */
export function nonEmpty(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`autoplay-rx: ${name} must be a non-empty string`)
  return value
}

/** The read loop's retries: 100 ms doubling to 5 s, 0–10 % jitter so that workers reconnecting together spread out. */
export const READ_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 5000 }

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
