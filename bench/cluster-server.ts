/**
 * N processes behind one port, as `node:cluster` runs them: the primary
 * forks N workers, each running one server of bench/http-server.ts with its
 * own receiver, and the primary hands them the connections (round-robin,
 * Node's default on Linux). `node --import tsx bench/cluster-server.ts KIND N`.
 *
 * Prints the shared port once every worker listens. Asked `count` over IPC,
 * it answers the workers' deliveries and CPU time summed, plus its own CPU
 * time (handing out connections is part of the cost of the setup).
 */
import cluster, { type Worker } from 'node:cluster'
import { fileURLToPath } from 'node:url'

interface Counters { delivered: number; worked: number; cpuUs: number }

const [kind = '', n = '1'] = process.argv.slice(2)
const count = Number(n)
if (!Number.isInteger(count) || count < 1) {
  console.error('usage: cluster-server.ts KIND WORKERS')
  process.exit(2)
}
cluster.setupPrimary({ exec: fileURLToPath(new URL('./http-server.ts', import.meta.url)), args: [kind], execArgv: ['--import', 'tsx'], silent: true })
const workers: Worker[] = []
let listening = 0
cluster.on('listening', (_worker, address) => {
  if (++listening === count) process.stdout.write(`${address.port}\n`)
})
cluster.on('exit', (worker, code, signal) => {
  if (!stopping) {
    console.error(`worker ${worker.id} exited (${code ?? signal}): the cluster bench stops`)
    process.exit(1)
  }
})
for (let i = 0; i < count; i++) workers.push(cluster.fork())

const ask = (worker: Worker) => new Promise<Counters>((resolve) => {
  const reply = (m: unknown) => {
    if (typeof m !== 'object' || m === null || !('cpuUs' in m)) return
    worker.off('message', reply)
    resolve(m as Counters)
  }
  worker.on('message', reply)
  worker.send('count')
})

process.on('message', (message) => {
  if (message !== 'count') return
  void Promise.all(workers.map(ask)).then((each) => {
    const own = process.cpuUsage()
    process.send?.(each.reduce<Counters>((sum, c) => ({ delivered: sum.delivered + c.delivered, worked: sum.worked + c.worked, cpuUs: sum.cpuUs + c.cpuUs }),
      { delivered: 0, worked: 0, cpuUs: own.user + own.system }))
  })
})

let stopping = false
const stop = () => {
  stopping = true
  for (const w of workers) w.process.kill('SIGTERM')
  setTimeout(() => process.exit(0), 2000).unref()
  cluster.on('exit', () => { if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0) })
}
process.on('SIGTERM', stop)
process.on('disconnect', stop)
