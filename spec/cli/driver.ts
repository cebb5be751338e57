/**
 * Runs the CLI's `main` once for each argument list given as JSON in
 * argv[2], one after the other in this one process (a process per case
 * would cost a Node and tsx start each), with stdout and stderr captured
 * per case; prints the runs as JSON. An exception out of `main` (a bug: the
 * bin would print its stack) is a run with code 1 and the stack on stderr.
 */
import { main } from '../../src/cli/main.js'
import type { Run } from './run.js'

const cases = JSON.parse(process.argv[2]!) as string[][]
const realOut = process.stdout.write.bind(process.stdout)
const runs: Run[] = []
for (const args of cases) {
  const run: Run = { code: null, stdout: '', stderr: '' }
  const capture = (key: 'stdout' | 'stderr') => (chunk: string | Uint8Array) => { run[key] += String(chunk); return true }
  process.stdout.write = capture('stdout') as typeof process.stdout.write
  process.stderr.write = capture('stderr') as typeof process.stderr.write
  try {
    run.code = await main(args)
  } catch (error) {
    run.code = 1
    run.stderr += `autoplay-rx: ${error instanceof Error ? error.stack : String(error)}\n`
  }
  runs.push(run)
}
process.stdout.write = realOut
process.stdout.write(JSON.stringify(runs))
