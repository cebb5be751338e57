/**
 * Soak: `node --expose-gc --import tsx bench/soak.ts [--total 2000000]`. Millions of
 * signed deliveries through receiver.ingest and the operators (dedupeDeliveries,
 * bySession with a short idle, mergeSessionBatches) in-process, with heap after GC
 * sampled every 10 %: the memory must stay flat. Prints a markdown table and a
 * sparkline; exits non-zero when the heap grew or a delivery is unaccounted for.
 */
import { arch, cpus, totalmem } from 'node:os'
import { performance } from 'node:perf_hooks'
import { count, mergeMap, share } from 'rxjs'
import { WebhookReceiver, bySession, dedupeDeliveries, mergeSessionBatches, sign, silentLogger } from '../src/index.js'

const SECRET = 'whsec_soak_5f1c0ffee'
/** Deliveries per session, back to back; then the session falls silent and its group must be released. */
const PER_SESSION = 4
/** One delivery in ten is a retry of a recent one (same bytes). */
const RETRY_EVERY = 10
/** Deliveries ingested between yields to the event loop, so that idle and window timers fire as in a server. */
const CHUNK = 5_000

export interface SoakSample {
  readonly deliveries: number
  readonly heapMiB: number
  readonly rssMiB: number
  readonly openGroups: number
  readonly seconds: number
}

export interface SoakReport {
  readonly total: number
  readonly samples: ReadonlyArray<SoakSample>
  readonly unique: number
  readonly retries: number
  readonly afterDedupe: number
  readonly groupsClosed: number
  readonly payloadsInClosedGroups: number
  readonly mergedBatches: number
  readonly actionsInMergedBatches: number
  readonly failures: ReadonlyArray<string>
}

/** The body of the n-th distinct delivery: an actions batch of session n / PER_SESSION. */
function body(n: number): string {
  const session = `soak_${Math.floor(n / PER_SESSION)}`
  const index = n % PER_SESSION
  return `{"type":"actions","product_id":"prod_soak","session_id":"${session}","user_id":"user_${n % 1000}","forwarded_at":${1_700_000_000 + n / 8},` +
    `"actions":[{"index":${index},"type":"click","title":"Export","description":"Clicked Export on report ${n % 50}",` +
    `"canonical_url":"https://app.example.com/reports/:id","raw_url":"https://app.example.com/reports/${n % 50}","timestamp_start":${1_700_000_000 + n / 8},"timestamp_end":${1_700_000_000.5 + n / 8}}]}`
}

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 1))

export async function runSoak(total: number): Promise<SoakReport> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('run node with --expose-gc')
  const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
  // The bounds a production pipeline would set: 10,000 keys remembered for ten minutes.
  const accepted$ = receiver.payloads$.pipe(dedupeDeliveries({ maxKeys: 10_000, ttlMs: 600_000 }), share())
  let afterDedupe = 0
  let openGroups = 0
  let groupsClosed = 0
  let payloadsInClosedGroups = 0
  let mergedBatches = 0
  let actionsInMergedBatches = 0
  accepted$.subscribe(() => { afterDedupe++ })
  accepted$.pipe(bySession({ idleMs: 20 }), mergeMap((group) => {
    openGroups++
    return group.pipe(count())
  })).subscribe((n) => { openGroups--; groupsClosed++; payloadsInClosedGroups += n })
  accepted$.pipe(mergeSessionBatches({ windowMs: 10 })).subscribe((batch) => {
    mergedBatches++
    if (batch.type === 'actions') actionsInMergedBatches += batch.actions.length
  })

  const failures: string[] = []
  const samples: SoakSample[] = []
  const started = performance.now()
  const sample = (deliveries: number) => {
    gc()
    gc()
    const memory = process.memoryUsage()
    samples.push({ deliveries, heapMiB: memory.heapUsed / 1048576, rssMiB: memory.rss / 1048576, openGroups, seconds: (performance.now() - started) / 1000 })
  }
  sample(0)
  let unique = 0
  let retries = 0
  let refused = 0
  const step = total / 10
  let nextSample = step
  for (let sent = 0; sent < total;) {
    const end = Math.min(total, sent + CHUNK)
    for (; sent < end; sent++) {
      let n: number
      if (sent % RETRY_EVERY === RETRY_EVERY - 1 && unique > 0) {
        // A retry resends one of the last hundred distinct deliveries, as the connector's backoff would.
        n = unique - 1 - (sent % Math.min(100, unique))
        retries++
      } else {
        n = unique++
      }
      const text = body(n)
      if (receiver.ingest(text, sign(text, SECRET))._tag === 'Left') refused++
    }
    await tick()
    if (sent >= nextSample) {
      await new Promise((resolve) => setTimeout(resolve, 40)) // let the last groups idle out before measuring
      sample(sent)
      nextSample += step
    }
  }
  receiver.complete()
  await new Promise((resolve) => setTimeout(resolve, 40))

  if (refused !== 0) failures.push(`${refused} deliveries refused`)
  if (afterDedupe !== unique) failures.push(`${afterDedupe} deliveries passed dedupe, expected the ${unique} distinct ones`)
  if (payloadsInClosedGroups !== unique) failures.push(`the closed session groups held ${payloadsInClosedGroups} payloads, expected ${unique}`)
  // A session cut by a pause longer than the idle time (a sample, a long GC) closes and opens again: at least one group each.
  if (groupsClosed < Math.ceil(unique / PER_SESSION)) failures.push(`${groupsClosed} session groups closed, fewer than the ${Math.ceil(unique / PER_SESSION)} sessions`)
  if (openGroups !== 0) failures.push(`${openGroups} session groups still open after complete()`)
  if (actionsInMergedBatches !== unique) failures.push(`the merged batches held ${actionsInMergedBatches} actions, expected ${unique}`)
  const first = samples[1]!
  const last = samples[samples.length - 1]!
  // Flat means: no growth beyond noise between the first sample under load and the end.
  if (last.heapMiB > first.heapMiB * 1.25 + 4) failures.push(`heap after GC grew from ${first.heapMiB.toFixed(1)} MiB to ${last.heapMiB.toFixed(1)} MiB`)
  return {
    total, samples, unique, retries, afterDedupe, groupsClosed, payloadsInClosedGroups, mergedBatches, actionsInMergedBatches, failures,
  }
}

