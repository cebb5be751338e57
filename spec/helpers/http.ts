/** A small HTTP client for the adapter specs: exact bytes out, status, headers and body back. */
import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'

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

/** Resolves once `check()` is true (polled every 5 ms); rejects with `what` after `ms`. */
export async function waitFor(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

/** What a raw client saw: the bytes the server sent, and whether the server closed the connection. */
export interface RawAnswer {
  readonly text: string
  readonly closedByServer: boolean
  readonly ms: number
}

/** A raw HTTP request on its own socket, for bodies that stall or trickle. */
export interface RawRequest {
  /** Settles when the connection closes (or `limitMs` passes: then `closedByServer` is false). */
  readonly done: Promise<RawAnswer>
  /** Writes more bytes, if the socket is still open. */
  write(bytes: string | Uint8Array): void
  /** Drops the connection from the client side (an abort). */
  destroy(): void
}

/** A POST head for a raw request to `url`. */
export function postHead(url: string, framing: number | 'chunked', signature = `sha256=${'0'.repeat(64)}`): string {
  const length = framing === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${framing}`
  return `POST ${new URL(url).pathname} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${length}\r\nX-Connector-Signature: ${signature}\r\n\r\n`
}

/** Opens a socket to `url`, writes `first`, and collects the answer until the connection closes. */
export function rawRequest(url: string, first: string | Uint8Array, limitMs = 8000): RawRequest {
  const { port, hostname } = new URL(url)
  const started = Date.now()
  const socket = connect(Number(port), hostname, () => socket.write(first))
  let text = ''
  let destroyedHere = false
  const done = new Promise<RawAnswer>((resolve) => {
    const limit = setTimeout(() => { destroyedHere = true; socket.destroy() }, limitMs)
    socket.on('data', (d) => { text += d.toString('latin1') })
    socket.on('close', () => { clearTimeout(limit); resolve({ text, closedByServer: !destroyedHere, ms: Date.now() - started }) })
    socket.on('error', () => undefined)
  })
  return {
    done,
    write: (bytes) => { if (socket.writable) socket.write(bytes) },
    destroy: () => { destroyedHere = true; socket.destroy() },
  }
}
