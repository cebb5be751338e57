/**
 * The `autoplay-rx` command's arguments: each command's flags are declared once (the parser, the defaults
 * and the help all read the same table), checked, then the command runs from its own file.
 * Exit codes (docs/cli.md): 0 done, 1 a runtime failure, 2 bad usage.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { CliError } from './errors.js'

/** A flag: the name of its value in the help (none for a switch), what it does, its default; `many` repeats. */
interface Flag { readonly arg?: string; readonly help: string; readonly default?: string; readonly many?: true }

interface Command {
  readonly about: string
  /** The command line in short, for both helps; a command whose usage names FILE or ID takes positional arguments. */
  readonly usage: string
  readonly flags: Readonly<Record<string, Flag>>
  readonly note?: string
  run(args: Args): Promise<number>
}

const REDIS_EXAMPLE = 'redis://127.0.0.1:6379'
const URL_EXAMPLE = 'http://127.0.0.1:8787/events'

/** The flags of one command line as given, read through their declarations (for the defaults). */
function reader(flags: Command['flags'], values: Values, files: string[]) {
  const given = (name: string) => values[name] !== undefined
  const text = (name: string) => (values[name] ?? flags[name]?.default) as string | undefined
  /** A flag that must be given; `what` says what to pass. */
  const required = (name: string, what: string) => text(name) ?? fail(`--${name} is required: ${what}`)
  /** A required URL whose protocol `protocol` matches; `kind` and `example` say what is expected. */
  const url = (name: string, protocol: RegExp, kind: string, example: string, what: string) => {
    const value = required(name, `${what}, such as --${name} ${example}`)
    const ok = URL.canParse(value) && protocol.test(new URL(value).protocol)
    if (!ok) fail(`--${name} must be ${kind} such as ${example}, got "${value}"`)
    return value
  }
  return {
    files, given, text, required, url,
    switch: (name: string) => values[name] === true,
    list: (name: string) => (values[name] ?? []) as string[],
    int(name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
      const value = text(name)!
      const n = Number(value)
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`
      // Digits only: Number() would also take 1e3, 0x10 and ' 7 '.
      const ok = /^\d+$/.test(value) && Number.isInteger(n) && n >= min && n <= max
      if (!ok) fail(`--${name} must be a whole number ${range}, got "${value}"`)
      return n
    },
    redis: () => url('redis', /^rediss?:$/, 'a redis:// or rediss:// URL', REDIS_EXAMPLE, 'the stream\'s Redis server'),
  }
}

type Args = ReturnType<typeof reader>
type Values = Record<string, string | string[] | true>

const fail = (message: string): never => {
  throw new CliError(message)
}

/** `--partitions N`, 1 to 1024, as `redisAppender` and `fromRedisStream` take it. */
const partitionsFlag = (args: Args) => (args.given('partitions') ? args.int('partitions', 1, 1024) : undefined)

const COMMANDS: Readonly<Record<string, Command>> = {
  listen: {
    about: 'a local receiver that prints each delivery',
    usage: 'autoplay-rx listen --port 8787 --secret S [--path /events] [--json] [--redis URL]',
    flags: {
      port: { arg: 'N', help: 'port to listen on (0: any free port)', default: '8787' },
      host: { arg: 'H', help: 'address to bind', default: '127.0.0.1' },
      secret: { arg: 'S', help: 'shared secret; repeat for rotation ("" accepts unsigned deliveries)', many: true },
      path: { arg: 'P', help: 'route', default: '/events' },
      json: { help: 'print NDJSON ({"event":"payload"|"usertour_trigger"|"rejected",…}) instead of text' },
      'max-body-bytes': { arg: 'N', help: 'body limit', default: '1048576' },
      redis: { arg: 'URL', help: 'store each accepted delivery in a Redis Stream before answering (else 503)' },
      stream: { arg: 'NAME', help: 'the stream, with --redis', default: 'autoplay:events' },
      partitions: { arg: 'N', help: 'with --redis: each session to one of N streams NAME:{p} (work --partitions N)' },
    },
    note: 'Ctrl-C stops it cleanly.',
    async run(args) {
      const secret = args.list('secret')
      const unsigned = '--secret "" to accept unsigned deliveries in development'
      if (secret.length === 0) fail(`--secret is required: pass the secret the connector signs with (or ${unsigned})`)
      if (secret.length > 1 && secret.includes('')) fail(`${unsigned} is given alone, not among other secrets`)
      for (const flag of ['stream', 'partitions'].filter((f) => args.given(f) && !args.given('redis'))) {
        fail(`--${flag} needs --redis, the Redis server that holds the stream (such as --redis ${REDIS_EXAMPLE})`)
      }
      const path = args.text('path')!
      if (!path.startsWith('/')) fail(`--path must start with "/": use --path /${path}`)
      const options = {
        port: args.int('port', 0, 65535), host: args.text('host')!, secret, path, json: args.switch('json'),
        maxBodyBytes: args.int('max-body-bytes', 1), redisUrl: args.given('redis') ? args.redis() : undefined,
        stream: args.text('stream')!, partitions: partitionsFlag(args),
      }
      // Loaded here: the receiver and rxjs are most of a start, and send, sign, version and help need neither.
      return (await import('./listen.js')).listenCommand(options)
    },
  },
  send: {
    about: 'sign and POST events exactly as the connector does',
    usage: 'autoplay-rx send --url URL --secret S [FILE…] [--count N] [--dry-run]   (no FILE: generated events)',
    flags: {
      url: { arg: 'URL', help: 'the receiver\'s endpoint (required, but with --dry-run)' },
      secret: { arg: 'S', help: 'shared secret (required)' },
      type: { arg: 'T', help: 'generated event type: actions | summary | usertour_trigger', default: 'actions' },
      count: { arg: 'N', help: 'generated events, or times each FILE is sent', default: '1' },
      sessions: { arg: 'K', help: 'sessions the generated events spread over', default: '3' },
      seed: { arg: 'N', help: 'generator seed', default: '42' },
      concurrency: { arg: 'C', help: 'requests in flight', default: '8' },
      retries: { arg: 'R', help: 'retries after a 5xx, a timeout or a network error (never a 4xx)', default: '5' },
      backoff: { arg: 'MS', help: 'first backoff, doubling', default: '2000' },
      timeout: { arg: 'MS', help: 'per-request timeout', default: '10000' },
      quiet: { help: 'print only the deliveries not accepted, and the summary' },
      'dry-run': { help: 'send nothing: print the curl command of each delivery' },
    },
    note: 'One line per delivery, then a summary of several. Exits 1 when any delivery ends refused or failed.',
    async run(args) {
      const dryRun = args.switch('dry-run')
      const url = dryRun && !args.given('url')
        ? URL_EXAMPLE
        : args.url('url', /^https?:$/, 'an http:// or https:// URL', URL_EXAMPLE, 'the receiver\'s endpoint')
      const secret = args.required('secret', 'pass the secret the receiver checks signatures with')
      const type = args.text('type')
      if (type !== 'actions' && type !== 'summary' && type !== 'usertour_trigger') {
        return fail(`--type must be actions, summary or usertour_trigger, got "${type}"`)
      }
      const count = args.int('count', 1)
      const events = args.files.length > 0
        ? { files: args.files, times: count }
        : { type, count, sessions: args.int('sessions', 1), seed: args.int('seed', 0) } as const
      return (await import('./send.js')).sendCommand({
        url, secret, events, quiet: args.switch('quiet'), dryRun, concurrency: args.int('concurrency', 1),
        retries: args.int('retries', 0), backoffMs: args.int('backoff', 0), timeoutMs: args.int('timeout', 1),
      })
    },
  },
  sign: {
    about: 'print the X-Connector-Signature value of a body',
    usage: 'autoplay-rx sign --secret S FILE   (FILE "-" reads standard input)',
    flags: { secret: { arg: 'S', help: 'the secret to sign with (required)' } },
    async run(args) {
      const secret = args.required('secret', 'pass the secret to sign with')
      if (args.files.length !== 1) fail('sign takes exactly one FILE ("-" for standard input)')
      return (await import('./sign.js')).signCommand({ secret, file: args.files[0]! })
    },
  },
  work: {
    about: 'consume a Redis Stream through a consumer group and print each delivery',
    usage: 'autoplay-rx work --redis URL [--stream NAME] [--group G] [--consumer C] [--partitions N]',
    flags: {
      redis: { arg: 'URL', help: 'Redis server (required)' },
      stream: { arg: 'NAME', help: 'stream key', default: 'autoplay:events' },
      group: { arg: 'G', help: 'consumer group (created if missing)', default: 'autoplay-rx' },
      consumer: { arg: 'C', help: 'this worker\'s name, stable across restarts', default: 'worker-<pid>' },
      'claim-idle': { arg: 'MS', help: 'claim entries another worker left pending this long', default: '30000' },
      partitions: { arg: 'N', help: 'read the N streams of listen --partitions N, each by one worker at a time' },
      json: { help: 'print NDJSON instead of text' },
    },
    note: 'Each entry is printed, then acknowledged. Ctrl-C stops it cleanly.',
    async run(args) {
      return (await import('./work.js')).workCommand({
        redisUrl: args.redis(), stream: args.text('stream')!, group: args.text('group')!,
        consumer: args.given('consumer') ? args.text('consumer')! : `worker-${process.pid}`,
        claimIdleMs: args.int('claim-idle', 1), json: args.switch('json'),
        partitions: partitionsFlag(args),
      })
    },
  },
  dead: {
    about: 'list, show or replay the entries fromRedisStream dead-lettered (<stream>:dead)',
    usage: 'autoplay-rx dead list|show ID|replay ID|replay --all --redis URL [--stream NAME]',
    flags: {
      redis: { arg: 'URL', help: 'Redis server (required)' },
      stream: { arg: 'NAME', help: 'the stream whose dead letters these are', default: 'autoplay:events' },
      count: { arg: 'N', help: 'dead letters listed, oldest first', default: '100' },
      all: { help: 'replay every dead letter' },
      json: { help: 'print NDJSON instead of text' },
      timeout: { arg: 'MS', help: 'how long to wait for Redis to connect, then to answer', default: '10000' },
    },
    note: 'replay adds the original fields to the stream and deletes the dead letter, in one step.',
    async run(args) {
      const [action, id, ...rest] = args.files
      if (action !== 'list' && action !== 'show' && action !== 'replay') {
        const got = action === undefined ? 'nothing' : `"${action}"`
        return fail(`dead takes list, show ID or replay ID|--all, got ${got}`)
      }
      const wanted = action === 'show' || (action === 'replay' && !args.switch('all'))
      const takes = `${wanted ? 'one ID' : 'no ID'}${action === 'replay' ? ' (or --all)' : ''}`
      if (rest.length > 0 || (id !== undefined) !== wanted) fail(`dead ${action} takes ${takes}`)
      if (id !== undefined && !/^\d+-\d+$/.test(id)) fail(`ID must be an id such as 1700000000000-0, got "${id}"`)
      return (await import('./dead.js')).deadCommand({
        redisUrl: args.redis(), stream: args.text('stream')!, action, id, count: args.int('count', 1),
        json: args.switch('json'), timeoutMs: args.int('timeout', 1),
      })
    },
  },
  demo: {
    about: 'the whole story in a few seconds (npm start)',
    usage: 'autoplay-rx demo',
    flags: {},
    note: 'A listener on a free port, connector-like traffic sent to it (sessions, a summary, a forged signature,\n' +
      'a malformed body, a retried duplicate), and an RxJS pipeline that drops the duplicate and merges batches.',
    async run() {
      await (await import('./demo.js')).demo()
      return 0
    },
  },
}

const COMMAND_NAMES = Object.keys(COMMANDS).join(', ')

const MAIN_HELP = ['autoplay-rx — receive and play Autoplay connector events', '', 'Usage:',
  ...Object.values(COMMANDS).map(({ usage }) => `  ${usage}`), '  autoplay-rx --version', '',
  'Run "autoplay-rx <command> --help" for its options. Exit codes: 0 done, 1 failed, 2 bad usage.'].join('\n')

function helpOf(name: string, { about, usage, flags, note }: Command): string {
  const rows = Object.entries(flags).map(([flag, { arg, help, default: fallback }]) =>
    `  ${`--${flag}${arg ? ` ${arg}` : ''}`.padEnd(20)}${help}${fallback === undefined ? '' : ` [${fallback}]`}`)
  return [`autoplay-rx ${name} — ${about}`, '', `Usage: ${usage}`, '', 'Options:', ...rows,
    `  ${'-h, --help'.padEnd(20)}this help`, ...(note ? ['', note] : [])].join('\n')
}

/**
 * Flags checked against their declarations, each mistake a usage error in our own words (strict parseArgs
 * writes several lines, and refuses `--count -1` instead of saying what is wrong with -1).
 */
function parse({ flags, usage }: Command, argv: string[]): Args | 'help' {
  const types = Object.entries(flags).map(([name, { arg }]) => [name, { type: arg ? 'string' : 'boolean' } as const])
  const options = Object.fromEntries(types)
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true })
  const values: Values = {}
  const files: string[] = []
  for (const token of tokens) {
    if (token.kind === 'positional' && !/FILE|ID/.test(usage)) fail(`unexpected argument "${token.value}"`)
    if (token.kind === 'positional') files.push(token.value)
    if (token.kind !== 'option') continue
    const { name, rawName, value } = token
    if (rawName === '-h' || rawName === '--help') return 'help'
    const flag = flags[name]
    if (flag === undefined || rawName !== `--${name}`) return fail(`unknown option ${rawName}`)
    if (!flag.arg && value !== undefined) fail(`${rawName} takes no value`)
    // A value that looks like a flag is a flag: `--secret --url x` misses its secret (a negative number is a value).
    const missing = value === undefined || (!token.inlineValue && /^-(?!\d)/.test(value))
    if (flag.arg && missing) fail(`${rawName} needs a value`)
    const previous = (values[name] ?? []) as string[]
    values[name] = !flag.arg || value === undefined ? true : flag.many ? [...previous, value] : value
  }
  return reader(flags, values, files)
}

/** The installed package's version, found by self-reference: the same code runs from src/ and from dist/. */
function version(): string {
  const file = fileURLToPath(import.meta.resolve('autoplay-rx/package.json'))
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version
}

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  const command = name === undefined ? undefined : COMMANDS[name]
  try {
    if (name === undefined || ['-h', '--help', 'help'].includes(name)) process.stdout.write(`${MAIN_HELP}\n`)
    else if (['version', '-v', '--version'].includes(name)) process.stdout.write(`${version()}\n`)
    else if (!command) fail(`unknown command "${name}": the commands are ${COMMAND_NAMES} and version`)
    else {
      const args = parse(command, rest)
      if (args !== 'help') return await command.run(args)
      process.stdout.write(`${helpOf(name, command)}\n`)
    }
    return 0
  } catch (error) {
    if (!(error instanceof CliError)) throw error
    const see = command ? `autoplay-rx ${name} --help` : 'autoplay-rx --help'
    process.stderr.write(`autoplay-rx: ${error.message}${error.exitCode === 2 ? ` (see ${see})` : ''}\n`)
    return error.exitCode
  }
}
