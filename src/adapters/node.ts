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
import { IncomingMessage, type ServerResponse } from 'node:http'
import { notRawBody } from '../errors.js'
import { log } from '../logger.js'
import type { WebhookReceiver } from '../receiver.js'
import { SIGNATURE_HEADER } from '../signature.js'
import {
  answerBody, bodyDeadlines, checkHead, declaredLength, deliver, headerValue, resolveOptions, response, type Deadlines,
  type AdapterOptions, type AdapterResponse, type BodyOutcome, type ResolvedOptions,
} from './core.js'
import type { InFlightBudget } from './budget.js'

export type { AdapterOptions, AdapterResponse, BodyOutcome, ResponseCode } from './core.js'
// What a caller of readBody needs besides the stream.
export { declaredLength, Deadlines } from './core.js'
export { InFlightBudget, type InFlightBudgetOptions } from './budget.js'
export { createHardenedServer, hardenServer, type HardenOptions } from './harden.js'

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

/**
 * The limits a body read works under (the adapters pass their resolved
 * options, which have these three).
 *
 * @example
 * ```ts
 * const limits: BodyLimits = { maxBodyBytes: 1024 * 1024, bodyTimeoutMs: 10_000, budget: new InFlightBudget() }
 * ```
 */
export interface BodyLimits {
  /** Largest body, in bytes: past it the read stops with `TooLarge`. */
  readonly maxBodyBytes: number
  /** Longest time for the whole body, in ms: then the read stops with `Timeout`. */
  readonly bodyTimeoutMs: number
  /** Holds a read slot and the body's bytes while it is read: `OverBudget` when they do not fit. */
  readonly budget: InFlightBudget
}

/**
 * Reads a request stream into one Buffer under `limits`: refused at once
 * (`OverBudget`) when the declared length or a read slot does not fit the
 * budget, stopped as soon as it exceeds `maxBodyBytes` or a chunked body
 * outgrows the budget (the rest is never buffered), at its deadline, or
 * when the client goes away. Whatever the outcome, the budget gets back
 * what the read held, the deadline is removed, and so are the listeners of
 * a read that ends early.
 *
 * @param stream - the request body
 * @param declared - the declared Content-Length (see {@link declaredLength}), held in the budget from the start
 * @param limits - size, time and budget
 * @param deadlines - the deadline sweep, one shared by every read of a server
 * @returns how the read ended; never rejects
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { Deadlines, InFlightBudget, declaredLength, readBody } from 'autoplay-rx/node'
 *
 * const limits = { maxBodyBytes: 1024 * 1024, bodyTimeoutMs: 10_000, budget: new InFlightBudget() }
 * const deadlines = new Deadlines(100)
 * createServer(async (req, res) => {
 *   const outcome = await readBody(req, declaredLength(req.headers['content-length']), limits, deadlines)
 *   if (outcome._tag === 'Aborted') return
 *   res.statusCode = outcome._tag === 'Body' ? 200 : outcome._tag === 'TooLarge' ? 413 : 503
 *   res.end(outcome._tag === 'Body' ? `${outcome.bytes.length} bytes` : outcome._tag) // curl -d hello: "5 bytes"
 * }).listen(8787)
 * ```
 */
export function readBody(
  stream: NodeJS.ReadableStream & { destroyed?: boolean },
  declared: number,
  limits: BodyLimits,
  deadlines: Deadlines,
): Promise<BodyOutcome> {
  return new Promise((resolve) => readBodyInto(stream, declared, limits, deadlines, resolve))
}

