/**
 * A copilot that reaches out before the user asks: push deliveries →
 * `proactive` (two built-in triggers and one rule of the app's) → offers shown
 * in a stand-in chat → what the user does with them reported back, which
 * decides when the next offer may come.
 *
 *   AUTOPLAY_SECRET=… PORT=8787 node --import tsx examples/proactive-copilot.ts
 *   curl -X POST 'http://127.0.0.1:8787/chat?session=ps_abc123&kind=clicked'
 *
 * The chat surface (your widget, Intercom, Crisp…) calls POST /chat with
 * what the user did: clicked, dismissed, wrote or opened-chat. The timings
 * are seconds so that a run can be watched; the operator's defaults are
 * minutes (docs/proactive.md).
 */
import { createServer } from 'node:http'
import { Subject } from 'rxjs'
import { WebhookReceiver } from 'autoplay-rx'
import { createNodeMiddleware } from 'autoplay-rx/node'
import { pageDwellTrigger, pingPongTrigger, predicateTrigger, proactive, type ProactiveOffer } from 'autoplay-rx/proactive'
import { describe, listening, settings, stopOn } from './common.js'

const { port, host, secret } = settings()
const receiver = new WebhookReceiver({ secret })

// An offer waits 4 s for the user before the session may get another; each trigger then rests 60 s in it.
const timings = { interactionTimeoutSeconds: 4, cooldownSeconds: 60 }
const triggers = [
  pingPongTrigger(timings), // back and forth between two pages
  predicateTrigger({
    id: 'checkout_hesitation', body: 'Stuck at checkout? I can walk you through it.', ...timings,
    when: (context) => context.canonicalUrls.at(-1)?.includes('/checkout') === true,
    replyLabels: ['Yes, help me', 'I am fine'],
  }),
  pageDwellTrigger({ thresholdSeconds: 2, ...timings }), // one page, no action, for 2 s: fires on time alone
]

const kinds = ['clicked', 'dismissed', 'wrote', 'opened-chat'] as const
const interactions = new Subject<{ sessionId: string; kind: (typeof kinds)[number] }>()

/** Stand-in for your chat surface: shows the offer's text and its quick replies in the user's session. */
function deliverToChat(offer: ProactiveOffer): void {
  const labels = offer.replyLabels.length > 0 ? ` [${offer.replyLabels.join(' | ')}]` : ''
  console.log(`offer ${offer.sessionId} ${offer.triggerId}: ${offer.body}${labels}`)
}

receiver.actions$.subscribe((batch) => console.log(describe(batch)))
receiver.actions$
  .pipe(proactive({ triggers, interactions, minIntervalSeconds: 1, cooldownSeconds: 1, interactionTimeoutSeconds: 4 }))
  .subscribe(deliverToChat)

const events = createNodeMiddleware(receiver, { path: '/events' })
const server = createServer((req, res) => events(req, res, () => {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const session = url.searchParams.get('session')
  const kind = kinds.find((k) => k === url.searchParams.get('kind'))
  if (url.pathname !== '/chat' || req.method !== 'POST' || !session || !kind) return void res.writeHead(404).end()
  console.log(`user ${session} ${kind}`)
  interactions.next({ sessionId: session, kind })
  res.writeHead(204).end()
}))
server.listen(port, host, () => listening(server.address(), '/events'))

stopOn(async () => {
  await new Promise((resolve) => server.close(resolve))
  interactions.complete()
  receiver.complete() // completes actions$, and with it the operator and its timers
})
