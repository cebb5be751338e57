/**
 * The session summarizer: once a session has `threshold` actions pending, has the user's LLM summarise its
 * history and writes the summary to a context store. A class, not an operator: apps read its state, and it has
 * two outputs (summaries and failures) that an operator would have to hide one of.
 */
import { Observable, Subject } from 'rxjs'
import type { ActionsPayload } from '../codecs.js'
import { positiveInteger } from '../internal/options.js'
import { consoleLogger, errorText, log, type Logger } from '../logger.js'
import type { Telemetry } from '../telemetry.js'
import { isThenable } from '../thenable.js'
import {
  batchTime, byCodePoint, optionalCount, optionalFunction, optionalString, resolveClock, type ContextWriter,
} from './options.js'
import { DEFAULT_SUMMARY_PROMPT, formatActions, renderPrompt, UNKNOWN_SESSION } from './text.js'

/** Options of {@link SessionSummarizer}; only `llm` is required. */
export interface SessionSummarizerOptions {
  /** The user's LLM, prompt in, summary out, sync or async; a throw, a rejection or a non-text result is a failure. */
  readonly llm: (prompt: string) => string | PromiseLike<string>
  /** Summarise a session once it has this many actions pending (actions, not batches); default 10. */
  readonly threshold?: number | undefined
  /** The prompt template; `{actions}` stands for the formatted history. Default: the reference's prompt. */
  readonly prompt?: string | undefined
  /** Turns a history into the text put in the prompt; default: the numbered list a context shows. */
  readonly formatActions?: ((batches: readonly ActionsPayload[]) => string) | undefined
  /** How many LLM calls may run at once, across sessions; default 4. */
  readonly concurrency?: number | undefined
  /** Keep the pending history of at most this many sessions, the least recently added to forgotten first. */
  readonly maxSessions?: number | undefined
  /** Where each summary is written (`onSummary(sessionId, text, at)`, awaited): a context store. */
  readonly target?: ContextWriter | undefined
  /** Where failures and evictions are logged; default `consoleLogger`. */
  readonly logger?: Logger | undefined
  /** Counts the summaries made and failed, by outcome (`otelTelemetry()` from `autoplay-rx/otel`). */
  readonly telemetry?: Telemetry | undefined
  /** The clock in milliseconds; default `Date.now`. */
  readonly now?: (() => number) | undefined
  /** How far ahead of `now` a batch's time is believed, in seconds (later: now); default 300, `Infinity`: any. */
  readonly maxClockSkewSeconds?: number | undefined
}

/** A summary the summarizer made. */
export interface SessionSummary {
  /** The session (`"unknown"` for batches without one). */
  readonly sessionId: string
  /** The LLM's text. */
  readonly text: string
  /** The `forwarded_at` of the newest batch summarised (now, for one past the allowed skew): its time in a store. */
  readonly at: number
  /** How many actions it summarises. */
  readonly actions: number
}

type Failure<Tag, Fields> = { readonly _tag: Tag; readonly sessionId: string; readonly message: string } & Fields

/**
 * Why a session was not summarised, or its summary not stored; `message` says what failed and what was kept.
 * `PromptWithoutActions`: the template has no `{actions}`; `LlmFailed`: the LLM (or `formatActions`) threw,
 * rejected or returned something that is not text; both keep the history for the session's next batch.
 * The summary was made but not stored (nor emitted): `TargetRefused`, the target answered `false` (it holds a
 * newer one); `TargetFailed`, it threw or rejected (`error`: e.g. a `SummaryTimeAheadError`, a lost connection).
 */
export type SummarizerError =
  | Failure<'PromptWithoutActions', { readonly actions: number }>
  | Failure<'LlmFailed', { readonly actions: number; readonly error: unknown }>
  | Failure<'TargetRefused', { readonly summary: SessionSummary }>
  | Failure<'TargetFailed', { readonly summary: SessionSummary; readonly error: unknown }>

interface Session {
  history: ActionsPayload[]
  count: number
  /** An LLM call (and its write) is under way. */
  running: boolean
  /** Waiting for a free LLM slot. */
  queued: boolean
  /** The last attempt failed: wait for the next batch before trying again (no retry storm). */
  failed: boolean
}

