/**
 * `npm run bench`: every benchmark, one after the other, printed as the
 * markdown that goes into docs/benchmarks.md. The library is timed as users
 * run it, compiled (dist/, built by the npm script first): running the
 * TypeScript source through tsx would time its transform too (its keepNames
 * wraps every named closure, a few µs per HTTP delivery). `--quick` for a short run;
 * `--only=ingest,heap,http,cluster,sse,redis,runtimes,context,otel,proactive` to pick; `--only=attacks` (issue 22's
 * attacks, ~10 min) runs only when named.
 */
import { arch, cpus, totalmem } from 'node:os'
import { performance } from 'node:perf_hooks'
import { benchHeap, benchIngest } from './ingest.js'
import { benchCluster, benchHttp } from './http.js'
import { benchSse } from './sse.js'
import { benchRedis } from './redis.js'
import { benchRuntimes } from './runtimes.js'
import { benchContext } from './context.js'
import { benchOtel } from './otel.js'
import { benchProactive } from './proactive.js'
import { benchAttacks } from './attacks.js'
import { fmt, loadLine } from './stats.js'

const quick = process.argv.includes('--quick')
const onlyArg = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length)
const only = onlyArg ? new Set(onlyArg.split(',')) : null
const want = (name: string) => only === null || only.has(name)

const sections: Array<[string, string, () => Promise<string> | string]> = [
  ['ingest', '## ingest vs the floor (HMAC + constant-time compare + JSON.parse)', () => benchIngest(quick)],
  ['heap', `## Heap after GC across ${quick ? '100,000' : '1,000,000'} ingests (actions-small, subscriber attached)`, () => benchHeap(quick ? 100_000 : 1_000_000)],
  ['http', '## HTTP: node:http, the floor, ingest in a handler, the node, Fastify and fetch adapters, the Redis path, @octokit/webhooks', () => benchHttp(quick)],
  ['cluster', '## More than one core: a node:cluster of 1 and of 2 processes, the floor and the node adapter', () => benchCluster(quick)],
  ['sse', '## SSE: connectorStream vs the floor (fetch + split + JSON.parse)', () => benchSse(quick)],
  ['redis', '## Redis: a worker draining a pre-filled stream; ack() while the read blocks', () => benchRedis(quick)],
  ['runtimes', '## The fetch handler on every runtime vs that runtime\'s floor (HMAC with its fastest API + JSON.parse), over HTTP', () => benchRuntimes(quick)],
  ['context', '## Session context: enrich latency (memory, Redis), heap across sessions, ingest → store', () => benchContext(quick)],
  ['otel', '## Telemetry on beside off: ingest and HTTP (otelTelemetry, a real MeterProvider)', () => benchOtel(quick)],
  ['proactive', '## Proactive triggers: cost per batch at 10,000 live sessions, heap across 100,000 idle ones', () => benchProactive(quick)],
  ['attacks', '## Attacks (issue 22), at full size or scaled down where a row says so', () => benchAttacks()],
]

console.log(`Node ${process.version}, ${arch()}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB; ${new Date().toISOString().slice(0, 10)}${quick ? ' (quick run)' : ''}\n`)
for (const [name, title, run] of sections) {
  if (!want(name) || (name === 'attacks' && only === null)) continue
  console.log(`${title}\n`)
  // The machine may be shared: say how busy it was around each section.
  const started = performance.now()
  console.log(`${loadLine('at the start')}\n`)
  console.log(await run())
  console.log(`\n${loadLine('at the end')} Section time: ${fmt((performance.now() - started) / 1000, 0)} s.\n`)
}
