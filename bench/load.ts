/**
 * Load with accounting: `node --import tsx bench/load.ts [--total N] [--connections C] [--no-dedupe]`.
 * The driver is spec/helpers/load.ts (shared with spec/reliability/load.spec.ts,
 * so that no spec runs a benchmark); this file is its command line and its
 * report as markdown. The process exits non-zero when a delivery is not accounted for.
 */
import { arch, cpus, totalmem } from 'node:os'
import { runLoad, type LoadReport } from '../spec/helpers/load.js'

const int = (n: number) => Math.round(n).toLocaleString('en-US')

/** The report as the markdown of docs/reliability.md. */
export function formatLoadReport(r: LoadReport): string {
  return [
    `${int(r.total)} deliveries over ${r.connections} keep-alive connections (loopback; the server accepted ${r.serverConnections} TCP connections), server in a child process; ${(r.durationMs / 1000).toFixed(1)} s.`,
    '',
    '| throughput | p50 latency | p99 latency | max latency | server peak RSS | server RSS when listening | server heap used at the end |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    `| ${int(r.throughput)} deliveries/s | ${r.latencyMs.p50.toFixed(2)} ms | ${r.latencyMs.p99.toFixed(2)} ms | ${r.latencyMs.max.toFixed(1)} ms | ${r.serverPeakRssMiB.toFixed(1)} MiB | ${r.serverListeningRssMiB.toFixed(1)} MiB | ${r.serverHeapUsedMiB.toFixed(1)} MiB |`,
    '',
    '| delivery | sent | expected | answered as expected | answered otherwise | errored or lost |',
    '|---|---:|---:|---:|---:|---:|',
    ...r.rows.map((row) => `| ${row.kind} | ${int(row.sent)} | ${row.expectedStatus} | ${int(row.answeredAsExpected)} | ${row.answeredOtherwise} | ${row.errored} |`),
    '',
    '| at the subscriber (after dedupeDeliveries) | count |',
    '|---|---:|',
    `| unique deliveries seen exactly once | ${int(r.reachedOnce)} |`,
    `| unique deliveries never seen | ${r.neverReached} |`,
    `| unique deliveries seen more than once | ${r.reachedTwiceOrMore} |`,
    `| forged or malformed deliveries seen | ${r.reachedUnexpectedly} |`,
    `| payloads accepted by the receiver (unique + retries, before dedupe) | ${int(r.accepted)} |`,
    `| rejected$ | ${Object.entries(r.rejected).map(([tag, n]) => `${tag} ${int(n ?? 0)}`).join(', ')} |`,
    '',
    r.failures.length === 0 ? 'Every delivery accounted for.' : `ACCOUNTING FAILED:\n${r.failures.map((f) => `- ${f}`).join('\n')}`,
  ].join('\n')
}

function argument(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  const raw = i === -1 ? process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) : process.argv[i + 1]
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value)) {
    console.error(`--${name} must be an integer, got ${raw}`)
    process.exit(2)
  }
  return value
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const total = argument('total', 100_000)
  const connections = argument('connections', 256)
  console.log(`Node ${process.version}, ${arch()}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB; ${new Date().toISOString().slice(0, 10)}\n`)
  // --no-dedupe is the negative control: the accounting must fail and the exit code be 1.
  runLoad({ total, connections, dedupe: !process.argv.includes('--no-dedupe') }).then((report) => {
    console.log(formatLoadReport(report))
    process.exitCode = report.failures.length === 0 ? 0 : 1
  }, (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