/**
 * Calls the user's LLM once a session has `threshold` pending actions, and feeds each summary to a context store
 * (`target`) and to `summary$`. One session's summaries are made in order, sessions do not wait for each other
 * (up to `concurrency` calls), failures are values on `errors$`, and a failed history is put back, never lost.
 *
 * @example
 * ```ts
 * import { ContextStore, SessionSummarizer, intoContext } from 'autoplay-rx'
 *
 * const store = new ContextStore()
 * const summarizer = new SessionSummarizer({ llm: (prompt) => myLlm.complete(prompt), threshold: 10, target: store })
 * receiver.payloads$.pipe(intoContext(store)).subscribe()
 * receiver.actions$.subscribe((batch) => summarizer.add(batch))
 * summarizer.errors$.subscribe((e) => console.warn(e._tag, e.message))
 * ```
 */
export class SessionSummarizer {
  /** Every summary made and stored by the target (when there is one), in order within a session. */
  readonly summary$: Observable<SessionSummary>
  /** Every failure, as a value. */
  readonly errors$: Observable<SummarizerError>

  private readonly config: ReturnType<typeof settings>
  /** Least recently added to first. */
  private readonly sessions = new Map<string, Session>()
  private readonly waiting: string[] = []
  private active = 0
  private readonly summaries = new Subject<SessionSummary>()
  private readonly failures = new Subject<SummarizerError>()
  private idle: Array<() => void> = []

  /** @throws TypeError naming the option when one is invalid */
  constructor(options: SessionSummarizerOptions) {
    this.config = settings(options)
    this.summary$ = this.summaries.asObservable()
    this.errors$ = this.failures.asObservable()
  }

  /**
   * Appends a batch to its session's history and starts a summary once `threshold` actions are pending and none
   * is under way. Never throws; with a sync LLM the summary is made and written before `add` returns.
   */
  add(batch: ActionsPayload): void {
    const id = batch.session_id ?? UNKNOWN_SESSION
    let session = this.sessions.get(id)
    if (session === undefined) {
      session = { history: [], count: 0, running: false, queued: false, failed: false }
      this.sessions.set(id, session)
      this.evictPastCap(id)
    } else {
      this.sessions.delete(id)
      this.sessions.set(id, session)
    }
    session.history.push(batch)
    session.count += batch.actions.length
    session.failed = false
    this.schedule(id, session)
  }

  /** The session's pending history (not summarised, not under way), formatted as for the prompt; `""` for none. */
  getContext(sessionId: string): string {
    const session = this.sessions.get(sessionId)
    return session === undefined || session.history.length === 0 ? '' : this.config.format(session.history)
  }

  /** Forgets the session's pending history; a summary under way completes, and is not put back if it fails. */
  reset(sessionId: string): void {
    this.sessions.delete(sessionId)
  }

  /** The sessions with pending actions, sorted. */
  get activeSessions(): string[] {
    return [...this.sessions].filter(([, s]) => s.history.length > 0).map(([id]) => id).sort(byCodePoint)
  }

  /** Waits for the summaries under way or waiting for a slot, then completes `summary$` and `errors$`. */
  async complete(): Promise<void> {
    if (this.active > 0 || this.waiting.length > 0) await new Promise<void>((resolve) => this.idle.push(resolve))
    this.summaries.complete()
    this.failures.complete()
  }

  private schedule(id: string, session: Session): void {
    if (session.running || session.queued || session.failed || session.count < this.config.threshold) return
    if (this.active < this.config.concurrency) this.run(id, session)
    else {
      session.queued = true
      this.waiting.push(id)
    }
  }

