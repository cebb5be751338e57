/**
 * The lockout attack of issue 22: hostile sockets from one loopback address each send only a head
 * declaring a large body and never the body, reopened as soon as the server closes them; meanwhile
 * genuine signed deliveries from another loopback address. Used by spec/adapters/peers.spec.ts (small)
 * and bench/http-attack.ts (full size). Bounded: everything stops after `seconds`.
 */
import { request } from 'node:http'
import { connect, type Socket } from 'node:net'
import { fixture, signed } from './fixtures.js'

export interface LockoutOptions {
  readonly port: number
  readonly path: string
  /** Hostile sockets held open at once, from `hostileAddress`. */
  readonly hostile: number
  readonly seconds: number
  /** One genuine delivery every `intervalMs`, from `genuineAddress`. */
  readonly intervalMs: number
  readonly declared?: number
  readonly hostileAddress?: string
  readonly genuineAddress?: string
}

export interface LockoutResult {
  /** Genuine deliveries sent, and answered 2xx. */
  readonly sent: number
  readonly ok: number
  /** Answers to genuine deliveries by status (0: no answer, the connection failed). */
  readonly statuses: Record<number, number>
  /** Hostile sockets opened in all (reopened ones included). */
  readonly opened: number
}

export async function lockout(options: LockoutOptions): Promise<LockoutResult> {
  const { port, path, hostile, seconds, intervalMs } = options
  const declared = options.declared ?? 1024 * 1024
  const until = Date.now() + seconds * 1000
  const sockets = new Set<Socket>()
  let opened = 0
  const head = `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${declared}\r\nX-Connector-Signature: sha256=${'0'.repeat(64)}\r\n\r\n`
  const open = (): void => {
    if (Date.now() >= until) return
    opened++
    const socket = connect({ port, host: '127.0.0.1', localAddress: options.hostileAddress ?? '127.0.0.1' })
    sockets.add(socket)
    socket.on('connect', () => socket.write(head))
    socket.on('data', () => socket.destroy())
    socket.on('error', () => {})
    socket.on('close', () => {
      sockets.delete(socket)
      // Reopened at once, but not in a tight loop when the server refuses connections outright.
      setTimeout(open, 10)
    })
  }
  for (let i = 0; i < hostile; i++) open()
  await new Promise((r) => setTimeout(r, 300)) // the hostile heads are in before the first genuine delivery

  const { body, signature } = signed(fixture('actions-small'))
  const statuses: Record<number, number> = {}
  const deliveries: Array<Promise<void>> = []
  const deliver = () => new Promise<void>((done) => {
    const count = (status: number) => { statuses[status] = (statuses[status] ?? 0) + 1; done() }
    const req = request({
      port, host: '127.0.0.1', localAddress: options.genuineAddress ?? '127.0.0.2', method: 'POST', path, agent: false,
      headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-connector-signature': signature },
      timeout: 5000,
    }, (res) => {
      res.resume()
      res.on('end', () => count(res.statusCode!))
      res.on('error', () => count(0))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => count(0))
    req.end(body)
  })
  while (Date.now() < until) {
    deliveries.push(deliver())
    await new Promise((r) => setTimeout(r, intervalMs))
  }
  await Promise.all(deliveries)
  for (const socket of sockets) socket.destroy()
  // Let the close handlers run (they reopen nothing now: the time is up).
  await new Promise((r) => setTimeout(r, 20))
  const ok = Object.entries(statuses).reduce((n, [status, times]) => (Number(status) >= 200 && Number(status) < 300 ? n + times : n), 0)
  return { sent: deliveries.length, ok, statuses, opened }
}
