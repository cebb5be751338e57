/**
 * `npm start`: the whole story in a few seconds. A listener on a free port,
 * connector-like traffic sent to it (several sessions, a summary, a forged
 * signature, a malformed body, a retried duplicate), and an RxJS pipeline
 * that dedupes retries and batches each session's actions with bufferTime.
 */
import { bufferTime, filter, groupBy, map, mergeMap, Subscription } from 'rxjs'
import { mergeActions } from '../payloads.js'
import type { ActionsPayload } from '../codecs.js'
import type { IngestError } from '../errors.js'
import { silentLogger } from '../logger.js'
import { dedupeDeliveries } from '../operators/dedupeDeliveries.js'
import { generateEvents } from './generate.js'
import { startListener } from './listen.js'
import { summaryOf } from './main.js'
import { sendDeliveries, type Delivery } from './send.js'

const SECRET = 'whsec_demo_secret'
const out = (prefix: string, text: string) => {
  for (const line of text.split('\n')) process.stdout.write(`${prefix} │ ${line}\n`)
}

export async function demo(): Promise<void> {
  const listener = await startListener({ port: 0, secret: SECRET, logger: silentLogger, write: (line) => out('listen  ', line) })
  out('demo    ', `listening on ${listener.url}`)
  const { receiver } = listener
  const subscriptions = new Subscription()

  // The pipeline a user writes: drop connector retries, then one merged batch per session per 500 ms window.
  let accepted = 0
  let unique = 0
  const batches = receiver.actions$.pipe(
    dedupeDeliveries(),
    map((p) => { unique++; return p }),
    groupBy((p) => p.session_id ?? 'unknown'),
    mergeMap((session) => session.pipe(
      bufferTime(500),
      filter((list): list is [ActionsPayload, ...ActionsPayload[]] => list.length > 0),
      map((list) => ({ session: session.key, deliveries: list.length, merged: mergeActions(list) })),
    )),
  )
  subscriptions.add(batches.subscribe(({ session, deliveries, merged }) =>
    out('pipeline', `session ${session}: ${deliveries} deliveries in this window → ${merged.count} actions, indexes 0–${merged.count - 1}`)))
  subscriptions.add(receiver.actions$.subscribe(() => { accepted++ }))
  const refused: IngestError[] = []
  subscriptions.add(receiver.rejected$.subscribe((error) => refused.push(error)))

  const traffic: Delivery[] = [
    ...generateEvents({ type: 'actions', count: 9, sessions: 3, seed: 7 }).map((text) => ({ body: Buffer.from(text) })),
    ...generateEvents({ type: 'summary', count: 1, sessions: 1, seed: 7 }).map((text) => ({ body: Buffer.from(text) })),
    { body: Buffer.from('{"type":"actions","session_id":"ps_forged","actions":[]}'), signature: 'sha256=' + 'f'.repeat(64) },
    { body: Buffer.from('{"type":"actions","actions":[') },
  ]
  // A retried duplicate: the connector sends the first batch again, as after a timed-out response.
  traffic.push(traffic[0]!)
  out('demo    ', `sending ${traffic.length} deliveries: 9 action batches over 3 sessions, 1 summary, 1 forged, 1 malformed, 1 retried duplicate`)
  const report = await sendDeliveries({ url: listener.url, secret: SECRET, deliveries: traffic, concurrency: 1, backoffMs: 100 })
  out('send    ', summaryOf(report))

  await new Promise((r) => setTimeout(r, 700)) // let the last bufferTime window close
  const byTag = refused.reduce<Record<string, number>>((acc, e) => ({ ...acc, [e._tag]: (acc[e._tag] ?? 0) + 1 }), {})
  out('demo    ', [
    `accepted action batches: ${accepted}, after dedupeDeliveries: ${unique} (${accepted - unique} retried duplicate dropped)`,
    `rejected: ${Object.entries(byTag).map(([tag, n]) => `${tag}×${n}`).join(', ')}`,
  ].join('\n'))
  subscriptions.unsubscribe()
  await listener.close()
  out('demo    ', 'done')
}

demo().then(() => { process.exitCode = 0 }, (error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exitCode = 1
})
