/**
 * Worker half of the Redis pair: read the stream through a consumer group
 * (each entry goes to one worker of the group), do the work, then
 * acknowledge. An entry not acknowledged stays pending and is handed out
 * again, so a crash loses nothing.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 CONSUMER=worker-1 node --import tsx examples/redis/worker.ts
 */
import { hostname } from 'node:os'
import { mergeMap } from 'rxjs'
import { createClient } from 'redis'
import type { Payload } from 'autoplay-rx'
import { fromRedisStream } from 'autoplay-rx/redis'
import { describe, describeTrigger, required, stopOn } from '../common.js'

const stream = process.env.STREAM ?? 'autoplay:events'
const group = process.env.GROUP ?? 'workers'
// Unique per worker and stable across its restarts, so that a restarted worker gets back its own pending entries.
const consumer = process.env.CONSUMER ?? hostname()

// No offline queue: while Redis is away ack() answers false at once (logged; the entry comes back) instead of waiting.
const redis = createClient({ url: required('REDIS_URL'), disableOfflineQueue: true })
redis.on('error', (error: Error) => console.error(`redis: ${error.message}`))
await redis.connect()

async function work(payload: Payload): Promise<void> {
  console.log(describe(payload)) // index it, call your agent, write it to your database…
}

const subscription = fromRedisStream(redis, {
  stream, group, consumer,
  startAt: '0', // a group made now starts at the beginning: what receivers stored before any worker ran is worked too
  rejected: (entry) => console.log(`unreadable entry ${entry.id}: ${entry.error.message}`),
  usertourTriggers: (trigger) => console.log(describeTrigger(trigger)), // acknowledged once this returns
}).pipe(
  mergeMap(async (delivery) => {
    try {
      await work(delivery.payload)
      await delivery.ack()
    } catch (error) {
      // Not acknowledged: released, so its room is freed; the entry stays pending and is claimed again later. Nothing is lost.
      console.error(`${delivery.id} not done: ${String(error)}`)
      delivery.release()
    }
  }, 8), // up to 8 entries worked at once
).subscribe({ error: (error: Error) => console.error(`worker stopped: ${error.message}`) })
console.log(`working on ${stream} as ${group}/${consumer}`)

stopOn(async () => {
  subscription.unsubscribe() // entries handed out and not yet acknowledged stay pending
  await redis.close()
})
