/**
 * Express 5: mount the adapter on its route, before any body parser, so
 * that it reads the exact bytes the connector signed.
 *
 *   AUTOPLAY_SECRET=… PORT=8787 node --import tsx examples/express.ts
 */
import express from 'express'
import { WebhookReceiver } from 'autoplay-rx'
import { createNodeMiddleware } from 'autoplay-rx/node'
import { describe, describeRefusal, listening, settings, stopOn } from './common.js'

const { port, host, secret } = settings()

const receiver = new WebhookReceiver({ secret })
receiver.payloads$.subscribe((payload) => console.log(describe(payload)))
receiver.rejected$.subscribe((error) => console.log(describeRefusal(error)))

const app = express()
app.post('/events', createNodeMiddleware(receiver))
// Your other routes may parse JSON: the parser is mounted after the webhook route, so it never sees its body.
app.use(express.json())
app.get('/health', (_req, res) => { res.json({ ok: true }) })

const server = app.listen(port, host, (error) => {
  if (error) throw error // Express 5 hands over a listen failure (port taken) here
  listening(server.address(), '/events')
})

stopOn(async () => {
  await new Promise((resolve) => server.close(resolve))
  receiver.complete()
})
