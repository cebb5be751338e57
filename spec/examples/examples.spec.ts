/**
 * Every app in examples/ as a user runs it: the package built, the examples
 * type-checked against it (strict, exactOptionalPropertyTypes), each app
 * started as its own process (`node --import tsx`, 'autoplay-rx' resolving
 * to dist/ through package.json "exports"), sent signed deliveries the way
 * the connector sends them, and its output checked line by line, down to a
 * clean exit on SIGTERM.
 */
import { expect } from 'chai'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { request, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { sendDeliveries, type Delivery } from '../../src/cli/send.js'
import { sign } from '../../src/signature.js'
import { fixture, SECRET } from '../helpers/fixtures.js'
import { listen, send, sleep } from '../helpers/http.js'
import { connect, startRedis, type RedisServer } from '../helpers/redis.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const run = promisify(execFile)
/** The longest any one wait may take: generous, since the machine may be busy; a healthy run needs well under a second. */
const PATIENCE_MS = 30_000

/** `promise`, or an error naming `what` after PATIENCE_MS (the timer is cleared either way). */
async function within<T>(promise: Promise<T>, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`not within ${PATIENCE_MS} ms: ${what()}`)), PATIENCE_MS) })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Polls `probe` every 20 ms until it holds, for at most PATIENCE_MS. */
async function eventually(probe: () => boolean | Promise<boolean>, what: () => string): Promise<void> {
  const deadline = Date.now() + PATIENCE_MS
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`not within ${PATIENCE_MS} ms: ${what()}`)
    await sleep(20)
  }
}

/** The newest modification time of a file under `path`. */
function newest(path: string): number {
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))))
}

/** Builds the package unless dist/ is newer than every source (the build writes dist/cjs/package.json last). */
async function buildIfStale(): Promise<void> {
  const marker = join(root, 'dist/cjs/package.json')
  const built = existsSync(marker) ? statSync(marker).mtimeMs : 0
  const sources = Math.max(newest(join(root, 'src')), ...['package.json', 'tsconfig.json', 'tsconfig.build.json', 'tsconfig.cjs.json'].map((f) => newest(join(root, f))))
  if (built < sources) await run('npm', ['run', 'build'], { cwd: root })
}

/** A running example: its output so far, and how to wait for a line and to stop it. */
interface App {
  readonly lines: string[]
  /** The URL it printed in its `listening on …` line. */
  readonly url: string
  /** Waits (at most PATIENCE_MS) until the output satisfies `done`. */
  until(done: (lines: string[]) => boolean, what: string): Promise<void>
  /** Resolves with the exit code once it has exited by itself. */
  readonly exited: Promise<number | null>
  /** SIGTERM, then its exit code (it must exit within PATIENCE_MS). */
  stop(): Promise<number | null>
}

const children = new Set<ChildProcess>()

async function start(file: string, env: Record<string, string> = {}, ready = /^listening on (\S+)$/): Promise<App> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'examples', file)], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', AUTOPLAY_SECRET: SECRET, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  const lines: string[] = []
  let partial = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n')
    partial = parts.pop()!
    lines.push(...parts)
  })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => { children.delete(child); resolve(code) }))
  let gone = false
  void exited.then(() => { gone = true })

  const output = () => `\nstdout:\n${lines.join('\n')}\nstderr:\n${stderr}`
  const until = (done: (lines: string[]) => boolean, what: string) => eventually(() => {
    if (gone && !done(lines)) throw new Error(`${file} exited before ${what}${output()}`)
    return done(lines)
  }, () => `${file}: ${what}${output()}`)
  await until((l) => l.some((line) => ready.test(line)), String(ready))
  const url = lines.map((line) => ready.exec(line)?.[1]).find(Boolean) ?? ''
  return {
    lines, url, until, exited,
    stop: () => {
      child.kill('SIGTERM')
      return within(exited, () => `${file} exiting after SIGTERM${output()}`)
    },
  }
}

const signedDeliveries = (...names: Parameters<typeof fixture>[0][]): Delivery[] => names.map((name) => ({ body: fixture(name) }))
/** A summary signed with the wrong secret. */
const forged: Delivery = { body: fixture('summary'), signature: 'sha256=' + '0'.repeat(64) }
/** Sends one at a time, so that the example prints in the order sent. */
const deliver = async (url: string, deliveries: Delivery[]) =>
  (await sendDeliveries({ url, secret: SECRET, deliveries, concurrency: 1, retries: 0 })).statuses

