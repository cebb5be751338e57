/**
 * A chatbot's session context: push deliveries → a context store ← a
 * session summarizer (with a stand-in LLM); a query endpoint returns the
 * user's question with what they just did in front, ready for retrieval.
 *
 *   AUTOPLAY_SECRET=… PORT=8787 node --import tsx examples/chatbot-context.ts
 *   curl 'http://127.0.0.1:8787/context?session=ps_abc123&product=prod_abc&q=How+do+I+change+my+plan%3F'
 *
 * For several processes (receivers here, chatbot servers there), swap the
 * store for `new RedisContextStore(redis)` from 'autoplay-rx/redis' and
 * await its `enrich`: the text is the same.
 */
import { createServer } from 'node:http'
import { ContextStore, SessionSummarizer, WebhookReceiver, intoContext } from 'autoplay-rx'
import { createNodeMiddleware } from 'autoplay-rx/node'
import { listening, settings, stopOn } from './common.js'

/** Stand-in for your LLM (async, as a real one is): says how many actions, and the first and the last. */
async function llm(prompt: string): Promise<string> {
  const actions = prompt.split('\n').filter((line) => /^\d+\. /.test(line)).map((line) => line.replace(/^\d+\. \[\d+\] \w+: (.*) \u2014 .*$/, '$1'))
  return `The user did ${actions.length} actions, from "${actions[0]}" to "${actions.at(-1)}".`
}

const { port, host, secret } = settings()
const receiver = new WebhookReceiver({ secret })
// Bounded: 10,000 sessions at most, and the newest 3 actions in each context.
const store = new ContextStore({ maxSessions: 10_000, maxActions: 3 })
const summarizer = new SessionSummarizer({ llm, threshold: 10, target: store })

receiver.payloads$.pipe(intoContext(store)).subscribe((payload) =>
  console.log(`stored ${payload.type} ${payload.session_id}`))
receiver.actions$.subscribe((batch) => summarizer.add(batch))
summarizer.summary$.subscribe((summary) => console.log(`summarised ${summary.sessionId} (${summary.actions} actions)`))
summarizer.errors$.subscribe((error) => console.log(`not summarised: ${error.message}`))

const events = createNodeMiddleware(receiver, { path: '/events' })
const server = createServer((req, res) => events(req, res, () => {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const session = url.searchParams.get('session')
  if (url.pathname !== '/context' || req.method !== 'GET' || !session) return void res.writeHead(404).end()
  const product = url.searchParams.get('product') ?? undefined
  const text = store.enrich(session, url.searchParams.get('q') ?? '', { productId: product })
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(text)
}))
server.listen(port, host, () => listening(server.address(), '/events'))

stopOn(async () => {
  await new Promise((resolve) => server.close(resolve))
  receiver.complete()
  await summarizer.complete() // the summaries under way are written first
  store.complete()
})
