/**
 * The `autoplay-rx` command: `listen` (a local receiver), `send` (plays the
 * connector), `sign` (prints a signature header), `work` (a Redis Stream
 * consumer), `version`. Exit codes: 0 success, 1 deliveries refused or
 * failed or the port taken, 2 bad usage.
 *
 * Every message about setup says what to do about it, in one line, without
 * a stack: a stack is kept for what is a bug of ours.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { sign } from '../signature.js'
import { generateEvents } from './generate.js'
import { percentile, sendDeliveries, type Delivery, type Problem, type SendReport } from './send.js'

const HELP: Record<string, string> = {
  main: `autoplay-rx — receive and play Autoplay connector events

Usage:
  autoplay-rx listen --port 8787 --secret S [--path /events] [--json]
  autoplay-rx send --url URL --secret S [FILE…] [--type actions|summary] [--count N] [--sessions K]
  autoplay-rx sign --secret S FILE
  autoplay-rx work --redis URL --stream NAME --group G [--consumer C]
  autoplay-rx --version

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

/** A failure the user can fix: printed as one line. Exit 2 (bad usage) adds a pointer to the help. */
class CliError extends Error {
  constructor(message: string, readonly exitCode: 1 | 2 = 2) {
    super(message)
  }
}

const REDIS_EXAMPLE = 'redis://127.0.0.1:6379'
const URL_EXAMPLE = 'http://127.0.0.1:8787/events'

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true })
  } catch (error) {
    throw new CliError((error as Error).message)
  }
}

