/**
 * The session summarizer: once a session has `threshold` actions pending, has the user's LLM summarise its
 * history and writes the summary to a context store. A class, not an operator: apps read its state, and it has
 * two outputs (summaries and failures) that an operator would have to hide one of.
 */
import { Observable, Subject } from 'rxjs'
import { backoffDelay, type BackoffPolicy } from '../backoff.js'
import type { ActionsPayload } from '../codecs.js'
import { estimatedBytes } from '../internal/estimatedBytes.js'
import { positiveInteger, positiveNumber } from '../internal/options.js'
import { bounded, within } from '../internal/within.js'
import { consoleLogger, errorText, log, rateLimited, type Logger } from '../logger.js'
import { fenced, type Telemetry } from '../telemetry.js'
import { isThenable } from '../thenable.js'
import {
  batchTime, byCodePoint, optionalFunction, optionalString, resolveClock, type ContextWriter,
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
  /** Keep at most this many sessions (waiting, under way or not), the least recently fed forgotten first; 10,000. */
  readonly maxSessions?: number | undefined
  /** Keep at most this many pending actions per session, the newest; default 500 (at least `threshold`). */
  readonly maxPendingActions?: number | undefined
  /**
   * Keep at most this many bytes of pending actions per session (estimated: 2 a character, 16 a value), the newest;
   * default 256 KiB. A session is summarised once they take half of it, even below `threshold`.
   */
  readonly maxPendingBytes?: number | undefined
  /** An async LLM call, or a write to the target, not settled within this many ms fails (`TimeoutError`); 30,000. */
  readonly callTimeoutMs?: number | undefined
  /** The pause before any new LLM call after each failure in a row; default 1 s, doubling up to 60 s. */
  readonly backoff?: BackoffPolicy | undefined
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
 * rejected, timed out or returned something that is not text; both keep the history for the session's next batch.
 * `ActionsDropped`: pending actions forgotten to hold a bound (`maxPendingActions`, `maxPendingBytes`, `maxSessions`).
 * The summary was made but not stored (nor emitted): `TargetRefused`, the target answered `false` (it holds a
 * newer one); `TargetFailed`, it threw or rejected (`error`: e.g. a `SummaryTimeAheadError`, a lost connection).
 */
export type SummarizerError =
  | Failure<'PromptWithoutActions', { readonly actions: number }>
  | Failure<'ActionsDropped', { readonly actions: number }>
  | Failure<'LlmFailed', { readonly actions: number; readonly error: unknown }>
  | Failure<'TargetRefused', { readonly summary: SessionSummary }>
  | Failure<'TargetFailed', { readonly summary: SessionSummary; readonly error: unknown }>

/**
 * A delivery behind a batch (a `RedisDelivery` is one): acknowledged once the summary holding it is stored, or
 * once it is dropped by a bound; released, never acknowledged, when its `signal` aborts (its partition moved).
 */
interface Held {
  ack(): unknown
  release(): void
  hold?(): boolean
  readonly signal?: AbortSignal
  /** Handed out before: its batch may be in a stored summary already. */
  readonly claimed?: boolean
}

interface Session {
  history: ActionsPayload[]
  /** The delivery of each batch of `history` (undefined for a batch added without one). */
  held: Array<Held | undefined>
  count: number
  bytes: number
  /** The last attempt failed: wait for the next batch before trying again (no retry storm). */
  failed: boolean
  /** A batch handed out before came in: ask the target what is summarised before summarising. */
  unchecked?: boolean
  /** The deliveries of the summary under way. */
  taken?: Array<Held | undefined>
  /** Its partition moved while a summary was under way: that summary is not stored, its deliveries released. */
  revoked?: boolean
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
  /** By id, not by session: a reset session's next call waits for the one under way. */
  private readonly running = new Set<string>()
  /** Ready sessions waiting for a slot or for the backoff, first come first served. */
  private readonly waiting = new Set<string>()
  private draining = false
  private failuresInRow = 0
  /** A long LLM outage trims on every batch: one line per 10 s, every drop still on errors$. */
  private readonly sayDropped = rateLimited(10_000)
  private resumeAt = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  private readonly summaries = new Subject<SessionSummary>()
  private readonly failures = new Subject<SummarizerError>()
  private idle: Array<() => void> = []
  /** Signals listened to, once each (a partition's deliveries share one). */
  private readonly signals = new WeakSet<AbortSignal>()

  /** @throws TypeError naming the option when one is invalid */
  constructor(options: SessionSummarizerOptions) {
    this.config = settings(options)
    this.summary$ = this.summaries.asObservable()
    this.errors$ = this.failures.asObservable()
  }

  /**
   * Appends a batch to its session's history and starts a summary once `threshold` actions are pending and none
   * is under way. Never throws; with a sync LLM the summary is made and written before `add` returns.
   * Given the batch's `delivery` (from `fromRedisStream` with `partitions`), holds it and acknowledges it once the
   * summary holding the batch is stored (or a bound dropped it), so a worker that dies loses no history: the next
   * owner of the session reads the entries again and rebuilds it.
   */
  add(batch: ActionsPayload, delivery?: Held): void {
    // Its partition moved before it got here: the batch is the next owner's (its abort was before this listener).
    if (delivery?.signal?.aborted) return delivery.release()
    const id = batch.session_id ?? UNKNOWN_SESSION
    const known = this.sessions.get(id)
    // A revoked session ends with its summary under way; a batch of the session's new ownership starts afresh.
    const session = known !== undefined && !known.revoked ? known
      : { history: [], held: [], count: 0, bytes: 0, failed: false }
    this.touch(id, session)
    // A delivery that cannot be held (no partitions, maxHeld) is acknowledged now, as without one.
    if (delivery?.hold?.() === false || batch.actions.length === 0) {
      void delivery?.ack()
      delivery = undefined
    }
    if (delivery !== undefined) this.watch(delivery)
    if (delivery?.claimed === true) session.unchecked = true
    // An empty batch registers the session, as in the reference, and holds nothing (its delivery acknowledged).
    if (batch.actions.length > 0) {
      session.held.push(delivery)
      session.history.push(batch)
      session.count += batch.actions.length
      session.bytes += batch.actions.reduce((sum, action) => sum + estimatedBytes(action), 0)
      this.trim(id, session)
    }
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
    for (const delivery of this.sessions.get(sessionId)?.held ?? []) void delivery?.ack()
    this.sessions.delete(sessionId)
    this.waiting.delete(sessionId)
  }

  /** When a delivery's partition moves: its sessions' histories are released to the next owner, not summarised. */
  private watch(delivery: Held): void {
    const { signal } = delivery
    if (signal === undefined || this.signals.has(signal)) return
    this.signals.add(signal)
    signal.addEventListener('abort', () => {
      for (const [id, session] of this.sessions) {
        if (!session.held.concat(session.taken ?? []).some((held) => held?.signal === signal)) continue
        for (const held of session.held) held?.release()
        Object.assign(session, { history: [], held: [], count: 0, bytes: 0 })
        if (this.running.has(id)) session.revoked = true
        else this.sessions.delete(id)
        this.waiting.delete(id)
      }
    }, { once: true })
  }

  /** The sessions with pending actions, sorted. */
  get activeSessions(): string[] {
    return [...this.sessions].filter(([, s]) => s.history.length > 0).map(([id]) => id).sort(byCodePoint)
  }

  /**
   * Waits for the summaries under way or waiting for a slot, at most twice `callTimeoutMs` (a call and its write),
   * then starts no more of them (their histories stay pending) and completes `summary$` and `errors$`.
   */
  async complete(): Promise<void> {
    if (this.running.size > 0 || this.waiting.size > 0) {
      const idle = new Promise<void>((resolve) => this.idle.push(resolve))
      await within(idle, 2 * this.config.callTimeoutMs, undefined)
    }
    this.waiting.clear()
    clearTimeout(this.timer)
    this.timer = undefined
    this.summaries.complete()
    this.failures.complete()
  }

  /** Queues the session if it is ready (and not under way), then starts what may start. */
  private schedule(id: string, session: Session | undefined): void {
    const { threshold, maxPendingBytes } = this.config
    const ready = session !== undefined && !session.failed && (session.count >= threshold ||
      (session.count > 0 && 2 * session.bytes >= maxPendingBytes))
    if (ready && !this.running.has(id)) this.waiting.add(id)
    this.drain()
  }

  /** Starts waiting sessions in order while a slot is free and the backoff allows; not re-entered (no deep stack). */
  private drain(): void {
    if (this.draining) return
    this.draining = true
    try {
      for (const id of this.waiting) {
        if (this.running.size >= this.config.concurrency || Date.now() < this.resumeAt) break
        this.waiting.delete(id)
        this.run(id, this.sessions.get(id)!)
      }
    } finally {
      this.draining = false
    }
    if (this.waiting.size > 0 && this.timer === undefined && Date.now() < this.resumeAt) {
      this.timer = setTimeout(() => { this.timer = undefined; this.drain() }, this.resumeAt - Date.now())
      ;(this.timer as { unref?: () => void }).unref?.()
    }
    if (this.running.size === 0 && this.waiting.size === 0) for (const resolve of this.idle.splice(0)) resolve()
  }

  private run(id: string, session: Session): void {
    const check = this.config.target?.summaryTime
    if (session.unchecked && check !== undefined) return this.check(id, session, check)
    const { history: taken, held, count: actions, bytes } = session
    Object.assign(session, { history: [], held: [], taken: held, count: 0, bytes: 0 })
    this.running.add(id)
    let at = -Infinity
    for (const batch of taken) if (this.trusted(batch)) at = Math.max(at, batch.forwarded_at)
    // None with a time of its own (absent, or ahead of this clock): now, as a time ahead counts.
    if (at === -Infinity) at = batchTime(Infinity, this.config)
    const putBack = (error: SummarizerError) => {
      if (session.revoked) for (const delivery of held) delivery?.release()
      else if (this.sessions.get(id) === session) {
        session.history = taken.concat(session.history)
        session.held = held.concat(session.held)
        session.count += actions
        session.bytes += bytes
        session.failed = true
        // Back as the most recently fed: the history kept for the next try is not the next one forgotten.
        this.touch(id, session)
        this.trim(id, session)
      }
      this.fail(error)
      this.done(id)
    }
    const llmFailed = (error: unknown) => {
      this.resumeAt = Date.now() + backoffDelay(++this.failuresInRow, this.config.backoff)
      putBack({
        _tag: 'LlmFailed', sessionId: id, actions, error,
        message: `the LLM failed to summarise session ${id} (${actions} actions kept for the next try): ` +
          errorText(error),
      })
    }
    let result: unknown
    try {
      const prompt = renderPrompt(this.config.template, this.config.format(taken))
      if (prompt === undefined) {
        const message = `the prompt template has no {actions}: session ${id} not summarised (${actions} actions kept)`
        return putBack({ _tag: 'PromptWithoutActions', sessionId: id, actions, message })
      }
      result = this.config.llm(prompt)
      // A native promise settles once, whatever the thenable does (a `then` that throws, a double fulfilment).
      if (isThenable(result)) result = bounded(result, this.config.callTimeoutMs, 'the LLM')
    } catch (error) {
      return llmFailed(error)
    }
    const made = (text: unknown) => {
      if (typeof text !== 'string') {
        return llmFailed(new TypeError(`the LLM returned ${text === null ? 'null' : typeof text}, not text`))
      }
      this.failuresInRow = 0
      // Its partition moved meanwhile: the next owner summarises these batches; stored here too would be twice.
      if (session.revoked) {
        for (const delivery of held) delivery?.release()
        return this.done(id)
      }
      this.store(id, { sessionId: id, text, at, actions }, held)
    }
    if (result instanceof Promise) result.then(made, llmFailed)
    else made(result)
  }

  /**
   * Batches read again after a crash or a move may be in a summary the last owner stored before it could
   * acknowledge them: those up to the stored summary's time are acknowledged, not summarised twice.
   */
  private check(id: string, session: Session, check: NonNullable<ContextWriter['summaryTime']>): void {
    this.running.add(id)
    session.unchecked = false
    const resume = (stored: unknown) => {
      // Only batches with a time of their own: one without (absent, ahead of this clock) is summarised again rather
      // than skipped, and nothing after it is skipped either.
      while (typeof stored === 'number' && session.history.length > 0 && this.trusted(session.history[0]!) &&
        session.history[0]!.forwarded_at <= stored) {
        const batch = session.history.shift()!
        session.count -= batch.actions.length
        for (const action of batch.actions) session.bytes -= estimatedBytes(action)
        void session.held.shift()?.ack()
      }
      this.done(id)
    }
    let stored: unknown
    try {
      stored = check.call(this.config.target, id)
    } catch {
      return resume(undefined) // not known: summarised again rather than lost
    }
    if (isThenable(stored)) within(stored, this.config.callTimeoutMs, undefined).then(resume, () => resume(undefined))
    else resume(stored)
  }

  /** A batch's `forwarded_at` is a time of its own: given, and not ahead of this clock past the allowed skew. */
  private trusted(batch: ActionsPayload): boolean {
    return batch.forwarded_at > 0 && batchTime(batch.forwarded_at, this.config) === batch.forwarded_at
  }

  /** Writes the summary to the target (awaited), then emits it once the target took it. */
  private store(id: string, summary: SessionSummary, held: Array<Held | undefined>): void {
    const notStored = `the summary of session ${id} was made but not stored: `
    const stored = (taken: unknown) => {
      // Stored, or refused or failed (reported): either way these batches are done with.
      for (const delivery of held) void delivery?.ack()
      if (taken === false) {
        const message = notStored + 'the target holds a newer summary'
        this.fail({ _tag: 'TargetRefused', sessionId: id, summary, message })
      } else {
        if (this.config.telemetry !== undefined) this.config.telemetry.summarizer('Summarized')
        this.summaries.next(summary)
      }
      this.done(id, true)
    }
    const failed = (error: unknown) => {
      for (const delivery of held) void delivery?.ack()
      this.fail({ _tag: 'TargetFailed', sessionId: id, summary, error, message: notStored + errorText(error) })
      this.done(id, true)
    }
    if (this.config.target === undefined) return stored(true)
    let written: unknown
    try {
      written = this.config.target.onSummary(id, summary.text, summary.at)
      if (isThenable(written)) written = bounded(written, this.config.callTimeoutMs, 'the target')
    } catch (error) {
      return failed(error)
    }
    if (written instanceof Promise) written.then(stored, failed)
    else stored(written)
  }

  /** Sessions that waited for a slot go first; this one, if ready again, queues behind them. */
  private done(id: string, summarised = false): void {
    this.running.delete(id)
    const session = this.sessions.get(id)
    if (session !== undefined) session.taken = undefined
    if (session?.revoked) this.sessions.delete(id)
    // As the reference forgets a session once summarised: with nothing pending it holds no place under maxSessions.
    if (summarised && this.sessions.get(id)?.history.length === 0) this.sessions.delete(id)
    this.schedule(id, this.sessions.get(id))
  }

  private fail(error: SummarizerError, level: 'error' | 'warn' = 'error', say = log): void {
    say(this.config.logger, level, error.message, { session_id: error.sessionId, tag: error._tag })
    if (this.config.telemetry !== undefined) this.config.telemetry.summarizer(error._tag)
    this.failures.next(error)
  }

  private dropped(id: string, actions: number, why: string): void {
    const message = `summarizer: session ${id}: ${actions} pending actions dropped, ${why}`
    if (actions > 0) this.fail({ _tag: 'ActionsDropped', sessionId: id, actions, message }, 'warn', this.sayDropped)
  }

  /** Makes the session the most recently fed; past `maxSessions`, forgets the least recently fed one not under way. */
  private touch(id: string, session: Session): void {
    this.sessions.delete(id)
    this.sessions.set(id, session)
    if (this.sessions.size <= this.config.maxSessions) return
    let victim: string | undefined
    for (const other of this.sessions.keys()) {
      if (other === id) continue
      victim ??= other // all under way (maxSessions ≤ concurrency): the oldest of them
      if (!this.running.has(other)) {
        victim = other
        break
      }
    }
    const { count } = this.sessions.get(victim!)!
    this.reset(victim!)
    this.dropped(victim!, count, `forgotten past maxSessions (${this.config.maxSessions})`)
  }

  /** Drops the oldest pending actions past `maxPendingActions` or `maxPendingBytes`. */
  private trim(id: string, session: Session): void {
    const { maxPendingActions: maxActions, maxPendingBytes: maxBytes } = this.config
    let dropped = 0
    let cut = 0
    while (session.history.length > 0 && (session.count > maxActions || session.bytes > maxBytes)) {
      const oldest = session.history[0]!
      session.count--
      session.bytes -= estimatedBytes(oldest.actions[cut++])
      dropped++
      if (cut === oldest.actions.length) {
        session.history.shift()
        void session.held.shift()?.ack() // dropped, and said so: not read again
        cut = 0
      }
    }
    if (cut > 0) session.history[0] = { ...session.history[0]!, actions: session.history[0]!.actions.slice(cut) }
    this.dropped(id, dropped, `the oldest, past maxPendingActions (${maxActions}) or maxPendingBytes (${maxBytes})`)
  }

}

function checkedBackoff(policy: BackoffPolicy): BackoffPolicy {
  for (const key of ['initialMs', 'maxMs'] as const) {
    if (!(policy?.[key] >= 0 && policy[key] < Infinity)) {
      throw new TypeError(`autoplay-rx: backoff.${key} must be a number of ms, 0 or more`)
    }
  }
  return policy
}

function settings(options: SessionSummarizerOptions) {
  if (typeof options?.llm !== 'function') {
    throw new TypeError('autoplay-rx: llm must be a function (prompt text → summary text)')
  }
  const threshold = positiveInteger('threshold', options.threshold ?? 10)
  return {
    llm: options.llm,
    template: optionalString('prompt', options.prompt) ?? DEFAULT_SUMMARY_PROMPT,
    threshold,
    format: optionalFunction('formatActions', options.formatActions) ?? formatActions,
    concurrency: positiveInteger('concurrency', options.concurrency ?? 4),
    maxSessions: positiveInteger('maxSessions', options.maxSessions ?? 10_000),
    // At least the threshold, or a session could never reach it.
    maxPendingActions: Math.max(threshold, positiveInteger('maxPendingActions', options.maxPendingActions ?? 500)),
    maxPendingBytes: positiveInteger('maxPendingBytes', options.maxPendingBytes ?? 256 * 1024),
    callTimeoutMs: positiveNumber('callTimeoutMs', options.callTimeoutMs ?? 30_000),
    backoff: checkedBackoff(options.backoff ?? { initialMs: 1000, maxMs: 60_000 }),
    target: options.target,
    logger: options.logger ?? consoleLogger,
    telemetry: fenced(options.telemetry, options.logger ?? consoleLogger),
    ...resolveClock(options),
  }
}
