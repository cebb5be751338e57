/**
 * `autoplay-rx work`: a Redis Stream consumer. Reads the stream through a
 * consumer group, prints each delivery (text or NDJSON), then acknowledges it.
 */
import { fromRedisStream } from '../redis/index.js'
import { untilInterrupted, writeLine } from './io.js'
import { formatPayload, formatRejection } from './listen.js'
import { connectRedis } from './redis.js'

/**
 * What `autoplay-rx work` was asked for, its flags parsed and checked.
 *
 * @example
 * ```ts
 * const options: WorkCommand = { redisUrl: 'redis://127.0.0.1:6379', stream: 'autoplay:events', group: 'autoplay-rx', consumer: 'worker-1', claimIdleMs: 30_000, json: false }
 * ```
 */
export interface WorkCommand {
  readonly redisUrl: string
  readonly stream: string
  readonly group: string
  /** This worker's name, stable across restarts so that its pending entries come back to it. */
  readonly consumer: string
  /** Claim entries another worker left pending this long. */
  readonly claimIdleMs: number
  readonly json: boolean
}

/**
 * Runs `autoplay-rx work` until Ctrl-C. An entry that does not decode is
 * printed as rejected; a failed ack is reported on stderr (the entry stays
 * pending and comes back).
 *
 * @returns the exit code, 0
 * @throws CliError when Redis cannot be reached
 * @example
 * ```ts
 * await workCommand({ redisUrl: 'redis://127.0.0.1:6379', stream: 'autoplay:events', group: 'g', consumer: 'c', claimIdleMs: 30_000, json: true })
 * ```
 */
export async function workCommand(options: WorkCommand): Promise<number> {
  const { stream, group, consumer, claimIdleMs, json } = options
  const redis = await connectRedis(options.redisUrl)
  const acking = new Set<Promise<boolean>>()
  const subscription = fromRedisStream(redis, {
    stream, group, consumer, claimIdleMs, blockMs: 1000,
    rejected: (r) => writeLine(json ? JSON.stringify({ event: 'rejected', id: r.id, tag: r.error._tag, message: r.error.message }) : `${r.id} ${formatRejection(r.error)}`),
  }).subscribe((delivery) => {
    writeLine(json ? JSON.stringify({ event: 'payload', id: delivery.id, payload: delivery.payload }) : `${delivery.id} ${formatPayload(delivery.payload)}`)
    // Never rejects: a failed ack is logged, and the entry comes back. Kept until answered, so that
    // Ctrl-C waits for it: acks of one turn go out together a moment later, and a closed client drops them.
    const acked = delivery.ack().finally(() => acking.delete(acked))
    acking.add(acked)
  })
  process.stderr.write(`working on ${stream} as ${group}/${consumer} (Ctrl-C to stop)\n`)
  await untilInterrupted()
  subscription.unsubscribe()
  await Promise.all(acking)
  await redis.close()
  process.stderr.write('stopped\n')
  return 0
}
