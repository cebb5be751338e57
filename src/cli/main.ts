/**
 * The `autoplay-rx` command's arguments: the help, each command's flags parsed and checked, then the
 * command run from its own file. Exit codes (docs/cli.md): 0 done, 1 a runtime failure, 2 bad usage.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { CliError } from './errors.js'

const HELP: Record<string, string> = {
  main: `autoplay-rx — receive and play Autoplay connector events

Usage:
  autoplay-rx listen --port 8787 --secret S [--path /events] [--json] [--redis URL]
  autoplay-rx send --url URL --secret S [FILE…] [--count N] [--dry-run]
  autoplay-rx sign --secret S FILE
  autoplay-rx work --redis URL [--stream NAME] [--group G] [--consumer C]
  autoplay-rx demo
  autoplay-rx --version

Run "autoplay-rx <command> --help" for a command's options. Exit codes: 0 done, 1 failed, 2 bad usage.`,
  listen: `autoplay-rx listen — a local receiver that prints each delivery

Options:
  --port N            port to listen on (0 = any free port)           [8787]
  --host H            address to bind                                   [127.0.0.1]
  --secret S          shared secret; repeat for rotation ("" accepts unsigned deliveries)
  --path P            route                                             [/events]
  --json              print NDJSON ({"event":"payload"|"rejected",…}) instead of text
  --max-body-bytes N  body limit                                        [1048576]
  --redis URL         also append each accepted delivery to a Redis Stream before answering (503 if it cannot)
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

Sends FILE… (each file one JSON event), or generated events when no file is given, and prints
one line per delivery (then a summary). Retries 5xx, timeouts and network errors with backoff; 4xx never.

Options:
  --url URL           endpoint (required, but with --dry-run)
  --secret S          shared secret (required)
  --type T            generated event type: actions | summary          [actions]
  --count N           generated events, or times each FILE is sent     [1]
  --sessions K        sessions the generated events spread over         [3]
  --seed N            generator seed                                    [42]
  --concurrency C     requests in flight                                [8]
  --retries R         retries after 5xx / timeout                       [5]
  --backoff MS        first backoff, doubling                           [2000]
  --timeout MS        per-request timeout                               [10000]
  --quiet             print only the deliveries not accepted, and the summary
  --dry-run           send nothing: print the curl command of each delivery
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

type Kind = 'string' | 'boolean' | 'strings'
type Values = Record<string, string | boolean | string[] | undefined>

/**
 * Flags checked against `options`, each mistake a usage error of our own words (parseArgs' strict mode
 * writes several lines, and refuses `--count -1` rather than saying what is wrong with -1).
 */
function parse(args: string[], options: Record<string, Kind>, positionals = false) {
  const { tokens } = parseArgs({ args, strict: false, allowPositionals: true, tokens: true, options: {
    ...Object.fromEntries(Object.entries(options).map(([name, kind]) => [name, { type: kind === 'boolean' ? 'boolean' : 'string' }])),
    help: { type: 'boolean', short: 'h' },
  } })
  const values: Values = {}
  const rest: string[] = []
  for (const token of tokens) {
    if (token.kind === 'positional') {
      if (!positionals) throw new CliError(`unexpected argument "${token.value}"`)
      rest.push(token.value)
    }
    if (token.kind !== 'option') continue
    const kind = token.name === 'help' ? 'boolean' : options[token.name]
    const { rawName, value } = token
    if (kind === undefined) throw new CliError(`unknown option ${rawName}`)
    if (kind === 'boolean') {
      if (value !== undefined) throw new CliError(`${rawName} takes no value`)
      values[token.name] = true
    } else if (value === undefined || (!token.inlineValue && /^-(?!\d)/.test(value))) {
      throw new CliError(`${rawName} needs a value`)
    } else {
      values[token.name] = kind === 'strings' ? [...(values[token.name] as string[] | undefined ?? []), value] : value
    }
  }
  return { values, positionals: rest }
}

const text = (values: Values, name: string) => values[name] as string | undefined

