/**
 * `autoplay-rx demo` (`npm start`): the whole story in a few seconds. A
 * listener on a free port, connector-like traffic sent to it (several
 * sessions, a summary, a forged signature, a malformed body, a retried
 * duplicate), and the RxJS pipeline a user writes: dedupeDeliveries drops the
 * retry, mergeSessionBatches merges each session's batches.
 *
 * It imports the modules it uses, never the package's entry nor the CLI's
 * main, so that nothing loops back.
 */
import { count, lastValueFrom, tap, toArray } from 'rxjs'
import { silentLogger } from '../logger.js'
import { dedupeDeliveries } from '../operators/dedupeDeliveries.js'
import { mergeSessionBatches } from '../operators/mergeSessionBatches.js'
import { generateEvents } from './generate.js'
import { startListener } from './listen.js'
import { sendDeliveries, summaryOf, type Delivery } from './send.js'

const SECRET = 'whsec_demo_secret'
const out = (prefix: string, text: string) => {
  for (const line of text.split('\n')) process.stdout.write(`${prefix} │ ${line}\n`)
}

/**
 * Runs the demo to its end, printing each step, and closes everything it opened.
 *
 * @example
 * ```ts
 * await demo() // listening on http://127.0.0.1:…/events … done
 * ```
 */
export async function demo(): Promise<void> {
  const write = (line: string) => out('listen  ', line)
  const listener = await startListener({ port: 0, secret: SECRET, logger: silentLogger, write })
  out('demo    ', `listening on ${listener.url}`)
  const { receiver } = listener

  // The pipeline a user writes: drop connector retries, then at most one merged batch per session per 500 ms.
  const unique$ = receiver.actions$.pipe(dedupeDeliveries())
  const merged = lastValueFrom(unique$.pipe(
    mergeSessionBatches({ windowMs: 500 }),
    tap(({ session_id: id, count: n }) => out('pipeline', `session ${id}: ${n} actions, indexes 0–${n - 1}`)),
    count(),
  ), { defaultValue: 0 })
  // Each count resolves when the receiver completes, which is when the listener closes.
  const accepted = lastValueFrom(receiver.actions$.pipe(count()))
  const unique = lastValueFrom(unique$.pipe(count()))
  const refused = lastValueFrom(receiver.rejected$.pipe(toArray()))

  const events = [
    ...generateEvents({ type: 'actions', count: 9, sessions: 3, seed: 7 }),
    ...generateEvents({ type: 'summary', count: 1, sessions: 1, seed: 7 }),
    '{"type":"actions","session_id":"ps_forged","actions":[]}',
    '{"type":"actions","actions":[',
  ]
  const traffic: Delivery[] = events.map((text) => ({ body: Buffer.from(text) }))
  traffic[10] = { ...traffic[10]!, signature: `sha256=${'f'.repeat(64)}` }
  // A retried duplicate: the connector sends the first batch again, as after a timed-out response.
  traffic.push(traffic[0]!)
  const kinds = '9 action batches over 3 sessions, 1 summary, 1 forged, 1 malformed, 1 retried duplicate'
  out('demo    ', `sending ${traffic.length} deliveries: ${kinds}`)
  const report = await sendDeliveries({ url: listener.url, secret: SECRET, deliveries: traffic, concurrency: 1 })
  out('send    ', summaryOf(report))

  // Closing completes the receiver's streams: mergeSessionBatches flushes its open windows, nothing is lost.
  await listener.close()
  const byTag = new Map<string, number>()
  for (const { _tag } of await refused) byTag.set(_tag, (byTag.get(_tag) ?? 0) + 1)
  const [all, distinct, windows] = await Promise.all([accepted, unique, merged])
  const deduped = `after dedupeDeliveries: ${distinct} (${all - distinct} retried duplicate dropped)`
  out('demo    ', `accepted action batches: ${all}, ${deduped}, merged into ${windows}`)
  out('demo    ', `rejected: ${[...byTag].map(([tag, n]) => `${tag}×${n}`).join(', ')}`)
  out('demo    ', 'done')
}
