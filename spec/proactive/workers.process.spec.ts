/**
 * Issue 25's "across workers", with separate processes: batches of a few sessions, each making the ping-pong rule
 * match, go through a partitioned stream to two workers running `proactive` with `redisProactiveState`. One offer
 * per session per interval across both, no offer twice, and after the owner of a session that was just offered is
 * SIGKILLed, the other takes its partitions over (rebuilding the windows from the pending entries, loading the
 * sessions' gating) without offering again inside the interval; 4 s later the dead one comes back under its name
 * and is given them back (the other's partitions move: their signal aborts, its sessions are dropped). Then a worker
 * cut off from Redis for longer than a lease (its bytes held up, as a network partition does) offers nothing beside
 * the one that takes its sessions over.
 */
import { expect } from 'chai'
import { createConnection, createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { redisAppender } from '../../src/redis/index.js'
import { sleep } from '../helpers/http.js'
import { redisSuite, runProgram, until, type Program } from '../helpers/redis.js'
import { action, batch } from './helpers.js'

const PARTITIONS = 4
const LEASE_MS = 1000
const INTERVAL = 3 // minIntervalSeconds: the offers of a session are at least this far apart

// A worker: each offer printed as a line of JSON (stdout on a pipe is written at once on Linux, so a SIGKILL loses
// none printed). Without `state` (STATE=off) the survivor offers again about 1 s after the kill.
const WORKER = `
  import { createClient } from 'redis'
  import { silentLogger } from 'autoplay-rx'
  import { fromRedisStream } from 'autoplay-rx/redis'
  import { pingPongTrigger, predicateTrigger, proactive, redisProactiveState } from 'autoplay-rx/proactive'

  const redis = createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true })
  redis.on('error', (error) => console.error('redis:', error.message))
  await redis.connect()
  const state = process.env.STATE === 'off' ? undefined : redisProactiveState(redis, { prefix: process.env.PREFIX })
  // Ping-pong, saying where its window starts: a window rebuilt after a move starts before the move.
  const pingPong = pingPongTrigger()
  const trigger = predicateTrigger({ id: 'ping_pong', body: 'Need help?', interactionTimeoutSeconds: 0.5,
    cooldownSeconds: 1, when: (context, now) => pingPong.evaluate(context, now) !== undefined,
    metadata: (context) => ({ since: context.actions[0].timestamp_start }) })
  const subscription = fromRedisStream(redis, { stream: process.env.STREAM, group: 'offers', consumer: process.env.NAME,
    partitions: ${PARTITIONS}, leaseMs: ${LEASE_MS}, blockMs: 200, logger: silentLogger })
    .pipe(proactive({ triggers: [trigger], state, minIntervalSeconds: ${INTERVAL}, cooldownSeconds: 1,
      lookbackSeconds: 5, logger: silentLogger }))
    .subscribe((offer) => console.log(JSON.stringify({ worker: process.env.NAME, session: offer.sessionId,
      offerId: offer.offerId, at: offer.at, since: offer.metadata.since })))
  process.on('SIGTERM', async () => {
    subscription.unsubscribe()
    await new Promise((resolve) => setTimeout(resolve, 300))
    await redis.quit()
    process.exit(0)
  })
  console.log('ready')
`

interface Offer {
  readonly worker: string
  readonly session: string
  readonly offerId: string
  readonly at: number
  /** When the window it was found in starts. */
  readonly since: number
}
const offersOf = (program: Program): Offer[] =>
  program.out().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Offer)

