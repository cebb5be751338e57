/**
 * The pluggable logger: four optional levels, each taking a message and a
 * context object. Receivers never log secrets, signatures or bodies.
 */

/** Structured context of a log line (session and product ids, error, …). */
export type LogContext = Readonly<Record<string, unknown>>

/** A logger; every level is optional, a missing one is silent. */
export interface Logger {
  readonly debug?: (message: string, context?: LogContext) => void
  readonly info?: (message: string, context?: LogContext) => void
  readonly warn?: (message: string, context?: LogContext) => void
  readonly error?: (message: string, context?: LogContext) => void
}

/** The default: warnings and errors to the console, prefixed `[autoplay-rx]`; info and debug are silent. */
export const consoleLogger: Logger = {
  warn: (message, context) => console.warn(`[autoplay-rx] ${message}`, ...(context ? [context] : [])),
  error: (message, context) => console.error(`[autoplay-rx] ${message}`, ...(context ? [context] : [])),
}

/** A logger that says nothing (tests, benchmarks). */
export const silentLogger: Logger = {}

/** Calls a logger level, never letting a throwing logger escape. */
export function log(logger: Logger, level: keyof Logger, message: string, context?: LogContext): void {
  try {
    logger[level]?.(message, context)
  } catch {
    // A broken logger must not break delivery.
  }
}
