/**
 * What the SSE specs share: a real SSE server on 127.0.0.1, a child-process
 * runner, summary frames, and a recorder of everything a stream says.
 */
import { execFile } from 'node:child_process'
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { firstValueFrom, take, timeout, toArray } from 'rxjs'
import type { Payload, SummaryPayload } from '../../src/codecs.js'
import { silentLogger } from '../../src/logger.js'
import { connectorStream } from '../../src/sse/connectorStream.js'
import type { ConnectorStreamOptions } from '../../src/sse/options.js'
import type { ConnectionEvent, FrameRejection } from '../../src/sse/lifecycle.js'

export const TOKEN = 'tok_test_123'

// ---------------------------------------------------------------------------
// A real SSE server on 127.0.0.1, one per test; `closeServers` (in an afterEach) closes them.

export interface Served {
  readonly at: number
  readonly headers: IncomingHttpHeaders
  /** Resolves when the server sees this request's socket close. */
  readonly closed: Promise<void>
}

export interface TestServer {
  readonly url: string
  readonly requests: Served[]
  close(): Promise<void>
}

export type Handler = (req: IncomingMessage, res: ServerResponse, index: number) => void | Promise<void>

const servers: TestServer[] = []

export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: Served[] = []
  const server = http.createServer((req, res) => {
    const closed = new Promise<void>((resolve) => req.socket.once('close', () => resolve()))
    requests.push({ at: performance.now(), headers: req.headers, closed })
    req.socket.setNoDelay(true)
    void handler(req, res, requests.length - 1)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const started: TestServer = {
    url: `http://127.0.0.1:${port}/stream/prod_abc`,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
  servers.push(started)
  return started
}

export async function closeServers(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => s.close()))
}

/** Sends the SSE response headers at once, as the connector does. */
export function openSse(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' })
  res.flushHeaders()
}

/** A handler that answers `status` to the first `failures` requests, then serves one frame and keeps the stream open. */
export const failThenServe = (failures: number, status: number, text: string): Handler => (_req, res, index) => {
  if (index < failures) {
    res.writeHead(status).end()
    return
  }
  openSse(res)
  res.write(frame(text))
}

/** Writes and waits until the bytes are handed to the socket. */
export function write(res: ServerResponse, chunk: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => res.write(chunk, (error) => (error ? reject(error) : resolve())))
}

/**
 * Runs an ES module with tsx in a child node (with `nodeFlags` before tsx);
 * rejects if it fails or outlives `deadlineMs`.
 */
export function runChild(deadlineMs: number, source: string, nodeFlags: readonly string[] = []): Promise<{ stdout: string; elapsed: number }> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...nodeFlags, '--import', 'tsx', '--input-type=module', '-e', source],
      { cwd: fileURLToPath(new URL('../../', import.meta.url)), timeout: deadlineMs, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => (error ? reject(new Error(`child failed: ${error.message}\n${stderr.slice(-2000)}`)) : resolve({ stdout, elapsed: performance.now() - started })))
  })
}

/** The URL of a module of src/, for a child's `import`. */
export const sourceModule = (path: string): string => new URL(`../../src/${path}`, import.meta.url).href

// ---------------------------------------------------------------------------
// Payloads and frames.

export const summaryJson = (text: string) => JSON.stringify({ type: 'summary', product_id: 'prod_abc', session_id: 'ps_1', summary: text })
export const summary = (text: string): SummaryPayload =>
  ({ type: 'summary', product_id: 'prod_abc', session_id: 'ps_1', summary: text, replaces: 0, forwarded_at: 0 })
export const frame = (text: string, id?: string) => `${id === undefined ? '' : `id: ${id}\n`}data: ${summaryJson(text)}\n\n`

// ---------------------------------------------------------------------------
// Running a stream and recording everything it says.

export interface Run {
  readonly result: Promise<Payload[]>
  readonly events: ConnectionEvent[]
  readonly rejections: FrameRejection[]
}

/**
 * Takes `count` payloads, recording the lifecycle and the rejections. Fast
 * delays by default (10 ms base, 1 ms floor, no jitter), so that a spec
 * spends its time on what it tests.
 */
export function run(options: Partial<ConnectorStreamOptions> & { url: string }, count: number, limitMs = 4000): Run {
  const events: ConnectionEvent[] = []
  const rejections: FrameRejection[] = []
  const result = firstValueFrom(connectorStream({
    token: TOKEN, initialBackoffMs: 10, minBackoffMs: 1, random: () => 0, logger: silentLogger,
    events: (event) => { if (event._tag === 'FrameRejected') rejections.push(event); else events.push(event) },
    ...options,
  }).pipe(take(count), toArray(), timeout(limitMs)))
  return { result, events, rejections }
}

export const failure = (promise: Promise<unknown>): Promise<unknown> => promise.then(
  (value) => { throw new Error(`expected an error, got ${JSON.stringify(value)}`) },
  (error: unknown) => error,
)

/** One line per lifecycle event, for exact comparisons. */
export function show(event: ConnectionEvent): string {
  switch (event._tag) {
    case 'Connecting': return `Connecting retry=${event.retry} lastEventId=${event.lastEventId}`
    case 'Connected': return `Connected retry=${event.retry} ${event.status}`
    case 'Retrying': return `Retrying retry=${event.retry} in ${event.delayMs}`
    case 'Disconnected': {
      const reason = event.reason
      return `Disconnected ${reason._tag}${reason._tag === 'HttpStatus' ? ` ${reason.status}` : ''}`
    }
  }
}
