/**
 * `autoplay-rx/node`: the node:http (and Express 4/5) adapter. It reads the
 * raw body from the request stream under a size, time and memory limit, or
 * takes raw bytes a framework already holds, and writes the response the
 * core decided. Also: server settings that close silent connections
 * ({@link hardenServer}) and the body reader itself ({@link readBody}).
 *
 * @example
 * ```ts
 * import { WebhookReceiver } from 'autoplay-rx'
 * import { createHardenedServer, createNodeMiddleware } from 'autoplay-rx/node'
 *
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 * receiver.actions$.subscribe((batch) => console.log(batch.session_id, batch.count))
 * createHardenedServer(createNodeMiddleware(receiver, { path: '/events' })).listen(8787)
 * ```
 *
 * @module autoplay-rx/node
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { WebhookReceiver } from '../receiver.js'
import { createMiddleware, pathOf, type Runtime } from './middleware.js'
import type { AdapterOptions } from './options.js'
import { readBodyInto } from './nodeBody.js'
import { NOT_FOUND, OK, type AdapterResponse } from './status.js'

export type { AdapterOptions } from './options.js'
export { InFlightBudget } from './budget.js'
export { createHardenedServer, hardenServer } from './harden.js'

/**
 * A request as Express and friends hand it over: maybe with a body a
 * parser already read. The middleware takes raw bytes from `rawBody` or a
 * Buffer/string `body`; a parsed `body` (an object) gets 500 `body_not_raw`,
 * since the bytes the signature covers are gone.
 *
 * @example
 * ```ts
 * // A parser that keeps the raw bytes, as some frameworks do, is fine:
 * app.use(express.json({ verify: (req, _res, buf) => { (req as NodeRequest).rawBody = buf } }))
 * app.post('/events', createNodeMiddleware(receiver))
 * ```
 */
export type NodeRequest = IncomingMessage & {
  /** What a body parser left: a Buffer or string is used as the raw body, anything else means it was parsed. */
  body?: unknown
  /** Raw bytes a framework kept (a Buffer or string): used as they are. */
  rawBody?: unknown
  /** Set to `true` by Express 4's body-parser once it consumed the stream. */
  _body?: unknown
}

/**
 * A handler for `http.createServer` that is also Express middleware. It
 * never rejects: every failure is answered (or, once the client is gone,
 * dropped) and logged.
 *
 * @example
 * ```ts
 * const middleware: NodeMiddleware = createNodeMiddleware(receiver, { path: '/events' })
 * createServer((req, res) => void middleware(req, res, () => { res.statusCode = 404; res.end() })).listen(8787)
 * ```
 */
export type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => Promise<void>

/** Raw bytes a framework already read (`req.rawBody`, or a Buffer/string `req.body`), if any. */
function heldBody(req: NodeRequest): Uint8Array | string | undefined {
  // Two plain checks, no array: this runs on every delivery.
  const { rawBody, body } = req
  if (typeof rawBody === 'string' || rawBody instanceof Uint8Array) return rawBody
  if (typeof body === 'string' || body instanceof Uint8Array) return body
  return undefined
}

/** Whether something else already consumed the request stream (a body parser). */
function consumed(req: NodeRequest): boolean {
  return req.readableEnded || req._body === true
}

/** node:http's request, read the way the core asks. */
const nodeRuntime: Runtime<NodeRequest> = {
  method: (req) => req.method,
  path: (req) => pathOf(req.url),
  header: (req, name) => {
    const value = req.headers[name]
    return Array.isArray(value) ? value[0] : value
  },
  readBody: (req, declared, limits, deadlines, done) => {
    const held = heldBody(req)
    if (held !== undefined) return done({ _tag: 'Body', bytes: held })
    // A body parser ran first: never wait on a drained stream, never verify a re-serialised body.
    if (consumed(req)) return done({ _tag: 'NotRaw', received: req.body })
    readBodyInto(req, declared, limits, deadlines, done)
  },
}

/**
 * Creates a handler that receives the connector's deliveries on node:http,
 * Express 4 and Express 5.
 *
 * @param receiver - the receiver that verifies, decodes and emits
 * @param options - path, limits and acknowledgement (see {@link AdapterOptions})
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { WebhookReceiver } from 'autoplay-rx'
 * import { createNodeMiddleware } from 'autoplay-rx/node'
 *
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 * createServer(createNodeMiddleware(receiver, { path: '/events' })).listen(8787)
 * // Express: app.post('/events', createNodeMiddleware(receiver)) — before any express.json()
 * ```
 */
export function createNodeMiddleware(receiver: WebhookReceiver, options: AdapterOptions = {}): NodeMiddleware {
  const handle = createMiddleware(receiver, options, nodeRuntime)
  return (req, res, next) => new Promise<void>((done) => {
    // Answers are written as soon as they are known, synchronously when nothing had to be awaited.
    handle(req as NodeRequest, (answer) => {
      if (answer === NOT_FOUND && next) next()
      else if (answer !== null) write(req, res, answer)
      done()
    })
  })
}

/** An answer's headers with its `content-length`, as node:http's `writeHead` takes them. */
const head = (answer: AdapterResponse): Record<string, string> =>
  ({ ...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)) })

// Every accepted delivery gets this answer: its head is built once (profiling showed the per-request
// header object and length among the adapter's largest own costs). An object, not node's flat
// name/value list: middleware wrapping writeHead (on-headers < 1.1, under morgan, compression and
// express-session) reads a list as pairs and would garble it.
const OK_HEAD = head(OK)

function write(req: IncomingMessage, res: ServerResponse, answer: AdapterResponse): void {
  if (res.headersSent || res.destroyed) return
  res.writeHead(answer.status, answer === OK ? OK_HEAD : head(answer))
  res.end(answer.body)
  // A request cut short (413, timeout) still has bytes in flight: drop the connection
  // once the answer is out instead of reading them.
  if (answer.headers.connection === 'close' && !req.readableEnded) res.once('finish', () => req.destroy())
}
