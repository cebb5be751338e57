/**
 * Server settings that close, in bounded time, connections which send nothing or too little: the adapter
 * bounds the body once the headers are in; before that, Node's defaults leave a silent socket open forever.
 */
import { createServer, type RequestListener, type Server } from 'node:http'
import type { Socket } from 'node:net'
import { positiveInteger } from '../internal/options.js'
import { shareTable } from './budget.js'

/** The settings {@link hardenServer} and {@link createHardenedServer} apply; each has a default. */
export interface HardenOptions {
  /** The longest wait for a request's headers (`server.headersTimeout`), then 408; default 10,000 ms. */
  readonly headersTimeoutMs?: number | undefined
  /** The longest time for a whole request (`server.requestTimeout`); default 30,000 ms, then 408. */
  readonly requestTimeoutMs?: number | undefined
  /** A silent socket is destroyed after it (`server.timeout`); keep it above `ackTimeoutMs` + `persistTimeoutMs`. */
  readonly idleTimeoutMs?: number | undefined
  /** How long an idle keep-alive connection is kept (`server.keepAliveTimeout`); default 5,000 ms. */
  readonly keepAliveTimeoutMs?: number | undefined
  /** Connections held at once (`server.maxConnections`), each address to its share; default 1024. */
  readonly maxConnections?: number | undefined
  /** Remote addresses held to no share of the connections; default none. */
  readonly trustedPeers?: ReadonlyArray<string> | undefined
  /** How often Node checks the request timeouts; read at creation, so only {@link createHardenedServer} sets it. */
  readonly connectionsCheckingIntervalMs?: number | undefined
}

type Resolved = { readonly [K in Exclude<keyof HardenOptions, 'trustedPeers'>]-?: number }

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
 * Applies bounded timeouts and a connection limit to a node:http (or https) server before connections arrive.
 *
 * @example
 * ```ts
 * hardenServer(app.listen(8787)) // Express; Fastify: hardenServer(app.server)
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
  shareConnections(server, settings.maxConnections, new Set(options.trustedPeers))
  return server
}

/**
 * `http.createServer` with every setting of {@link hardenServer}, plus `connectionsCheckingIntervalMs`.
 *
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

/** Holds each remote address to its share of the connections (an address Node dropped counts as seen). */
function shareConnections(server: Server, max: number, trusted: ReadonlySet<string>): void {
  const shares = shareTable()
  let open = 0
  server.on('drop', (data?: { remoteAddress?: string }) => data?.remoteAddress && shares.of(data.remoteAddress))
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress
    const share = shares.of(address === undefined || trusted.has(address) ? undefined : address)
    if (shares.over(share, share.reads + 1, open + 1, max)) return void socket.destroy()
    open++
    share.reads++
    socket.once('close', () => {
      open--
      share.reads--
    })
  })
}
