/**
 * A Next.js App Router route handler (app/api/events/route.ts): the module
 * exports POST, and Next calls it with each request to /api/events.
 * `createFetchHandler` is that function. Module state lives as long as the
 * server process, so the receiver and its subscriptions are made once here.
 */
import { WebhookReceiver } from 'autoplay-rx'
import { createFetchHandler } from 'autoplay-rx/web'
import { describe, describeRefusal, settings } from '../../../../common.js'

// The adapter uses Node's crypto and Buffer: the Node runtime, not the edge one.
export const runtime = 'nodejs'

const receiver = new WebhookReceiver({ secret: settings().secret })
receiver.payloads$.subscribe((payload) => console.log(describe(payload)))
receiver.rejected$.subscribe((error) => console.log(describeRefusal(error)))

// Next accepts only its own names as exports of a route module (POST, GET, runtime, …): nothing else is exported.
export const POST: (request: Request) => Promise<Response> = createFetchHandler(receiver)
