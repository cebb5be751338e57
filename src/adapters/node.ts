/**
 * `autoplay-rx/node`: the node:http and Express 4/5 adapter. It reads the raw body from the request
 * stream, or takes the raw bytes a framework already holds, and writes the answer the core returns.
 *
 * @module autoplay-rx/node
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { WebhookReceiver } from '../receiver.js'
import { log } from '../logger.js'
import { readBody } from './body.js'
import { createMiddleware, pathOf, type Answer, type Runtime } from './middleware.js'
import { headerOf, StreamSource } from './nodeStream.js'
import type { AdapterOptions } from './options.js'
import { NOT_FOUND, OK, type AdapterResponse } from './status.js'

export type { AdapterOptions } from './options.js'
export { InFlightBudget } from './budget.js'
export { createHardenedServer, hardenServer } from './harden.js'

/** A request as Express hands it over: raw bytes a framework kept, or a body a parser read (`_body`: Express 4's). */
type NodeRequest = IncomingMessage & { body?: unknown; rawBody?: unknown; _body?: unknown }

type Next = (error?: unknown) => void

const nodeRuntime: Runtime<NodeRequest> = {
  method: (req) => req.method,
  path: (req) => pathOf(req.url),
  header: (req, name) => headerOf(req.headers, name),
  readBody: (req, _declared, limits, share) => {
    const { rawBody, body } = req
    if (typeof rawBody === 'string' || rawBody instanceof Uint8Array) return { _tag: 'Body', bytes: rawBody }
    if (typeof body === 'string' || body instanceof Uint8Array) return { _tag: 'Body', bytes: body }
    // A body parser ran first: never wait on a drained stream, never verify a re-serialised body.
    if (req.readableEnded || req._body === true) return { _tag: 'NotRaw', received: body }
    return readBody(new StreamSource(req), 0, limits, share)
  },
}

const DONE = Promise.resolve()

/**
 * Creates a handler for `http.createServer` that is also Express middleware. Mounted with `app.use`
 * and no `path`, it hands every request but a POST to `next()`. It never rejects.
 *
 * @example
 * ```ts
 * import { WebhookReceiver } from 'autoplay-rx'
 * import { createHardenedServer, createNodeMiddleware } from 'autoplay-rx/node'
 *
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 * receiver.actions$.subscribe((batch) => console.log(batch.session_id, batch.count))
 * createHardenedServer(createNodeMiddleware(receiver, { path: '/events' })).listen(8787)
 * // Express: app.post('/events', createNodeMiddleware(receiver)), before any express.json()
 * ```
 */
export function createNodeMiddleware(
  receiver: WebhookReceiver,
  options: AdapterOptions = {},
): (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => Promise<void> {
  const handle = createMiddleware(receiver, options, nodeRuntime)
  const respond = (req: IncomingMessage, res: ServerResponse, next: Next | undefined, answer: Answer): void => {
    if (answer === NOT_FOUND && next !== undefined) return next()
    if (answer === null || res.headersSent || res.destroyed) return
    try {
      write(req, res, answer)
    } catch (error) {
      // A write to a socket already gone, say: rethrown, it would reject a promise nobody holds.
      log(receiver.logger, 'error', 'autoplay-rx adapter could not write its answer', { error })
    }
  }
  return (req, res, next) => {
    // Written at once when nothing had to be awaited: no promise, no closure.
    const answer = handle(req as NodeRequest, next !== undefined, req.socket?.remoteAddress)
    if (answer instanceof Promise) return answer.then((settled) => respond(req, res, next, settled))
    respond(req, res, next, answer)
    return DONE
  }
}

const head = (answer: AdapterResponse): Record<string, string> =>
  ({ ...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)) })

// The head of every accepted delivery, built once. An object, not node's flat name/value list:
// middleware wrapping writeHead (on-headers < 1.1, under morgan, compression) would garble a list.
const OK_HEAD = head(OK)

function write(req: IncomingMessage, res: ServerResponse, answer: AdapterResponse): void {
  res.writeHead(answer.status, answer === OK ? OK_HEAD : head(answer))
  res.end(answer.body)
  // A request cut short (413, timeout) still has bytes in flight: drop the connection once answered.
  if (answer.headers.connection === 'close' && !req.readableEnded) res.once('finish', () => req.destroy())
}
