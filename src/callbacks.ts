/**
 * The receiver's callbacks (`onActions`, `onSummary`) as an explicit list of handlers. Running them for one
 * payload returns their failures as data: the caller of a delivery learns how its own callbacks ended.
 */
import type { ActionsPayload, Payload, SummaryPayload } from './codecs.js'
import { contextOf, log, type Logger } from './logger.js'
import { isThenable } from './thenable.js'

/** A callback for one kind of payload; it may be async. A throw or a rejection is logged and stops nothing. */
export type PayloadCallback<P> = (payload: P) => void | PromiseLike<unknown>

/** A callback that threw or rejected while handling one delivery. */
export interface CallbackFailure {
  readonly callback: 'onActions' | 'onSummary'
  /** What it threw, or why its promise rejected (also logged). */
  readonly error: unknown
}

/**
 * How the callbacks of one delivery ended: `Settled` when all returned synchronously (known at once),
 * `Pending` while a promise runs; `done` never rejects.
 */
export type CallbackOutcome =
  | { readonly _tag: 'Settled'; readonly failures: ReadonlyArray<CallbackFailure> }
  | { readonly _tag: 'Pending'; readonly done: Promise<ReadonlyArray<CallbackFailure>> }

/** Whether the caller waits for async callbacks, or cannot (`handleSync`, which warns about a promise). */
export type CallbackMode = 'async' | 'sync'

export interface CallbackList {
  readonly onActions: (fn: PayloadCallback<ActionsPayload>) => void
  readonly onSummary: (fn: PayloadCallback<SummaryPayload>) => void
  /** Runs the handlers of `payload`'s type in registration order. Never throws. */
  readonly run: (payload: Payload, mode: CallbackMode) => CallbackOutcome
  readonly handles: (payload: Payload) => boolean
  readonly clear: () => void
}

const NO_FAILURES: ReadonlyArray<CallbackFailure> = Object.freeze([])

/** `Settled` with no failure, shared so that the common case allocates nothing. */
export const SETTLED: CallbackOutcome = Object.freeze({ _tag: 'Settled', failures: NO_FAILURES })

interface Handler<P> {
  readonly name: CallbackFailure['callback']
  readonly fn: PayloadCallback<P>
  /** handleSync's warning about a returned promise is said once per handler, not once per delivery. */
  warned: boolean
}

/** An empty handler list whose failures are logged to `logger`. */
export function callbackList(logger: Logger): CallbackList {
  let actions: ReadonlyArray<Handler<ActionsPayload>> = []
  let summaries: ReadonlyArray<Handler<SummaryPayload>> = []
  // A payload's handlers; its type matches theirs.
  const of = (payload: Payload) => (payload.type === 'actions' ? actions : summaries) as ReadonlyArray<Handler<Payload>>
  return {
    // Copy on write: a handler registered while a delivery runs waits for the next one.
    onActions: (fn) => { actions = [...actions, { name: 'onActions', fn, warned: false }] },
    onSummary: (fn) => { summaries = [...summaries, { name: 'onSummary', fn, warned: false }] },
    run: (payload, mode) => runHandlers(of(payload), payload, mode, logger),
    handles: (payload) => of(payload).length > 0,
    clear: () => { actions = []; summaries = [] },
  }
}

function runHandlers<P extends Payload>(
  handlers: ReadonlyArray<Handler<P>>, payload: P, mode: CallbackMode, logger: Logger,
): CallbackOutcome {
  if (handlers.length === 0) return SETTLED
  const failures: CallbackFailure[] = []
  const pending: Promise<void>[] = []
  for (const handler of handlers) {
    const { name, fn } = handler
    const fail = (error: unknown) => {
      failures.push({ callback: name, error })
      log(logger, 'error', `${name} callback failed`, { ...contextOf(payload), error })
    }
    let settles: Promise<unknown>
    try {
      const returned = fn(payload)
      if (!isThenable(returned)) continue
      // Adopting a returned thenable reads its `then`, user code that may throw as well.
      settles = Promise.resolve(returned)
    } catch (error) {
      fail(error)
      continue
    }
    if (mode === 'sync' && !handler.warned) {
      handler.warned = true
      // Not a failure (the work goes on) and not our bug: a warning that names the fix, without a stack.
      log(logger, 'warn', `${name} returned a promise, which handleSync does not wait for: use handle ` +
        '(a rejection is logged)', contextOf(payload))
    }
    pending.push(settles.then(() => undefined, fail))
  }
  if (pending.length === 0) return failures.length === 0 ? SETTLED : { _tag: 'Settled', failures }
  return { _tag: 'Pending', done: Promise.all(pending).then(() => failures) }
}
