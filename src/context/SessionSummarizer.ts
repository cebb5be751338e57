/**
 * The session summarizer: counts each session's actions, and once a session
 * has `threshold` of them, has the user's LLM summarise its history and
 * writes the summary to a context store. A class, not an operator: it holds
 * state the app reads (pending history, active sessions, reset) and has two
 * outputs (summaries and failures), which an operator would have to hide.
 */
import { Observable, Subject } from 'rxjs'
import type { ActionsPayload } from '../codecs.js'
import { positiveInteger } from '../internal/options.js'
import { consoleLogger, log, type Logger } from '../logger.js'
import type { Telemetry } from '../telemetry.js'
import { isThenable } from '../thenable.js'
import { byCodePoint, optionalCount, optionalFunction, type ContextWriter } from './options.js'
import { DEFAULT_SUMMARY_PROMPT, errorText, formatActions, renderPrompt, UNKNOWN_SESSION } from './text.js'

/**
 * Options of {@link SessionSummarizer}.
 *
 * @example
 * ```ts
 * const options: SessionSummarizerOptions = {
 *   llm: async (prompt) => (await openai.responses.create({ model: 'gpt-4.1-mini', input: prompt })).output_text,
 *   threshold: 20,
 *   target: store,
 * }
 * ```
 */
export interface SessionSummarizerOptions {
  /** The user's LLM: prompt text in, summary text out; sync or async. A throw, a rejection or a result that is not text is a failure. */
  readonly llm: (prompt: string) => string | PromiseLike<string>
  /** Summarise a session once it has this many actions pending (actions, not batches); a positive integer; default 10. */
  readonly threshold?: number | undefined
  /** The prompt template; `{actions}` stands for the formatted history. Default {@link DEFAULT_SUMMARY_PROMPT}. */
  readonly prompt?: string | undefined
  /** Turns a history into the text put in the prompt; default {@link formatActions}. */
  readonly formatActions?: ((batches: readonly ActionsPayload[]) => string) | undefined
  /** How many LLM calls may run at once, across sessions; a positive integer; default 4. */
  readonly concurrency?: number | undefined
  /** Keep the pending history of at most this many sessions, the least recently added to forgotten first (logged); default none. */
  readonly maxSessions?: number | undefined
  /** Where each summary is written (`onSummary(sessionId, text, at)`, awaited): a context store. */
  readonly target?: ContextWriter | undefined
  /** Where failures and evictions are logged; default {@link consoleLogger}. */
  readonly logger?: Logger | undefined
  /** Metrics of the summaries made and failed, by outcome (`otelTelemetry()` from `autoplay-rx/otel`). Default: none. */
  readonly telemetry?: Telemetry | undefined
}

/**
 * A summary the summarizer produced.
 *
 * @example
 * ```ts
 * summarizer.summary$.subscribe((s: SessionSummary) => console.log(`${s.sessionId} (${s.actions} actions): ${s.text}`))
 * ```
 */
export interface SessionSummary {
  /** The session (`"unknown"` for batches without one). */
  readonly sessionId: string
  /** The LLM's text. */
  readonly text: string
  /** The `forwarded_at` of the newest batch summarised: the summary's time in a store. */
  readonly at: number
  /** How many actions it summarises. */
  readonly actions: number
}

/**
 * Why a session was not summarised, or its summary not stored. Nothing is
 * lost: for the first two the history is back in front of the session's
 * pending actions, and the next batch of the session tries again.
 *
 * - `PromptWithoutActions`: the template has no `{actions}`;
 * - `LlmFailed`: the LLM (or `formatActions`) threw or rejected, or returned something other than text;
 * - `TargetFailed`: the summary was made (and emitted) but the target refused to store it; `summary` holds it.
 *
 * @example
 * ```ts
 * summarizer.errors$.subscribe((e: SummarizerError) => metrics.increment(`summarizer.${e._tag}`))
 * ```
 */
export type SummarizerError = PromptWithoutActions | LlmFailed | TargetFailed

/**
 * What every {@link SummarizerError} has.
 *
 * @example
 * ```ts
 * const line = (e: SummarizerFailure) => `${e.sessionId}: ${e.message}`
 * ```
 */
interface SummarizerFailure {
  /** The session. */
  readonly sessionId: string
  /** A readable sentence saying what failed and what was kept. */
  readonly message: string
}

/**
 * The prompt template has no `{actions}`: nothing was sent to the LLM, the history is kept.
 *
 * @example
 * ```ts
 * if (e._tag === 'PromptWithoutActions') console.error('fix the prompt template:', e.message)
 * ```
 */
