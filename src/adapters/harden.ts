/**
 * Server settings that close connections which send nothing, or too little, in bounded time. The
 * adapter bounds the body once the headers are in; before that, and between requests, it is the
 * server's job, and Node's defaults leave a silent socket open forever, with no connection limit.
 */
import { createServer, type RequestListener, type Server } from 'node:http'
import { positiveInteger } from '../internal/options.js'

/** The settings {@link hardenServer} and {@link createHardenedServer} apply; each has a default. */
export interface HardenOptions {
  /** The longest wait for a request's headers (`server.headersTimeout`); default 10,000 ms, then 408. */
  readonly headersTimeoutMs?: number | undefined
  /** The longest time for a whole request (`server.requestTimeout`); default 30,000 ms, then 408. */
  readonly requestTimeoutMs?: number | undefined
  /**
   * A socket silent this long is destroyed (`server.timeout`): the one setting that closes a connection
   * that never sends a byte. Keep it above the adapter's `ackTimeoutMs` + `persistTimeoutMs`. Default 15,000 ms.
   */
  readonly idleTimeoutMs?: number | undefined
  /** How long an idle keep-alive connection is kept (`server.keepAliveTimeout`); default 5,000 ms. */
  readonly keepAliveTimeoutMs?: number | undefined
  /** Connections held at once (`server.maxConnections`); default 1024. */
  readonly maxConnections?: number | undefined
  /**
   * How often Node checks the two request timeouts (`connectionsCheckingInterval`; Node's 30 s lets a
   * timeout fire that late). Node reads it at creation: only {@link createHardenedServer} sets it. Default 1,000 ms.
   */
  readonly connectionsCheckingIntervalMs?: number | undefined
}

type Resolved = { readonly [K in keyof HardenOptions]-?: number }

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
 * Applies bounded timeouts and a connection limit to an existing node:http (or https) server, before
 * connections arrive, and returns it. Use {@link createHardenedServer} to set `connectionsCheckingIntervalMs` too.
 *
 * @throws TypeError for a setting that is not a positive integer, or a header timeout above the request timeout
 * @example
 * ```ts
 * import express from 'express'
 * import { createNodeMiddleware, hardenServer } from 'autoplay-rx/node'
 *
 * const app = express()
 * app.post('/events', createNodeMiddleware(receiver))
 * hardenServer(app.listen(8787)) // Fastify: hardenServer(app.server)
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
 * `http.createServer` with every setting of {@link hardenServer}, plus `connectionsCheckingIntervalMs`.
 *
 * @throws TypeError as {@link hardenServer}
 * @example
 * ```ts
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