function int(value: string | undefined, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new CliError(`--${name} must be a whole number ${max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`}, got "${value}"`)
  }
  return n
}

/** A flag that must be given; `what` says what to pass, the fix of the error. */
function required(value: string | undefined, name: string, what: string): string {
  if (value === undefined) throw new CliError(`--${name} is required: ${what}`)
  return value
}

/** A flag that must be a URL whose protocol `protocol` matches; `kind` describes it, with an example. */
function urlFlag(value: string, name: string, protocol: RegExp, kind: string): string {
  let ok = false
  try {
    ok = protocol.test(new URL(value).protocol)
  } catch {
    // Not a URL at all: the same message as a URL of another protocol.
  }
  if (!ok) throw new CliError(`--${name} must be ${kind}, got "${value}"`)
  return value
}

const HTTP_URL = [/^https?:$/, `an http:// or https:// URL such as ${URL_EXAMPLE}`] as const
const REDIS_URL = [/^rediss?:$/, `a redis:// or rediss:// URL such as ${REDIS_EXAMPLE}`] as const

async function listen(args: string[]): Promise<number> {
  const { values } = parse(args, {
    port: { type: 'string' }, host: { type: 'string' }, secret: { type: 'string', multiple: true },
    path: { type: 'string' }, json: { type: 'boolean' }, 'max-body-bytes': { type: 'string' },
    redis: { type: 'string' }, stream: { type: 'string' },
  })
  if (values.help) return help('listen')
  if (values.stream !== undefined && values.redis === undefined) {
    throw new CliError(`--stream needs --redis, the Redis server that holds the stream (such as --redis ${REDIS_EXAMPLE})`)
  }
  const secrets = values.secret ?? []
  if (secrets.length === 0) {
    throw new CliError('--secret is required: pass the secret the connector signs with (or --secret "" to accept unsigned deliveries in development)')
  }
  const path = values.path ?? '/events'
  if (!path.startsWith('/')) throw new CliError(`--path must start with "/": use --path /${path}`)
  const port = int(values.port, 'port', 8787, 0, 65535)
  const host = values.host ?? '127.0.0.1'
  const maxBodyBytes = int(values['max-body-bytes'], 'max-body-bytes', 1024 * 1024, 1)
  const redis = values.redis === undefined ? undefined : await connectRedis(urlFlag(values.redis, 'redis', ...REDIS_URL))
  const stream = values.stream ?? 'autoplay:events'
  // Loaded here, not at the top: the receiver and rxjs are most of a start, and send, sign, version and help need neither.
  const { startListener } = await import('./listen.js')
  try {
    const listener = await startListener({
      port, host, secret: secrets.length === 1 ? secrets[0]! : secrets, path, json: values.json ?? false, maxBodyBytes,
      ...(redis ? { persist: (await import('../redis/stream.js')).redisAppender(redis, { stream }) } : {}),
    }).catch((error: unknown) => { throw cannotListen(error, host, port) })
    process.stderr.write(`listening on ${listener.url}${redis ? ` → Redis stream ${stream}` : ''} (Ctrl-C to stop)\n`)
    await untilInterrupted()
    await listener.close()
  } finally {
    await redis?.close()
  }
  process.stderr.write('stopped\n')
  return 0
}

/** Why the server could not listen, with what to do, when it is the user's to fix; else the error as it is. */
function cannotListen(error: unknown, host: string, port: number): unknown {
  switch ((error as NodeJS.ErrnoException | null)?.code) {
    case 'EADDRINUSE': return new CliError(`port ${port} on ${host} is already in use: stop what holds it, or choose another with --port (0 picks a free one)`, 1)
    case 'EACCES': return new CliError(`no permission to listen on port ${port}: choose a port above 1023 with --port`, 1)
    case 'EADDRNOTAVAIL': return new CliError(`cannot listen on ${host}: it is not an address of this machine; use --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every interface)`, 1)
    case 'ENOTFOUND': case 'EAI_AGAIN': return new CliError(`cannot listen on ${host}: no such host; use --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every interface)`, 1)
    default: return error
  }
}

async function work(args: string[]): Promise<number> {
  const { values } = parse(args, {
    redis: { type: 'string' }, stream: { type: 'string' }, group: { type: 'string' }, consumer: { type: 'string' },
    'claim-idle': { type: 'string' }, json: { type: 'boolean' },
  })
  if (values.help) return help('work')
  const url = urlFlag(required(values.redis, 'redis', `the Redis server that holds the stream, such as --redis ${REDIS_EXAMPLE}`), 'redis', ...REDIS_URL)
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
    throw new CliError('--redis needs the "redis" package: npm install redis')
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
    throw new CliError(`cannot connect to ${url} (${lastError || 'no answer'}): is redis-server running there? Start it, or correct --redis`)
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
  const url = urlFlag(required(values.url, 'url', `the receiver's endpoint, such as --url ${URL_EXAMPLE}`), 'url', ...HTTP_URL)
  const secret = required(values.secret, 'secret', 'pass the secret the receiver checks signatures with')
  const type = values.type ?? 'actions'
  if (type !== 'actions' && type !== 'summary') throw new CliError(`--type must be actions or summary, got "${type}"`)
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
  process.stdout.write(summaryOf(report, (problem) => fixOf(problem, url)) + '\n')
  return report.accepted === deliveries.length ? 0 : 1
}

/**
 * The final summary of a send: the totals, the latency, then each distinct
 * refusal or failure once, with its count, and what to check when `fix`
 * knows.
 *
 * @param report - what {@link sendDeliveries} resolved with
 * @param fix - what to check for a problem, if anything
 * @returns lines of text, without a final newline
 * @example
 * ```ts
 * summaryOf(report)
 * // sent 3, accepted 0, rejected 401×3, retried 0, failed 0
 * // latency p50 1.1 ms, p99 2.0 ms, in 0.01 s
 * // 401×3 invalid_signature: Invalid X-Connector-Signature: the signature does not match the body
 * ```
 */
export function summaryOf(report: SendReport, fix: (problem: Problem) => string | undefined = () => undefined): string {
  const rejected = Object.entries(report.rejectedByStatus).map(([status, n]) => `${status}×${n}`).join(' ') || 'none'
  const ms = (x: number) => (Number.isNaN(x) ? '-' : `${x.toFixed(1)} ms`)
  return [
    `sent ${report.sent}, accepted ${report.accepted}, rejected ${rejected}, retried ${report.retried}, failed ${report.failed}`,
    `latency p50 ${ms(percentile(report.latencies, 50))}, p99 ${ms(percentile(report.latencies, 99))}, in ${(report.durationMs / 1000).toFixed(2)} s`,
    ...report.problems.map((problem) => {
      const { status, code, message, count } = problem
      const reason = [code, message].filter((part) => part !== null).join(': ')
      const hint = fix(problem)
      return `${status === 0 ? 'failed' : status}×${count}${reason ? ` ${reason}` : ''}${hint ? ` — ${hint}` : ''}`
    }),
  ].join('\n')
}

/** What a user of `send` should check, for the problems that have a usual cause. */
function fixOf({ status, code }: Problem, url: string): string | undefined {
  if (code === 'invalid_signature' || (status === 401 && code === null)) return 'does --secret match the receiver\'s secret?'
  if (status === 404) return 'is the path in --url the receiver\'s route?'
  if (code === 'body_too_large') return 'the receiver\'s body limit is lower (listen --max-body-bytes raises it)'
  if (code === 'ECONNREFUSED') return `is the receiver running at ${url}?`
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'is the host name in --url right?'
  if (code === 'ETIMEDOUT') return 'is the receiver stuck, or should --timeout be longer?'
  return undefined
}

function signCommand(args: string[]): number {
  const { values, positionals } = parse(args, { secret: { type: 'string' } })
  if (values.help) return help('sign')
  const secret = required(values.secret, 'secret', 'pass the secret to sign with')
  if (positionals.length !== 1) throw new CliError('sign takes exactly one FILE ("-" for standard input)')
  process.stdout.write(sign(readInput(positionals[0]!), secret) + '\n')
  return 0
}

function readInput(file: string): Buffer {
  try {
    return readFileSync(file === '-' ? 0 : file)
  } catch (error) {
    throw new CliError(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): check the path`)
  }
}

function help(topic: string): number {
  process.stdout.write(HELP[topic] + '\n')
  return 0
}

/**
 * The installed package's version, from its own package.json: found by
 * self-reference (package.json is in "exports"), so the same code works
 * from src/ through tsx and from dist/ in the installed package.
 */
function version(): number {
  const file = fileURLToPath(import.meta.resolve('autoplay-rx/package.json'))
  process.stdout.write((JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version + '\n')
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
      case 'version': case '-v': case '--version': return version()
      case undefined: case '-h': case '--help': case 'help': return help('main')
      default: throw new CliError(`unknown command "${command}": the commands are listen, send, sign, work and version`)
    }
  } catch (error) {
    if (!(error instanceof CliError)) throw error
    const pointer = error.exitCode === 1 ? '' : `${command && HELP[command] ? `Run "autoplay-rx ${command} --help".` : 'Run "autoplay-rx --help".'}\n`
    process.stderr.write(`autoplay-rx: ${error.message}\n${pointer}`)
    return error.exitCode
  }
}
