/** A real redis-server for the specs: own process, free loopback port, no persistence; stopped (or restarted) on demand. */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { createClient } from 'redis'

export interface RedisServer {
  readonly port: number
  readonly url: string
  stop(): Promise<void>
  start(): Promise<void>
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer()
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
      await new Promise<void>((resolve, reject) => {
        let out = ''
        const deadline = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000)
        child!.stdout!.on('data', (d) => {
          out += d
          if (out.includes('Ready to accept connections')) { clearTimeout(deadline); resolve() }
        })
        child!.once('error', (e) => { clearTimeout(deadline); reject(new Error(`redis-server could not be started (is it installed? .ci/run installs it): ${e.message}`)) })
        child!.once('exit', (code) => { clearTimeout(deadline); reject(new Error(`redis-server exited with ${code}: ${out}`)) })
      })
    },
    async stop() {
      const running = child
      child = undefined
      if (!running || running.exitCode !== null) return
      await new Promise<void>((resolve) => { running.once('exit', () => resolve()); running.kill('SIGKILL') })
    },
  }
  await server.start()
  return server
}

/** A connected node-redis client that does not queue commands while disconnected (fail fast, so callers can answer 503). */
export async function connect(url: string) {
  const client = createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy: (retries) => Math.min(50 * (retries + 1), 500), connectTimeout: 2000 } })
  client.on('error', () => undefined) // reconnects are expected in the fault specs
  await client.connect()
  return client
}
