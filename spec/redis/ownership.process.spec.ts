/**
 * Issue 24's proof, with separate processes: signed deliveries → receivers (persist: redisAppender, 8 partitions)
 * → Redis → workers summarising each session (SessionSummarizer, acknowledged once a summary is stored in a
 * RedisContextStore). Once with one worker; once with four, one SIGKILLed mid-run and restarted, and a fifth added
 * mid-run. Each summary appends its batches' times to the last one, so a session's final summary lists every batch
 * it holds, in the order summarised: a batch summarised twice, lost or out of order shows in it.
 */
import { expect } from 'chai'
import { WebhookReceiver, silentLogger, type ActionsPayload } from '../../src/index.js'
import { createNodeMiddleware } from '../../src/adapters/node.js'
import { redisAppender, RedisContextStore } from '../../src/redis/index.js'
import { generateEvents } from '../../src/cli/generate.js'
import { sendDeliveries } from '../../src/cli/send.js'
import { SECRET } from '../helpers/fixtures.js'
import { listen, sleep } from '../helpers/http.js'
import { redisSuite, runProgram, until, type Program } from '../helpers/redis.js'

const PARTITIONS = 8
const LEASE_MS = 1500

// A worker as docs/scaling.md shows it. Its LLM is slow (40 ms) and appends the prompt's batch times to the stored
// summary; SIGTERM ends it cleanly (exit 0).
const WORKER = `
  import { createClient } from 'redis'
  import { SessionSummarizer, silentLogger } from 'autoplay-rx'
  import { fromRedisStream, RedisContextStore } from 'autoplay-rx/redis'

  const redis = createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true })
  redis.on('error', (error) => console.error('redis:', error.message))
  await redis.connect()
  const store = new RedisContextStore(redis, { prefix: process.env.PREFIX, logger: silentLogger })
  const summarizer = new SessionSummarizer({
    threshold: 1,
    formatActions: (batches) => batches.map((b) => b.session_id + '@' + b.forwarded_at).join('\\n'),
    llm: async (prompt) => {
      const lines = prompt.split('\\n').filter((l) => l.includes('@'))
      const session = lines[0].split('@')[0]
      await new Promise((resolve) => setTimeout(resolve, 40))
      const before = (await store.get(session, { includeActions: false })).replace(/^Summary: /, '')
      return [before, ...lines.map((l) => l.split('@')[1])].filter((t) => t !== '').join(',')
    },
    target: store,
    logger: silentLogger,
  })
  summarizer.errors$.subscribe((e) => console.error('summarizer:', e._tag, e.message))
  const subscription = fromRedisStream(redis, { stream: process.env.STREAM, group: 'summarizers',
    consumer: process.env.NAME, partitions: ${PARTITIONS}, leaseMs: ${LEASE_MS}, blockMs: 200, logger: silentLogger })
    .subscribe((delivery) => summarizer.add(delivery.payload, delivery))
  process.on('SIGTERM', async () => {
    subscription.unsubscribe()
    await new Promise((resolve) => setTimeout(resolve, 300))
    await redis.quit()
    process.exit(0)
  })
  console.log('ready')
`