describe('proactive across worker processes: one offer per interval, none twice, a SIGKILLed owner taken over (issue 25)', function () {
  this.timeout(90_000)
  const suite = redisSuite()
  const { name, client } = suite

  /** Six sessions, a ping-pong batch each every 250 ms for `seconds`; the owner of the first offer killed after it. */
  async function run(label: string, env: Record<string, string> = {}) {
    const writer = await client()
    const stream = name(label)
    const append = redisAppender(writer, { stream, partitions: PARTITIONS })
    const start = (worker: string) => runProgram(WORKER, { REDIS_URL: suite.redis.url, STREAM: stream,
      PREFIX: `${stream}:state:`, NAME: worker, ...env }, 60_000)
    const names = ['w1', 'w2']
    const workers = names.map(start)
    try {
      await Promise.all(workers.map((w) => until(() => w.out().includes('ready'), 'a worker ready', 20_000)))
      const owner = async (p: number) => String(await writer.sendCommand(['GET', `${stream}:{${p}}:lease:offers`]))
      await until(async () => new Set(await Promise.all([0, 1, 2, 3].map(owner))).size === 2, 'both workers owning partitions', 10_000)
      const sessions = ['s1', 's2', 's3', 's4', 's5', 's6']
      let n = 0
      let killed: { victim: string; at: number } | undefined
      let back: number | undefined
      let counts: number[] | undefined
      let restarted: Program | undefined
      let backOffered: number | undefined
      const sending = Date.now()
      // Until the one back has offered and one more interval passed (at most 30 s, then 'offers once back' fails).
      while (Date.now() - sending < 30_000 && !(backOffered !== undefined && Date.now() - backOffered > 3500)) {
        for (const session of sessions) {
          const now = Date.now() / 1000
          n++
          const actions = ['/a', '/b', '/a'].map((url, i) => ({ ...action(n * 3 + i, url, now, now), session_id: session }))
          await append(batch(now, actions, { session_id: session }))
        }
        // Past 2 s, the first worker to print a new offer is killed at once: its sessions move inside their interval.
        if (Date.now() - sending > 2000) counts ??= workers.map((w) => offersOf(w).length)
        const fresh = workers.find((w, i) => counts !== undefined && offersOf(w).length > counts[i]!)
        if (killed === undefined && fresh !== undefined) {
          fresh.kill('SIGKILL')
          killed = { victim: names[workers.indexOf(fresh)]!, at: Date.now() / 1000 }
        }
        // 4 s later it comes back under its name: the other gives its partitions up (their signal aborts).
        if (killed !== undefined && back === undefined && Date.now() / 1000 > killed.at + 4) {
          workers.push(restarted = start(killed.victim))
          back = Date.now() / 1000
        }
        if (restarted !== undefined && backOffered === undefined && offersOf(restarted).length > 0) backOffered = Date.now()
        await sleep(250)
      }
      await sleep(1000)
      for (const w of workers) if (w.alive()) w.kill('SIGTERM')
      const codes = await Promise.all(workers.map((w) => w.exited))
      return { offers: workers.flatMap(offersOf), killed: killed!, back: back!, codes, sessions,
        errors: workers.map((w) => w.err()).join('') }
    } finally {
      for (const w of workers) if (w.alive()) w.kill('SIGKILL')
    }
  }

  /** For each session its offers by time, and the shortest gap between two of them. */
  const gaps = (offers: Offer[]) => {
    const bySession = new Map<string, Offer[]>()
    for (const offer of [...offers].sort((a, b) => a.at - b.at)) bySession.set(offer.session, [...bySession.get(offer.session) ?? [], offer])
    const shortest = Math.min(...[...bySession.values()].flatMap((list) => list.slice(1).map((o, i) => o.at - list[i]!.at)))
    return { bySession, shortest }
  }

  it('offers each session once per interval across both, no offer id twice; the owner SIGKILLed right after an offer: the other goes on without offering again inside the interval, and gives the sessions back when it returns', async () => {
    const { offers, killed, back, codes, sessions, errors } = await run('state')
    expect(errors).to.equal('')
    expect(codes.sort()).to.deep.equal([0, 0, null])
    expect(new Set(offers.map((o) => o.offerId)).size, 'offer ids').to.equal(offers.length)
    const { bySession, shortest } = gaps(offers)
    expect(shortest, 'shortest gap between two offers of a session (s)').to.be.at.least(INTERVAL - 0.01)
    // The rule matched on every batch: each session was offered to again after each interval, by one worker or the other.
    for (const session of sessions) expect(bySession.get(session)?.length ?? 0, session).to.be.at.least(2)
    // The victim's sessions went on at the survivor after the kill, and at the victim again once it was back.
    const victim = new Set(offers.filter((o) => o.worker === killed.victim && o.at < killed.at).map((o) => o.session))
    const between = offers.filter((o) => o.at > killed.at && o.at < back && victim.has(o.session))
    expect(between.length, 'offers of the victim\'s sessions after the kill').to.be.greaterThan(0)
    expect(between.every((o) => o.worker !== killed.victim)).to.equal(true)
    // Each window there was rebuilt from the entries the victim held: it starts before the victim's last offer in it.
    for (const session of victim) {
      const last = offers.filter((o) => o.session === session && o.at < killed.at).at(-1)!
      const next = between.find((o) => o.session === session)
      if (next !== undefined) expect(next.since, `${session}'s window at the survivor`).to.be.below(last.at)
    }
    expect(offers.filter((o) => o.at > back && o.worker === killed.victim).length, 'offers once back').to.be.greaterThan(0)
  })

  /** A TCP proxy to Redis whose traffic can be held up (both ways) and let go, as a network partition heals. */
  async function stallProxy(port: number) {
    let stalled = false
    const waiting: Array<() => void> = []
    const pipe = (from: Socket, to: Socket) => from.on('data', (chunk) => {
      if (stalled) waiting.push(() => to.write(chunk))
      else to.write(chunk)
    })
    const sockets: Socket[] = []
    const server = createServer((client) => {
      const upstream = createConnection(port, '127.0.0.1')
      sockets.push(client, upstream)
      pipe(client, upstream)
      pipe(upstream, client)
      for (const s of [client, upstream]) s.on('error', () => undefined).on('close', () => { client.destroy(); upstream.destroy() })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return {
      url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
      stall: () => { stalled = true },
      heal: () => { stalled = false; for (const send of waiting.splice(0)) send() },
      close: () => { for (const s of sockets) s.destroy(); server.close() },
    }
  }

  it('a worker cut off from Redis longer than a lease offers nothing beside the one that takes its sessions over', async () => {
    const writer = await client()
    const stream = name('cut')
    const append = redisAppender(writer, { stream, partitions: PARTITIONS })
    const proxy = await stallProxy(suite.redis.port)
    const env = (worker: string, url: string) => ({ REDIS_URL: url, STREAM: stream, PREFIX: `${stream}:state:`, NAME: worker })
    const workers = [runProgram(WORKER, env('w1', proxy.url), 60_000), runProgram(WORKER, env('w2', suite.redis.url), 60_000)]
    try {
      await Promise.all(workers.map((w) => until(() => w.out().includes('ready'), 'a worker ready', 20_000)))
      const owner = async (p: number) => String(await writer.sendCommand(['GET', `${stream}:{${p}}:lease:offers`]))
      await until(async () => new Set(await Promise.all([0, 1, 2, 3].map(owner))).size === 2, 'both workers owning partitions', 10_000)
      const sending = Date.now()
      let cut: [number, number] | undefined
      for (let n = 0; Date.now() - sending < 14_000; n++) {
        for (const session of ['s1', 's2', 's3', 's4', 's5', 's6']) {
          const now = Date.now() / 1000
          const actions = ['/a', '/b', '/a'].map((url, i) => ({ ...action(n * 3 + i, url, now, now), session_id: session }))
          await append(batch(now, actions, { session_id: session }))
        }
        // From 3 s to 8 s w1 reaches Redis no more (5 leases), then its held-up bytes go through.
        if (cut === undefined && Date.now() - sending > 3000) cut = [Date.now() / 1000, Date.now() / 1000 + 5], proxy.stall()
        if (cut !== undefined && Date.now() / 1000 > cut[1] && Date.now() / 1000 < cut[1] + 1) proxy.heal()
        await sleep(250)
      }
      proxy.heal()
      await sleep(1000)
      for (const w of workers) w.kill('SIGTERM')
      await Promise.all(workers.map((w) => w.exited))
      const offers = workers.flatMap(offersOf)
      expect(workers.map((w) => w.err()).join('')).to.equal('')
      expect(new Set(offers.map((o) => o.offerId)).size, 'offer ids').to.equal(offers.length)
      expect(gaps(offers).shortest, 'shortest gap between two offers of a session (s)').to.be.at.least(INTERVAL - 0.01)
      // w1's sessions went on at w2 while w1 was cut off; w1 offered none of them then.
      const during = offers.filter((o) => o.at > cut![0] + 2 && o.at < cut![1])
      expect(during.length, 'offers while w1 was cut off').to.be.greaterThan(0)
      expect(during.filter((o) => o.worker === 'w1'), 'offers by w1 while cut off').to.deep.equal([])
      expect(offers.filter((o) => o.worker === 'w1' && o.at < cut![0]).length, 'w1 offered before').to.be.greaterThan(0)
    } finally {
      for (const w of workers) if (w.alive()) w.kill('SIGKILL')
      proxy.close()
    }
  })
})
