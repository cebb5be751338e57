import { expect } from 'chai'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { outcomeLine, sendDeliveries, summaryOf, type Outcome, type SendOptions } from '../../src/cli/send.js'
import { sign } from '../../src/signature.js'
import { SECRET } from '../helpers/fixtures.js'
import { listen } from '../helpers/http.js'

/** What the scripted receiver does with one request: answer a status (with a JSON error body below 300 or not), hang, or cut the connection. */
type Step = number | 'hang' | 'cut'

/** A real HTTP receiver on 127.0.0.1 that plays `script` in order, one step per request, and records each request. */
async function scripted(script: Step[]) {
  const requests: Array<{ body: Buffer; headers: IncomingMessage['headers']; at: number }> = []
  const server = await listen((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      requests.push({ body: Buffer.concat(chunks), headers: req.headers, at: performance.now() })
      const step = script.shift() ?? 200
      if (step === 'hang') return
      if (step === 'cut') { req.socket.destroy(); return }
      res.writeHead(step, { 'content-type': 'application/json' })
      res.end(step < 300 ? '{"ok":true}' : JSON.stringify({ code: `status_${step}`, message: `answered ${step}` }))
    })
  })
  return { url: `http://127.0.0.1:${server.port}/events`, requests, close: server.close }
}

const body = Buffer.from('{"type":"summary","session_id":"ps_1","summary":"s","replaces":0}')

/** sendDeliveries of one delivery to `url`, with no real waiting between retries: the waits asked for are recorded. */
async function sendOne(url: string, options: Partial<SendOptions> = {}) {
  const waits: number[] = []
  const outcomes: Outcome[] = []
  const report = await sendDeliveries({
    url, secret: SECRET, deliveries: [{ body }], retries: 3, backoffMs: 100, timeoutMs: 2_000,
    sleep: async (ms) => { waits.push(ms) }, onOutcome: (outcome) => outcomes.push(outcome), ...options,
  })
  return { report, waits, outcomes }
}

