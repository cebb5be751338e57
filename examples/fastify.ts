/**
 * Fastify 5: the plugin registers the route and a raw-body parser scoped to
 * it; the rest of the app keeps Fastify's JSON parser.
 *
 *   AUTOPLAY_SECRET=… PORT=8787 node --import tsx examples/fastify.ts
 */
import Fastify from 'fastify'
import { WebhookReceiver } from 'autoplay-rx'
import { createFastifyPlugin } from 'autoplay-rx/fastify'
import { describe, describeRefusal, listening, settings, stopOn } from './common.js'

const { port, host, secret } = settings()

const receiver = new WebhookReceiver({ secret })
receiver.payloads$.subscribe((payload) => console.log(describe(payload)))
receiver.rejected$.subscribe((error) => console.log(describeRefusal(error)))

const app = Fastify()
await app.register(createFastifyPlugin, { receiver, path: '/events' })
listening(await app.listen({ port, host }), '/events')

stopOn(async () => {
  await app.close()
  receiver.complete()
})
