/**
 * `autoplay-rx/web`: the Web-standard adapter, `(request: Request) =>
 * Promise<Response>`, for Hono, Next.js route handlers, Bun, Deno and
 * anything else built on the Fetch API, on every runtime: Node, Bun, Deno,
 * Cloudflare Workers and the Edge runtime (which have no `node:crypto`:
 * there the signature is checked with WebCrypto). It reads the body stream
 * under the same limits as the Node adapter.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import { WebhookReceiver } from 'autoplay-rx'
 * import { createFetchHandler } from 'autoplay-rx/web'
 *
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 * const handler = createFetchHandler(receiver)
 * const app = new Hono()
 * app.post('/events', (c) => handler(c.req.raw)) // the untouched Request: never c.req.json() first
 * ```
 *
 * @module autoplay-rx/web
 */
import type { WebhookReceiver } from '../receiver.js'
import type { Deadline, Deadlines } from './deadlines.js'
import { startBody } from './bodyChunks.js'
import { createMiddleware, type BodyLimits, type BodyOutcome, type Runtime } from './middleware.js'
import type { AdapterOptions } from './options.js'
import { response, type AdapterResponse } from './status.js'

export type { AdapterOptions } from './options.js'
export { InFlightBudget } from './budget.js'

/**
 * A Fetch API handler. It never rejects: every failure is a `Response`.
 *
 * @example
 * ```ts
 * const handler: FetchHandler = createFetchHandler(receiver, { path: '/events' })
 * Bun.serve({ port: 8787, fetch: handler }) // Deno: Deno.serve({ port: 8787 }, handler)
 * ```
 */
export type FetchHandler = (request: Request) => Promise<Response>

/**
 * Creates a Fetch API handler that receives the connector's deliveries.
 *
 * @param receiver - the receiver that verifies, decodes and emits
 * @param options - path, limits and acknowledgement (see {@link AdapterOptions})
 * @example
 * ```ts
 * import { WebhookReceiver } from 'autoplay-rx'
 * import { createFetchHandler } from 'autoplay-rx/web'
 *
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 * export const POST = createFetchHandler(receiver) // Next.js app/api/events/route.ts
 * // Hono: app.post('/events', (c) => handler(c.req.raw))
 * ```
 */
export function createFetchHandler(receiver: WebhookReceiver, options: AdapterOptions = {}): FetchHandler {
  const handle = createMiddleware(receiver, options, fetchRuntime)
  return (request) => new Promise((resolve) => handle(request, (answer) => resolve(toResponse(answer ?? BROKEN))))
}

const USED_HINT = 'The request body was already read, or is being read, before the handler ran (request.json() or ' +
  'request.text(), or a framework body parser). Fix: pass the Request untouched, or request.clone() taken before reading it.'

// A Response must be returned even when the body stream broke: nobody may be listening.
const BROKEN = response('body_timeout', 'The body stream failed before it ended', { connection: 'close' })

/** A Fetch API Request, read the way the core asks. */
const fetchRuntime: Runtime<Request> = {
  method: (request) => request.method,
  path: (request) => new URL(request.url).pathname,
  header: (request, name) => request.headers.get(name),
  readBody: (request, declared, limits, deadlines, done) => {
    // A body read already, or locked by another reader, is not ours to verify. `request.body` is
    // not touched on the way to `arrayBuffer()`: on Deno, reading it turns the body into a stream
    // that `arrayBuffer()` then reads through, 12 µs more per delivery (docs/benchmarks.md).
    if (request.bodyUsed) return done(notRaw(request))
    if (declared > 0) return void readDeclared(request, declared, limits, deadlines).then(done)
    if (request.body?.locked === true) return done(notRaw(request))
    void readStream(request.body, declared, limits, deadlines).then(done)
  },
}

const notRaw = (request: Request): BodyOutcome => ({ _tag: 'NotRaw', received: request.body, hint: USED_HINT })

/** A promise that resolves `'timeout'` at the body deadline, and the deadline to remove. */
function bodyDeadline(deadlines: Deadlines, ms: number): [Promise<'timeout'>, Deadline] {
  let expire!: () => void
  const timeout = new Promise<'timeout'>((resolve) => { expire = () => resolve('timeout') })
  return [timeout, deadlines.add(ms, () => expire())]
}

/**
 * A body of declared length, read in one native call: over the network the runtime's server frames
 * it by that length (and the head check refused one over the limit), so nothing is gained by reading
 * chunk by chunk, which cost a promise per chunk (on Bun the handler went from 1.84× its floor's
 * time to 1.08×, quick runs of `npm run bench -- --only=runtimes`). The size is checked again all
 * the same, for a Request built by hand.
 */
async function readDeclared(request: Request, declared: number, limits: BodyLimits, deadlines: Deadlines): Promise<BodyOutcome> {
  const body = startBody(limits, declared)
  if (body === null) {
    request.body?.cancel().catch(() => undefined)
    return { _tag: 'OverBudget' }
  }
  const [timeout, deadline] = bodyDeadline(deadlines, limits.bodyTimeoutMs)
  const reading = request.arrayBuffer()
  // Past the deadline nobody waits for it; the 503 closes the connection, which ends the read.
  reading.catch(() => undefined)
  try {
    const read = await Promise.race([reading, timeout])
    if (read === 'timeout') return { _tag: 'Timeout' }
    return body.add(new Uint8Array(read)) ?? body.body()
  } catch (error) {
    // A body locked by another reader makes `arrayBuffer()` fail with the standard's TypeError
    // ("unusable"); a body that broke off fails with the stream's own error (Node, Bun and Deno
    // name a closed connection with a plain Error). `bodyUsed` cannot tell them apart: Bun sets
    // it for a locked body too, and Deno leaves it unset for a stream that failed before its
    // first read. A stream that fails with a TypeError of its own is taken for locked: answered
    // 500 body_not_raw, retried by the connector like a 503.
    return error instanceof TypeError && request.body?.locked === true ? notRaw(request) : { _tag: 'Aborted' }
  } finally {
    body.end()
    deadlines.remove(deadline)
  }
}

async function readStream(stream: ReadableStream<Uint8Array> | null, declared: number, limits: BodyLimits, deadlines: Deadlines): Promise<BodyOutcome> {
  if (stream === null) return { _tag: 'Body', bytes: new Uint8Array(0) }
  const body = startBody(limits, declared)
  if (body === null) {
    stream.cancel().catch(() => undefined)
    return { _tag: 'OverBudget' }
  }
  const reader = stream.getReader()
  const [timeout, deadline] = bodyDeadline(deadlines, limits.bodyTimeoutMs)
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), timeout])
      if (next === 'timeout') return { _tag: 'Timeout' }
      if (next.done) return body.body()
      const stop = body.add(next.value)
      if (stop !== null) return stop
    }
  } catch {
    return { _tag: 'Aborted' }
  } finally {
    body.end()
    deadlines.remove(deadline)
    // Stop the source when we leave early; harmless once it is done.
    reader.cancel().catch(() => undefined)
  }
}

function toResponse(answer: AdapterResponse): Response {
  return new Response(answer.body, { status: answer.status, headers: answer.headers })
}
