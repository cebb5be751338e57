/**
 * The pluggable logger: four optional levels, each taking a message and a
 * context object. Receivers never log secrets, signatures or bodies.
 */

/**
 * Structured context of a log line (session and product ids, error, …).
 *
 * @example
 * ```ts
 * const context: LogContext = { session_id: 'ps_1', product_id: 'prod_abc', type: 'actions' }
 * ```
 */
export type LogContext = Readonly<Record<string, unknown>>

/**
 * A logger; every level is optional, a missing one is silent. A level that
 * throws is ignored (delivery goes on). `console` fits as it is; a logger
 * that takes the context first (pino) needs the small adapter below.
 *
 * @example
 * ```ts
 * import pino from 'pino'
 * import { WebhookReceiver, type Logger } from 'autoplay-rx'
 *
 * const pinoLogger = pino()
 * const logger: Logger = {
 *   warn: (message, context) => pinoLogger.warn(context ?? {}, message),
 *   error: (message, context) => pinoLogger.error(context ?? {}, message),
 * }
 * const receiver = new WebhookReceiver({ secret, logger })
 * ```
 */
export interface Logger {
  /** Per-delivery detail (each refusal, with its tag). */
  readonly debug?: (message: string, context?: LogContext) => void
  /** Lifecycle events (a server listening, a stream connected). */
  readonly info?: (message: string, context?: LogContext) => void
  /** Something to look at that did not stop delivery (an empty secret, a `count` mismatch). */
  readonly warn?: (message: string, context?: LogContext) => void
  /** A failure: a callback that threw or rejected, a source that errored. */
  readonly error?: (message: string, context?: LogContext) => void
}

/**
 * The default: warnings and errors to the console, prefixed `[autoplay-rx]`;
 * info and debug are silent.
 *
 * @example
 * ```ts
 * new WebhookReceiver({ secret, logger: consoleLogger }) // the same as leaving `logger` out
 * ```
 */
export const consoleLogger: Logger = {
  warn: (message, context) => console.warn(`[autoplay-rx] ${message}`, ...(context ? [context] : [])),
  error: (message, context) => console.error(`[autoplay-rx] ${message}`, ...(context ? [context] : [])),
}

/**
 * A logger that says nothing (tests, benchmarks).
 *
 * @example
 * ```ts
 * new WebhookReceiver({ secret, logger: silentLogger })
 * ```
 */
export const silentLogger: Logger = {}

/** Calls a logger level, never letting a throwing logger escape. */
export function log(logger: Logger, level: keyof Logger, message: string, context?: LogContext): void {
  try {
    logger[level]?.(message, context)
  } catch {
    // A broken logger must not break delivery.
  }
}
