/**
 * Runs the route module the way `next start` would, without Next: each
 * request becomes a Fetch `Request` (here through @hono/node-server's
 * `serve`), /api/events goes to the module's POST, other methods get 405.
 * In a Next.js app you need none of this file: drop route.ts into app/api/events/.
 *
 *   AUTOPLAY_SECRET=… PORT=3000 node --import tsx examples/nextjs/serve.ts
 */
import { serve } from '@hono/node-server'
import { listening, settings, stopOn } from '../common.js'
import * as route from './app/api/events/route.js'

const { port, host } = settings()

async function fetch(request: Request): Promise<Response> {
  if (new URL(request.url).pathname !== '/api/events') return new Response('Not found', { status: 404 })
  if (request.method !== 'POST') return new Response('Method not allowed', { status: 405, headers: { allow: 'POST' } })
  return route.POST(request)
}

const server = serve({ fetch, port, hostname: host }, (address) => listening(address, '/api/events'))

stopOn(() => new Promise((resolve) => server.close(resolve)))