export interface PromptWithoutActions extends SummarizerFailure {
  /** Selects this kind of failure. */
  readonly _tag: 'PromptWithoutActions'
  /** How many actions are kept pending. */
  readonly actions: number
}

/**
 * The LLM (or `formatActions`) threw or rejected, or returned something that is not text; the history is kept.
 *
 * @example
 * ```ts
 * if (e._tag === 'LlmFailed') metrics.increment('llm.failures', { reason: String(e.error) })
 * ```
 */
export interface LlmFailed extends SummarizerFailure {
  /** Selects this kind of failure. */
  readonly _tag: 'LlmFailed'
  /** How many actions are kept pending. */
  readonly actions: number
  /** What the LLM threw or rejected with (a TypeError for a result that is not text). */
  readonly error: unknown
}

/**
 * The summary was made (and emitted on `summary$`) but the target refused it.
 *
 * @example
 * ```ts
 * if (e._tag === 'TargetFailed') retryLater(() => store.onSummary(e.sessionId, e.summary.text, e.summary.at))
 * ```
 */
export interface TargetFailed extends SummarizerFailure {
  /** Selects this kind of failure. */
  readonly _tag: 'TargetFailed'
  /** The summary that was not stored. */
  readonly summary: SessionSummary
  /** What the target threw or rejected with. */
  readonly error: unknown
}

interface Session {
  history: ActionsPayload[]
  count: number
  /** An LLM call (and its write) for this session is under way. */
  running: boolean
  /** Waiting for a free LLM slot. */
  queued: boolean
  /** The last attempt failed: wait for the next batch before trying again (no retry storm). */
  failed: boolean
}

