/** A small HTTP client for the adapter specs: exact bytes out, status, headers and body back. */
import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Reply {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly text: string
  readonly json: Record<string, unknown>
}

export interface PostOptions {
  readonly method?: string
  readonly headers?: Record<string, string | number>
  readonly agent?: Agent
  /** Send the body in chunks without a Content-Length (chunked encoding). */
  readonly chunked?: boolean
}

export function send(url: string, body: Uint8Array | string | null, options: PostOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const bytes = body === null ? null : typeof body === 'string' ? Buffer.from(body) : Buffer.from(body)
    const headers: Record<string, string | number> = { 'content-type': 'application/json', ...options.headers }
    // An empty value means: send no such header at all.
    for (const [name, value] of Object.entries(headers)) if (value === '') delete headers[name]
    if (bytes && !options.chunked) headers['content-length'] = bytes.length
    const req = request(url, { method: options.method ?? 'POST', headers, agent: options.agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json: Record<string, unknown> = {}
        try { json = JSON.parse(text) } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    if (bytes && options.chunked) {
      for (let i = 0; i < bytes.length; i += 16 * 1024) req.write(bytes.subarray(i, i + 16 * 1024))
      req.end()
    } else {
      req.end(bytes ?? undefined)
    }
  })
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Closes a server, dropping its open connections first. */
export const closeServer = (server: Server) => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()) })

/** Serves `handler` on a free port of 127.0.0.1. */
export const listen = (handler: Parameters<typeof createServer>[1]) => new Promise<{ port: number; server: Server; close: () => Promise<void> }>((resolve) => {
  const server = createServer(handler)
  server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port, server, close: () => closeServer(server) }))
})
