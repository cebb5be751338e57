/** Shared by the attack scripts of bench/attacks.ts: the result row, and small helpers. */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export interface Row {
  readonly item: string
  readonly measure: string
  readonly figure: string
  readonly target: string
  /** null: not measured (a part that is not available). */
  readonly pass: boolean | null
}

/** Prints one result row for the runner (bench/attacks.ts reads the lines starting with `ROW `). */
export function row(r: Row): void {
  console.log(`ROW ${JSON.stringify(r)}`)
}

export const MiB = 1024 * 1024
export const mib = (n: number) => `${(n / MiB).toFixed(0)} MiB`
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
export const heapMiB = () => {
  globalThis.gc?.()
  return process.memoryUsage().heapUsed / MiB
}
export const int = (n: number) => Math.round(n).toLocaleString('en-US')

/** Whole seconds, now (what the connector stamps `forwarded_at` with). */
export const nowSeconds = () => Math.floor(Date.now() / 1000)

/** An actions batch as the connector sends it. */
export function actionsBody(sessionId: string, actions: number, description = 'Clicked Export', extra: Record<string, unknown> = {}): string {
  const at = nowSeconds()
  return JSON.stringify({
    type: 'actions', product_id: 'prod_1', session_id: sessionId, user_id: 'u_1', email: null, count: actions, forwarded_at: at,
    actions: Array.from({ length: actions }, (_, index) => ({
      index, type: 'click', title: 'click Export', description, canonical_url: 'https://app.example.com/billing',
      raw_url: 'https://app.example.com/billing', timestamp_start: at, timestamp_end: at, session_id: sessionId, user_id: 'u_1', email: null,
    })), ...extra,
  })
}

export const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))

export interface Child {
  /** The `ROW ` lines it printed (the others go to `onLine` only). */
  readonly lines: string[]
  /** Resolves with the exit code, or the signal's name. */
  readonly exited: Promise<number | string>
  /** The end of its stderr. */
  stderr(): string
  kill(): void
}

/** Runs a TypeScript file of bench/attacks as a child process (optionally with a heap cap); SIGKILLed after `limitMs`. */
export function child(file: string, args: string[], options: { heapMiB?: number; limitMs: number; onLine?: (line: string) => void }): Child {
  const execArgv = ['--expose-gc', ...(options.heapMiB ? [`--max-old-space-size=${options.heapMiB}`] : []), '--import', 'tsx']
  const proc = spawn(process.execPath, [...execArgv, here(file), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  let rest = ''
  proc.stdout!.on('data', (d: Buffer) => {
    const parts = (rest + d.toString()).split('\n')
    rest = parts.pop()!
    for (const line of parts) {
      if (line.startsWith('ROW ')) lines.push(line)
      options.onLine?.(line)
    }
  })
  // The last of stderr, to say why a script failed.
  let err = ''
  proc.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-2000) })
  const deadline = setTimeout(() => proc.kill('SIGKILL'), options.limitMs)
  const exited = new Promise<number | string>((resolve) => proc.on('close', (code, signal) => {
    clearTimeout(deadline)
    resolve(code ?? signal ?? 'unknown')
  }))
  return { lines, exited, stderr: () => err, kill: () => proc.kill('SIGKILL') }
}
