/**
 * proactive: batches in, offers out. Per session it keeps the window, the agent state and one timer set for the
 * moment time alone changes an answer (a dwell passing, a timeout or cooldown ending), so nothing polls.
 */
import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs'
import type { ActionsPayload } from '../codecs.js'
import { estimatedBytes } from '../internal/estimatedBytes.js'
import { positiveInteger, positiveNumber } from '../internal/options.js'
import { consoleLogger, rateLimited, type Logger } from '../logger.js'
import { proactiveContext, type ProactiveContext } from './context.js'
import { sessionTransition, type SessionEvent, type SessionOptions, type SessionState } from './session.js'
import { matchTriggers, type ProactiveTrigger, type TriggerMatch } from './triggers.js'

/** An offer to make now: the match, whose session it is, and when (Unix seconds, on the scheduler's clock). */
export interface ProactiveOffer extends TriggerMatch {
  /** The session to offer in. */
  readonly sessionId: string
  /** The product, from the session's newest batch. */
  readonly productId: string
  /** The chat thread linked to the session, if a batch named one. */
  readonly conversationId: string | null
  /** When the offer was decided. */
  readonly at: number
}

/** What the app saw a user do; `dismissed` counts as an interaction that restarts the timeout. */
interface Interaction {
  /** The session, as the batches name it. */
  readonly sessionId: string
  /** What happened. */
  readonly kind: Exclude<SessionEvent['type'], 'tick' | 'offered'> | 'dismissed'
  /** With `tour-started`: the tour, whose own timings then apply. */
  readonly tourId?: string | null | undefined
}

/** The options of {@link proactive}; a bad value is refused with a `TypeError` naming it. */
interface ProactiveOptions extends SessionOptions {
  /** The rules, in order; the first that holds (and is not cooling down in the session) is offered. */
  readonly triggers: readonly ProactiveTrigger[]
  /** What users did with offers and the chat; default none. */
  readonly interactions?: Observable<Interaction> | undefined
  /** Seconds after an offer before the session may get another; default 300. */
  readonly minIntervalSeconds?: number | undefined
  /** The context's lookback (seconds of `forwarded_at`); default 120. */
  readonly lookbackSeconds?: number | undefined
  /** The context's newest actions, and the batches kept per session; default 50. */
  readonly maxActions?: number | undefined
  /** Estimated bytes of the batches kept per session (the newest is always kept); default 65,536. */
  readonly maxWindowBytes?: number | undefined
  /** Estimated bytes of every session's batches; past it the least recently active lose their oldest. 16 MiB. */
  readonly maxBytes?: number | undefined
  /** Sessions kept; one more drops the least recently active with its timer. Default 10,000. */
  readonly maxSessions?: number | undefined
  /** Every clock read and timer; default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike | undefined
  /** Where a bound that dropped state is reported, at warn, one line per 10 s; default `consoleLogger`. */
  readonly logger?: Logger | undefined
}

/** What is kept per session, released once it is quiet (no batch in the lookback, nothing running). */
interface Session {
  readonly batches: ActionsPayload[]
  readonly sizes: number[]
  bytes: number
  state: SessionState
  /** The interaction timeout of the offer out, which holds while the session is proactive. */
  offerTimeout: number
  lastOfferAt: number
  /** Trigger id → when it may fire again in this session. */
  readonly cooldowns: Map<string, number>
  timer: Subscription | undefined
  timerAt: number
}

/**
 * Turns batches (`actions$` of a receiver, an SSE stream or a Redis worker) into offers. A session is evaluated
 * when a batch or an interaction arrives and when time alone could change the answer; it gets an offer only in
 * the `thinking` state, outside a cooldown, `minIntervalSeconds` after its last offer, from a trigger not in its
 * own cooldown. Completes and errors with the source; a trigger that throws is logged and taken as no match.
 *
 * @example
 * ```ts
 * import { Subject } from 'rxjs'
 * import { pageDwellTrigger, pingPongTrigger, proactive } from 'autoplay-rx/proactive'
 *
 * const interactions = new Subject<{ sessionId: string; kind: 'clicked' | 'dismissed' | 'opened-chat' }>()
 * receiver.actions$.pipe(proactive({ triggers: [pingPongTrigger(), pageDwellTrigger()], interactions }))
 *   .subscribe((offer) => chat.offer(offer.sessionId, offer.offerId, offer.body, offer.replyLabels))
 * chat.onClick((sessionId) => interactions.next({ sessionId, kind: 'clicked' }))
 * ```
 */
