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
 * import { autoplayRx } from 'autoplay-rx/fastify'
 *
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 * const app = Fastify()
 * await app.register(autoplayRx, { receiver }) // POST /events
 * await app.listen({ port: 8787 })
 * ```
 *
 * @module autoplay-rx/fastify
 */
import type { FastifyPluginCallback } from 'fastify'
import type { WebhookReceiver } from '../receiver.js'
import { SIGNATURE_HEADER } from '../signature.js'
import { answerBody, bodyDeadlines, checkHead, declaredLength, headerValue, resolveOptions, type AdapterOptions, type AdapterResponse } from './core.js'
import { readBody } from './node.js'

export type { AdapterOptions, AdapterResponse, ResponseCode } from './core.js'
export { InFlightBudget, type InFlightBudgetOptions } from './budget.js'

/**
 * Options of the {@link autoplayRx} plugin: the receiver, the route, and
 * every {@link AdapterOptions} setting.
 *
 * @example
 * ```ts
 * const options: FastifyAdapterOptions = { receiver, path: '/hooks/autoplay', ack: 'on-accept' }
 * await app.register(autoplayRx, { ...options, prefix: '/v1' }) // POST /v1/hooks/autoplay
 * ```
 */
export interface FastifyAdapterOptions extends AdapterOptions {
  /** The receiver that verifies, decodes and emits. */
  readonly receiver: WebhookReceiver
  /** The route; default `/events`. Relative to the plugin's prefix. */
  readonly path?: string
}

/** The raw body stream, as handed from the parser to the route. */
class RawBody {
  constructor(readonly stream: NodeJS.ReadableStream & { destroyed?: boolean }) {}
}

/**
 * Fastify plugin receiving the connector's deliveries on one route (all
 * methods: anything but POST is answered 405).
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { WebhookReceiver } from 'autoplay-rx'
 * import { autoplayRx } from 'autoplay-rx/fastify'
 *
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 * const app = Fastify()
 * app.register(autoplayRx, { receiver, path: '/events' })
 * await app.listen({ port: 8787 })
 * ```
 */
export const autoplayRx: FastifyPluginCallback<FastifyAdapterOptions> = (fastify, pluginOptions, done) => {
  const { receiver, path = '/events', ...rest } = pluginOptions
  let options
  try {
    options = resolveOptions(receiver, { ...rest, path: undefined })
  } catch (error) {
    done(error as Error)
    return
  }
  const resolved = options
  const deadlines = bodyDeadlines(resolved)
  // This plugin's context only: the parsers of the rest of the application are untouched.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', (_request, payload, parsed) => parsed(null, new RawBody(payload)))

  fastify.all(path, async (request, reply) => {
    const answer = await handle(request.raw.method, request.headers, request.body)
    if (answer === null) return reply.hijack() // the client went away: nothing to answer
    reply.code(answer.status).headers(answer.headers)
    if (answer.headers.connection === 'close') reply.raw.once('finish', () => request.raw.destroy())
    return reply.send(answer.body)
  })

  async function handle(method: string | undefined, headers: Record<string, string | string[] | undefined>, body: unknown): Promise<AdapterResponse | null> {
    const header = (name: string) => headerValue(headers[name])
    const refused = checkHead(receiver, { method, contentType: header('content-type'), contentLength: header('content-length') }, resolved)
    if (refused) return refused
    const signature = header(SIGNATURE_HEADER)
    // No body at all (no parser ran) is an empty body: the same path as any other.
    if (!(body instanceof RawBody)) return answerBody(receiver, { _tag: 'Body', bytes: new Uint8Array(0) }, signature, resolved)
    const outcome = await readBody(body.stream, declaredLength(header('content-length')), resolved, deadlines)
    return answerBody(receiver, outcome, signature, resolved)
  }
  done()
}