/** {@link readBody} with a callback: the middleware's hot path has no promise to wait for. */
function readBodyInto(
  stream: NodeJS.ReadableStream & { destroyed?: boolean },
  declared: number,
  { maxBodyBytes: limit, bodyTimeoutMs: timeoutMs, budget }: BodyLimits,
  deadlines: Deadlines,
  resolve: (outcome: BodyOutcome) => void,
): void {
  // Refused before a listener is attached: the stream stays paused and the connection is closed after the 503.
  if (!budget.startRead(declared)) return resolve({ _tag: 'OverBudget' })
  let held = declared
  // node:http's request emits 'error' only to a listener and is marked destroyed when its client
  // goes away; the deadline sweep notices that. Listening to 'error' and 'close' on every request
  // costs more than decoding a small delivery, so only other streams (a Fastify preParsing
  // transform, say) get them.
  const watch = !(stream instanceof IncomingMessage)
  const chunks: Buffer[] = []
  let size = 0
  let settled = false
  // The common case, a whole body, is kept short: it is the hot path of every delivery.
  const onEnd = () => {
    if (settled) return
    settled = true
    budget.endRead(held)
    deadlines.remove(deadline)
    if (watch) unwatch()
    resolve({ _tag: 'Body', bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) })
  }
  const stop = (outcome: BodyOutcome) => {
    if (settled) return
    settled = true
    budget.endRead(held)
    deadlines.remove(deadline)
    stream.removeListener('data', onData)
    stream.removeListener('end', onEnd)
    stream.pause()
    if (watch) unwatch()
    resolve(outcome)
  }
  const onData = (chunk: Buffer | string) => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    size += bytes.length
    if (size > limit) return stop({ _tag: 'TooLarge', size })
    if (size > held) {
      if (!budget.hold(size - held)) return stop({ _tag: 'OverBudget' })
      held = size
    }
    chunks.push(bytes)
  }
  const onAbort = () => stop({ _tag: 'Aborted' })
  const unwatch = () => {
    stream.removeListener('error', onAbort)
    stream.removeListener('close', onAbort)
  }
  const deadline = deadlines.add(timeoutMs, (abandoned) => stop(abandoned ? { _tag: 'Aborted' } : { _tag: 'Timeout' }),
    () => stream.destroyed === true)
  stream.on('data', onData)
  stream.on('end', onEnd)
  if (watch) {
    stream.on('error', onAbort)
    stream.on('close', onAbort)
  }
  if (stream.destroyed) onAbort()
}

/** Raw bytes a framework already read (`req.rawBody`, or a Buffer/string `req.body`), if any. */
function heldBody(req: NodeRequest): Uint8Array | string | undefined {
  for (const candidate of [req.rawBody, req.body]) {
    if (typeof candidate === 'string' || candidate instanceof Uint8Array) return candidate
  }
  return undefined
}

/** Whether something else already consumed the request stream (a body parser). */
function consumed(req: NodeRequest): boolean {
  return req.readableEnded || req._body === true
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
  const resolved = resolveOptions(receiver, options)
  const deadlines = bodyDeadlines(resolved)
  return (req, res, next) => new Promise<void>((done) => {
    // Answers are written as soon as they are known, synchronously when nothing had to be awaited.
    const respond = (answer: AdapterResponse | Promise<AdapterResponse> | null) => {
      if (answer instanceof Promise) {
        answer.then((a) => { write(req, res, a); done() }, (error: unknown) => { failed(error); done() })
      } else {
        if (answer !== null) write(req, res, answer)
        done()
      }
    }
    const failed = (error: unknown) => {
      // Only a bug could land here; the process must survive it all the same.
      log(receiver.logger, 'error', 'autoplay-rx node adapter failed', { error })
      if (!res.headersSent && !res.destroyed) write(req, res, response('callback_failed', 'internal error'))
    }
    try {
      if (resolved.path !== undefined && pathOf(req.url) !== resolved.path) {
        if (next) next()
        else write(req, res, response('not_found', 'Not found'))
        done()
        return
      }
      handle(receiver, req as NodeRequest, resolved, deadlines, respond)
    } catch (error) {
      failed(error)
      done()
    }
  })
}

function handle(
  receiver: WebhookReceiver,
  req: NodeRequest,
  options: ResolvedOptions,
  deadlines: Deadlines,
  respond: (answer: AdapterResponse | Promise<AdapterResponse> | null) => void,
): void {
  const refused = checkHead(receiver, {
    method: req.method, contentType: req.headers['content-type'], contentLength: req.headers['content-length'],
  }, options)
  if (refused) return respond(refused)
  const signature = headerValue(req.headers[SIGNATURE_HEADER])
  const held = heldBody(req)
  if (held !== undefined) return respond(deliver(receiver, held, signature, options))
  if (consumed(req)) {
    // A body parser ran first: never wait on a drained stream, never verify a re-serialised body.
    log(receiver.logger, 'error', notRawBody(req.body).message)
    return respond(deliver(receiver, req.body ?? null, signature, options))
  }
  readBodyInto(req, declaredLength(req.headers['content-length']), options, deadlines, (outcome) => {
    try {
      respond(answerBody(receiver, outcome, signature, options))
    } catch (error) {
      respond(Promise.reject(error))
    }
  })
}

function write(req: IncomingMessage, res: ServerResponse, answer: AdapterResponse): void {
  if (res.headersSent || res.destroyed) return
  res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) })
  res.end(answer.body)
  // A request cut short (413, timeout) still has bytes in flight: drop the connection
  // once the answer is out instead of reading them.
  if (answer.headers.connection === 'close' && !req.readableEnded) res.once('finish', () => req.destroy())
}

function pathOf(url: string | undefined): string {
  const q = url?.indexOf('?') ?? -1
  return url === undefined ? '' : q === -1 ? url : url.slice(0, q)
}
