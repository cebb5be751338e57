/**
 * A `telemetry` of the user's own is user code on the delivery path: every hook of it, and every probe a hook
 * makes, throwing must change no answer and stop nothing; the throws are logged, a line per 10 s.
 */
import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import { of, lastValueFrom, toArray } from 'rxjs'
import { createNodeMiddleware } from '../src/adapters/node.js'
import { dedupeDeliveries, SessionSummarizer, sign, WebhookReceiver, type Logger, type Payload } from '../src/index.js'
import type { Telemetry } from '../src/telemetry.js'
import { listen, send } from './helpers/http.js'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** Every property is a hook that throws; a hook's result would be a probe whose every method throws too. */
const throwing = new Proxy({}, { get: () => () => { throw new Error('telemetry down') } }) as Telemetry

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = []
  return { lines, error: (message) => lines.push(message), warn: (message) => lines.push(message) }
}

describe('a telemetry of one\'s own that throws', () => {
  const body = readFileSync(join(import.meta.dirname, 'fixtures', 'actions-small.json'))
  const signature = sign(body, 'k')

  it('changes no answer of the receiver or its node adapter, stops no stream, and is logged once per 10 s', async () => {
    const logger = recorder()
    const receiver = new WebhookReceiver({ secret: 'k', telemetry: throwing, logger })
    const seen: Payload[] = []
    receiver.payloads$.subscribe((p) => seen.push(p))
    expect(E.isRight(receiver.ingest(body, signature))).to.equal(true)
    expect(E.isLeft(receiver.ingest(body, 'sha256=' + '0'.repeat(64)))).to.equal(true)
    const { port, close } = await listen(createNodeMiddleware(receiver))
    try {
      const replies = await Promise.all([1, 2, 3].map(() => send(`http://127.0.0.1:${port}/`, body, { headers: { 'content-type': 'application/json', 'x-connector-signature': signature } })))
      expect(replies.map((r) => r.status)).to.deep.equal([200, 200, 200])
    } finally {
      await close()
    }
    expect(seen).to.have.length(4)
    expect(logger.lines.filter((l) => l.includes('telemetry'))).to.have.length(1)
  })

  it('stops neither dedupeDeliveries nor the summarizer', async () => {
    const payload = JSON.parse(body.toString('utf8')) as Payload
    const out = await lastValueFrom(of(payload, payload).pipe(dedupeDeliveries({ telemetry: throwing }), toArray()))
    expect(out).to.have.length(1)
    const summarizer = new SessionSummarizer({ llm: () => 'done', threshold: 1, telemetry: throwing, logger: recorder() })
    const summaries: string[] = []
    summarizer.summary$.subscribe((s) => summaries.push(s.text))
    if (payload.type === 'actions') summarizer.add(payload)
    expect(summaries).to.deep.equal(['done'])
  })
})
