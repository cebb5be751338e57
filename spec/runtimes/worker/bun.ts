// Bun.serve on a free loopback port, which it prints for the spec.
import { app } from './app.js'

declare const Bun: { serve(options: { hostname: string; port: number; fetch: typeof app }): { port: number } }

const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: app })
console.log(`listening ${server.port}`)
