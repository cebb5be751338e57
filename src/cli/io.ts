/** What the commands need from the process: input as exact bytes, output lines, a one-line logger, Ctrl-C. */
import { readFileSync } from 'node:fs'
import type { Logger, LogContext } from '../logger.js'
import { CliError } from './errors.js'

/** The exact bytes of `file`, or of standard input for `-`; a usage error naming the file when it cannot be read. */
export function readInput(file: string): Buffer {
  try {
    return readFileSync(file === '-' ? 0 : file)
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw new CliError(`cannot read ${file} (${reason}): check the path`)
  }
}

/** Resolves at the first SIGINT or SIGTERM and lets go of both, so a second Ctrl-C kills as usual. */
export function untilInterrupted(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); resolve() }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}

export const writeLine = (line: string): void => void process.stdout.write(line + '\n')
export const writeError = (line: string): void => void process.stderr.write(line + '\n')

// Errors that mean a bug of ours keep their stack; any other error (Redis down, a socket closed) is an outage.
const BUGS = [TypeError, RangeError, ReferenceError, SyntaxError]

function logLine(message: string, context?: LogContext): void {
  const error = context?.['error']
  if (BUGS.some((bug) => error instanceof bug)) writeError(`[autoplay-rx] ${message}\n${(error as Error).stack}`)
  else writeError(`[autoplay-rx] ${message}${error instanceof Error ? ` (${error.message})` : ''}`)
}

/** The logger of `listen` and `work`: warnings and errors on stderr, one line each, without a stack for an outage. */
export const cliLogger: Logger = { warn: logLine, error: logLine }
