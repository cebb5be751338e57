/** A real redis-server for the specs: own process, free loopback port; stopped (SIGKILL) and restarted on demand. */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient } from 'redis'
import type { Unsubscribable } from 'rxjs'
import { WebhookReceiver, silentLogger, type Payload } from '../../src/index.js'
import { generateEvents } from '../../src/cli/generate.js'

export interface RedisServer {
  readonly port: number
  readonly url: string
  /** SIGKILL: no shutdown, no save (what a crash or an OOM kill does). */
  stop(): Promise<void>
  /** Starts it again on the same port (empty, unless it persists to a `dir`). */
  start(): Promise<void>
}

/** A port nothing listens on now (loopback). */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer()
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}

/** Starts redis-server; without persistence unless `dir` is given (then AOF, fsync on every write, so a SIGKILL loses nothing). */
export async function startRedis(options: { dir?: string } = {}): Promise<RedisServer> {
  const port = await freePort()
  const persistence = options.dir === undefined
    ? ['--save', '', '--appendonly', 'no']
    : ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', options.dir]
  let child: ChildProcess | undefined
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', ...persistence], { stdio: ['ignore', 'pipe', 'pipe'] })
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

const root = fileURLToPath(new URL('../..', import.meta.url))
/** The package's entry points (package.json `exports`), as source files. */
const entries: Record<string, string> = { '': 'index.ts', '/node': 'adapters/node.ts', '/web': 'adapters/web.ts', '/fastify': 'adapters/fastify.ts', '/redis': 'redis/index.ts', '/proactive': 'proactive/index.ts' }

/** A new folder under the repository's ignored .scratch/ (remove it when done). */
export function scratchDir(prefix: string): string {
  mkdirSync(join(root, '.scratch'), { recursive: true })
  return mkdtempSync(join(root, '.scratch', prefix))
}

/** A program running in a child process, its output collected as it comes. */
export interface Program {
  out(): string
  err(): string
  /** Whether it is still running. */
  alive(): boolean
  /** Resolves with its exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>
  kill(signal: NodeJS.Signals): void
}

/**
 * Runs TypeScript `code` as a program of its own (node --import tsx), without
 * mocha's handlers: an unhandled rejection or error there ends it, as it would
 * a user's process. `autoplay-rx` imports are pointed at src/; the file is
 * written under the repository's ignored .scratch/ so that `redis` and `rxjs`
 * resolve as in a user's project. Killed after `limitMs` whatever happens.
 */
export function runProgram(code: string, env: Record<string, string>, limitMs = 30_000): Program {
  const dir = scratchDir('program-')
  const file = join(dir, 'program.ts')
  writeFileSync(file, code.replace(/from 'autoplay-rx(\/[a-z]+)?'/g, (whole, sub: string | undefined) =>
    sub === undefined || sub in entries ? `from '${join(root, 'src', entries[sub ?? '']!)}'` : whole))
  const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d) => { out += d })
  child.stderr!.on('data', (d) => { err += d })
  const deadline = setTimeout(() => child.kill('SIGKILL'), limitMs)
  const exited = new Promise<number | null>((resolve) => child.on('close', (exitCode) => {
    clearTimeout(deadline)
    rmSync(dir, { recursive: true, force: true })
    resolve(exitCode)
  }))
  return { out: () => out, err: () => err, alive: () => child.exitCode === null && child.signalCode === null, exited, kill: (signal) => child.kill(signal) }
}

/** Resolves once `check()` (which may be async) is true, polled every 10 ms; rejects naming `what` after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Connector-like payloads, decoded as a receiver would; `seed` picks both the content and the times, so batches with different seeds do not share a `forwarded_at`. */
export function payloads(count: number, sessions = 5, seed = 1): Payload[] {
  const parser = new WebhookReceiver({ secret: '', logger: silentLogger })
  return generateEvents({ type: 'actions', count, sessions, seed, startAt: 1_700_000_000 + seed * 10_000 }).map((text) => parser.parse(text)!)
}

type Client = Awaited<ReturnType<typeof connect>>

/**
 * Registers, in the calling `describe`, one redis-server for the suite, and
 * closes after each test the clients and subscriptions it handed out.
 */
export function redisSuite() {
  let server: RedisServer | undefined
  const clients: Client[] = []
  const subscriptions: Unsubscribable[] = []
  let n = 0
  before(async () => { server = await startRedis() })
  after(async () => { await server?.stop() })
  afterEach(() => {
    for (const s of subscriptions.splice(0)) s.unsubscribe()
    for (const c of clients.splice(0)) c.destroy()
  })
  return {
    get redis(): RedisServer { return server! },
    /** A fresh key name, so tests never share a stream. */
    name: (what: string) => `${what}-${++n}`,
    /** A connected client, closed after the test. */
    client: async () => { const c = await connect(server!.url); clients.push(c); return c },
    /** Unsubscribed after the test. */
    keep: (subscription: Unsubscribable) => { subscriptions.push(subscription) },
    /** Resolves once every client of the test is connected again (after a restart). */
    reconnected: () => until(() => clients.every((c) => c.isReady), 'the clients to reconnect'),
  }
}