function int(values: Values, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const value = text(values, name)
  if (value === undefined) return fallback
  const n = Number(value)
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`
    throw new CliError(`--${name} must be a whole number ${range}, got "${value}"`)
  }
  return n
}

/** A flag that must be given; `what` says what to pass. */
function required(values: Values, name: string, what: string): string {
  const value = text(values, name)
  if (value === undefined) throw new CliError(`--${name} is required: ${what}`)
  return value
}

/** A flag that must be a URL whose protocol `protocol` matches; `kind` describes it. */
function urlFlag(value: string, name: string, protocol: RegExp, kind: string): string {
  if (!URL.canParse(value) || !protocol.test(new URL(value).protocol)) throw new CliError(`--${name} must be ${kind}, got "${value}"`)
  return value
}

const HTTP_URL = [/^https?:$/, `an http:// or https:// URL such as ${URL_EXAMPLE}`] as const
const REDIS_URL = [/^rediss?:$/, `a redis:// or rediss:// URL such as ${REDIS_EXAMPLE}`] as const
const redisUrl = (values: Values) =>
  urlFlag(required(values, 'redis', `the Redis server that holds the stream, such as --redis ${REDIS_EXAMPLE}`), 'redis', ...REDIS_URL)

async function listen(args: string[]): Promise<number> {
  const { values } = parse(args, {
    port: 'string', host: 'string', secret: 'strings', path: 'string', json: 'boolean',
    'max-body-bytes': 'string', redis: 'string', stream: 'string',
  })
  if (values['help']) return help('listen')
  const secrets = (values['secret'] ?? []) as string[]
  if (secrets.length === 0) {
    throw new CliError('--secret is required: pass the secret the connector signs with (or --secret "" to accept unsigned deliveries in development)')
  }
  if (values['stream'] !== undefined && values['redis'] === undefined) {
    throw new CliError(`--stream needs --redis, the Redis server that holds the stream (such as --redis ${REDIS_EXAMPLE})`)
  }
  const path = text(values, 'path') ?? '/events'
  if (!path.startsWith('/')) throw new CliError(`--path must start with "/": use --path /${path}`)
  const options = {
    port: int(values, 'port', 8787, 0, 65535), host: text(values, 'host') ?? '127.0.0.1', secrets, path,
    json: values['json'] === true, maxBodyBytes: int(values, 'max-body-bytes', 1024 * 1024, 1),
    redisUrl: values['redis'] === undefined ? undefined : redisUrl(values), stream: text(values, 'stream') ?? 'autoplay:events',
  }
  // Loaded here: the receiver and rxjs are most of a start, and send, sign, version and help need neither.
  return (await import('./listen.js')).listenCommand(options)
}

async function work(args: string[]): Promise<number> {
  const { values } = parse(args, { redis: 'string', stream: 'string', group: 'string', consumer: 'string', 'claim-idle': 'string', json: 'boolean' })
  if (values['help']) return help('work')
  return (await import('./work.js')).workCommand({
    redisUrl: redisUrl(values), stream: text(values, 'stream') ?? 'autoplay:events', group: text(values, 'group') ?? 'autoplay-rx',
    consumer: text(values, 'consumer') ?? `worker-${process.pid}`, claimIdleMs: int(values, 'claim-idle', 30_000, 1),
    json: values['json'] === true,
  })
}

async function send(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    url: 'string', secret: 'string', type: 'string', count: 'string', sessions: 'string', concurrency: 'string', retries: 'string',
    backoff: 'string', timeout: 'string', seed: 'string', quiet: 'boolean', 'dry-run': 'boolean',
  }, true)
  if (values['help']) return help('send')
  const dryRun = values['dry-run'] === true
  const url = dryRun && values['url'] === undefined
    ? URL_EXAMPLE
    : urlFlag(required(values, 'url', `the receiver's endpoint, such as --url ${URL_EXAMPLE}`), 'url', ...HTTP_URL)
  const secret = required(values, 'secret', 'pass the secret the receiver checks signatures with')
  const type = text(values, 'type') ?? 'actions'
  if (type !== 'actions' && type !== 'summary') throw new CliError(`--type must be actions or summary, got "${type}"`)
  const count = int(values, 'count', 1, 1)
  const events = positionals.length > 0
    ? { files: positionals, times: count }
    : { type, count, sessions: int(values, 'sessions', 3, 1), seed: int(values, 'seed', 42) } as const
  return (await import('./send.js')).sendCommand({
    url, secret, events, quiet: values['quiet'] === true, dryRun,
    concurrency: int(values, 'concurrency', 8, 1), retries: int(values, 'retries', 5),
    backoffMs: int(values, 'backoff', 2000), timeoutMs: int(values, 'timeout', 10_000, 1),
  })
}

async function sign(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { secret: 'string' }, true)
  if (values['help']) return help('sign')
  const secret = required(values, 'secret', 'pass the secret to sign with')
  if (positionals.length !== 1) throw new CliError('sign takes exactly one FILE ("-" for standard input)')
  return (await import('./sign.js')).signCommand({ secret, file: positionals[0]! })
}

async function demo(args: string[]): Promise<number> {
  if (parse(args, {}).values['help']) return help('demo')
  await (await import('./demo.js')).demo()
  return 0
}

function help(topic: string): number {
  process.stdout.write(HELP[topic] + '\n')
  return 0
}

/** The installed package's version, found by self-reference: the same code runs from src/ and from dist/. */
function version(): number {
  const file = fileURLToPath(import.meta.resolve('autoplay-rx/package.json'))
  process.stdout.write((JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version + '\n')
  return 0
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = { listen, send, sign, work, demo }

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') return help('main')
    if (command === 'version' || command === '-v' || command === '--version') return version()
    const run = COMMANDS[command]
    if (!run) throw new CliError(`unknown command "${command}": the commands are listen, send, sign, work, demo and version`)
    return await run(rest)
  } catch (error) {
    if (!(error instanceof CliError)) throw error
    const see = command !== undefined && command in COMMANDS ? `autoplay-rx ${command} --help` : 'autoplay-rx --help'
    process.stderr.write(`autoplay-rx: ${error.message}${error.exitCode === 2 ? ` (see ${see})` : ''}\n`)
    return error.exitCode
  }
}