const BARS = '▁▂▃▄▅▆▇█'

/** A sparkline of `values` on a scale from 0 to their maximum (so that flat looks flat). */
export function sparkline(values: ReadonlyArray<number>): string {
  const max = Math.max(...values)
  return values.map((v) => BARS[Math.min(BARS.length - 1, Math.floor((v / max) * (BARS.length - 1)))]).join('')
}

const int = (n: number) => Math.round(n).toLocaleString('en-US')

export function formatSoakReport(r: SoakReport): string {
  const seconds = r.samples[r.samples.length - 1]!.seconds
  return [
    `${int(r.total)} deliveries (${int(r.unique)} distinct, ${int(r.retries)} retries) through ingest → dedupeDeliveries → bySession (idle 20 ms) and mergeSessionBatches (10 ms), in ${seconds.toFixed(1)} s (${int(r.total / seconds)} deliveries/s).`,
    '',
    '| deliveries | heap after GC (MiB) | RSS (MiB) | open session groups | elapsed (s) |',
    '|---:|---:|---:|---:|---:|',
    ...r.samples.map((s) => `| ${int(s.deliveries)} | ${s.heapMiB.toFixed(1)} | ${s.rssMiB.toFixed(0)} | ${s.openGroups} | ${s.seconds.toFixed(1)} |`),
    '',
    `heap after GC, 0 → ${int(r.total)}: \`${sparkline(r.samples.map((s) => s.heapMiB))}\` (scale 0 – ${Math.max(...r.samples.map((s) => s.heapMiB)).toFixed(1)} MiB)`,
    '',
    `after dedupe: ${int(r.afterDedupe)}; session groups closed: ${int(r.groupsClosed)} holding ${int(r.payloadsInClosedGroups)} payloads; merged batches: ${int(r.mergedBatches)} holding ${int(r.actionsInMergedBatches)} actions.`,
    '',
    r.failures.length === 0 ? 'Heap flat and every delivery accounted for.' : `SOAK FAILED:\n${r.failures.map((f) => `- ${f}`).join('\n')}`,
  ].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--total')
  const total = at === -1 ? 2_000_000 : Number(process.argv[at + 1])
  if (!(Number.isSafeInteger(total) && total >= 1000 && total <= 100_000_000)) {
    console.error('--total must be an integer in [1,000, 100,000,000]')
    process.exit(2)
  }
  // Bounded in time as well: a soak that hangs is a failure, not a wait.
  setTimeout(() => { console.error('soak: deadline of 30 minutes passed'); process.exit(1) }, 30 * 60_000).unref()
  console.log(`Node ${process.version}, ${arch()}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB; ${new Date().toISOString().slice(0, 10)}\n`)
  runSoak(total).then((report) => {
    console.log(formatSoakReport(report))
    process.exitCode = report.failures.length === 0 ? 0 : 1
  }, (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
