/** What several commands need from the process: a file or stdin read as bytes, and Ctrl-C. */
import { readFileSync } from 'node:fs'
import { CliError } from './errors.js'

/**
 * The exact bytes of `file`, or of standard input for `-`.
 *
 * @throws CliError when the file cannot be read, naming it and the reason
 * @example
 * ```ts
 * sign(readInput('event.json'), secret)
 * ```
 */
export function readInput(file: string): Buffer {
  try {
    return readFileSync(file === '-' ? 0 : file)
  } catch (error) {
    throw new CliError(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): check the path`)
  }
}

/**
 * Resolves at the first SIGINT or SIGTERM, and stops listening for them, so
 * that a second Ctrl-C during a slow shutdown kills the process as usual.
 *
 * @example
 * ```ts
 * await untilInterrupted()
 * await listener.close()
 * ```
 */
export function untilInterrupted(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); resolve() }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}

/** Writes one line to standard output. */
export const writeLine = (line: string): void => {
  process.stdout.write(line + '\n')
}
