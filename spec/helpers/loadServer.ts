/**
 * The server side of the load test, forked by spec/helpers/load.ts so that the load
 * generator never shares its event loop: createNodeMiddleware on node:http,
 * `dedupeDeliveries()` on payloads$, and a count of what reaches the subscriber.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebhookReceiver, dedupeDeliveries, silentLogger } from '../../src/index.js'
import { type IngestErrorTag } from '../../src/errors.js'
import { createNodeMiddleware } from '../../src/adapters/node.js'

/** What the parent asks for once the load is over. */
export interface ServerReport {
  /** Payloads accepted by the receiver (before dedupe). */
  readonly accepted: number
  /** Each session id that reached the subscriber after dedupe, with how many times. */
  readonly reached: ReadonlyArray<readonly [string, number]>
  readonly rejected: Partial<Record<IngestErrorTag, number>>
  /** Peak resident set size of this process, in KiB (process.resourceUsage().maxRSS). */
  readonly maxRssKiB: number
  readonly heapUsedBytes: number
  /** Resident set size when the server started listening, in bytes: the baseline of the peak (Node, tsx and the library loaded). */
  readonly listeningRssBytes: number
  /** TCP connections the server accepted over the run (keep-alive: about one per generator connection). */
  readonly connections: number
}

const secret = process.env.LOAD_SECRET
const expectedKeys = Number(process.env.LOAD_MAX_KEYS ?? 0)
// LOAD_DEDUPE=off is the negative control of the accounting: retries then reach the subscriber twice.
const dedupe = process.env.LOAD_DEDUPE !== 'off'
if (!secret || !(expectedKeys > 0)) {
  console.error('load-server: LOAD_SECRET and LOAD_MAX_KEYS are required (it is started by spec/helpers/load.ts)')
  process.exit(2)
}

const receiver = new WebhookReceiver({ secret, logger: silentLogger })
let accepted = 0
const reached = new Map<string, number>()
const rejected: Partial<Record<IngestErrorTag, number>> = {}
receiver.payloads$.subscribe(() => { accepted++ })
receiver.rejected$.subscribe((e) => { rejected[e._tag] = (rejected[e._tag] ?? 0) + 1 })
// Room for every distinct delivery of the run: a key evicted early would let its retry through.
const delivered$ = dedupe ? receiver.payloads$.pipe(dedupeDeliveries({ maxKeys: expectedKeys })) : receiver.payloads$
delivered$.subscribe((payload) => {
  const id = payload.session_id ?? '(none)'
  reached.set(id, (reached.get(id) ?? 0) + 1)
})

const server = createServer(createNodeMiddleware(receiver))
// The generator holds its connections open for the whole run.
server.keepAliveTimeout = 60_000
let connections = 0
server.on('connection', () => { connections++ })
let listeningRssBytes = 0
server.listen(0, '127.0.0.1', () => {
  listeningRssBytes = process.memoryUsage().rss
  process.send?.({ port: (server.address() as AddressInfo).port })
})

process.on('message', (message) => {
  if (message === 'report') {
    const report: ServerReport = {
      accepted, reached: [...reached], rejected,
      maxRssKiB: process.resourceUsage().maxRSS, heapUsedBytes: process.memoryUsage().heapUsed, listeningRssBytes, connections,
    }
    process.send?.(report)
  } else if (message === 'stop') {
    server.closeAllConnections()
    server.close(() => process.exit(0))
  }
})
// Never outlive the parent.
process.on('disconnect', () => process.exit(0))
