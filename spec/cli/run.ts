/** Runs the real CLI (src/cli/bin.ts through tsx) in a child process, as a user would. */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const bin = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url))
export const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url))

/** How a finished run ended. */
export interface Run { code: number | null; stdout: string; stderr: string }

/** A CLI process whose output is collected as it comes; killed after 40 s whatever happens (a loaded machine starts tsx slowly). */
export function cli(args: string[], input?: Buffer): { child: ChildProcess; out: () => string; err: () => string; closed: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d) => { out += d })
  child.stderr!.on('data', (d) => { err += d })
  const deadline = setTimeout(() => child.kill('SIGKILL'), 40_000)
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => { clearTimeout(deadline); resolve(code) }))
  child.stdin!.end(input)
  return { child, out: () => out, err: () => err, closed }
}

/** Runs the CLI to its end. */
export async function run(args: string[], input?: Buffer): Promise<Run> {
  const process = cli(args, input)
  const code = await process.closed
  return { code, stdout: process.out(), stderr: process.err() }
}

const driver = fileURLToPath(new URL('./driver.ts', import.meta.url))

/**
 * Runs the CLI's `main` for each argument list, in one child process (see
 * driver.ts): what each run printed and the exit code the bin would set.
 */
export async function runEach(cases: string[][]): Promise<Run[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', driver, JSON.stringify(cases)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d) => { out += d })
  const deadline = setTimeout(() => child.kill('SIGKILL'), 40_000)
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => { clearTimeout(deadline); resolve(c) }))
  if (code !== 0) throw new Error(`the CLI driver exited ${code}: ${out}`)
  return JSON.parse(out) as Run[]
}

/** Polls `probe` until it gives a truthy value, or fails after `ms`. */
export async function waitFor<T>(probe: () => T | undefined | null | false, ms = 30_000): Promise<T> {
  const started = Date.now()
  for (;;) {
    const value = probe()
    if (value) return value
    if (Date.now() - started > ms) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 20))
  }
}
