/**
 * Receiver half of the Redis pair: verify each delivery, append it to a
 * Redis Stream, and only then answer the connector. Run as many as you
 * like behind a load balancer; workers (worker.ts) do the work.
 *
 *   AUTOPLAY_SECRET=… REDIS_URL=redis://127.0.0.1:6379 PORT=8787 node --import tsx examples/redis/receiver.ts
 */
import { createServer } from 'node:http'
import { createClient } from 'redis'
import { WebhookReceiver, type Payload, type UsertourTriggerPayload } from 'autoplay-rx'
import { createNodeMiddleware } from 'autoplay-rx/node'
import { redisAppender } from 'autoplay-rx/redis'
import { describe, describeRefusal, describeTrigger, listening, required, settings, stopOn } from '../common.js'

const { port, host, secret } = settings()
const stream = process.env.STREAM ?? 'autoplay:events'

// No offline queue: while Redis is unreachable a write fails at once, so the connector is answered 503 and retries.
const redis = createClient({ url: required('REDIS_URL'), disableOfflineQueue: true })
// Without a listener a dropped connection is an unhandled 'error' event and ends the process; the client reconnects by itself.
redis.on('error', (error: Error) => console.error(`redis: ${error.message}`))
await redis.connect()

const receiver = new WebhookReceiver({ secret })
receiver.rejected$.subscribe((error) => console.log(describeRefusal(error)))

const append = redisAppender(redis, { stream })
// Every accepted event is stored, a usertour_trigger too (it is no Payload: the worker gets it its own way).
// `body` is the bytes the signature was checked over: the entry holds them, not the payload serialised again.
async function persist(event: Payload | UsertourTriggerPayload, body: Uint8Array): Promise<void> {
  const id = await append(event, body)
  console.log(`stored ${id}: ${event.type === 'usertour_trigger' ? describeTrigger(event) : describe(event)}`)
}

// `persist` runs before the answer: 200 only once the payload is in the stream.
const server = createServer(createNodeMiddleware(receiver, { path: '/events', persist }))
server.listen(port, host, () => listening(server.address(), '/events'))

stopOn(async () => {
  await new Promise((resolve) => server.close(resolve))
  receiver.complete()
  await redis.close()
})
