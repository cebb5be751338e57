/**
 * The `autoplay-rx` command: `listen` (a local receiver), `send` (plays the
 * connector), `sign` (prints a signature header). Exit codes: 0 success,
 * 1 deliveries refused or failed, 2 bad usage.
 */
import { readFileSync } from 'node:fs'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { sign } from '../signature.js'
import { generateEvents } from './generate.js'
import { startListener } from './listen.js'
import { percentile, sendDeliveries, type Delivery, type SendReport } from './send.js'

const HELP: Record<string, string> = {
  main: `autoplay-rx — receive and play Autoplay connector events

Usage:
  autoplay-rx listen --port 8787 --secret S [--path /events] [--json]
  autoplay-rx send --url URL --secret S [FILE…] [--type actions|summary] [--count N] [--sessions K]
  autoplay-rx sign --secret S FILE
  autoplay-rx work --redis URL --stream NAME --group G [--consumer C]

Run "autoplay-rx <command> --help" for a command's options.`,
  listen: `autoplay-rx listen — a local receiver that prints each delivery

Options:
  --port N            port to listen on (0 = any free port)           [8787]
  --host H            address to bind                                   [127.0.0.1]
  --secret S          shared secret; repeat for rotation ("" accepts unsigned deliveries)
  --path P            route                                             [/events]
  --json              print NDJSON ({"event":"payload"|"rejected",…}) instead of text
  --max-body-bytes N  body limit                                        [1048576]
  --redis URL         also append each accepted delivery to a Redis Stream, answering
                      only once it is stored (503 when Redis cannot take it)
  --stream NAME       the stream, with --redis                          [autoplay:events]
  -h, --help          this help

Ctrl-C stops it cleanly.`,
  work: `autoplay-rx work — consume a Redis Stream through a consumer group and print each delivery

Options:
  --redis URL         Redis server (required)
  --stream NAME       stream key                                        [autoplay:events]
  --group G           consumer group (created if missing)               [autoplay-rx]
  --consumer C        this worker's name, stable across restarts        [worker-<pid>]
  --claim-idle MS     claim entries another worker left pending this long [30000]
  --json              print NDJSON instead of text
  -h, --help          this help

Each entry is printed, then acknowledged. Ctrl-C stops it cleanly.`,
  send: `autoplay-rx send — sign and POST events exactly as the connector does

Sends FILE… (each file one JSON event), or generated events when no file is given.
Headers: Content-Type: application/json, X-Connector-Signature: sha256=<hex>, Authorization: Bearer <secret>.
Retries like the connector: 5xx, timeouts and network errors with exponential backoff; 4xx never.

Options:
  --url URL           endpoint (required)
  --secret S          shared secret (required)
  --type T            generated event type: actions | summary          [actions]
  --count N           generated events, or times each FILE is sent     [10 generated, 1 per file]
  --sessions K        sessions the generated events spread over         [3]
  --concurrency C     requests in flight                                [8]
  --retries R         retries after 5xx / timeout                       [5]
  --backoff MS        first backoff, doubling                           [2000]
  --timeout MS        per-request timeout                               [10000]
  --seed N            generator seed                                    [42]
  --quiet             no progress line
  -h, --help          this help

Exits 1 when any delivery ends refused or failed.`,
  sign: `autoplay-rx sign — print the X-Connector-Signature value of a body

Usage: autoplay-rx sign --secret S FILE   (FILE "-" reads standard input)`,
}

class UsageError extends Error {}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

