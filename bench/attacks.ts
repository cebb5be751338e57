/**
 * `npm run bench -- --only=attacks`: issue 22's attacks at full size (or scaled down where a row says so), each
 * in processes of its own (heaps capped where memory is the claim), each bounded in time, all on loopback,
 * with its own redis-server where Redis is involved. Every script under bench/attacks/ prints result rows
 * (`ROW {json}`); this runner prints them as one markdown table. Not part of `npm test`.
 *
 *   node --expose-gc --import tsx bench/attacks.ts [--attack=poison,llm,…]
 */
import { performance } from 'node:perf_hooks'
import { child, type Row } from './attacks/common.js'

interface Attack {
  readonly name: string
  readonly item: string
  readonly file: string
  readonly args?: string[]
  readonly heapMiB?: number
  /** Killed after this, whatever happens. */
  readonly limitS: number
}

const attacks: Attack[] = [
  { name: 'lockout', item: '1', file: 'lockout.ts', limitS: 240 },
  { name: 'poison', item: '2', file: 'poison.ts', limitS: 120 },
  { name: 'worker-bytes', item: '3', file: 'workerBytes.ts', limitS: 150 },
  { name: 'context-queue', item: '4', file: 'contextQueue.ts', limitS: 120 },
  { name: 'ids-times', item: '5, 6', file: 'idsTimes.ts', limitS: 60 },
  { name: 'llm', item: '7', file: 'llm.ts', limitS: 150 },
  { name: 'context-bytes', item: '8', file: 'contextBytes.ts', args: ['big'], limitS: 90 },
  { name: 'context-empty', item: '8', file: 'contextBytes.ts', args: ['empty'], limitS: 120 },
  { name: 'context-sessions', item: '8', file: 'contextBytes.ts', args: ['sessions'], limitS: 90 },
  { name: 'redis-loss', item: '9', file: 'redisLoss.ts', limitS: 150 },
  { name: 'persist', item: '10', file: 'persist.ts', limitS: 60 },
  { name: 'sse', item: '11', file: 'sse.ts', limitS: 60 },
  { name: 'traces', item: '12', file: 'traces.ts', limitS: 90 },
]

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')

export async function benchAttacks(pick?: ReadonlySet<string>): Promise<string> {
  const rows: Row[] = []
  const started = performance.now()
  for (const attack of attacks) {
    if (pick !== undefined && !pick.has(attack.name)) continue
    const t0 = performance.now()
    const run = child(attack.file, attack.args ?? [], {
      ...(attack.heapMiB === undefined ? {} : { heapMiB: attack.heapMiB }), limitMs: attack.limitS * 1000,
      onLine: (line) => { if (line.startsWith('ROW ')) console.error(`  ${line.slice(4)}`) },
    })
    const exit = await run.exited
    const found = run.lines.filter((l) => l.startsWith('ROW ')).map((l) => JSON.parse(l.slice(4)) as Row)
    rows.push(...found)
    if (exit !== 0) {
      console.error(run.stderr())
      rows.push({ item: attack.item, measure: `${attack.name}: the attack script itself`, figure: `ended with ${exit} after ${((performance.now() - t0) / 1000).toFixed(0)} s${found.length === 0 ? ', no figure' : ''}`, target: 'exits 0 within its limit', pass: false })
    }
    console.error(`attack ${attack.name}: ${((performance.now() - t0) / 1000).toFixed(0)} s, exit ${exit}`)
  }
  const verdict = (p: boolean | null) => (p === null ? 'n/a' : p ? 'pass' : '**FAIL**')
  return [
    '| item | measure | figure | target | result |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.item} | ${cell(r.measure)} | ${cell(r.figure)} | ${cell(r.target)} | ${verdict(r.pass)} |`),
    '',
    `${rows.filter((r) => r.pass === true).length} of ${rows.length} rows pass; run time ${((performance.now() - started) / 1000).toFixed(0)} s.`,
  ].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = process.argv.find((a) => a.startsWith('--attack='))?.slice('--attack='.length)
  benchAttacks(arg === undefined ? undefined : new Set(arg.split(','))).then((t) => console.log(t), (e) => { console.error(e); process.exitCode = 1 })
}
