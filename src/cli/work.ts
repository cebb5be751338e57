/** `autoplay-rx work`: reads a Redis Stream through a consumer group, prints each delivery, then acknowledges it. */
import { fromRedisStream, type FromRedisStreamOptions } from '../redis/index.js'
import { cliLogger, untilInterrupted, writeError, writeLine } from './io.js'
import { formatPayload, formatRejection, formatTrigger } from './listen.js'
import { connectRedis } from './redis.js'

type ReaderOptions = Pick<FromRedisStreamOptions, 'stream' | 'group' | 'consumer' | 'claimIdleMs' | 'partitions'>
type WorkOptions = ReaderOptions & { readonly redisUrl: string; readonly json: boolean }

/**
 * Runs `autoplay-rx work` until Ctrl-C; resolves with 0. An entry that does not decode is printed as
 * rejected; a failed ack is one line on stderr (the entry stays pending and comes back).
 */
export async function workCommand(options: WorkOptions): Promise<number> {
  const { stream, group, consumer, claimIdleMs, partitions, json } = options
  const redis = await connectRedis(options.redisUrl)
  const acking = new Set<Promise<boolean>>()
  // Ids are per stream: with partitions, a text line names its stream too.
  const print = (event: string, id: string, key: string, fields: object, text: string) => writeLine(json
    ? JSON.stringify({ event, id, stream: key, ...fields })
    : `${partitions === undefined ? id : `${key} ${id}`} ${text}`)
  const subscription = fromRedisStream(redis, {
    stream, group, consumer, claimIdleMs, partitions, blockMs: 1000, logger: cliLogger,
    // Acknowledged once this returns, as a delivery is after its line.
    usertourTriggers: (trigger, entry) => print('usertour_trigger', entry.id, entry.stream, { trigger },
      formatTrigger(trigger)),
    rejected: ({ id, stream: key, error }) =>
      print('rejected', id, key, { tag: error._tag, message: error.message }, formatRejection(error)),
  }).subscribe((delivery) => {
    const { id, stream: key, payload } = delivery
    print('payload', id, key, { payload }, formatPayload(payload))
    // Kept until answered, so that Ctrl-C waits for it: acks of one turn go out together a moment later.
    const acked = delivery.ack().finally(() => acking.delete(acked))
    acking.add(acked)
  })
  const interrupted = untilInterrupted() // before the line that invites Ctrl-C
  const of = partitions === undefined ? '' : ` (the partitions it holds of ${partitions})`
  writeError(`working on ${stream}${of} as ${group}/${consumer} (Ctrl-C to stop)`)
  await interrupted
  subscription.unsubscribe()
  await Promise.all(acking)
  await redis.close()
  writeError('stopped')
  return 0
}
