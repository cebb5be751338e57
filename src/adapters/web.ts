/**
 * `autoplay-rx/web`: the Fetch API adapter for Hono, Next.js route handlers, Bun, Deno, Cloudflare
 * Workers and the Edge runtime, with the same limits as the Node adapter.
 *
 * @module autoplay-rx/web
 */
import type { WebhookReceiver } from '../receiver.js'
import { ABORTED, readBody, type BodyOutcome, type ChunkSource } from './body.js'
import { createMiddleware, type Answer, type Runtime } from './middleware.js'
import type { AdapterOptions } from './options.js'
import { response } from './status.js'

export type { AdapterOptions } from './options.js'
export { InFlightBudget } from './budget.js'

/** A Fetch API handler; `rest` (Bun's server, Deno's info, Hono's context) goes to `peer`. It never rejects. */
export type FetchHandler = (request: Request, ...rest: unknown[]) => Promise<Response>

/**
 * Creates a Fetch API handler that receives the connector's deliveries.
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
 * // Next.js app/api/events/route.ts: export const POST = createFetchHandler(receiver)
 * ```
 *
 * `options.peer` names the remote address, for the budget's per-address shares (docs/runtimes.md):
 * `(request, c) => getConnInfo(c).remote.address` with `handler(c.req.raw, c)` on Hono.
 */
export function createFetchHandler(
  receiver: WebhookReceiver,
  options: AdapterOptions & { readonly peer?: (request: Request, ...rest: unknown[]) => string | undefined } = {},
): FetchHandler {
  const handle = createMiddleware(receiver, options, fetchRuntime)
  const { peer } = options
  return async (request, ...rest) => {
    let address: string | undefined
    try {
      address = peer?.(request, ...rest)
    } catch {
      // The handler never rejects: a `peer` that throws leaves the request without an address (no share).
    }
    return toResponse(await handle(request, false, address))
  }
}

const USED_HINT = 'Body already read (request.json(), a body parser): ' +
  'pass the Request untouched, or request.clone() made before'

// A Response must be returned even when the body stream broke: nobody may be listening.
const BROKEN = response('body_timeout', 'Body stream broke off', { connection: 'close' })


const fetchRuntime: Runtime<Request> = {
  method: (request) => request.method,
  path: (request) => new URL(request.url).pathname,
  header: (request, name) => request.headers.get(name),
  readBody: (request, declared, limits, share) => {
    // `request.body` is not touched on the way to `arrayBuffer()`: on Deno, reading it turns the
    // body into a stream that `arrayBuffer()` then reads through, slower (docs/benchmarks.md).
    if (request.bodyUsed) return notRaw(request)
    // The budget cannot see a whole read's bytes arrive: a small body (64 KiB) holds its length from the start.
    if (declared > 0 && declared <= 65536) return readBody(fetchSource(request, true), declared, limits, share)
    const stream = request.body
    if (stream?.locked) return notRaw(request)
    // No body at all: read whole, as empty.
    return readBody(fetchSource(request, stream === null), 0, limits, share)
  },
}

const notRaw = (request: Request): BodyOutcome => ({ _tag: 'NotRaw', received: request.body, hint: USED_HINT })

/**
 * The body as chunks. Of declared length (`whole`), read in one native call: the runtime's server frames it
 * by that length (the head check refused one over the limit), and reading chunk by chunk costs a promise a
 * chunk. Else read chunk by chunk, so that the limit stops it early.
 */
const fetchSource = (request: Request, whole: boolean): ChunkSource => {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  return {
    start: (read) => {
      if (whole) {
        return void request.arrayBuffer().then((bytes) => {
          // Checked all the same, for a Request built by hand.
          if (read.chunk(new Uint8Array(bytes))) read.end()
        }, (error: unknown) => {
          // A body locked by another reader fails with the standard's TypeError, one that broke off with its
          // stream's error; `bodyUsed` cannot tell them apart on every runtime (Bun, Deno).
          read.fail(error instanceof TypeError && request.body?.locked ? notRaw(request) : ABORTED)
        })
      }
      const next = (): void => {
        reader!.read().then(({ done, value }) => {
          if (done) read.end()
          else if (read.chunk(value)) next()
        }, () => read.fail(ABORTED))
      }
      reader = request.body!.getReader()
      next()
    },
    // Past the deadline nobody waits for the read; refused before it, the body is let go.
    stop: () => (reader ?? request.body)?.cancel().catch(() => {}),
  }
}

function toResponse(answer: Answer): Response {
  const { body, status, headers } = answer ?? BROKEN
  // A copy: @hono/node-server writes Content-Length into the object it is given, and OK's is shared.
  return new Response(body, { status, headers: { ...headers } })
}
