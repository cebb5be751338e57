/**
 * The pluggable logger: four optional levels, each taking a message and a context object. Nothing here
 * logs secrets, signatures or bodies.
 */

import type { WireEvent } from './codecs.js'
import type { Decoded } from './decode.js'

export type LogContext = Readonly<Record<string, unknown>>

/**
 * A logger; a missing level is silent and a level that throws is ignored. `console` fits as it is; a
 * logger that takes the context first (pino) needs a line per level:
 *
 * @example
 * ```ts
 * const logger: Logger = { warn: (message, context) => pino.warn(context ?? {}, message) }
 * ```
 */
export interface Logger {
  /** Per-delivery detail (each refusal, with its tag). */
  readonly debug?: ((message: string, context?: LogContext) => void) | undefined
  /** Lifecycle events (a server listening, a stream connected). */
  readonly info?: ((message: string, context?: LogContext) => void) | undefined
  /** Something to look at that did not stop delivery (an empty secret, a `count` mismatch). */
  readonly warn?: ((message: string, context?: LogContext) => void) | undefined
  /** A failure: a callback that threw or rejected, a source that errored. */
  readonly error?: ((message: string, context?: LogContext) => void) | undefined
}

/** The default: warnings and errors to the console, prefixed `[autoplay-rx]`; info and debug are silent. */
export const consoleLogger: Logger = { warn: toConsole('warn'), error: toConsole('error') }

function toConsole(level: 'warn' | 'error') {
  return (message: string, context?: LogContext) =>
    console[level](`[autoplay-rx] ${message}`, ...(context ? [context] : []))
}

/** A logger that says nothing (tests, benchmarks). */
export const silentLogger: Logger = {}

/** An error's message for a one-line log: expected outages are not bugs, so no stack. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** The one warning for a batch whose declared `count` is not its length (the count was corrected). */
export function warnCountMismatch(logger: Logger, { payload, countMismatch }: Decoded): void {
  if (countMismatch === null) return
  const { declared, actual } = countMismatch
  log(logger, 'warn',
    `Declared count ${declared} does not match the ${actual} actions received; count set to ${actual}`,
    contextOf(payload))
}

/** What a log line says of a payload: whose it is, never its content. */
export function contextOf(payload: WireEvent): LogContext {
  return { session_id: payload.session_id, product_id: payload.product_id, type: payload.type }
}

/** Calls a logger level, never letting a throwing logger escape: a broken logger must not break delivery. */
export function log(logger: Logger, level: keyof Logger, message: string, context?: LogContext): void {
  try {
    logger[level]?.(message, context)
  } catch {
    // ignored, as said above
  }
}

/** `log` at most once per `ms`; a line counts those held back before it (a flood must not become one of lines). */
export function rateLimited(ms: number): typeof log {
  let at = -ms
  let held = 0
  return (logger, level, message, context) => {
    if (Date.now() - at < ms) return void held++
    at = Date.now()
    log(logger, level, held ? `${message} (and ${held} more)` : message, context)
    held = 0
  }
}
