/**
 * The slow-body attack on an HTTP adapter, at full size, in two processes:
 * a server child (one adapter, default options except a long body timeout so
 * that nothing is released during the attack) and this process as the
 * attacker, with no secret: N loopback connections each declare a body of
 * 1 MiB − 1 bytes, send all of it but the last byte, and stall. It prints the
 * server's RSS before, at the end of the attack, and its peak, and how the
 * connections were answered. Bounded: the attack stops itself after
 * `--seconds` at the latest and drops every socket.
 *
 *   node --import tsx bench/http-attack.ts [--adapter node|fastify|fetch] [--connections 4000] [--seconds 60] [--lib src]
 *
 * `--attack slow-callback [--ack after-callbacks|on-accept]`: the second
 * attack, signed this time: `--connections` (default 64) post deliveries for `--seconds`
 * to a node adapter whose callback takes 50 ms behind a 4-slot pool; it
 * prints the answers and the most callbacks ever queued (waiting or running)
 * and the heap at the end.
 *
 * `--lib` points at another copy of the library's src/ (e.g. an extract of
 * 0.1) to measure it the same way.
 *
 * `--hostile-sockets N [--seconds 40] [--adapter node|express|fastify|fetch]`: the lockout attack
 * (spec/helpers/lockout.ts) against an adapter as its docs show it, default options: N sockets from
 * 127.0.0.1 send only a head declaring 1 MiB, reopened when closed; a genuine signed delivery from
 * 127.0.0.2 every 100 ms. Ends with one JSON line: the genuine 2xx ratio and the server's RSS peak.
 */
import { fork } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect, type Socket } from 'node:net'
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]!
}
const MiB = 1024 * 1024
const adapter = arg('adapter', 'node')
const lib = resolve(arg('lib', fileURLToPath(new URL('../src', import.meta.url))))

const hostile = process.argv.includes('--hostile-sockets') ? Number(arg('hostile-sockets', '32')) : undefined
const attackKind = hostile !== undefined ? 'lockout' : arg('attack', 'slow-body')
const SECRET = 'whsec_attack_target'

