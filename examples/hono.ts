/**
 * Hono on @hono/node-server: the Fetch handler takes Hono's raw Request,
 * whose body no middleware has read.
 *
 *   AUTOPLAY_SECRET=… PORT=8787 node --import tsx examples/hono.ts
 */
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { WebhookReceiver } from 'autoplay-rx'
import { createFetchHandler } from 'autoplay-rx/web'
import { describe, describeRefusal, listening, settings, stopOn } from './common.js'

const { port, host, secret } = settings()

const receiver = new WebhookReceiver({ secret })
receiver.payloads$.subscribe((payload) => console.log(describe(payload)))
receiver.rejected$.subscribe((error) => console.log(describeRefusal(error)))

const handler = createFetchHandler(receiver)
const app = new Hono()
app.post('/events', (c) => handler(c.req.raw))

const server = serve({ fetch: app.fetch, port, hostname: host }, (address) => listening(address, '/events'))

stopOn(async () => {
  await new Promise((resolve) => server.close(resolve))
  receiver.complete()
})
