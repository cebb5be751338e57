/**
 * Issue 22, item 1: the unauthenticated lockout, run by bench/http-attack.ts (one child per adapter and size):
 * N hostile sockets from 127.0.0.1 declare a 1 MiB body and never send it, reopened as soon as they close,
 * while genuine signed deliveries come from 127.0.0.2. Its last line is a JSON summary. Scaled down: 10 s per
 * run where the issue ran 40 s. Where bench/http-attack.ts has no `--hostile-sockets` yet, the row says so.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { here, int, row } from './common.js'

const script = here('../http-attack.ts')
const seconds = 10
const available = readFileSync(script, 'utf8').includes('hostile-sockets')
const target = '≥ 99 % of genuine deliveries 2xx, RSS ≤ 256 MiB'
const num = (j: Record<string, unknown>, ...names: string[]) => {
  for (const name of names) if (typeof j[name] === 'number') return j[name] as number
  return undefined
}

for (const adapter of ['node', 'fastify', 'fetch']) {
  for (const sockets of [32, 256]) {
    const measure = `${sockets} hostile sockets from one address, genuine deliveries from another, ${adapter} adapter, ${seconds} s (issue: 40 s)`
    if (!available) {
      row({ item: '1', measure, figure: 'not available (bench/http-attack.ts has no --hostile-sockets)', target, pass: null })
      continue
    }
    const proc = spawn(process.execPath, ['--import', 'tsx', script, '--hostile-sockets', String(sockets), '--seconds', String(seconds), '--adapter', adapter],
      { stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    proc.stdout!.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-20_000) })
    const deadline = setTimeout(() => proc.kill('SIGKILL'), (seconds + 60) * 1000)
    const exit = await new Promise<number | string>((resolve) => proc.on('close', (code, signal) => resolve(code ?? signal ?? 'unknown')))
    clearTimeout(deadline)
    const last = out.trim().split('\n').reverse().find((l) => l.trim().startsWith('{'))
    let j: Record<string, unknown> | undefined
    try {
      j = last === undefined ? undefined : JSON.parse(last) as Record<string, unknown>
    } catch { /* not JSON: reported below */ }
    if (j === undefined) {
      row({ item: '1', measure, figure: `no JSON summary (exit ${exit})`, target, pass: false })
      continue
    }
    const ok = num(j, 'genuine2xx', 'genuineOk', 'ok', 'answered2xx', 'accepted')
    const total = num(j, 'genuine', 'genuineSent', 'sent', 'total')
    const ratio = num(j, 'ratio', 'genuineRatio') ?? (ok !== undefined && total ? ok / total : undefined)
    const peak = num(j, 'peakRssMiB', 'rssPeakMiB', 'rssMiB') ?? (num(j, 'peakRss', 'peak', 'rss') ?? NaN) / 2 ** 20
    const figure = ratio === undefined
      ? JSON.stringify(j).slice(0, 200)
      : `${ok !== undefined && total !== undefined ? `${int(ok)}/${int(total)} ` : ''}genuine 2xx (${(ratio * 100).toFixed(1)} %)${Number.isNaN(peak) ? '' : `, peak RSS ${peak.toFixed(0)} MiB`}`
    const pass = typeof j.pass === 'boolean' ? j.pass : ratio === undefined ? null : ratio >= 0.99 && (Number.isNaN(peak) || peak <= 256)
    row({ item: '1', measure, figure, target, pass })
  }
}