if (process.argv[2] === 'server' && attackKind === 'lockout') {
  const load = (path: string) => import(pathToFileURL(`${lib}/${path}`).href)
  const { WebhookReceiver, silentLogger } = await load('index.ts')
  // The secret the genuine deliveries of spec/helpers/lockout.ts are signed with.
  const { SECRET: FIXTURE_SECRET } = await import('../spec/helpers/fixtures.js')
  const receiver = new WebhookReceiver({ secret: FIXTURE_SECRET, logger: silentLogger })
  let port: number
  if (adapter === 'fastify') {
    const { default: Fastify } = await import('fastify')
    const app = Fastify()
    await app.register((await load('adapters/fastify.ts')).createFastifyPlugin, { receiver, path: '/' })
    await app.listen({ port: 0, host: '127.0.0.1' })
    port = (app.server.address() as AddressInfo).port
  } else if (adapter === 'fetch') {
    const { serve } = await import('@hono/node-server')
    const { getConnInfo } = await import('@hono/node-server/conninfo')
    const { Hono } = await import('hono')
    const handler = (await load('adapters/web.ts')).createFetchHandler(receiver, {
      peer: (_request: Request, c: never) => getConnInfo(c).remote.address,
    })
    const app = new Hono()
    app.post('/', (c) => handler(c.req.raw, c))
    port = await new Promise<number>((r) => serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => r(info.port)))
  } else {
    const { createHardenedServer, createNodeMiddleware } = await load('adapters/node.ts')
    let server
    if (adapter === 'express') {
      const { default: express } = await import('express')
      const app = express()
      app.post('/', createNodeMiddleware(receiver))
      server = app.listen(0, '127.0.0.1')
    } else {
      server = createHardenedServer(createNodeMiddleware(receiver)).listen(0, '127.0.0.1')
    }
    await new Promise((r) => server.once('listening', r))
    port = (server.address() as AddressInfo).port
  }
  process.on('message', () => process.send!({ rss: process.memoryUsage().rss, peak: process.resourceUsage().maxRSS * 1024 }))
  process.send!({ port })
} else if (attackKind === 'lockout') {
  const { lockout } = await import('../spec/helpers/lockout.js')
  const seconds = Number(arg('seconds', '40'))
  const child = fork(fileURLToPath(import.meta.url), ['server', ...process.argv.slice(2)], { execArgv: ['--import', 'tsx'] })
  const { port } = await new Promise<{ port: number }>((r) => child.once('message', (m) => r(m as never)))
  const result = await lockout({ port, path: '/', hostile: hostile!, seconds, intervalMs: 100 })
  const end = await new Promise<{ rss: number; peak: number }>((r) => { child.once('message', (m) => r(m as never)); child.send('rss') })
  child.kill('SIGKILL')
  console.log(JSON.stringify({
    adapter, hostileSockets: hostile, seconds, genuine: result.sent, genuine2xx: result.ok,
    ratio2xx: Number((result.ok / result.sent).toFixed(4)), statuses: result.statuses, hostileOpened: result.opened,
    rssPeakMiB: Math.round(end.peak / MiB), rssEndMiB: Math.round(end.rss / MiB),
  }))
} else if (process.argv[2] === 'server') {
  const load = (path: string) => import(pathToFileURL(`${lib}/${path}`).href)
  const { WebhookReceiver, silentLogger } = await load('index.ts')
  const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
  const options: Record<string, unknown> = { bodyTimeoutMs: 600_000 }
  let queued = 0
  let peakQueued = 0
  if (attackKind === 'slow-callback') {
    options.ack = arg('ack', 'after-callbacks')
    let running = 0
    const waiting: Array<() => void> = []
    receiver.onSummary(async () => {
      peakQueued = Math.max(peakQueued, ++queued)
      if (running >= 4) await new Promise<void>((r) => waiting.push(r))
      running++
      await new Promise((r) => setTimeout(r, 50))
      running--
      queued--
      waiting.shift()?.()
    })
  }
  let port: number
  if (adapter === 'fastify') {
    const { default: Fastify } = await import('fastify')
    const fastifyAdapter = await load('adapters/fastify.ts')
    // A 0.1 copy (--lib) has only the plugin's old name.
    const plugin = fastifyAdapter.createFastifyPlugin ?? fastifyAdapter.autoplayRx
    const app = Fastify()
    await app.register(plugin, { receiver, path: '/', ...options })
    await app.listen({ port: 0, host: '127.0.0.1' })
    port = (app.server.address() as AddressInfo).port
  } else {
    let handler
    if (adapter === 'fetch') {
      const { createFetchHandler } = await load('adapters/web.ts')
      const { Readable } = await import('node:stream')
      const fetchHandler = createFetchHandler(receiver, options)
      handler = async (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
        const headers = new Headers()
        for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value)
        const response: Response = await fetchHandler(new Request(`http://127.0.0.1${req.url}`, {
          method: req.method, headers, body: Readable.toWeb(req) as ReadableStream, duplex: 'half',
        } as RequestInit))
        res.writeHead(response.status, Object.fromEntries(response.headers))
        res.end(Buffer.from(await response.arrayBuffer()))
        if (response.headers.get('connection') === 'close') res.once('finish', () => req.destroy())
      }
    } else {
      const { createNodeMiddleware } = await load('adapters/node.ts')
      handler = createNodeMiddleware(receiver, options)
    }
    const server = createServer(handler)
    server.maxConnections = Infinity
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    port = (server.address() as AddressInfo).port
  }
  process.on('message', () => process.send!({
    rss: process.memoryUsage().rss, peak: process.resourceUsage().maxRSS * 1024, heap: process.memoryUsage().heapUsed, queued, peakQueued,
  }))
  process.send!({ port })
} else if (attackKind === 'slow-callback') {
  const { request, Agent } = await import('node:http')
  const { sign } = await import(pathToFileURL(`${lib}/index.ts`).href)
  const seconds = Number(arg('seconds', '20'))
  const child = fork(fileURLToPath(import.meta.url), ['server', ...process.argv.slice(2)], { execArgv: ['--import', 'tsx'] })
  const ask = () => new Promise<{ heap: number; queued: number; peakQueued: number }>((r) => { child.once('message', (m) => r(m as never)); child.send('rss') })
  const { port } = await new Promise<{ port: number }>((r) => child.once('message', (m) => r(m as never)))
  const body = Buffer.from(JSON.stringify({ type: 'summary', product_id: 'p', session_id: 's', summary: 'slow' }))
  const headers = { 'content-type': 'application/json', 'content-length': body.length, 'x-connector-signature': sign(body, SECRET) }
  const concurrency = Number(arg('connections', '64'))
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  const statuses: Record<number, number> = {}
  const until = Date.now() + seconds * 1000
  const post = () => new Promise<void>((done) => {
    const req = request({ port, host: '127.0.0.1', method: 'POST', path: '/', agent, headers }, (res) => {
      res.resume()
      res.on('end', () => { statuses[res.statusCode!] = (statuses[res.statusCode!] ?? 0) + 1; done() })
    })
    req.on('error', () => done())
    req.end(body)
  })
  await Promise.all(Array.from({ length: concurrency }, async () => { while (Date.now() < until) await post() }))
  const end = await ask()
  agent.destroy()
  child.kill('SIGKILL')
  console.log(`lib ${lib}, slow callback (50 ms, 4-slot pool), ack ${arg('ack', 'after-callbacks')}, ${concurrency} connections for ${seconds} s`)
  console.log(`answers: ${JSON.stringify(statuses)}; callbacks queued at the end ${end.queued}, at most ${end.peakQueued}; heap used ${(end.heap / MiB).toFixed(0)} MiB`)
} else {
  const connections = Number(arg('connections', '4000'))
  const seconds = Number(arg('seconds', '60'))
  const child = fork(fileURLToPath(import.meta.url), ['server', ...process.argv.slice(2)], { execArgv: ['--import', 'tsx'] })
  const ask = () => new Promise<{ rss: number; peak: number }>((r) => { child.once('message', (m) => r(m as never)); child.send('rss') })
  const { port } = await new Promise<{ port: number }>((r) => child.once('message', (m) => r(m as never)))
  const before = await ask()
  const started = Date.now()
  const chunk = Buffer.alloc(64 * 1024, 0x20)
  const counts = { overloaded: 0, otherAnswer: 0, closed: 0 }
  const sockets: Array<{ socket: Socket; sent: () => boolean }> = []
  /** Sends the head and then all of the body but its last byte, respecting backpressure; resolves once connected. */
  const attack = () => new Promise<void>((connected) => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    let left = MiB - 2
    sockets.push({ socket, sent: () => left === 0 && socket.writableLength === 0 && !socket.destroyed })
    const pump = () => {
      while (left > 0 && !socket.destroyed) {
        const piece = left >= chunk.length ? chunk : chunk.subarray(0, left)
        left -= piece.length
        if (!socket.write(piece)) return void socket.once('drain', pump)
      }
    }
    socket.on('connect', () => {
      socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${MiB - 1}\r\nX-Connector-Signature: sha256=${'0'.repeat(64)}\r\n\r\n`)
      pump()
      connected()
    })
    socket.on('data', (d) => { text += d.toString('latin1') })
    socket.on('error', () => connected())
    socket.on('close', () => {
      if (text.includes('"code":"overloaded"')) counts.overloaded++
      else if (text !== '') counts.otherAnswer++
      else counts.closed++
    })
  })
  // Connections open 200 at a time, as fast as the server accepts them; then wait until every one is
  // either closed by the server or has sent all it will send (or the time is up).
  const until = started + seconds * 1000
  for (let i = 0; i < connections && Date.now() < until; i += 200) {
    await Promise.all(Array.from({ length: Math.min(200, connections - i) }, attack))
  }
  const settled = () => sockets.every((s) => s.socket.destroyed || s.sent())
  while (!settled() && Date.now() < until) await new Promise((r) => setTimeout(r, 250))
  await new Promise((r) => setTimeout(r, 1000)) // let the server settle
  const held = sockets.filter((s) => s.sent()).length
  const during = await ask()
  const elapsed = (Date.now() - started) / 1000
  for (const s of sockets) s.socket.destroy()
  child.kill('SIGKILL')
  const mib = (n: number) => `${(n / MiB).toFixed(0)} MiB`
  console.log(`lib ${lib}, adapter ${adapter}, ${connections} connections declaring ${MiB - 1} bytes, ${elapsed.toFixed(1)} s`)
  console.log(`server RSS before ${mib(before.rss)}, after the attack ${mib(during.rss)}, peak ${mib(during.peak)}; growth ${mib(during.rss - before.rss)} (peak ${mib(during.peak - before.rss)})`)
  console.log(`connections: ${held} held by the server with all but the last byte sent, ${counts.overloaded} answered 503 overloaded and closed, ${counts.otherAnswer} other answers, ${counts.closed} closed without an answer`)
}