/**
 * Calls the user's LLM once a session has `threshold` pending actions, and
 * feeds each summary to a context store (`target`) and to `summary$`.
 *
 * As the reference: the threshold counts actions, not batches; the prompt is
 * the template with `{actions}` replaced by `formatActions(history)`; when
 * the LLM fails, or the template has no `{actions}`, the history taken is
 * put back in front of what arrived meanwhile, so that nothing is lost.
 * Beyond it: one session's summaries are made one after the other, in
 * order; sessions do not wait for each other, up to `concurrency` LLM calls
 * at once; failures are values on `errors$` (and logged), never thrown into
 * `add` or the pipeline; each summary carries the time of the newest batch
 * it summarises, so a store keeps the newest.
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
  /** Every summary made, in order within a session, once written to the target. */
  readonly summary$: Observable<SessionSummary>
  /** Every failure, as a value. */
  readonly errors$: Observable<SummarizerError>

  private readonly llm: SessionSummarizerOptions['llm']
  private readonly threshold: number
  private readonly template: string
  private readonly format: (batches: readonly ActionsPayload[]) => string
  private readonly concurrency: number
  private readonly maxSessions: number | undefined
  private readonly target: ContextWriter | undefined
  private readonly logger: Logger
  /** Least recently added to first. */
  private readonly sessions = new Map<string, Session>()
  private readonly waiting: string[] = []
  private active = 0
  private readonly telemetry: Telemetry | undefined
  private readonly summaries = new Subject<SessionSummary>()
  private readonly failures = new Subject<SummarizerError>()
  private idle: Array<() => void> = []

  /**
   * @param options - the LLM and the rest
   * @throws TypeError naming the option when one is invalid (e.g. `autoplay-rx: threshold must be a positive integer`)
   */
  constructor(options: SessionSummarizerOptions) {
    if (typeof options?.llm !== 'function') throw new TypeError('autoplay-rx: llm must be a function (prompt text → summary text)')
    if (options.prompt !== undefined && typeof options.prompt !== 'string') throw new TypeError('autoplay-rx: prompt must be a string')
    this.llm = options.llm
    this.threshold = positiveInteger('threshold', options.threshold ?? 10)
    this.template = options.prompt ?? DEFAULT_SUMMARY_PROMPT
    this.format = optionalFunction('formatActions', options.formatActions) ?? formatActions
    this.concurrency = positiveInteger('concurrency', options.concurrency ?? 4)
    this.maxSessions = optionalCount('maxSessions', options.maxSessions)
    this.target = options.target
    this.logger = options.logger ?? consoleLogger
    this.telemetry = options.telemetry
    this.summary$ = this.summaries.asObservable()
    this.errors$ = this.failures.asObservable()
  }

  /**
   * Appends a batch to its session's history (a missing session id is
   * `"unknown"`), and starts a summary when the session has `threshold`
   * actions pending and none is under way. Never throws; with a sync LLM
   * the summary is made (and written) before `add` returns.
   *
   * @param batch - an actions batch
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

  /**
   * The session's pending history (not yet summarised, not under way),
   * formatted as for the prompt.
   *
   * @param sessionId - the session
   * @returns the formatted history; `""` when nothing is pending
   */
  getContext(sessionId: string): string {
    const session = this.sessions.get(sessionId)
    return session === undefined || session.history.length === 0 ? '' : this.format(session.history)
  }

  /**
   * Forgets the session's pending history. A summary under way still
   * completes; if it fails, its history is not put back.
   *
   * @param sessionId - the session
   */
  reset(sessionId: string): void {
    this.sessions.delete(sessionId)
  }

  /** The sessions with pending actions, sorted. */
  get activeSessions(): string[] {
    return [...this.sessions].filter(([, s]) => s.history.length > 0).map(([id]) => id).sort(byCodePoint)
  }

  /**
   * Waits for the summaries under way and those waiting for a slot, then
   * completes `summary$` and `errors$`. Pending histories below the
   * threshold stay readable.
   *
   * @returns resolves once everything started is done
   */
  async complete(): Promise<void> {
    if (this.active > 0 || this.waiting.length > 0) await new Promise<void>((resolve) => this.idle.push(resolve))
    this.summaries.complete()
    this.failures.complete()
  }

  private schedule(id: string, session: Session): void {
    if (session.running || session.queued || session.failed || session.count < this.threshold) return
    if (this.active < this.concurrency) this.run(id, session)
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
    let at = taken[0]!.forwarded_at
    for (const batch of taken) if (batch.forwarded_at > at) at = batch.forwarded_at
    const putBack = (error: SummarizerError) => {
      if (this.sessions.get(id) === session) {
        session.history = taken.concat(session.history)
        session.count += actions
        session.failed = true
      }
      this.fail(error)
      this.done(id, session)
    }
    const llmFailed = (error: unknown) => putBack({ _tag: 'LlmFailed', sessionId: id, actions, error, message: `the LLM failed to summarise session ${id} (${actions} actions kept for the next try): ${errorText(error)}` })
    let result: unknown
    try {
      const prompt = renderPrompt(this.template, this.format(taken))
      if (prompt === undefined) {
        return putBack({ _tag: 'PromptWithoutActions', sessionId: id, actions, message: `the prompt template has no {actions}: session ${id} not summarised (${actions} actions kept)` })
      }
      result = this.llm(prompt)
    } catch (error) {
      return llmFailed(error)
    }
    const made = (text: unknown) => {
      if (typeof text !== 'string') return llmFailed(new TypeError(`the LLM returned ${text === null ? 'null' : typeof text}, not text`))
      this.store(id, session, { sessionId: id, text, at, actions })
    }
    if (isThenable(result)) result.then(made, llmFailed)
    else made(result)
  }

  /** Writes the summary to the target (awaited), then emits it. */
  private store(id: string, session: Session, summary: SessionSummary): void {
    const stored = () => {
      if (this.telemetry !== undefined) this.telemetry.summarizer('Summarized')
      this.summaries.next(summary)
      this.done(id, session)
    }
    const refused = (error: unknown) => {
      this.summaries.next(summary)
      this.fail({ _tag: 'TargetFailed', sessionId: id, summary, error, message: `the summary of session ${id} was made but not stored: ${errorText(error)}` })
      this.done(id, session)
    }
    if (this.target === undefined) return stored()
    let written: unknown
    try {
      written = this.target.onSummary(id, summary.text, summary.at)
    } catch (error) {
      return refused(error)
    }
    if (isThenable(written)) written.then(stored, refused)
    else stored()
  }

  private done(id: string, session: Session): void {
    session.running = false
    this.active--
    // Sessions that waited for a slot go first; this one, if ready again, queues behind them.
    while (this.active < this.concurrency && this.waiting.length > 0) {
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
    log(this.logger, 'error', error.message, { session_id: error.sessionId, tag: error._tag })
    if (this.telemetry !== undefined) this.telemetry.summarizer(error._tag)
    this.failures.next(error)
  }

  /** Past `maxSessions`, forgets the least recently added-to sessions that have no summary under way. */
  private evictPastCap(added: string): void {
    if (this.maxSessions === undefined || this.sessions.size <= this.maxSessions) return
    for (const [id, session] of this.sessions) {
      if (session.running || session.queued || id === added) continue
      this.sessions.delete(id)
      if (session.count > 0) log(this.logger, 'warn', `summarizer: session ${id} forgotten past maxSessions (${this.maxSessions}), ${session.count} pending actions dropped`, { session_id: id })
      return
    }
  }
}