export function proactive(options: ProactiveOptions): OperatorFunction<ActionsPayload, ProactiveOffer> {
  const { triggers, interactions, scheduler = asyncScheduler, logger = consoleLogger } = options
  const minInterval = positiveNumber('minIntervalSeconds', options.minIntervalSeconds ?? 300)
  const lookback = positiveNumber('lookbackSeconds', options.lookbackSeconds ?? 120)
  const maxActions = positiveInteger('maxActions', options.maxActions ?? 50)
  const maxBytes = positiveInteger('maxWindowBytes', options.maxWindowBytes ?? 65_536)
  const maxSessions = positiveInteger('maxSessions', options.maxSessions ?? 10_000)
  const maxTotalBytes = positiveInteger('maxBytes', options.maxBytes ?? 16 * 2 ** 20)
  const defaultCooldown = positiveNumber('cooldownSeconds', options.cooldownSeconds ?? 60)
  sessionTransition(undefined, { type: 'tick' }, 0, options) // checks the session's timings now, not at first use
  const [warn, report] = [rateLimited(10_000), rateLimited(10_000)]
  // A rule that throws is the app's bug: logged (one line per 10 s) and taken as no match for this evaluation,
  // never the end of every session's offers.
  const attempt = <A>(trigger: ProactiveTrigger, run: () => A): A | undefined => {
    try {
      return run()
    } catch (error) {
      report(logger, 'error', `proactive: trigger ${trigger.id} threw; taken as no match`, { error })
      return undefined
    }
  }
  const rules = triggers.map((trigger): ProactiveTrigger => Object.create(trigger, {
    evaluate: { value: (context: ProactiveContext, now: number) =>
      attempt(trigger, () => trigger.evaluate(context, now)) },
    becomesTrueAt: { value: (context: ProactiveContext, now: number) =>
      attempt(trigger, () => trigger.becomesTrueAt?.(context, now)) },
  }))
  return (source) => new Observable<ProactiveOffer>((subscriber) => {
    const sessions = new Map<string, Session>()
    let total = 0 // estimated bytes of every session's batches
    const release = (id: string, session: Session) => {
      session.timer?.unsubscribe()
      total -= session.bytes
      sessions.delete(id)
    }
    /** The session, made the most recently active (the map's order is the eviction order). */
    const open = (id: string, now: number): Session => {
      const found = sessions.get(id)
      if (found !== undefined) sessions.delete(id)
      else if (sessions.size >= maxSessions) {
        release(...sessions.entries().next().value!)
        warn(logger, 'warn', `proactive: ${maxSessions} sessions (maxSessions); dropped the least recently active`)
      }
      const session = found ?? {
        batches: [], sizes: [], bytes: 0, state: sessionTransition(undefined, { type: 'tick' }, now, options).state,
        offerTimeout: 0, lastOfferAt: -Infinity, cooldowns: new Map(), timer: undefined, timerAt: Infinity,
      }
      sessions.set(id, session)
      return session
    }
    const drop = (session: Session, i: number) => {
      session.bytes -= session.sizes[i]!
      total -= session.sizes[i]!
      session.batches.splice(i, 1)
      session.sizes.splice(i, 1)
    }
    // An offer out waits for its trigger's interaction timeout; otherwise the session's own timings hold.
    const timings = (session: Session) => session.state.mode === 'proactive'
      ? { ...options, interactionTimeoutSeconds: session.offerTimeout } : options
    const step = (session: Session, event: SessionEvent, now: number) => {
      session.state = sessionTransition(session.state, event, now, timings(session)).state
    }

    /** Brings a session up to now (and `event`), offers if it may, then sets its one timer or releases it. */
    const settle = (id: string, session: Session, event?: SessionEvent) => {
      const now = scheduler.now() / 1000
      step(session, { type: 'tick' }, now)
      if (event !== undefined) step(session, event, now)
      for (let i = session.batches.length - 1; i >= 0; i--) {
        if (!(session.batches[i]!.forwarded_at >= now - lookback)) drop(session, i)
      }
      for (const [triggerId, until] of session.cooldowns) if (until <= now) session.cooldowns.delete(triggerId)
      const ready = session.state.mode === 'thinking' && session.state.cooldownSince === null &&
        now >= session.lastOfferAt + minInterval && session.batches.length > 0
      const context = ready ? proactiveContext(session.batches, now, { lookbackSeconds: lookback, maxActions }) : null
      const candidates = context === null ? [] : rules.filter(({ id: trigger }) => !session.cooldowns.has(trigger))
      const [match] = context === null ? [] : matchTriggers(candidates, context, now)
      if (context !== null && match !== undefined) {
        step(session, { type: 'offered' }, now) // allowed: thinking, with no cooldown
        session.offerTimeout = match.interactionTimeoutSeconds
        session.lastOfferAt = now
        session.cooldowns.set(match.triggerId, now + match.cooldownSeconds)
        const { productId, conversationId } = context
        subscriber.next({ ...match, sessionId: id, productId, conversationId, at: now })
        if (sessions.get(id) !== session) return // the consumer's reaction released it
      }
      const at = wakeAt(session, now, match === undefined ? context : null, candidates)
      if (at === Infinity) return release(id, session)
      // Whole ms (a strict boundary is given 1 ms late), a float's last bit forgiven, never at or before now.
      const ms = Math.max(Math.ceil(at * 1000 - 1e-6), Math.floor(scheduler.now()) + 1)
      if (ms === session.timerAt) return
      session.timer?.unsubscribe()
      session.timerAt = ms
      // At most 2^31 − 1 ms: a longer setTimeout fires at once (a far-future forwarded_at would spin); early is safe.
      session.timer = scheduler.schedule(guard(() => {
        session.timerAt = Infinity
        settle(id, session)
      }), Math.min(ms - scheduler.now(), 2_147_483_647))
    }

    /** The next moment time alone changes what `settle` would do; `Infinity`: the session is quiet. */
    function wakeAt(session: Session, now: number, context: ProactiveContext | null, candidates: ProactiveTrigger[]) {
      const { mode, lastInteractionAt, cooldownSince, cooldownSeconds } = session.state
      const timeout = timings(session).interactionTimeoutSeconds ?? 20
      const tour = mode !== 'thinking' && session.state.tourId !== null && options.tours !== undefined &&
        Object.hasOwn(options.tours, session.state.tourId) ? options.tours[session.state.tourId] : undefined
      let at = mode !== 'thinking' ? lastInteractionAt + (tour?.interactionTimeoutSeconds ?? timeout) + 0.001
        : cooldownSince !== null ? cooldownSince + (cooldownSeconds ?? defaultCooldown)
        : session.lastOfferAt + minInterval > now ? session.lastOfferAt + minInterval : Infinity
      for (const trigger of context === null ? [] : candidates) {
        const due = trigger.becomesTrueAt?.(context!, now)
        if (due !== undefined && due > now) at = Math.min(at, due)
      }
      for (const until of session.cooldowns.values()) at = Math.min(at, until)
      // A batch leaving the lookback changes the context (and frees its bytes).
      for (const batch of session.batches) at = Math.min(at, batch.forwarded_at + lookback + 0.001)
      return at
    }

    /** Runs a step of ours, erroring the output with what a trigger threw. */
    function guard<A extends unknown[]>(run: (...args: A) => void) {
      return (...args: A) => {
        try {
          run(...args)
        } catch (error) {
          subscriber.error(error)
        }
      }
    }

    const fromSource = source.subscribe({
      next: guard((batch: ActionsPayload) => {
        if (batch.session_id === null || batch.session_id === '') return // no session to offer in
        const session = open(batch.session_id, scheduler.now() / 1000)
        session.batches.push(batch)
        session.sizes.push(estimatedBytes(batch))
        session.bytes += session.sizes[session.sizes.length - 1]!
        total += session.sizes[session.sizes.length - 1]!
        while (session.batches.length > maxActions) drop(session, 0)
        if (session.bytes > maxBytes && session.batches.length > 1) {
          while (session.bytes > maxBytes && session.batches.length > 1) drop(session, 0)
          warn(logger, 'warn', `proactive: a session's batches passed ${maxBytes} bytes (maxWindowBytes); ` +
            'dropped its oldest', { session_id: batch.session_id })
        }
        // All sessions together: the least recently active (the map's first) lose their oldest batches first.
        if (total > maxTotalBytes) {
          for (const other of sessions.values()) {
            while (other !== session && other.batches.length > 0 && total > maxTotalBytes) drop(other, 0)
            if (total <= maxTotalBytes) break
          }
          warn(logger, 'warn', `proactive: the batches kept passed ${maxTotalBytes} bytes (maxBytes); dropped the ` +
            'least recently active sessions\' oldest')
        }
        settle(batch.session_id, session)
      }),
      error: (error: unknown) => subscriber.error(error),
      complete: () => subscriber.complete(),
    })
    const fromApp = interactions?.subscribe({
      next: guard(({ sessionId, kind, tourId }: Interaction) => {
        const event: SessionEvent = kind === 'dismissed' ? { type: 'reacted' }
          : kind === 'tour-started' ? { type: kind, tourId } : { type: kind }
        settle(sessionId, open(sessionId, scheduler.now() / 1000), event)
      }),
      error: (error: unknown) => subscriber.error(error),
    })
    return () => {
      fromSource.unsubscribe()
      fromApp?.unsubscribe()
      for (const [id, session] of [...sessions]) release(id, session)
    }
  })
}
