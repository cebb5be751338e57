// Node: the fetch handler behind @hono/node-server, on a free loopback port, which it prints for the spec.
import { serve } from '@hono/node-server'
import { app } from './app.js'

serve({ fetch: app, hostname: '127.0.0.1', port: 0 }, (info) => console.log(`listening ${info.port}`))
