/**
 * Pull and push at once: the connector's SSE stream and its signed webhooks
 * merged into one stream of payloads, each line saying which way it came;
 * `usertour_trigger` events, which are not payloads, come their own way.
 *
 *   AUTOPLAY_SECRET=… CONNECTOR_URL=https://connector.example.com/stream/prod_abc \
 *   CONNECTOR_TOKEN=… PORT=8787 node --import tsx examples/sse.ts
 */
import { createServer } from 'node:http'
import { map, merge } from 'rxjs'
import { connectorStream, WebhookReceiver } from 'autoplay-rx'
import { createNodeMiddleware } from 'autoplay-rx/node'
import { describe, describeRefusal, describeTrigger, listening, required, settings, stopOn } from './common.js'

const { port, host, secret } = settings()

const receiver = new WebhookReceiver({ secret })
const server = createServer(createNodeMiddleware(receiver, { path: '/events' }))
server.listen(port, host, () => listening(server.address(), '/events'))

// Cold: the connection opens when the merge below subscribes, and reconnects with backoff when it drops.
const pulled$ = connectorStream({
  url: required('CONNECTOR_URL'),
  token: required('CONNECTOR_TOKEN'),
  // One observer for everything besides payloads: the connection's lifecycle and refused frames.
  events: (event) => {
    if (event._tag === 'Connected') console.log('sse connected')
    if (event._tag === 'Disconnected') console.log(`sse dropped: ${event.reason.message}`)
    if (event._tag === 'FrameRejected') console.log(`sse ${describeRefusal(event.error)}`)
  },
  usertourTriggers: (trigger) => console.log(`sse ${describeTrigger(trigger)}`),
})

const subscription = merge(
  receiver.payloads$.pipe(map((payload) => `push ${describe(payload)}`)),
  pulled$.pipe(map((payload) => `sse ${describe(payload)}`)),
).subscribe({
  next: (line) => console.log(line),
  // Only a fatal answer (401, 403, 404) or `maxRetries` spent end the SSE stream: a wrong token or
  // product id, which no retry fixes. Stop, so that it is seen, rather than serve push alone.
  error: (error: Error) => {
    console.log(`sse stopped: ${error.message}`)
    server.close(() => process.exit(1))
  },
})
receiver.usertourTrigger$.subscribe((trigger) => console.log(`push ${describeTrigger(trigger)}`))
receiver.rejected$.subscribe((error) => console.log(`push ${describeRefusal(error)}`))

stopOn(async () => {
  subscription.unsubscribe() // aborts the SSE request at once
  await new Promise((resolve) => server.close(resolve))
  receiver.complete()
})
