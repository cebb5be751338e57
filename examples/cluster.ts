/**
 * Every core of one machine: node:cluster runs N processes behind one port,
 * each with its own receiver (a receiver holds no state that another process
 * needs, so they need not talk to each other). The primary hands each new
 * connection to the next worker. For work that must happen once per
 * delivery across processes or machines, add the Redis bridge
 * (docs/scaling.md).
 *
 *   AUTOPLAY_SECRET=… PORT=8787 WORKERS=2 node --import tsx examples/cluster.ts
 */
import cluster from 'node:cluster'
import { availableParallelism } from 'node:os'
import { WebhookReceiver } from 'autoplay-rx'
import { createHardenedServer, createNodeMiddleware } from 'autoplay-rx/node'
import { describe, describeRefusal, listening, settings, stopOn } from './common.js'

const { port, host, secret } = settings()

if (cluster.isPrimary) {
  const workers = Number(process.env.WORKERS ?? availableParallelism())
  let up = 0
  const listened = new Set<number>()
  cluster.on('listening', (worker, address) => {
    listened.add(worker.id)
    // One line once all of them listen: they share the port (PORT=0 gives them the same free one).
    if (++up === workers) listening({ address: host, port: address.port, family: 'IPv4' }, '/events')
  })
  // A worker that dies after it served is replaced: the others keep serving meanwhile, and the connector
  // retries what it lost. One that never listened (port taken, no permission) would fail again: stop instead.
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return
    if (!listened.has(worker.id)) {
      console.error(`worker ${worker.id} exited (${signal ?? code}) before it listened; stopping`)
      process.exit(1)
    }
    console.error(`worker ${worker.id} exited (${signal ?? code}); starting another`)
    cluster.fork()
  })
  for (let i = 0; i < workers; i++) cluster.fork()
  let stopping = false
  stopOn(() => {
    stopping = true
    // disconnect() is handled by cluster itself, even in a worker still starting: each worker stops taking
    // connections, finishes the requests it holds, completes its receiver and exits.
    return Promise.all(Object.values(cluster.workers ?? {}).map((worker) => new Promise((resolve) => {
      worker!.once('exit', resolve)
      worker!.disconnect()
    })))
  })
} else {
  const id = cluster.worker!.id
  const receiver = new WebhookReceiver({ secret })
  receiver.payloads$.subscribe((payload) => console.log(`worker ${id}: ${describe(payload)}`))
  receiver.rejected$.subscribe((error) => console.log(`worker ${id}: ${describeRefusal(error)}`))
  const server = createHardenedServer(createNodeMiddleware(receiver, { path: '/events' }))
  server.listen(port, host)
  // The primary stops the workers (a signal sent to the whole group, as Ctrl-C does, is the primary's to handle).
  process.on('SIGTERM', () => undefined)
  process.on('SIGINT', () => undefined)
  // Disconnected by the primary: cluster closes the server (its held requests finish); then the streams complete.
  cluster.worker!.on('disconnect', () => receiver.complete())
}
