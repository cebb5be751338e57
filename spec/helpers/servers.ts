/**
 * Real servers on 127.0.0.1 for the reliability specs, one per adapter
 * (node:http, Express 5, Fastify 5, the Fetch handler behind node:http),
 * and a watch over the process-level faults a test must not cause.
 */
import express from 'express'
import Fastify from 'fastify'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import type { WebhookReceiver } from '../../src/index.js'
import type { AdapterOptions } from '../../src/adapters/options.js'
import { createNodeMiddleware } from '../../src/adapters/node.js'
import { createFastifyPlugin } from '../../src/adapters/fastify.js'
import { createFetchHandler, type FetchHandler } from '../../src/adapters/web.js'

/** A running server: the delivery URL, the node server (to watch its connections), and how to stop it. */
export interface Running {
  readonly url: string
  readonly server: Server
  close(): Promise<void>
}

/** Starts a server that delivers to `receiver` at `/events`. */
export type Start = (receiver: WebhookReceiver, options?: AdapterOptions) => Promise<Running>

import { closeServer, listen } from './http.js'

export const startNode: Start = async (receiver, options = {}) => {
  const { port, close, server } = await listen(createNodeMiddleware(receiver, { ...options, path: '/events' }))
  return { url: `http://127.0.0.1:${port}/events`, server, close }
}

/**
 * A starter for an Express flavour (Express 5 is the dependency; Express 4 is installed as `express4`).
 * Mounted with `app.use` and a path, so that another method on /events is ours (405); without a path,
 * a middleware with a `next` hands every request but a POST on (express.spec.ts).
 */
export const expressStarter = (make: typeof express): Start => async (receiver, options = {}) => {
  const app = make()
  app.use(createNodeMiddleware(receiver, { ...options, path: '/events' }))
  const server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)) })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`, server, close: () => closeServer(server) }
}

export const startExpress: Start = expressStarter(express)

export const startFastify: Start = async (receiver, options = {}) => {
  const app = Fastify()
  await app.register(createFastifyPlugin, { ...options, receiver, path: '/events' })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  return { url: `${address}/events`, server: app.server, close: () => app.close() }
}

/** The Fetch handler behind node:http, the way Hono's or Next's Node servers run it; it sees every path. */
export const startFetch: Start = async (receiver, options = {}) => {
  const { port, close, server } = await serveFetch(createFetchHandler(receiver, { ...options, path: '/events' }))
  return { url: `http://127.0.0.1:${port}/events`, server, close }
}

export function serveFetch(handler: FetchHandler) {
  return listen(async (req, res) => {
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
    const headers = new Headers()
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value)
    const request = new Request(`http://127.0.0.1${req.url}`, {
      method: req.method, headers,
      body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
      duplex: 'half',
    } as RequestInit)
    const response = await handler(request)
    res.writeHead(response.status, Object.fromEntries(response.headers))
    res.end(Buffer.from(await response.arrayBuffer()))
    if (response.headers.get('connection') === 'close') res.once('finish', () => req.destroy())
  })
}



/** The four HTTP adapters, by name. */
export const ADAPTERS: ReadonlyArray<readonly [string, Start]> = [
  ['node:http', startNode],
  ['Express 5', startExpress],
  ['Fastify 5', startFastify],
  ['Fetch handler behind node:http', startFetch],
]

/**
 * Records uncaught exceptions and unhandled rejections from `watch()` until
 * `stop()`; a test asserts the list is empty. (Mocha's own handler still
 * fails the test; this makes the assertion explicit and exact.)
 */
export function watchProcessFaults(): { readonly faults: unknown[]; stop(): void } {
  const faults: unknown[] = []
  const onFault = (e: unknown) => { faults.push(e) }
  process.on('uncaughtException', onFault)
  process.on('unhandledRejection', onFault)
  return {
    faults,
    stop: () => {
      process.off('uncaughtException', onFault)
      process.off('unhandledRejection', onFault)
    },
  }
}
