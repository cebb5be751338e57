/**
 * `autoplay-rx/fastify`: the Fastify 5 plugin. It registers the delivery
 * route in its own encapsulated context, with a parser that hands over the
 * raw body stream, so that the signature is checked over the exact bytes
 * while every other route keeps Fastify's JSON parser.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { WebhookReceiver } from 'autoplay-rx'
 * import { createFastifyPlugin } from 'autoplay-rx/fastify'
 *
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 * const app = Fastify()
 * await app.register(createFastifyPlugin, { receiver, path: '/events' }) // POST /events
 * await app.listen({ port: 8787 })
 * ```
 *
 * @module autoplay-rx/fastify
 */
import type { FastifyPluginCallback, FastifyRequest } from 'fastify'
import type { WebhookReceiver } from '../receiver.js'
import { createMiddleware, type Handle, type Runtime } from './middleware.js'
import type { AdapterOptions } from './options.js'
import { readBodyInto } from './nodeBody.js'
import type { AdapterResponse } from './status.js'

export { InFlightBudget } from './budget.js'

/**
 * Options of the {@link createFastifyPlugin} plugin: the receiver, the
 * route, and every {@link AdapterOptions} setting.
 *
 * @example
 * ```ts
 * const options: FastifyAdapterOptions = { receiver, path: '/hooks/autoplay', ack: 'on-accept' }
 * await app.register(createFastifyPlugin, { ...options, prefix: '/v1' }) // POST /v1/hooks/autoplay
 * ```
 */
export interface FastifyAdapterOptions extends AdapterOptions {
  /** The receiver that verifies, decodes and emits. */
  readonly receiver: WebhookReceiver
  /**
   * The route, relative to the prefix the plugin is registered under
   * (`'/'` for the prefix itself). Required: the plugin declares its own
   * route, and no adapter invents one.
   */
  readonly path: string
}

/** The raw body stream, as handed from the parser to the route. */
class RawBody {
  constructor(readonly stream: NodeJS.ReadableStream & { destroyed?: boolean }) {}
}

const EMPTY = new Uint8Array(0)

/** A Fastify request, read the way the core asks (Fastify has routed it already). */
const fastifyRuntime: Runtime<FastifyRequest> = {
  method: (request) => request.raw.method,
  header: (request, name) => {
    const value = request.headers[name]
    return Array.isArray(value) ? value[0] : value
  },
  readBody: (request, declared, limits, deadlines, done) => {
    // No body at all (no parser ran) is an empty body: the same path as any other.
    if (!(request.body instanceof RawBody)) return done({ _tag: 'Body', bytes: EMPTY })
    readBodyInto(request.body.stream, declared, limits, deadlines, done)
  },
}

/**
 * Fastify plugin receiving the connector's deliveries on one route (all
 * methods: anything but POST is answered 405).
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { WebhookReceiver } from 'autoplay-rx'
 * import { createFastifyPlugin } from 'autoplay-rx/fastify'
 *
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 * const app = Fastify()
 * app.register(createFastifyPlugin, { receiver, path: '/events' })
 * await app.listen({ port: 8787 })
 * ```
 */
export const createFastifyPlugin: FastifyPluginCallback<FastifyAdapterOptions> = (fastify, pluginOptions, done) => {
  const { receiver, path, ...rest } = pluginOptions
  let handle: Handle<FastifyRequest>
  try {
    if (typeof path !== 'string' || !path.startsWith('/')) {
      throw new TypeError("autoplay-rx: the Fastify plugin needs a path starting with / (e.g. { receiver, path: '/events' })")
    }
    // Fastify routes: the core must not check the path a second time.
    handle = createMiddleware(receiver, rest, fastifyRuntime)
  } catch (error) {
    done(error as Error)
    return
  }
  // This plugin's context only: the parsers of the rest of the application are untouched.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', (_request, payload, parsed) => parsed(null, new RawBody(payload)))

  fastify.all(path, async (request, reply) => {
    const answer = await new Promise<AdapterResponse | null>((resolve) => handle(request, resolve))
    if (answer === null) return reply.hijack() // the client went away: nothing to answer
    reply.code(answer.status).headers(answer.headers)
    if (answer.headers.connection === 'close') reply.raw.once('finish', () => request.raw.destroy())
    return reply.send(answer.body)
  })
  done()
}

