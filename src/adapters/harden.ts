/**
 * Server settings that close connections which send nothing, or too
 * little, in bounded time. The adapter bounds the body (size, time,
 * budget); it only runs once the headers are in, so everything before that,
 * and between requests, is the server's: Node's defaults leave a socket that
 * never sends a byte open forever and hold 5,000+ connections without limit.
 */
import { createServer, type RequestListener, type Server } from 'node:http'
import { positiveInteger } from '../internal/options.js'

/**
 * The settings {@link hardenServer} and {@link createHardenedServer} apply;
 * each has a default.
 *
 * @example
 * ```ts
 * // Callbacks that may take 20 s before the answer: keep silent connections open longer.
 * const options: HardenOptions = { idleTimeoutMs: 30_000, maxConnections: 4096 }
 * createHardenedServer(createNodeMiddleware(receiver, { ackTimeoutMs: 20_000 }), options).listen(8787)
 * ```
 */
export interface HardenOptions {
  /** Longest wait for a request's headers (`server.headersTimeout`); default 10,000 ms. Node answers 408 and closes. */
  readonly headersTimeoutMs?: number
  /** Longest time for a whole request (`server.requestTimeout`); default 30,000 ms. Node answers 408 and closes. */
  readonly requestTimeoutMs?: number
  /**
   * A socket silent for this long is destroyed (`server.timeout`): the one
   * setting that closes a connection that never sends a byte (the two
   * above only run once a request has begun). Keep it above the adapter's
   * `ackTimeoutMs` + `persistTimeoutMs` (7 s by default), when a connection
   * is silent while the server works. Default 15,000 ms.
   */
  readonly idleTimeoutMs?: number
  /** How long an idle keep-alive connection is kept after a response (`server.keepAliveTimeout`); default 5,000 ms. */
  readonly keepAliveTimeoutMs?: number
  /** Connections held at once; Node closes the ones beyond (`server.maxConnections`). Default 1024. */
  readonly maxConnections?: number
  /**
   * How often Node checks `headersTimeoutMs` and `requestTimeoutMs`
   * (`connectionsCheckingInterval`, 30,000 ms in Node: a timeout then fires
   * up to that late). Node reads it only when the server is created, so only
   * {@link createHardenedServer} applies it. Default 1,000 ms.
   */
  readonly connectionsCheckingIntervalMs?: number
}

type Resolved = Required<HardenOptions>

function resolve(options: HardenOptions): Resolved {
  const resolved: Resolved = {
    headersTimeoutMs: options.headersTimeoutMs ?? 10_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    idleTimeoutMs: options.idleTimeoutMs ?? 15_000,
    keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? 5_000,
    maxConnections: options.maxConnections ?? 1024,
    connectionsCheckingIntervalMs: options.connectionsCheckingIntervalMs ?? 1_000,
  }
  for (const [key, value] of Object.entries(resolved)) positiveInteger(key, value)
  if (resolved.headersTimeoutMs > resolved.requestTimeoutMs) {
    throw new TypeError('autoplay-rx: headersTimeoutMs must not exceed requestTimeoutMs (Node would never apply it)')
  }
  return resolved
}

/**
 * Applies bounded timeouts and a connection limit to an existing node:http
 * (or https) server: the one Express's `app.listen()` returns, or Fastify's
 * `app.server`. Apply it before connections arrive: Node reads these
 * settings per connection. `connectionsCheckingInterval` cannot be changed
 * after creation: use {@link createHardenedServer} to set it too.
 *
 * @param server - the server to harden (changed in place)
 * @param options - the settings; see {@link HardenOptions} for the defaults
 * @returns the same server
 * @throws TypeError for a setting that is not a positive integer, or a header timeout above the request timeout
 * @example
 * ```ts
 * import express from 'express'
 * import { createNodeMiddleware, hardenServer } from 'autoplay-rx/node'
 *
 * const app = express()
 * app.post('/events', createNodeMiddleware(receiver))
 * hardenServer(app.listen(8787))
 * ```
 */
export function hardenServer<S extends Server>(server: S, options: HardenOptions = {}): S {
  const settings = resolve(options)
  server.headersTimeout = settings.headersTimeoutMs
  server.requestTimeout = settings.requestTimeoutMs
  server.keepAliveTimeout = settings.keepAliveTimeoutMs
  server.maxConnections = settings.maxConnections
  // With no 'timeout' listener Node destroys the silent socket itself.
  server.setTimeout(settings.idleTimeoutMs)
  return server
}

/**
 * `http.createServer` with every setting of {@link hardenServer}, plus
 * `connectionsCheckingInterval`, which Node only takes at creation (so
 * timeouts fire within a second of their time, not up to 30 s late).
 *
 * @param handler - the request listener (e.g. `createNodeMiddleware(receiver, { path: '/events' })`)
 * @param options - the settings; see {@link HardenOptions} for the defaults
 * @returns a server, not yet listening
 * @throws TypeError as {@link hardenServer}
 * @example
 * ```ts
 * import { createHardenedServer, createNodeMiddleware } from 'autoplay-rx/node'
 *
 * createHardenedServer(createNodeMiddleware(receiver, { path: '/events' })).listen(8787)
 * // Fastify: Fastify({ serverFactory: (handler) => createHardenedServer(handler) })
 * ```
 */
export function createHardenedServer(handler?: RequestListener, options: HardenOptions = {}): Server {
  const settings = resolve(options)
  const server = createServer({
    headersTimeout: settings.headersTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
    connectionsCheckingInterval: settings.connectionsCheckingIntervalMs,
  }, handler)
  return hardenServer(server, options)
}
