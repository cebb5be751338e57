/**
 * The receiver's callbacks (`onActions`, `onSummary`) as an explicit list of
 * handlers. Running them for one accepted payload returns their failures as
 * data, so the caller that triggered a delivery learns how its own
 * callbacks ended without any state shared with the streams.
 */
import type { ActionsPayload, Payload, SummaryPayload } from './codecs.js'
import { log, type LogContext, type Logger } from './logger.js'
import { isThenable } from './thenable.js'

/**
 * A callback for one kind of payload; it may be async. A throw or a
 * rejection is logged and never stops the streams or other callbacks.
 *
 * @typeParam P - the payload it handles
 * @example
 * ```ts
 * const onActions: PayloadCallback<ActionsPayload> = async (batch) => { await index(batch) }
 * ```
 */
export type PayloadCallback<P> = (payload: P) => void | PromiseLike<unknown>

/**
 * A callback that threw or rejected while handling one delivery (see
 * {@link CallbackOutcome}).
 *
 * @example
 * ```ts
 * const { callbacks } = receiver.dispatch(body, signature)
 * const failures = callbacks._tag === 'Settled' ? callbacks.failures : await callbacks.done
 * for (const { callback, error } of failures) console.error(callback, error)
 * ```
 */
export interface CallbackFailure {
  /** Which registration failed: `onActions` or `onSummary`. */
  readonly callback: 'onActions' | 'onSummary'
  /** What it threw, or why its promise rejected (also logged). */
  readonly error: unknown
}

/**
 * How the callbacks of one delivery ended: `Settled` when every one of them
 * returned synchronously (the common case, known at once), `Pending` while
 * some promise is still running. `done` never rejects.
 *
 * @example
 * ```ts
 * const failures = (outcome: CallbackOutcome) =>
 *   outcome._tag === 'Settled' ? Promise.resolve(outcome.failures) : outcome.done
 * ```
 */
export type CallbackOutcome =
  | {
    /** Every callback returned synchronously: the outcome is known at once. */
    readonly _tag: 'Settled'
    /** The callbacks that threw (empty when none did). */
    readonly failures: ReadonlyArray<CallbackFailure>
  }
  | {
    /** Some callback returned a promise that is still running. */
    readonly _tag: 'Pending'
    /** Resolves with the failures once every callback has settled; never rejects. */
    readonly done: Promise<ReadonlyArray<CallbackFailure>>
  }

/**
 * Whether the caller waits for async callbacks (`dispatch`, `handle`) or
 * cannot (`handleSync`, which warns about a returned promise instead).
 */
export type CallbackMode = 'async' | 'sync'

/**
 * The handler list of one receiver.
 *
 * @example
 * ```ts
 * const callbacks = callbackList(consoleLogger)
 * callbacks.onActions((batch) => console.log(batch.count))
 * callbacks.run(payload, 'async') // { _tag: 'Settled', failures: [] }
 * ```
 */
export interface CallbackList {
  /** Adds a handler for actions batches. */
  readonly onActions: (fn: PayloadCallback<ActionsPayload>) => void
  /** Adds a handler for summaries. */
  readonly onSummary: (fn: PayloadCallback<SummaryPayload>) => void
  /** Runs the handlers registered for `payload`'s type, in registration order. Never throws. */
  readonly run: (payload: Payload, mode: CallbackMode) => CallbackOutcome
  /** Whether some handler is registered for `payload`'s type. */
  readonly handles: (payload: Payload) => boolean
  /** Drops every handler. */
  readonly clear: () => void
}

const NO_FAILURES: ReadonlyArray<CallbackFailure> = Object.freeze([])

/**
 * `Settled` with no failure: what a delivery with nothing to wait for
 * returns, shared so that the common case allocates nothing.
 *
 * @example
 * ```ts
 * if (E.isLeft(result)) return { result, callbacks: SETTLED }
 * ```
 */
export const SETTLED: CallbackOutcome = Object.freeze({ _tag: 'Settled', failures: NO_FAILURES })

interface Handler<P> {
  readonly name: CallbackFailure['callback']
  readonly fn: PayloadCallback<P>
}

/**
 * Makes an empty handler list whose failures are logged to `logger`.
 *
 * @param logger - where failures (errors) and `handleSync`'s promise warning go
 * @returns the list
 * @example
 * ```ts
 * const callbacks = callbackList(silentLogger)
 * callbacks.onSummary(() => { throw new Error('boom') })
 * callbacks.run(summary, 'async') // { _tag: 'Settled', failures: [{ callback: 'onSummary', error }] }
 * ```
 */
export function callbackList(logger: Logger): CallbackList {
  let actions: ReadonlyArray<Handler<ActionsPayload>> = []
  let summaries: ReadonlyArray<Handler<SummaryPayload>> = []
  return {
    // Copy on write: a handler registered while a delivery runs waits for the next one.
    onActions: (fn) => { actions = [...actions, { name: 'onActions', fn }] },
    onSummary: (fn) => { summaries = [...summaries, { name: 'onSummary', fn }] },
    run: (payload, mode) => payload.type === 'actions'
      ? runHandlers(actions, payload, mode, logger)
      : runHandlers(summaries, payload, mode, logger),
    handles: (payload) => (payload.type === 'actions' ? actions : summaries).length > 0,
    clear: () => { actions = []; summaries = [] },
  }
}

function runHandlers<P extends Payload>(
  handlers: ReadonlyArray<Handler<P>>, payload: P, mode: CallbackMode, logger: Logger,
): CallbackOutcome {
  if (handlers.length === 0) return SETTLED
  const failures: CallbackFailure[] = []
  const pending: Promise<void>[] = []
  for (const { name, fn } of handlers) {
    const fail = (error: unknown) => {
      failures.push({ callback: name, error })
      log(logger, 'error', `${name} callback failed`, { ...contextOf(payload), error })
    }
    let returned: unknown
    try {
      returned = fn(payload)
    } catch (error) {
      fail(error)
      continue
    }
    if (!isThenable(returned)) continue
    if (mode === 'sync') {
      // Not a failure (the work goes on) and not our bug: a warning that names the fix, without a stack.
      log(logger, 'warn', `${name} returned a promise, which handleSync does not wait for: ` +
        'use `await receiver.handle(body, signature)` with async callbacks (this one still runs; a rejection is logged)', contextOf(payload))
    }
    pending.push(Promise.resolve(returned).then(() => undefined, fail))
  }
  if (pending.length === 0) return failures.length === 0 ? SETTLED : { _tag: 'Settled', failures }
  return { _tag: 'Pending', done: Promise.all(pending).then(() => failures) }
}

function contextOf(payload: Payload): LogContext {
  return { session_id: payload.session_id, product_id: payload.product_id, type: payload.type }
}