  private run(id: string, session: Session): void {
    const taken = session.history
    const actions = session.count
    session.history = []
    session.count = 0
    session.running = true
    this.active++
    let at = -Infinity
    for (const batch of taken) at = Math.max(at, batchTime(batch.forwarded_at, this.config))
    const putBack = (error: SummarizerError) => {
      if (this.sessions.get(id) === session) {
        session.history = taken.concat(session.history)
        session.count += actions
        session.failed = true
      }
      this.fail(error)
      this.done(id, session)
    }
    const llmFailed = (error: unknown) => putBack({
      _tag: 'LlmFailed', sessionId: id, actions, error,
      message: `the LLM failed to summarise session ${id} (${actions} actions kept for the next try): ` +
        errorText(error),
    })
    let result: unknown
    try {
      const prompt = renderPrompt(this.config.template, this.config.format(taken))
      if (prompt === undefined) {
        const message = `the prompt template has no {actions}: session ${id} not summarised (${actions} actions kept)`
        return putBack({ _tag: 'PromptWithoutActions', sessionId: id, actions, message })
      }
      result = this.config.llm(prompt)
    } catch (error) {
      return llmFailed(error)
    }
    const made = (text: unknown) => {
      if (typeof text !== 'string') {
        return llmFailed(new TypeError(`the LLM returned ${text === null ? 'null' : typeof text}, not text`))
      }
      this.store(id, session, { sessionId: id, text, at, actions })
    }
    if (isThenable(result)) result.then(made, llmFailed)
    else made(result)
  }

  /** Writes the summary to the target (awaited), then emits it once the target took it. */
  private store(id: string, session: Session, summary: SessionSummary): void {
    const notStored = `the summary of session ${id} was made but not stored: `
    const stored = (taken: unknown) => {
      if (taken === false) {
        const message = notStored + 'the target holds a newer summary'
        this.fail({ _tag: 'TargetRefused', sessionId: id, summary, message })
      } else {
        if (this.config.telemetry !== undefined) this.config.telemetry.summarizer('Summarized')
        this.summaries.next(summary)
      }
      this.done(id, session)
    }
    const failed = (error: unknown) => {
      this.fail({ _tag: 'TargetFailed', sessionId: id, summary, error, message: notStored + errorText(error) })
      this.done(id, session)
    }
    if (this.config.target === undefined) return stored(true)
    let written: unknown
    try {
      written = this.config.target.onSummary(id, summary.text, summary.at)
    } catch (error) {
      return failed(error)
    }
    if (isThenable(written)) written.then(stored, failed)
    else stored(written)
  }

  private done(id: string, session: Session): void {
    session.running = false
    this.active--
    // Sessions that waited for a slot go first; this one, if ready again, queues behind them.
    while (this.active < this.config.concurrency && this.waiting.length > 0) {
      const next = this.waiting.shift()!
      const waiting = this.sessions.get(next)
      if (waiting === undefined || !waiting.queued) continue
      waiting.queued = false
      this.schedule(next, waiting)
    }
    if (this.sessions.get(id) === session) this.schedule(id, session)
    if (this.active === 0 && this.waiting.length === 0) for (const resolve of this.idle.splice(0)) resolve()
  }

  private fail(error: SummarizerError): void {
    log(this.config.logger, 'error', error.message, { session_id: error.sessionId, tag: error._tag })
    if (this.config.telemetry !== undefined) this.config.telemetry.summarizer(error._tag)
    this.failures.next(error)
  }

  /** Past `maxSessions`, forgets the least recently added-to session that has no summary under way. */
  private evictPastCap(added: string): void {
    if (this.config.maxSessions === undefined || this.sessions.size <= this.config.maxSessions) return
    for (const [id, session] of this.sessions) {
      if (session.running || session.queued || id === added) continue
      this.sessions.delete(id)
      const why = `forgotten past maxSessions (${this.config.maxSessions}), ${session.count} pending actions dropped`
      if (session.count > 0) log(this.config.logger, 'warn', `summarizer: session ${id} ${why}`, { session_id: id })
      return
    }
  }
}

function settings(options: SessionSummarizerOptions) {
  if (typeof options?.llm !== 'function') {
    throw new TypeError('autoplay-rx: llm must be a function (prompt text → summary text)')
  }
  return {
    llm: options.llm,
    template: optionalString('prompt', options.prompt) ?? DEFAULT_SUMMARY_PROMPT,
    threshold: positiveInteger('threshold', options.threshold ?? 10),
    format: optionalFunction('formatActions', options.formatActions) ?? formatActions,
    concurrency: positiveInteger('concurrency', options.concurrency ?? 4),
    maxSessions: optionalCount('maxSessions', options.maxSessions),
    target: options.target,
    logger: options.logger ?? consoleLogger,
    telemetry: options.telemetry,
    ...resolveClock(options),
  }
}
