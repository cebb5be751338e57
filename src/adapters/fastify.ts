/**
 * `autoplay-rx/fastify`: the Fastify 5 plugin. Its route lives in its own context, with a parser that hands
 * over the raw body stream, so the signature covers the exact bytes and other routes keep Fastify's parser.
 *
 * @module autoplay-rx/fastify
 */
import type { FastifyPluginCallback, FastifyRequest } from 'fastify'
import type { WebhookReceiver } from '../receiver.js'
import { readBody, type BodyOutcome } from './body.js'
import { createMiddleware, type Handle, type Runtime } from './middleware.js'
import { headerOf, StreamSource, type NodeStream } from './nodeStream.js'
import type { AdapterOptions } from './options.js'

export { InFlightBudget } from './budget.js'

/** Options of {@link createFastifyPlugin}: the receiver, the route, and every adapter option. */
export interface FastifyAdapterOptions extends AdapterOptions {
  /** The receiver that verifies, decodes and emits. */
  readonly receiver: WebhookReceiver
  /** The route, relative to the prefix the plugin is registered under. Required: no adapter invents one. */
  readonly path: string
}

/** The raw body stream, as handed from the parser to the route. */
class RawBody {
  constructor(readonly stream: NodeStream) {}
}

const EMPTY: BodyOutcome = { _tag: 'Body', bytes: new Uint8Array(0) }

/** Fastify has routed the request already: no path to check. */
const fastifyRuntime: Runtime<FastifyRequest> = {
  method: (request) => request.raw.method,
  header: (request, name) => headerOf(request.headers, name),
  // No parser ran (no body at all): an empty body, on the same path as any other.
  readBody: ({ body }, _declared, limits, share) =>
    body instanceof RawBody ? readBody(new StreamSource(body.stream), 0, limits, share) : EMPTY,
}

/**
 * The Fastify plugin receiving the connector's deliveries on one route (any method but POST: 405).
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { WebhookReceiver } from 'autoplay-rx'
 * import { createFastifyPlugin } from 'autoplay-rx/fastify'
 *
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 * const app = Fastify()
 * await app.register(createFastifyPlugin, { receiver, path: '/events' })
 * await app.listen({ port: 8787 })
 * ```
 */
export const createFastifyPlugin: FastifyPluginCallback<FastifyAdapterOptions> = (fastify, pluginOptions, done) => {
  const { receiver, path, ...rest } = pluginOptions
  let handle: Handle<FastifyRequest>
  try {
    if (typeof path !== 'string' || !path.startsWith('/')) {
      const example = "{ receiver, path: '/events' }"
      throw new TypeError(`autoplay-rx: the Fastify plugin needs a path starting with / (e.g. ${example})`)
    }
    handle = createMiddleware(receiver, rest, fastifyRuntime)
  } catch (error) {
    done(error as Error)
    return
  }
  // This plugin's context only: the parsers of the rest of the application are untouched.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', (_request, payload, parsed) => parsed(null, new RawBody(payload)))

  fastify.all(path, async (request, reply) => {
    const answer = await handle(request, false, request.raw.socket?.remoteAddress)
    if (answer === null) return reply.hijack() // the client went away: nothing to answer
    reply.code(answer.status).headers(answer.headers)
    if (answer.headers.connection === 'close') reply.raw.once('finish', () => request.raw.destroy())
    return reply.send(answer.body)
  })
  done()
}
