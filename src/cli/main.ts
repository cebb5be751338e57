/**
 * The `autoplay-rx` command's arguments: the help, the flags of each command
 * parsed and checked, then the command run from its own file (listen.ts,
 * send.ts, sign.ts, work.ts, demo.ts). Exit codes: 0 success, 1 deliveries
 * refused or failed or the port taken, 2 bad usage.
 *
 * Every message about setup says what to do about it, in one line, without
 * a stack: a stack is kept for what is a bug of ours.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { CliError } from './errors.js'

const HELP: Record<string, string> = {
  main: `autoplay-rx — receive and play Autoplay connector events

Usage:
  autoplay-rx listen --port 8787 --secret S [--path /events] [--json]
  autoplay-rx send --url URL --secret S [FILE…] [--type actions|summary] [--count N] [--sessions K]
  autoplay-rx sign --secret S FILE
  autoplay-rx work --redis URL --stream NAME --group G [--consumer C]
  autoplay-rx demo
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
  demo: `autoplay-rx demo — the whole story in a few seconds (npm start)

A listener on a free port, connector-like traffic sent to it (sessions, a summary,
a forged signature, a malformed body, a retried duplicate), and an RxJS pipeline
that drops the duplicate and merges each session's batches.`,
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
  const redisUrl = values.redis === undefined ? undefined : urlFlag(values.redis, 'redis', ...REDIS_URL)
  // Loaded here, not at the top: the receiver and rxjs are most of a start, and send, sign, version and help need neither.
  const { listenCommand } = await import('./listen.js')
  return listenCommand({
    port, host, secrets, path, json: values.json ?? false, maxBodyBytes, stream: values.stream ?? 'autoplay:events',
    ...(redisUrl === undefined ? {} : { redisUrl }),
  })
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
  const { workCommand } = await import('./work.js')
  return workCommand({ redisUrl: url, stream, group, consumer, claimIdleMs, json: values.json ?? false })
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
  const times = int(values.count, 'count', 1, 1)
  const events = positionals.length > 0
    ? { files: positionals, times }
    : { type, count: int(values.count, 'count', 10, 1), sessions: int(values.sessions, 'sessions', 3, 1), seed: int(values.seed, 'seed', 42) } as const
  const { sendCommand } = await import('./send.js')
  return sendCommand({
    url, secret, events, quiet: values.quiet ?? false,
    concurrency: int(values.concurrency, 'concurrency', 8, 1), retries: int(values.retries, 'retries', 5),
    backoffMs: int(values.backoff, 'backoff', 2000), timeoutMs: int(values.timeout, 'timeout', 10_000, 1),
  })
}

async function sign(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { secret: { type: 'string' } })
  if (values.help) return help('sign')
  const secret = required(values.secret, 'secret', 'pass the secret to sign with')
  if (positionals.length !== 1) throw new CliError('sign takes exactly one FILE ("-" for standard input)')
  const { signCommand } = await import('./sign.js')
  return signCommand({ secret, file: positionals[0]! })
}

async function demo(args: string[]): Promise<number> {
  const { values } = parse(args, {})
  if (values.help) return help('demo')
  const { demo } = await import('./demo.js')
  await demo()
  return 0
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
      case 'sign': return await sign(rest)
      case 'work': return await work(rest)
      case 'demo': return await demo(rest)
      case 'version': case '-v': case '--version': return version()
      case undefined: case '-h': case '--help': case 'help': return help('main')
      default: throw new CliError(`unknown command "${command}": the commands are listen, send, sign, work, demo and version`)
    }
  } catch (error) {
    if (!(error instanceof CliError)) throw error
    const pointer = error.exitCode === 1 ? '' : `${command && HELP[command] ? `Run "autoplay-rx ${command} --help".` : 'Run "autoplay-rx --help".'}\n`
    process.stderr.write(`autoplay-rx: ${error.message}\n${pointer}`)
    return error.exitCode
  }
}
