/**
 * node:http: the adapter is the whole request handler.
 *
 *   AUTOPLAY_SECRET=… PORT=8787 node --import tsx examples/node-http.ts
 */
import { createServer } from 'node:http'
import { WebhookReceiver } from 'autoplay-rx'
import { createNodeMiddleware } from 'autoplay-rx/node'
import { describe, describeRefusal, describeTrigger, listening, settings, stopOn } from './common.js'

const { port, host, secret } = settings()

const receiver = new WebhookReceiver({ secret })
receiver.payloads$.subscribe((payload) => console.log(describe(payload)))
receiver.usertourTrigger$.subscribe((trigger) => console.log(describeTrigger(trigger))) // no Payload: its own stream
receiver.rejected$.subscribe((error) => console.log(describeRefusal(error)))

// The middleware reads the raw body itself, verifies it, and answers the connector.
const server = createServer(createNodeMiddleware(receiver, { path: '/events' }))
server.listen(port, host, () => listening(server.address(), '/events'))

stopOn(async () => {
  await new Promise((resolve) => server.close(resolve))
  receiver.complete() // completes every stream: subscribers finish their work
})
