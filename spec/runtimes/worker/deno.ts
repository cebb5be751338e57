// Deno.serve on a free loopback port, which it prints for the spec.
import { app } from './app.js'

declare const Deno: {
  serve(options: { hostname: string; port: number; onListen(address: { port: number }): void }, handler: typeof app): unknown
}

Deno.serve({ hostname: '127.0.0.1', port: 0, onListen: ({ port }) => console.log(`listening ${port}`) }, app)