function int(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number ≥ ${min}, got "${value}"`)
  return n
}

function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new UsageError(`--${name} is required`)
  return value
}

async function listen(args: string[]): Promise<number> {
  const { values } = parse(args, {
    port: { type: 'string' }, host: { type: 'string' }, secret: { type: 'string', multiple: true },
    path: { type: 'string' }, json: { type: 'boolean' }, 'max-body-bytes': { type: 'string' },
    redis: { type: 'string' }, stream: { type: 'string' },
  })
  if (values.help) return help('listen')
  if (values.stream !== undefined && values.redis === undefined) throw new UsageError('--stream needs --redis')
  const secrets = values.secret ?? []
  if (secrets.length === 0) throw new UsageError('--secret is required (use --secret "" to accept unsigned deliveries in development)')
  const path = values.path ?? '/events'
  if (!path.startsWith('/')) throw new UsageError(`--path must start with "/", got "${path}"`)
  const redis = values.redis === undefined ? undefined : await connectRedis(values.redis)
  const stream = values.stream ?? 'autoplay:events'
  try {
    const listener = await startListener({
      port: int(values.port, 'port', 8787), host: values.host ?? '127.0.0.1',
      secret: secrets.length === 1 ? secrets[0]! : secrets, path, json: values.json ?? false,
      maxBodyBytes: int(values['max-body-bytes'], 'max-body-bytes', 1024 * 1024, 1),
      ...(redis ? { persist: (await import('../redis/stream.js')).redisAppender(redis, { stream }) } : {}),
    })
    process.stderr.write(`listening on ${listener.url}${redis ? ` → Redis stream ${stream}` : ''} (Ctrl-C to stop)\n`)
    await untilInterrupted()
    await listener.close()
  } finally {
    await redis?.close()
  }
  process.stderr.write('stopped\n')
  return 0
}

async function work(args: string[]): Promise<number> {
  const { values } = parse(args, {
    redis: { type: 'string' }, stream: { type: 'string' }, group: { type: 'string' }, consumer: { type: 'string' },
    'claim-idle': { type: 'string' }, json: { type: 'boolean' },
  })
  if (values.help) return help('work')
  const url = required(values.redis, 'redis')
  const claimIdleMs = int(values['claim-idle'], 'claim-idle', 30_000, 1)
  const stream = values.stream ?? 'autoplay:events'
  const group = values.group ?? 'autoplay-rx'
  const consumer = values.consumer ?? `worker-${process.pid}`
  const redis = await connectRedis(url)
  const { fromRedisStream } = await import('../redis/stream.js')
  const { formatPayload, formatRejection } = await import('./listen.js')
  const write = (line: string) => process.stdout.write(line + '\n')
  const subscription = fromRedisStream(redis, {
    stream, group, consumer, claimIdleMs, blockMs: 1000,
    rejected: (r) => write(values.json ? JSON.stringify({ event: 'rejected', id: r.id, tag: r.error._tag, message: r.error.message }) : `${r.id} ${formatRejection(r.error)}`),
  }).subscribe((delivery) => {
    write(values.json ? JSON.stringify({ event: 'payload', id: delivery.id, payload: delivery.payload }) : `${delivery.id} ${formatPayload(delivery.payload)}`)
    delivery.ack().catch((error: unknown) => process.stderr.write(`ack of ${delivery.id} failed: ${String(error)}\n`))
  })
  process.stderr.write(`working on ${stream} as ${group}/${consumer} (Ctrl-C to stop)\n`)
  await untilInterrupted()
  subscription.unsubscribe()
  await redis.close()
  process.stderr.write('stopped\n')
  return 0
}

/** A node-redis client, loaded only when a command asks for Redis (an optional peer dependency). */
async function connectRedis(url: string) {
  let redis: typeof import('redis')
  try {
    redis = await import('redis')
  } catch {
    throw new UsageError('--redis needs the "redis" package: npm install redis')
  }
  let connected = false
  // Give up on a server that is not there at start; once connected, reconnect for ever (outages are
  // answered 503 meanwhile, and commands fail fast instead of queueing).
  const client = redis.createClient({
    url, disableOfflineQueue: true,
    socket: { reconnectStrategy: (retries: number) => (!connected && retries >= 5 ? new Error('gave up') : Math.min(100 * 2 ** retries, 2000)) },
  })
  let lastError = ''
  client.on('error', (error: Error) => {
    if (connected && error.message !== lastError) process.stderr.write(`redis: ${error.message}\n`)
    lastError = error.message
  })
  try {
    await client.connect()
    connected = true
  } catch {
    throw new UsageError(`cannot connect to ${url}: ${lastError || 'no answer'}`)
  }
  return client
}

function untilInterrupted(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); resolve() }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}

async function send(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    url: { type: 'string' }, secret: { type: 'string' }, type: { type: 'string' }, count: { type: 'string' },
    sessions: { type: 'string' }, concurrency: { type: 'string' }, retries: { type: 'string' },
    backoff: { type: 'string' }, timeout: { type: 'string' }, seed: { type: 'string' }, quiet: { type: 'boolean' },
  })
  if (values.help) return help('send')
  const url = required(values.url, 'url')
  try {
    if (!/^https?:$/.test(new URL(url).protocol)) throw new Error()
  } catch {
    throw new UsageError(`--url must be an http(s) URL, got "${url}"`)
  }
  const secret = required(values.secret, 'secret')
  const type = values.type ?? 'actions'
  if (type !== 'actions' && type !== 'summary') throw new UsageError(`--type must be actions or summary, got "${type}"`)
  let deliveries: Delivery[]
  if (positionals.length > 0) {
    const times = int(values.count, 'count', 1, 1)
    const bodies = positionals.map((file) => readInput(file))
    deliveries = Array.from({ length: times }, () => bodies.map((body) => ({ body }))).flat()
  } else {
    deliveries = generateEvents({
      type, count: int(values.count, 'count', 10, 1), sessions: int(values.sessions, 'sessions', 3, 1), seed: int(values.seed, 'seed', 42),
    }).map((text) => ({ body: Buffer.from(text) }))
  }
  const quiet = values.quiet ?? false
  const tty = process.stderr.isTTY
  let lastPrint = 0
  const report = await sendDeliveries({
    url, secret, deliveries,
    concurrency: int(values.concurrency, 'concurrency', 8, 1), retries: int(values.retries, 'retries', 5),
    backoffMs: int(values.backoff, 'backoff', 2000), timeoutMs: int(values.timeout, 'timeout', 10_000, 1),
    onProgress: (r) => {
      if (quiet) return
      const now = Date.now()
      if (r.sent < deliveries.length && now - lastPrint < 200) return
      lastPrint = now
      const line = `sent ${r.sent}/${deliveries.length}  accepted ${r.accepted}  retried ${r.retried}`
      process.stderr.write(tty ? `\r${line}` : `${line}\n`)
    },
  })
  if (!quiet && tty) process.stderr.write('\n')
  process.stdout.write(summaryOf(report) + '\n')
  return report.accepted === deliveries.length ? 0 : 1
}

/** The final summary of a send. */
export function summaryOf(report: SendReport): string {
  const rejected = Object.entries(report.rejectedByStatus).map(([status, n]) => `${status}×${n}`).join(' ') || 'none'
  const ms = (x: number) => (Number.isNaN(x) ? '-' : `${x.toFixed(1)} ms`)
  return [
    `sent ${report.sent}, accepted ${report.accepted}, rejected ${rejected}, retried ${report.retried}, failed ${report.failed}`,
    `latency p50 ${ms(percentile(report.latencies, 50))}, p99 ${ms(percentile(report.latencies, 99))}, in ${(report.durationMs / 1000).toFixed(2)} s`,
  ].join('\n')
}

function signCommand(args: string[]): number {
  const { values, positionals } = parse(args, { secret: { type: 'string' } })
  if (values.help) return help('sign')
  const secret = required(values.secret, 'secret')
  if (positionals.length !== 1) throw new UsageError('sign takes exactly one FILE ("-" for standard input)')
  process.stdout.write(sign(readInput(positionals[0]!), secret) + '\n')
  return 0
}

function readInput(file: string): Buffer {
  try {
    return readFileSync(file === '-' ? 0 : file)
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
}

function help(topic: string): number {
  process.stdout.write(HELP[topic] + '\n')
  return 0
}

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'listen': return await listen(rest)
      case 'send': return await send(rest)
      case 'sign': return signCommand(rest)
      case 'work': return await work(rest)
      case undefined: case '-h': case '--help': case 'help': return help('main')
      default: throw new UsageError(`unknown command "${command}"`)
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`autoplay-rx: ${error.message}\n${command && HELP[command] ? `Run "autoplay-rx ${command} --help".` : 'Run "autoplay-rx --help".'}\n`)
    return 2
  }
}