const ACTIONS_SMALL = 'actions ps_abc123: 3 (Submit on team/members, Click on settings/billing, Blur on projects/:id)'
const SUMMARY = 'summary ps_abc123: The user navigated to the Dashboard, exported a CSV report, then opened account settings to update their billing plan.'
const IGNORED = 'ignored session_started'
const TRIGGER = 'usertour ps_abc123: start flow flow_42'
const FORGED = 'refused InvalidSignature: Invalid X-Connector-Signature: the signature does not match the body'

describe('examples/', function () {
  this.timeout(4 * PATIENCE_MS)

  // Most of the time here is processes starting. Once the package is built, the type-check runs
  // while the apps that need nothing but a port start one after the other (all at once, they
  // starve each other on a busy machine), and each test takes its app when it runs.
  let typeCheck: Promise<string>
  const early = new Map<string, Promise<App>>()
  const appOf = (file: string) => early.get(file) ?? start(file)
  before(async function () {
    this.timeout(120_000)
    await buildIfStale()
    typeCheck = run(join(root, 'node_modules/.bin/tsc'), ['-p', 'examples'], { cwd: root })
      .then(() => 'ok', (error: { stdout: string }) => error.stdout)
    let previous: Promise<unknown> = Promise.resolve()
    for (const file of ['node-http.ts', 'express.ts', 'fastify.ts', 'hono.ts', 'nextjs/serve.ts', 'embedding-pipeline.ts', 'chatbot-context.ts']) {
      const starting = previous.then(() => start(file))
      previous = starting.catch(() => undefined) // a failure is reported by the test that awaits it
      early.set(file, starting)
    }
  })
  after(() => { for (const child of children) child.kill('SIGKILL') })

  it('type-check against the built package (tsc -p examples: strict, exactOptionalPropertyTypes)', async () => {
    expect(await typeCheck).to.equal('ok')
  })

  it('node-http.ts prints each delivery sent by `autoplay-rx send`, each refusal, and stops cleanly', async () => {
    const app = await appOf('node-http.ts')
    const bin = join(root, 'dist/esm/cli/bin.js')
    const files = ['actions-small', 'summary', 'usertour-trigger', 'unknown-type'].map((name) => join(root, 'spec/fixtures', `${name}.json`))
    const sent = await run(process.execPath, [bin, 'send', '--url', app.url, '--secret', SECRET, '--concurrency', '1', '--retries', '0', ...files])
    expect(sent.stdout).to.include('sent 4, accepted 4, rejected none')
    const refused = await run(process.execPath, [bin, 'send', '--url', app.url, '--secret', 'not-the-secret', '--retries', '0', files[1]!])
      .then(() => 'exit 0', (error: { code: number; stdout: string }) => `exit ${error.code}: ${error.stdout.split('\n')[0]}`)
    expect(refused).to.equal(`exit 1: ${files[1]}: refused 401, invalid_signature: Invalid X-Connector-Signature: ` +
      'the signature does not match the body — does --secret match the receiver\'s secret?')
    await app.until((l) => l.length >= 6, 'six lines')
    expect(await app.stop()).to.equal(0)
    expect(app.lines).to.deep.equal([`listening on ${app.url}`, ACTIONS_SMALL, SUMMARY, TRIGGER, IGNORED, FORGED, 'stopped'])
  })

  const servers: ReadonlyArray<readonly [file: string, path: string, extra?: (app: App) => Promise<void>]> = [
    ['express.ts', '/events', async (app) => {
      // The JSON parser mounted after the webhook route still serves the app's other routes.
      const health = await send(new URL('/health', app.url).href, null, { method: 'GET' })
      expect([health.status, health.json]).to.deep.equal([200, { ok: true }])
    }],
    ['fastify.ts', '/events'],
    ['hono.ts', '/events'],
    ['nextjs/serve.ts', '/api/events', async (app) => {
      const get = await send(app.url, null, { method: 'GET' })
      expect([get.status, get.headers.allow]).to.deep.equal([405, 'POST'])
    }],
  ]
  for (const [file, path, extra] of servers) {
    it(`${file} prints each signed delivery and each refusal, and stops cleanly`, async () => {
      const app = await appOf(file)
      expect(new URL(app.url).pathname).to.equal(path)
      expect(await deliver(app.url, [...signedDeliveries('actions-small', 'summary', 'unknown-type'), forged])).to.deep.equal([200, 200, 200, 401])
      await extra?.(app)
      await app.until((l) => l.length >= 5, 'five lines')
      expect(await app.stop()).to.equal(0)
      expect(app.lines).to.deep.equal([`listening on ${app.url}`, ACTIONS_SMALL, SUMMARY, IGNORED, FORGED, 'stopped'])
    })
  }

  it('cluster.ts serves one port from two processes, each delivery by one of them, and stops both cleanly', async () => {
    const app = await start('cluster.ts', { WORKERS: '2' })
    // A new connection per delivery: the primary hands each connection to the next worker.
    const statuses: number[] = []
    for (let i = 0; i < 8; i++) {
      statuses.push(await new Promise<number>((resolve, reject) => {
        const body = fixture('summary')
        const req = request(app.url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'x-connector-signature': sign(body, SECRET) } },
          (res) => { res.resume(); res.on('end', () => resolve(res.statusCode!)) })
        req.on('error', reject)
        req.end(body)
      }))
    }
    expect(statuses).to.deep.equal(Array(8).fill(200))
    await app.until((l) => l.filter((line) => line.startsWith('worker ')).length >= 8, 'eight delivery lines')
    const delivered = app.lines.filter((line) => line.startsWith('worker '))
    expect(new Set(delivered.map((line) => line.replace(/^worker \d+: /, '')))).to.deep.equal(new Set([SUMMARY]))
    expect(new Set(delivered.map((line) => /^worker (\d+):/.exec(line)![1])).size).to.equal(2)
    expect(await app.stop()).to.equal(0)
    expect(app.lines.at(-1)).to.equal('stopped')
  })

  it('prometheus.ts serves what the receiver saw as Prometheus text on /metrics, exact counts, and stops cleanly', async () => {
    const app = await start('prometheus.ts')
    expect(await deliver(app.url, [...signedDeliveries('actions-small', 'summary', 'unknown-type'), forged])).to.deep.equal([200, 200, 200, 401])
    const scrape = await send(new URL('/metrics', app.url).href, null, { method: 'GET' })
    expect(scrape.status).to.equal(200)
    expect(scrape.headers['content-type']).to.match(/^text\/plain/)
    // Each sample as `name{label="value",…}` with its labels sorted (the exporter keeps insertion order), the scope label left out.
    const samples = new Map<string, number>()
    for (const line of scrape.text.split('\n')) {
      const sample = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line)
      if (sample === null) continue
      const labels = (sample[2] ?? '').split(/,(?=[a-z_]+=")/).filter((l) => l !== '' && !l.startsWith('otel_scope_name=')).sort()
      samples.set(`${sample[1]}{${labels.join(',')}}`, Number(sample[3]))
    }
    const scope = [...samples.keys()].filter((k) => k.startsWith('autoplay_rx_deliveries_total')).sort()
    expect(Object.fromEntries(scope.map((k) => [k, samples.get(k)]))).to.deep.equal({
      'autoplay_rx_deliveries_total{autoplay_rx_delivery_outcome="InvalidSignature"}': 1,
      'autoplay_rx_deliveries_total{autoplay_rx_delivery_outcome="UnknownEventType"}': 1,
      'autoplay_rx_deliveries_total{autoplay_rx_delivery_outcome="accepted",autoplay_rx_payload_type="actions"}': 1,
      'autoplay_rx_deliveries_total{autoplay_rx_delivery_outcome="accepted",autoplay_rx_payload_type="summary"}': 1,
    })
    expect(samples.get('autoplay_rx_http_server_request_duration_count{autoplay_rx_response_code="ok",http_response_status_code="200"}')).to.equal(2)
    expect(samples.get('autoplay_rx_http_server_request_duration_count{autoplay_rx_response_code="ignored",http_response_status_code="200"}')).to.equal(1)
    expect(samples.get('autoplay_rx_http_server_request_duration_count{autoplay_rx_response_code="invalid_signature",http_response_status_code="401"}')).to.equal(1)
    expect(samples.get('autoplay_rx_ingest_duration_count{}')).to.equal(4)
    expect(samples.get('autoplay_rx_ingest_duration_bucket{le="+Inf"}')).to.equal(4)
    expect(samples.get('autoplay_rx_budget_body_size_limit{}')).to.equal(32 * 1024 * 1024)
    expect(samples.get('autoplay_rx_callbacks_pending{}')).to.equal(0)
    await app.until((l) => l.length >= 5, 'five lines')
    expect(await app.stop()).to.equal(0)
    expect(app.lines).to.deep.equal([`listening on ${app.url}`, ACTIONS_SMALL, SUMMARY, IGNORED, FORGED, 'stopped'])
  })

  describe('sse.ts against a local connector', () => {
    const TOKEN = 'connector-token-1'
    let connector: Awaited<ReturnType<typeof listen>>
    const open = new Set<ServerResponse>()
    before(async () => {
      // Plays the connector's GET /stream/{product_id}: frames at once, then the stream stays open.
      connector = await listen((req, res) => {
        if (req.url !== '/stream/prod_abc') return void res.writeHead(404).end()
        if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(401).end()
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
        open.add(res)
        res.on('close', () => open.delete(res))
        res.write(': heartbeat\n\n')
        for (const [id, name] of [[1, 'actions-small'], [2, 'summary'], [3, 'usertour-trigger'], [4, 'unknown-type']] as const) {
          res.write(`id: ${id}\ndata: ${fixture(name).toString('utf8')}\n\n`)
        }
      })
    })
    after(() => connector.close())

    it('prints what comes pulled and what comes pushed, each with its way, and closes the SSE connection on SIGTERM', async () => {
      const app = await start('sse.ts', { CONNECTOR_URL: `http://127.0.0.1:${connector.port}/stream/prod_abc`, CONNECTOR_TOKEN: TOKEN })
      await app.until((l) => l.includes(`sse ${IGNORED}`), 'the SSE frames')
      expect(await deliver(app.url, [...signedDeliveries('summary', 'actions-small', 'usertour-trigger'), forged])).to.deep.equal([200, 200, 200, 401])
      await app.until((l) => l.length >= 10, 'the pushed deliveries')
      expect(open.size).to.equal(1)
      expect(await app.stop()).to.equal(0)
      // The HTTP server and the SSE connection open concurrently: their two lines come in either order.
      expect([...app.lines.slice(0, 2)].sort()).to.deep.equal([`listening on ${app.url}`, 'sse connected'])
      expect(app.lines.slice(2)).to.deep.equal([
        `sse ${ACTIONS_SMALL}`, `sse ${SUMMARY}`, `sse ${TRIGGER}`, `sse ${IGNORED}`,
        `push ${SUMMARY}`, `push ${ACTIONS_SMALL}`, `push ${TRIGGER}`, `push ${FORGED}`, 'stopped',
      ])
      await eventually(() => open.size === 0, () => `the SSE connection closed (${open.size} open)`)
    })

    it('exits 1 with the reason when the connector refuses the token (a fatal 401)', async () => {
      const url = `http://127.0.0.1:${connector.port}/stream/prod_abc`
      const app = await start('sse.ts', { CONNECTOR_URL: url, CONNECTOR_TOKEN: 'wrong' })
      expect(await within(app.exited, () => 'sse.ts exiting by itself')).to.equal(1)
      expect(app.lines.filter((line) => line.startsWith('sse '))).to.deep.equal([
        'sse dropped: The server answered HTTP 401 (fatal: not retried): check the token (missing, mistyped, expired or revoked)',
        `sse stopped: SSE stream ${url} refused with HTTP 401; not retried: check the token (missing, mistyped, expired or revoked)`,
      ])
    })
  })

  describe('redis/receiver.ts and redis/worker.ts against a real redis-server', () => {
    let redis: RedisServer
    before(async () => { redis = await startRedis() })
    after(() => redis?.stop())

    it('the receiver stores each delivery before answering; the worker prints each and acknowledges it', async () => {
      const env = { REDIS_URL: redis.url, STREAM: 'examples:events', GROUP: 'printers', CONSUMER: 'w1' }
      const [receiver, worker] = await Promise.all([start('redis/receiver.ts', env), start('redis/worker.ts', env, /^(working on .*)$/)])
      expect(worker.url).to.equal('working on examples:events as printers/w1')
      expect(await deliver(receiver.url, [...signedDeliveries('actions-small', 'summary', 'usertour-trigger', 'unknown-type'), forged]))
        .to.deep.equal([200, 200, 200, 200, 401])
      await worker.until((l) => l.length >= 4, 'both payloads and the trigger')
      const client = await connect(redis.url)
      try {
        // The worker acknowledges after printing: nothing may stay pending.
        let pending: unknown
        await eventually(async () => {
          pending = ((await client.sendCommand(['XPENDING', 'examples:events', 'printers'])) as unknown[])[0]
          return pending === 0
        }, () => `every entry acknowledged (${String(pending)} pending)`)
        expect(await client.sendCommand(['XLEN', 'examples:events'])).to.equal(3)
      } finally {
        await client.close()
      }
      expect(await Promise.all([receiver.stop(), worker.stop()])).to.deep.equal([0, 0])
      const id = String.raw`\d+-\d+`
      expect(receiver.lines.slice(1, -1).map((line) => line.replace(new RegExp(`^stored ${id}: `), 'stored ID: '))).to.deep.equal([
        `stored ID: ${ACTIONS_SMALL}`, `stored ID: ${SUMMARY}`, `stored ID: ${TRIGGER}`, IGNORED, FORGED,
      ])
      expect(worker.lines.slice(1)).to.deep.equal([ACTIONS_SMALL, SUMMARY, TRIGGER, 'stopped'])
      expect(receiver.lines.at(-1)).to.equal('stopped')
    })
  })

  it('embedding-pipeline.ts embeds the actions of each session in merged batches, upserts them by session, and flushes what it holds on SIGTERM', async () => {
    const app = await appOf('embedding-pipeline.ts')
    // 3 then 50 actions of one session: the 50 would take the window past maxActions (50), so the 3 go first, then the 50 at once.
    expect(await deliver(app.url, signedDeliveries('actions-small', 'actions-medium', 'summary'))).to.deep.equal([200, 200, 200])
    await app.until((l) => l.length >= 3, 'two upserts')
    // These 3 wait in their session's 5 s window; stopping flushes them (or the window closed first: the same line).
    expect(await deliver(app.url, signedDeliveries('actions-small'))).to.deep.equal([200])
    expect(await app.stop()).to.equal(0)
    expect(app.lines).to.deep.equal([
      `listening on ${app.url}`,
      'ps_abc123: upserted 3 vectors of 8 dimensions, 3 in store',
      'ps_abc123: upserted 50 vectors of 8 dimensions, 53 in store',
      'ps_abc123: upserted 3 vectors of 8 dimensions, 56 in store',
      'stopped',
    ])
  })

  it('chatbot-context.ts answers a query with the session\'s context: the newest actions, then the stand-in LLM\'s summary, which an older connector summary does not replace', async () => {
    const app = await appOf('chatbot-context.ts')
    const ask = async (question: string) => {
      const reply = await send(new URL(`/context?session=ps_abc123&product=prod_abc&q=${encodeURIComponent(question)}`, app.url).href, null, { method: 'GET' })
      expect(reply.status).to.equal(200)
      return reply.text
    }
    const url = (page: string) => `https://app.example.com/${page}`
    expect(await ask('How do I change my plan?')).to.equal('How do I change my plan?')
    expect(await deliver(app.url, signedDeliveries('actions-small'))).to.deep.equal([200])
    expect(await ask('How do I change my plan?')).to.equal([
      '[Session context]',
      'Recent activity:',
      `1. [0] submit: User did a submit on the team/members page (step 0) \u2014 ${url('team/members')}`,
      `2. [1] click: User did a click on the settings/billing page (step 1) \u2014 ${url('settings/billing')}`,
      `3. [2] blur: User did a blur on the projects/:id page (step 2) \u2014 ${url('projects/:id')}`,
      '',
      '[Query]',
      'How do I change my plan?',
    ].join('\n'))
    // 3 + 50 actions pass the threshold (10): the summarizer's summary (time 1700000175) goes in the store.
    expect(await deliver(app.url, signedDeliveries('actions-medium'))).to.deep.equal([200])
    await app.until((l) => l.includes('summarised ps_abc123 (53 actions)'), 'the summary')
    // The connector's own summary was sent earlier (1700000060): it arrives late and is not kept.
    expect(await deliver(app.url, signedDeliveries('summary'))).to.deep.equal([200])
    expect(await ask('Where is billing?')).to.equal([
      '[Session context]',
      'Summary: The user did 53 actions, from "User did a submit on the team/members page (step 0)" to "User did a focus on the dashboard page (step 49)".',
      '',
      'Recent activity:',
      `1. [47] blur: User did a blur on the settings/billing page (step 47) \u2014 ${url('settings/billing')}`,
      `2. [48] click: User did a click on the dashboard page (step 48) \u2014 ${url('dashboard')}`,
      `3. [49] focus: User did a focus on the dashboard page (step 49) \u2014 ${url('dashboard')}`,
      '',
      '[Query]',
      'Where is billing?',
    ].join('\n'))
    expect((await send(new URL('/context', app.url).href, null, { method: 'GET' })).status).to.equal(404)
    expect(await app.stop()).to.equal(0)
    expect(app.lines).to.deep.equal([
      `listening on ${app.url}`,
      'stored actions ps_abc123',
      'stored actions ps_abc123',
      'summarised ps_abc123 (53 actions)',
      'stored summary ps_abc123',
      'stopped',
    ])
  })

  it('proactive-copilot.ts offers in the chat, none while an offer is out, the next trigger once timeout and cooldown have passed, and one on dwell alone', async () => {
    const app = await start('proactive-copilot.ts')
    const template = JSON.parse(fixture('actions-small').toString('utf8')) as { actions: Record<string, unknown>[] }
    /** A batch forwarded now: one action per page, each lasting `span` seconds and ending now. */
    const batch = (session: string, pages: string[], span: number): Delivery => {
      const now = Date.now() / 1000
      const actions = pages.map((page, i) => ({
        ...template.actions[0], index: i, type: 'click', title: `Click on ${page}`, session_id: session,
        canonical_url: `https://app.example.com/${page}`, raw_url: `https://app.example.com/${page}`,
        timestamp_start: now - span * (pages.length - i), timestamp_end: now - span * (pages.length - i - 1),
      }))
      return { body: Buffer.from(JSON.stringify({ ...template, session_id: session, count: actions.length, forwarded_at: now, actions })) }
    }
    const chat = async (session: string, kind: string) =>
      (await send(new URL(`/chat?session=${session}&kind=${kind}`, app.url).href, null, { method: 'POST' })).status
    const seen = (line: string) => app.until((l) => l.includes(line), line)
    const [one, two] = ['ps_copilot_1', 'ps_copilot_2']

    // Back and forth between two pages: the ping-pong trigger offers at once; the user reads, then clicks a reply.
    expect(await deliver(app.url, [batch(one, ['settings/billing', 'team/members', 'settings/billing'], 1)])).to.deep.equal([200])
    await seen(`offer ${one} canonical_url_ping_pong: Need my expert help?`)
    await sleep(1_500)
    const clicked = Date.now()
    expect(await chat(one, 'clicked')).to.equal(204)
    // The checkout rule holds now, but an offer is out: nothing until 4 s after the click (not the offer) and 1 s of
    // cooldown; the ping-pong trigger rests 60 s, so the next in order is offered.
    expect(await deliver(app.url, [batch(one, ['checkout'], 1)])).to.deep.equal([200])
    await seen(`offer ${one} checkout_hesitation: Stuck at checkout? I can walk you through it. [Yes, help me | I am fine]`)
    expect(Date.now() - clicked).to.be.at.least(5_000)
    expect(await chat(one, 'dismissed')).to.equal(204)
    expect(await chat(one, 'waved')).to.equal(404)
    // One action on a page and nothing after: the dwell trigger's timer offers 2 s after it began, with no delivery.
    const landed = Date.now()
    expect(await deliver(app.url, [batch(two, ['pricing'], 0)])).to.deep.equal([200])
    await seen(`offer ${two} user_page_dwell: Still on this page \u2014 want a quick tip?`)
    expect(Date.now() - landed).to.be.at.least(1_990)
    expect(await chat(two, 'wrote')).to.equal(204)
    await seen(`user ${two} wrote`)
    expect(await app.stop()).to.equal(0)
    expect(app.lines).to.deep.equal([
      `listening on ${app.url}`,
      `actions ${one}: 3 (Click on settings/billing, Click on team/members, Click on settings/billing)`,
      `offer ${one} canonical_url_ping_pong: Need my expert help?`,
      `user ${one} clicked`,
      `actions ${one}: 1 (Click on checkout)`,
      `offer ${one} checkout_hesitation: Stuck at checkout? I can walk you through it. [Yes, help me | I am fine]`,
      `user ${one} dismissed`,
      `actions ${two}: 1 (Click on pricing)`,
      `offer ${two} user_page_dwell: Still on this page \u2014 want a quick tip?`,
      `user ${two} wrote`,
      'stopped',
    ])
  })
})
