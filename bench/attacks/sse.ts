/**
 * Issue 22, item 11. (a) An SSE server whose only frames are `event: heartbeat` with no `data:` line, one a
 * second: how often `connectorStream` reconnects (scaled down: `stallTimeoutMs` 3 s for a 15 s window, where the
 * default is 90 s). (b) A fatal 401 with a body: does the error keep the body, and is it logged by default?
 */
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connectorStream, silentLogger } from '../../dist/esm/index.js'
import { row, sleep } from './common.js'

let connections = 0
const open: ServerResponse[] = []
const reason = 'token expired: rotate CONNECTOR_TOKEN'
const server = createServer((req, res) => {
  if (req.url === '/fatal') {
    res.writeHead(401, { 'content-type': 'text/plain' })
    return void res.end(reason)
  }
  connections++
  open.push(res)
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  res.write(': hello\n\n')
  const beat = setInterval(() => res.write('event: heartbeat\n\n'), 1000)
  res.on('close', () => clearInterval(beat))
})
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

const quiet = connectorStream({ url: `${base}/stream`, token: 'tok_attack_0123456789', stallTimeoutMs: 3000, logger: silentLogger }).subscribe({ error: () => undefined })
await sleep(15_000)
quiet.unsubscribe()
row({ item: '11', measure: 'SSE stream of heartbeats without data:, one a second, for 15 s (stallTimeoutMs 3 s; scaled from 90 s)',
  figure: `${connections - 1} reconnects`, target: '0 reconnects', pass: connections === 1 })

const logged: string[] = []
for (const level of ['warn', 'error', 'info'] as const) {
  const original = console[level]
  console[level] = (...args: unknown[]) => { if (String(args[0]).includes('autoplay-rx')) logged.push(args.map(String).join(' ')); else original(...args) }
}
const failure = await new Promise<unknown>((resolve) => {
  const sub = connectorStream({ url: `${base}/fatal`, token: 'tok_attack_0123456789' }).subscribe({ error: resolve, complete: () => resolve(null) })
  setTimeout(() => { sub.unsubscribe(); resolve('no error in 10 s') }, 10_000)
})
const text = (value: unknown) => { try { return `${String(value)} ${JSON.stringify(value)}` } catch { return String(value) } }
const kept = text(failure).includes(reason)
const inLog = logged.some((l) => l.includes(reason))
row({ item: '11', measure: 'fatal 401 with a body ("token expired: …"), default logger',
  figure: `the error ${kept ? 'keeps' : 'drops'} the body; ${logged.length} log lines${inLog ? ', with the body' : ''}`,
  target: 'body kept in the error and logged by default', pass: kept && inLog })
for (const res of open) res.destroy()
server.close()
process.exit(0)