describe('redis partitions across processes: every batch in exactly one stored summary, with workers killed and added (issue 24)', function () {
  this.timeout(120_000)
  const suite = redisSuite()
  const { name, client } = suite

  // 16 sessions × 12 batches; each session's sent one after another, 150 ms apart, as the connector does.
  const bodies = generateEvents({ type: 'actions', count: 192, sessions: 16, seed: 77, startAt: 1_700_000_000 })
  const parser = new WebhookReceiver({ secret: '', logger: silentLogger })
  const batches = bodies.map((text) => ({ text, payload: parser.parse(text) as ActionsPayload }))
  const sessions = [...new Set(batches.map((b) => b.payload.session_id!))].sort()
  const expected = new Map(sessions.map((s) => [s, batches.filter((b) => b.payload.session_id === s)
    .map((b) => String(b.payload.forwarded_at)).join(',')]))

  type Start = (name: string) => Program
  /** `first` starts the workers there are before the first delivery; `during` runs while deliveries are sent. */
  async function run(label: string, first: (start: Start) => Promise<void>, during: (stream: string, start: Start) => Promise<void>) {
    const writer = await client()
    const stream = name(label)
    const prefix = `${stream}:ctx:`
    const programs: Program[] = []
    const worker = (workerName: string) => {
      const program = runProgram(WORKER, { REDIS_URL: suite.redis.url, STREAM: stream, PREFIX: prefix, NAME: workerName }, 90_000)
      programs.push(program)
      return program
    }
    const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
    const server = await listen(createNodeMiddleware(receiver, { persist: redisAppender(writer, { stream, partitions: PARTITIONS }) }))
    try {
      const url = `http://127.0.0.1:${server.port}/`
      await first(worker)
      const sending = Promise.all(sessions.map(async (session) => {
        for (const b of batches.filter((x) => x.payload.session_id === session)) {
          const report = await sendDeliveries({ url, secret: SECRET, deliveries: [{ body: Buffer.from(b.text) }], retries: 0 })
          expect(report.statuses).to.deep.equal([200])
          await sleep(150)
        }
      }))
      await during(stream, worker)
      await sending
      const store = new RedisContextStore(writer, { prefix, logger: silentLogger })
      const texts = async () => Promise.all(sessions.map((s) => store.get(s, { includeActions: false })))
      const done = async () => (await texts()).every((t, i) => t === `Summary: ${expected.get(sessions[i]!)}`)
      await until(done, `every session summarised through its last batch (${label})`, 30_000).catch(async (error) => {
        const got = await texts()
        const wrong = sessions.map((s, i) => [s, got[i], expected.get(s)]).filter(([, g, e]) => g !== `Summary: ${e}`)
        throw new Error(`${(error as Error).message}: ${JSON.stringify(wrong.slice(0, 2))}\n${programs.map((p) => p.err()).join('\n')}`)
      })
      let pending = 0
      for (let p = 0; p < PARTITIONS; p++) {
        pending += Number((await writer.sendCommand(['XPENDING', `${stream}:{${p}}`, 'summarizers']) as unknown[])[0])
      }
      expect(pending).to.equal(0)
      const enriched = await Promise.all(sessions.map((s) => store.enrich(s, 'What next?')))
      for (const program of programs.filter((p) => p.alive())) program.kill('SIGTERM')
      const codes = await Promise.all(programs.map((p) => p.exited))
      return { enriched, codes, errors: programs.map((p) => p.err()).join('') }
    } finally {
      for (const program of programs) if (program.alive()) program.kill('SIGKILL')
      await server.close()
    }
  }

  it('one worker, then four with one SIGKILLed and restarted and a fifth added: the same summaries, 0 lost, 0 pending; a dead worker\'s partitions move within leaseMs + 2 s', async () => {
    const started = (p: Program) => until(() => p.out().includes('ready'), 'a worker ready', 45_000)
    const alone = await run('one', async (worker) => { await started(worker('solo')) }, async () => undefined)
    expect(alone.codes).to.deep.equal([0])
    expect(alone.errors).to.equal('')

    let moved = Infinity
    let victim: Program | undefined
    const many = await run('many', async (worker) => {
      victim = worker('w1')
      await Promise.all([victim, worker('w2'), worker('w3'), worker('w4')].map(started))
    }, async (stream, worker) => {
      const writer = await client()
      // A lease holds its worker's name and a token of the subscription's.
      const owner = async (p: number) => String(await writer.sendCommand(['GET', `${stream}:{${p}}:lease:summarizers`])).split('#')[0]
      await until(async () => (await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(owner))).filter((o) => o === 'w1').length === 2,
        'four workers sharing the partitions (w1 owning 2 of 8)', 10_000)
      await sleep(400)
      const held = (await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(async (p) => [p, await owner(p)] as const)))
        .filter(([, o]) => o === 'w1').map(([p]) => p)
      victim!.kill('SIGKILL')
      const killed = Date.now()
      await until(async () => (await Promise.all(held.map(owner))).every((o) => o !== 'w1' && o !== 'null'),
        'w1\'s partitions owned by others', LEASE_MS + 5000)
      moved = Date.now() - killed
      await started(worker('w1')) // back under its name: it takes a share again
      await sleep(300)
      await started(worker('w5'))
    })
    console.log(JSON.stringify({ leaseMs: LEASE_MS, ownershipMovedMs: moved }))
    expect(moved).to.be.lessThan(LEASE_MS + 2000)
    // The SIGKILLed one ended by its signal (null); every other exited cleanly on SIGTERM.
    expect(many.codes.filter((c) => c !== 0)).to.deep.equal([null])
    expect(many.errors).to.equal('')
    expect(many.enriched).to.deep.equal(alone.enriched)
  })
})