describe('cli/send: sendDeliveries against a real local receiver', function () {
  this.timeout(20_000)

  it('a 2xx: accepted at once, the exact bytes signed with the connector\'s headers', async () => {
    const receiver = await scripted([204])
    try {
      const { report, waits } = await sendOne(receiver.url)
      expect(receiver.requests).to.have.length(1)
      const [request] = receiver.requests
      expect(request!.body.equals(body)).to.equal(true)
      expect(request!.headers['x-connector-signature']).to.equal(sign(body, SECRET))
      expect(request!.headers.authorization).to.equal(`Bearer ${SECRET}`)
      expect(request!.headers['content-type']).to.equal('application/json')
      expect(report).to.deep.equal({ sent: 1, accepted: 1, rejectedByStatus: {}, retried: 0, failed: 0, statuses: [204] })
      expect(waits).to.deep.equal([])
    } finally {
      await receiver.close()
    }
  })

  it('a 4xx: never retried; the status and the body\'s code and message reported', async () => {
    for (const status of [400, 401, 404, 413, 499]) {
      const receiver = await scripted([status, 200])
      try {
        const { report, waits, outcomes } = await sendOne(receiver.url)
        expect(receiver.requests, `status ${status}`).to.have.length(1)
        expect(waits).to.deep.equal([])
        expect([report.sent, report.accepted, report.retried, report.failed, report.statuses]).to.deep.equal([1, 0, 0, 0, [status]])
        expect(report.rejectedByStatus).to.deep.equal({ [status]: 1 })
        expect(outcomes).to.deep.equal([{ status, code: `status_${status}`, message: `answered ${status}`, retries: 0 }])
      } finally {
        await receiver.close()
      }
    }
  })

  it('a 5xx: retried with backoff until a 2xx', async () => {
    const receiver = await scripted([500, 503, 200])
    try {
      const { report, waits, outcomes } = await sendOne(receiver.url)
      expect(receiver.requests).to.have.length(3)
      expect(receiver.requests.every((r) => r.body.equals(body))).to.equal(true)
      expect([report.sent, report.accepted, report.retried, report.failed, report.statuses]).to.deep.equal([1, 1, 2, 0, [200]])
      expect(outcomes).to.deep.equal([{ status: 200, code: null, message: null, retries: 2 }])
      expect(waits).to.have.length(2)
    } finally {
      await receiver.close()
    }
  })

  it('a 5xx every time: given up after `retries` retries, the last status kept', async () => {
    const receiver = await scripted([500, 502, 503, 504, 200])
    try {
      const { report, outcomes } = await sendOne(receiver.url)
      expect(receiver.requests).to.have.length(4)
      expect([report.sent, report.accepted, report.retried, report.failed, report.statuses]).to.deep.equal([1, 0, 3, 0, [504]])
      expect(report.rejectedByStatus).to.deep.equal({ 504: 1 })
      expect(outcomes).to.deep.equal([{ status: 504, code: 'status_504', message: 'answered 504', retries: 3 }])
    } finally {
      await receiver.close()
    }
  })

  it('the retry schedule is the one backoff: backoffMs doubling, capped at maxBackoffMs, plus 0–10 % jitter', async () => {
    const receiver = await scripted(Array<Step>(6 + 3 + 4).fill(500))
    try {
      const calm = await sendOne(receiver.url, { retries: 5, backoffMs: 100, maxBackoffMs: 500, random: () => 0 })
      expect(calm.waits).to.deep.equal([100, 200, 400, 500, 500])
      const restless = await sendOne(receiver.url, { retries: 2, backoffMs: 100, random: () => 0.5 })
      expect(restless.waits).to.deep.equal([105, 210])
      // backoffMs 0 still spaces retries: the floor is 1 ms, doubling.
      const eager = await sendOne(receiver.url, { retries: 3, backoffMs: 0, random: () => 0 })
      expect(eager.waits).to.deep.equal([1, 2, 4])
    } finally {
      await receiver.close()
    }
  })

  it('waits for real by default, the whole delay before each retry', async () => {
    const receiver = await scripted([503, 503, 200])
    try {
      const report = await sendDeliveries({ url: receiver.url, secret: SECRET, deliveries: [{ body }], retries: 2, backoffMs: 40, random: () => 0 })
      expect(report.accepted).to.equal(1)
      const [first, second, third] = receiver.requests.map((r) => r.at)
      // A lower bound only: timers never fire early (1 ms of rounding aside), a busy machine may fire them late.
      expect(second! - first!).to.be.at.least(39)
      expect(third! - second!).to.be.at.least(79)
    } finally {
      await receiver.close()
    }
  })

  it('a connection cut, then a 2xx: retried like a 5xx', async () => {
    const receiver = await scripted(['cut', 200])
    try {
      const { report } = await sendOne(receiver.url)
      expect(receiver.requests).to.have.length(2)
      expect([report.accepted, report.retried, report.failed, report.statuses]).to.deep.equal([1, 1, 0, [200]])
    } finally {
      await receiver.close()
    }
  })

  it('no answer within timeoutMs: retried, then failed as ETIMEDOUT (status 0)', async () => {
    const receiver = await scripted(['hang', 'hang'])
    try {
      const { report, waits, outcomes } = await sendOne(receiver.url, { retries: 1, timeoutMs: 150 })
      expect(receiver.requests).to.have.length(2)
      expect(waits).to.have.length(1)
      expect([report.sent, report.accepted, report.retried, report.failed, report.statuses, report.rejectedByStatus]).to.deep.equal([1, 0, 1, 1, [0], {}])
      expect(outcomes).to.deep.equal([{ status: 0, code: 'ETIMEDOUT', message: 'no answer within 150 ms', retries: 1 }])
    } finally {
      await receiver.close()
    }
  })

  it('nobody listening: retried, then failed as ECONNREFUSED, with what to check', async () => {
    const receiver = await scripted([])
    await receiver.close()
    const { report, waits, outcomes } = await sendOne(receiver.url, { retries: 2 })
    expect(waits).to.have.length(2)
    expect([report.sent, report.accepted, report.retried, report.failed, report.statuses]).to.deep.equal([1, 0, 2, 1, [0]])
    expect(outcomes).to.have.length(1)
    expect(outcomes[0]).to.include({ status: 0, code: 'ECONNREFUSED', retries: 2 })
    expect(outcomeLine('event 1', outcomes[0]!, receiver.url)).to.equal(
      `event 1: failed after 2 retries, ECONNREFUSED: ${outcomes[0]!.message} — is the receiver running at ${receiver.url}?`)
    expect(summaryOf(report)).to.equal('sent 1, accepted 0, rejected none, retried 2, failed 1')
  })

  it('several deliveries: each settled on its own, statuses in input order, an outcome for each', async () => {
    const receiver = await scripted([401, 401, 200, 400])
    try {
      const outcomes: Array<[number, number]> = []
      const report = await sendDeliveries({
        url: receiver.url, secret: SECRET, deliveries: [0, 1, 2, 3].map(() => ({ body })), concurrency: 1, retries: 0,
        onOutcome: ({ status }, index) => outcomes.push([index, status]),
      })
      expect(report.statuses).to.deep.equal([401, 401, 200, 400])
      expect(report.rejectedByStatus).to.deep.equal({ 400: 1, 401: 2 })
      expect(outcomes).to.deep.equal([[0, 401], [1, 401], [2, 200], [3, 400]])
      expect(summaryOf(report)).to.equal('sent 4, accepted 1, rejected 400×1 401×2, retried 0, failed 0')
    } finally {
      await receiver.close()
    }
  })

  it('holds at most concurrency requests in flight (default 8): a server holding each for 30 ms sees at most 8 at once, then 3', async () => {
    let open = 0
    let most = 0
    const server = await listen((req: IncomingMessage, res: ServerResponse) => {
      most = Math.max(most, ++open)
      req.resume()
      req.on('end', () => setTimeout(() => { open--; res.end('{"ok":true}') }, 30))
    })
    try {
      const url = `http://127.0.0.1:${server.port}/events`
      const mostAt = async (concurrency?: number) => {
        most = 0
        const report = await sendDeliveries({ url, secret: SECRET, deliveries: Array.from({ length: 40 }, () => ({ body })), concurrency })
        return [report.accepted, most]
      }
      expect([await mostAt(), await mostAt(3)]).to.deep.equal([[40, 8], [40, 3]])
    } finally {
      await server.close()
    }
  })
})
