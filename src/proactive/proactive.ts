/**
 * proactive: batches in, offers out. Per session it keeps the window, the agent state and when time alone next
 * changes an answer (a dwell passing, a timeout or cooldown ending): one queue and one timer for all, so nothing polls.
 */
import {
  asyncScheduler, defer, finalize, from, Observable, of, throwError, timeout, type OperatorFunction, type SchedulerLike,
  type Subscription,
} from 'rxjs'
import type { ActionsPayload, Payload, UsertourTriggerPayload } from '../codecs.js'
import { estimatedBytes } from '../internal/estimatedBytes.js'
import { must, positiveInteger, positiveNumber } from '../internal/options.js'
import { consoleLogger, errorText, rateLimited, type Logger } from '../logger.js'
import { fenced, type Telemetry } from '../telemetry.js'
import { proactiveContext, type ProactiveContext } from './context.js'
import { DueQueue } from './dueQueue.js'
import { breakerStep, CLOSED, RecentMap, windowCounts, type Breaker, type BreakerOptions } from './gates.js'
import { sessionTransition, type SessionEvent, type SessionOptions, type SessionState } from './session.js'
import { restore, toStored, type SessionStore, type StoredSession } from './store.js'
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

/**
 * What the app saw a user do (`dismissed` counts as an interaction that restarts the timeout), or how the delivery
 * of an offer went: `delivered`, or `deliveryFailed` (a transport error, a timeout, the surface's rate limit).
 */
interface Interaction {
  /** The session, as the batches name it. */
  readonly sessionId: string
  /** What happened. */
  readonly kind: Exclude<SessionEvent['type'], 'tick' | 'offered'> | 'dismissed' | 'delivered' | 'deliveryFailed'
  /** With `tour-started`: the tour, whose own timings then apply. */
  readonly tourId?: string | null | undefined
  /** With a delivery: the offer's product (default: the session's newest batch's). */
  readonly productId?: string | undefined
  /** With a delivery: the surface it went to (default: the operator's `surface`); another's is not counted. */
  readonly surface?: string | undefined
}

const KINDS = new Set<unknown>(['opened-chat', 'wrote', 'clicked', 'reacted', 'dismissed', 'tour-started', 'tour-step',
  'tour-ended', 'delivered', 'deliveryFailed'] satisfies Array<Interaction['kind']>)

/** The reference's optional rate limits on offers, in fixed clock windows; each 0 (off) by default. */
interface RateLimits {
  /** Offers per product in a minute. */
  readonly perProductPerMinute?: number | undefined
  /** Offers per session in an hour. */
  readonly perSessionPerHour?: number | undefined
  /** Offers per user (a batch's `user_id`, else its `email`) and product in a UTC day. */
  readonly perUserPerDay?: number | undefined
}

type Outcome = Parameters<NonNullable<Telemetry['proactiveOffer']>>[1]

/** A batch's delivery, as a partitioned `fromRedisStream` hands it out (a `RedisDelivery` is one). */
interface Delivered {
  readonly payload: Payload
  /** Called once its batch has left the window (or its session was dropped). */
  ack(): unknown
  /** Called when its partition moved: the next owner rebuilds the window from it. */
  release(): void
  /** Called as it enters the window: `true` when it can stay pending until then. */
  hold?(): boolean
  /** Aborted when its partition moves. */
  readonly signal?: AbortSignal
  /** False while this worker cannot confirm it holds the partition: an offer then is not sent. Called unbound. */
  readonly owned?: (() => boolean) | undefined
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
  /** Limits on offers per product, session and user; default none. */
  readonly rateLimits?: RateLimits | undefined
  /** The surface the offers go to, as delivery reports name it; default `'chat'`. */
  readonly surface?: string | undefined
  /** Holds a product's offers after consecutive failed deliveries; default 5 → 120 s; `false`: off. */
  readonly breaker?: BreakerOptions | undefined
  /**
   * Asked between a match and its offer (an LLM, say); `false`, a throw or a timeout refuses it. `signal` aborts once
   * the answer is no longer awaited (timed out, the session gone): stop the work then. Default none.
   */
  readonly judge?: ((offer: ProactiveOffer, context: ProactiveContext, signal: AbortSignal) =>
    boolean | PromiseLike<boolean>) | undefined
  /** How long an answer of the judge is awaited; default 5,000. */
  readonly judgeTimeoutMs?: number | undefined
  /** Judge calls awaited at once; one more is refused as busy. Default 8. */
  readonly maxJudgesInFlight?: number | undefined
  /** Judge calls in a clock minute; past it matches are refused. Default 60. */
  readonly maxJudgesPerMinute?: number | undefined
  /** Told each offer made or held back, by trigger and outcome (`proactiveOffer`); default none. */
  readonly telemetry?: Pick<Telemetry, 'proactiveOffer'> | undefined
  /** Each session's gating, loaded before its first batch here is evaluated and saved before an offer; none. */
  readonly state?: SessionStore | undefined
  /** How long a load or save of `state` is awaited; default 2,000. */
  readonly stateTimeoutMs?: number | undefined
}

/** No batches: one frozen array for every session, never pushed to. */
const NONE = Object.freeze([]) as never[]

/**
 * What the window keeps of a batch: what the context, the gates and the timers read (the payload is let go); its
 * `user_id` is its `user_id`, else its `email` (the per-user limit's key), and `size` its estimated bytes.
 */
type Kept = Pick<ActionsPayload, 'forwarded_at' | 'actions' | 'product_id' | 'conversation_id' | 'user_id'> & {
  size: number
}
const part = ({ forwarded_at, actions, product_id, conversation_id, user_id, size }: Kept): Kept =>
  ({ forwarded_at, actions, product_id, conversation_id, user_id, size })
/** Makes a part the session's newest, field by field (`Object.assign` is many times slower). */
const put = (session: Session, kept: Kept) => void ({ forwarded_at: session.forwarded_at, actions: session.actions,
  product_id: session.product_id, conversation_id: session.conversation_id, user_id: session.user_id,
  size: session.size } = kept)
const EMPTY: Kept = Object.freeze({ forwarded_at: -Infinity, actions: NONE, product_id: '', conversation_id: null,
  user_id: null, size: 0 })

/**
 * What is kept per session, released once it is quiet (no batch in the lookback, nothing running): its newest
 * batch's part in its own fields (`actions` `NONE`: none), so that an idle session is one record with no closure.
 */
interface Session extends Kept {
  readonly session_id: string
  /** Its older batches' parts, oldest first; `NONE` shared till a second batch comes. */
  older: Kept[]
  /** When its entry in the timer queue is due (whole ms on the scheduler's clock); `Infinity`: none. */
  timerAt: number
  /** Made once it leaves idle thinking (an offer, an interaction, a judge, deliveries or a store). */
  gating: Gating | undefined
}

/** A session's state and what most sessions never use. */
interface Gating {
  state: SessionState
  /** The interaction timeout of the offer out, which holds while the session is proactive. */
  offerTimeout: number
  lastOfferAt: number
  /** Trigger id → when it may fire again in this session; made by the first cooldown. */
  cooldowns: Map<string, number> | undefined
  /** The judge's call in flight for this session. */
  judging: Subscription | undefined
  /** The last held outcome counted (`trigger:outcome`), so that a held offer counts once per reason. */
  held: string | undefined
  /** With deliveries or a `state` store. */
  shared: Shared | undefined
}

/** A session's deliveries held while their batches are in its window, and its `state` load and saves. */
interface Shared {
  /** The delivery of each batch (aligned with `batches`). */
  held: Array<Delivered | undefined>
  signal?: AbortSignal | undefined
  /** The newest delivery's `owned`: whether its partition is still surely this worker's. */
  owned?: (() => boolean) | undefined
  /** Evaluation waits for the load; interactions meanwhile are kept (at most 16). */
  loading?: Subscription | undefined
  events?: SessionEvent[]
  saving?: Subscription | undefined
  /** What was saved last (JSON), and whether the session changed while a save was out. */
  saved?: string
  dirty?: boolean
  /** Offers made, emitted once the save that holds them answers. */
  offers?: ProactiveOffer[]
  /** Settles the held deliveries once the save out answers. */
  after?: (() => void) | undefined
}

/**
 * Turns batches (`actions$` of a receiver, an SSE stream or a Redis worker) into offers. A session is evaluated
 * when a batch or an interaction arrives and when time alone could change the answer; it gets an offer only in
 * the `thinking` state, outside a cooldown, `minIntervalSeconds` after its last offer, from a trigger not in its
 * own cooldown. Completes and errors with the source; a trigger that throws is logged and taken as no match.
 * Across workers, give it a partitioned `fromRedisStream`'s deliveries (each held while its batch is in the window)
 * and a `state` store such as `redisProactiveState`: a session's next owner rebuilds its window and goes on from its
 * gating, so it is offered once per interval (docs/proactive.md, "Across workers").
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
export function proactive(
  options: ProactiveOptions,
): OperatorFunction<ActionsPayload | UsertourTriggerPayload | Delivered, ProactiveOffer> {
  const { triggers, interactions, scheduler = asyncScheduler, logger = consoleLogger, judge, breaker = {} } = options
  const { state: store } = options
  const storeTimeoutMs = positiveNumber('stateTimeoutMs', options.stateTimeoutMs ?? 2000)
  const minInterval = positiveNumber('minIntervalSeconds', options.minIntervalSeconds ?? 300)
  const lookback = positiveNumber('lookbackSeconds', options.lookbackSeconds ?? 120)
  const maxActions = positiveInteger('maxActions', options.maxActions ?? 50)
  const maxBytes = positiveInteger('maxWindowBytes', options.maxWindowBytes ?? 65_536)
  const maxSessions = positiveInteger('maxSessions', options.maxSessions ?? 10_000)
  const maxTotalBytes = positiveInteger('maxBytes', options.maxBytes ?? 16 * 2 ** 20)
  const defaultCooldown = positiveNumber('cooldownSeconds', options.cooldownSeconds ?? 60)
  const judgeTimeoutMs = positiveNumber('judgeTimeoutMs', options.judgeTimeoutMs ?? 5000)
  const maxJudges = positiveInteger('maxJudgesInFlight', options.maxJudgesInFlight ?? 8)
  const judgesPerMinute = positiveInteger('maxJudgesPerMinute', options.maxJudgesPerMinute ?? 60)
  const limit = (name: keyof RateLimits) => {
    const value = options.rateLimits?.[name] ?? 0
    must(Number.isSafeInteger(value) && value >= 0, name, 'an integer ≥ 0 (0: off)')
    return value
  }
  const limits = {
    product: limit('perProductPerMinute'), session: limit('perSessionPerHour'), user: limit('perUserPerDay'),
  }
  const surface = options.surface ?? 'chat'
  const telemetry = fenced(options.telemetry, logger)
  // Checked now, not at first use. Thinking with nothing pending is one state shared by the sessions in it (when it
  // began is read only outside thinking).
  const thinking = sessionTransition(undefined, { type: 'tick' }, 0, options).state
  const idle: Gating = Object.freeze({ state: thinking, offerTimeout: 0, lastOfferAt: -Infinity, cooldowns: undefined,
    judging: undefined, held: undefined, shared: undefined })
  breakerStep(CLOSED, 'check', 0, breaker)
  // One line per 10 s for each thing said, so that one cannot hide another.
  const said = () => rateLimited(10_000)
  const [warn, report, counted, judged, misjudged, stored] = [said(), said(), said(), said(), said(), said()]
  // An answer awaited for at most `ms` (the judge's, the store's); a sync value at once.
  const answer = <A>(value: A | PromiseLike<A>, ms: number): Observable<A> => typeof (value as PromiseLike<A>)?.then
    !== 'function' ? of(value as A) : from(value as PromiseLike<A>).pipe(timeout({ first: ms, scheduler,
      with: () => throwError(() => new Error(`no answer in ${ms} ms`)) }))
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
    // Counts and breakers outlive a session's window: their own maps, bounded as the sessions are.
    const recent = <V>(what: string) => () => new RecentMap<V>(maxSessions, maxTotalBytes / 16, () => counted(logger,
      'warn', `proactive: the ${what} passed ${maxSessions} keys or ${maxTotalBytes / 16} bytes; dropped the oldest`))
    const rates = recent<readonly [number, number]>('rate limit counts')
    const [perProduct, perSession, perUser, judgeCalls] = [windowCounts(60, limits.product, rates),
      windowCounts(3600, limits.session, rates), windowCounts(86_400, limits.user, rates),
      windowCounts(60, judgesPerMinute, rates)]
    const breakers = recent<Breaker>('delivery breakers')()
    let inFlight = 0 // judge calls awaited
    // Sessions holding batches, least recently active first: the ones maxBytes takes from.
    const holding = new Set<Session>()
    // Every session's timer: at most one live entry each; one scheduler action at the earliest.
    const queue = new DueQueue<Session>()
    let wakeup: Subscription | undefined
    let wakeupAt = Infinity
    const saves = new Map<Subscription, Shared>() // stopped with the output
    // The source completed: the output too, once the loads and saves out have answered (and their offers are out).
    let [ending, out] = [false, 0]
    const stored$ = <A>(call: () => A | PromiseLike<A>) => {
      out++
      return defer(() => answer(call(), storeTimeoutMs)).pipe(finalize(() => {
        if (--out === 0 && ending) subscriber.complete()
      }))
    }
    const signals = new WeakSet<AbortSignal>()
    /** Forgets a session; its held deliveries acknowledged (state dropped) or released (for the next owner). */
    const release = (id: string, session: Session, how: 'ack' | 'release' = 'ack') => {
      ghosts.delete(session)
      queue.disarm(session)
      if (queue.live === 0) rearm(Infinity) // nothing left to wait for: no timer keeps the process up
      session.gating?.judging?.unsubscribe()
      for (const kept of windowOf(session)) total -= kept.size
      holding.delete(session)
      sessions.delete(id)
      const shared = session.gating?.shared
      if (shared === undefined) return
      shared.loading?.unsubscribe()
      const held = shared.held.splice(0)
      shared.after = () => { for (const delivery of held) void (how === 'ack' ? delivery?.ack() : delivery?.release()) }
      // Released only once the save out answered, so the next owner loads what this one offered.
      if (shared.saving === undefined || shared.saving.closed) settleHeld(shared)
    }
    const settleHeld = (shared: Shared, after = shared.after) => void (shared.after = undefined, after?.())
    const gatingOf = (session: Session) => session.gating ??= { ...idle }
    const sharedOf = (session: Session) =>
      gatingOf(session).shared ??= { held: Array<undefined>(windowOf(session).length) }
    /** The session, made the most recently active (the map's order is the eviction order). */
    // Sessions an interaction opened that no batch has reached: at maxSessions they are dropped first, and one more
    // takes only such a one's place. Ids in a request are free to make up; a real session keeps its last offer.
    const ghosts = new Set<Session>()
    const open = (id: string, now: number): Session => {
      const found = sessions.get(id)
      if (found !== undefined) {
        sessions.delete(id)
        if (holding.delete(found)) holding.add(found)
      } else if (sessions.size >= maxSessions) {
        const [ghost] = ghosts
        release(...(ghost === undefined ? sessions.entries().next().value! : [ghost.session_id, ghost] as const))
        warn(logger, 'warn', `proactive: ${maxSessions} sessions (maxSessions); dropped the least recently active`)
      }
      const session: Session = found ?? {
        session_id: id, forwarded_at: -Infinity, actions: NONE, product_id: '', conversation_id: null, user_id: null,
        size: 0, older: NONE, timerAt: Infinity, gating: undefined, // a literal: a spread would put fields apart
      }
      sessions.set(id, session)
      return session
    }
    /** Its batches' parts, oldest first, the record itself the newest (each with what the context reads of a batch). */
    const windowOf = (session: Session): readonly Kept[] => session.actions === NONE ? NONE
      : session.older === NONE ? [session] : [...session.older, session]
    const drop = (session: Session, i: number) => {
      const { older } = session
      total -= i < older.length ? older[i]!.size : session.size
      void session.gating?.shared?.held.splice(i, 1)[0]?.ack() // out of the window: nothing to rebuild from it
      // The newest gone, the one before it takes its place in the record.
      if (i < older.length) older.splice(i, 1)
      else put(session, older.length > 0 ? older.pop()! : EMPTY)
      if (older.length === 0) session.older = NONE
      if (session.actions === NONE) holding.delete(session)
    }
    const reach = { lookbackSeconds: lookback, maxActions }
    const keep = (session: Session, batch: ActionsPayload, size: number) => {
      if (session.actions !== NONE) (session.older === NONE ? session.older = [] : session.older).push(part(session))
      put(session, { forwarded_at: batch.forwarded_at, actions: batch.actions, product_id: batch.product_id,
        conversation_id: batch.conversation_id, user_id: batch.user_id || batch.email || null, size })
      total += size
      holding.add(session)
    }
    // An offer out waits for its trigger's interaction timeout; otherwise the session's own timings hold.
    const timings = ({ gating = idle }: Session) => gating.state.mode === 'proactive'
      ? { ...options, interactionTimeoutSeconds: gating.offerTimeout } : options
    const step = (session: Session, event: SessionEvent, now: number) => {
      const next = sessionTransition((session.gating ?? idle).state, event, now, timings(session)).state
      const state = next.mode === 'thinking' && next.cooldownSince === null && next.cooldownSeconds === null &&
        !next.guidance && next.tourId === null && !next.clickedOption ? thinking : next
      if (state !== thinking || session.gating !== undefined) gatingOf(session).state = state
    }

    /** Counts an outcome; a held offer once per reason until it fires or the reason changes. */
    const count = (session: Session, trigger: string, outcome: Outcome) => {
      if (outcome !== 'judgeRefused' && session.gating?.held === `${trigger}:${outcome}`) return
      gatingOf(session).held = outcome === 'fired' ? undefined : `${trigger}:${outcome}`
      telemetry?.proactiveOffer?.(trigger, outcome)
    }
    /** The keys of the session's rate limits and breaker, from its newest batches. */
    const keysOf = (id: string, session: Session) => {
      const { product_id: product, older } = session
      let user = session.user_id
      for (let i = older.length - 1; i >= 0 && user === null; i--) user = older[i]!.user_id
      return { product, session: `${product}\n${id}`, user: user === null ? null : `${product}\n${user}` }
    }
    /** A breaker's step, kept only while it holds something. */
    const breakerOf = (product: string, event: 'check' | 'failure' | 'success', now: number) => {
      const found = breakers.get(product) ?? CLOSED
      if (found === CLOSED && event === 'check') return null
      const next = breakerStep(found, event, now, breaker)
      if (next.breaker === CLOSED || next.breaker.failures === 0 && next.breaker.openUntil === null) {
        breakers.delete(product)
      } else if (next.breaker !== found) breakers.set(product, next.breaker)
      return next.open ? next.breaker.openUntil! : null
    }
    /** Why the session may not have an offer now, and until when a rate limit or the breaker holds it. */
    const gate = (id: string, session: Session, now: number): readonly [Outcome, number] | undefined => {
      const { state, lastOfferAt } = session.gating ?? idle
      if (state.mode !== 'thinking') return ['state', Infinity]
      if (state.cooldownSince !== null) return ['cooldown', Infinity]
      if (now < lastOfferAt + minInterval) return ['interval', Infinity]
      const keys = keysOf(id, session)
      const limited = Math.max(perProduct.freeAt(keys.product, now), perSession.freeAt(keys.session, now),
        keys.user === null ? -Infinity : perUser.freeAt(keys.user, now))
      if (limited > now) return ['rateLimit', limited]
      const open = breakerOf(keys.product, 'check', now)
      return open === null ? undefined : ['circuitOpen', open]
    }
    const fire = (id: string, session: Session, offer: ProactiveOffer) => {
      step(session, { type: 'offered' }, offer.at) // allowed: thinking, with no cooldown
      const gating = gatingOf(session)
      gating.offerTimeout = offer.interactionTimeoutSeconds
      gating.lastOfferAt = offer.at
      ;(gating.cooldowns ??= new Map()).set(offer.triggerId, offer.at + offer.cooldownSeconds)
      const keys = keysOf(id, session)
      perProduct.add(keys.product, offer.at)
      perSession.add(keys.session, offer.at)
      if (keys.user !== null) perUser.add(keys.user, offer.at)
      count(session, offer.triggerId, 'fired')
      if (store === undefined) send(session, [offer])
      else save(id, session, offer)
    }
    // Across workers an offer goes out only once saved, and only while the session's partition is surely ours:
    // otherwise the next owner may offer too (a worker cut off from Redis keeps its timers).
    const send = (session: Session, offers: ProactiveOffer[], error?: unknown) => {
      const owned = session.gating?.shared?.owned?.() !== false
      for (const offer of offers) {
        if (error === undefined && owned) subscriber.next(offer)
        else telemetry?.proactiveOffer?.(offer.triggerId, owned ? 'unsaved' : 'notOwned') // each told
      }
    }
    /** Saves the session's gating if it changed, one save out at a time; offers go out once saved (or not, logged). */
    const save = (id: string, session: Session, offer?: ProactiveOffer) => {
      const shared = sharedOf(session)
      // At most 8 wait for the next save: the oldest is not sent (a store this slow is said already).
      const waiting = offer === undefined ? 0 : (shared.offers ??= []).push(offer)
      if (waiting > 8) send(session, shared.offers!.splice(0, 1), 'full')
      if (shared.saving !== undefined) return void (shared.dirty = true)
      const snapshot = toStored(gatingOf(session))
      const text = JSON.stringify(snapshot)
      if (text === shared.saved && shared.offers === undefined) return
      const offers = shared.offers ?? []
      shared.saved = text
      shared.offers = undefined
      const answered = (error?: unknown) => {
        if (error !== undefined) stored(logger, 'warn', `proactive: a session's state not saved (${errorText(error)})`)
        if (shared.saving !== undefined) saves.delete(shared.saving)
        shared.saving = undefined
        send(session, offers, error)
        if (shared.dirty === true) {
          shared.dirty = false
          save(id, session)
        }
        if (shared.saving === undefined) settleHeld(shared)
      }
      const savedAt = scheduler.now() / 1000
      const saving = stored$(() => store!.save(id, { ...snapshot, savedAt }))
        .subscribe({ complete: () => answered(), error: guard(answered) })
      if (!saving.closed) saves.set(shared.saving = saving, shared) // a sync store answered already
    }
    /** Evaluation of a session new here waits for its stored gating; none in time: it starts afresh (logged). */
    const load = (id: string, session: Session) => {
      const shared = sharedOf(session)
      const loaded = guard((found?: StoredSession | null, error?: unknown) => {
        shared.loading = undefined
        try {
          if (error === undefined && found != null) shared.saved = JSON.stringify(restore(gatingOf(session), found))
        } catch (invalid) {
          error = invalid
        }
        if (error !== undefined) {
          stored(logger, 'warn', `proactive: a session's state not loaded (${errorText(error)}); it starts afresh`)
        }
        const now = scheduler.now() / 1000
        step(session, { type: 'tick' }, now)
        for (const event of shared.events?.splice(0) ?? []) step(session, event, now)
        settle(id, session)
      })
      const loading = stored$(() => store!.load(id))
        .subscribe({ next: (found) => loaded(found), error: (error: unknown) => loaded(null, error) })
      if (!loading.closed) shared.loading = loading
    }
    /** A refusal holds the trigger for its cooldown in the session, so the judge is not asked again at once. */
    const refuse = (session: Session, offer: ProactiveOffer, now: number, why?: string) => {
      if (why !== undefined) judged(logger, 'warn', `proactive: ${why}; ${offer.triggerId} refused`)
      ;(gatingOf(session).cooldowns ??= new Map()).set(offer.triggerId, now + offer.cooldownSeconds)
      count(session, offer.triggerId, 'judgeRefused')
    }
    /** Asks the judge; `true` when the offer is refused at once (`false`, a throw, or a bound). */
    const ask = (id: string, session: Session, offer: ProactiveOffer, context: ProactiveContext): boolean => {
      if (inFlight >= maxJudges) {
        return refuse(session, offer, offer.at, `judge busy (maxJudgesInFlight ${maxJudges})`), true
      }
      if (judgeCalls.freeAt('', offer.at) > offer.at) {
        return refuse(session, offer, offer.at, `judge called maxJudgesPerMinute (${judgesPerMinute}) times`), true
      }
      judgeCalls.add('', offer.at)
      const failed = (error: unknown) => {
        misjudged(logger, 'error', `proactive: judge failed (${errorText(error)}); taken as a refusal`)
        refuse(session, offer, scheduler.now() / 1000)
      }
      let verdict: boolean | PromiseLike<boolean>
      const call = new AbortController()
      try {
        verdict = judge!(offer, context, call.signal)
      } catch (error) {
        return failed(error), true
      }
      if (verdict === true) return fire(id, session, offer), false
      if (typeof verdict === 'boolean') return refuse(session, offer, offer.at), true
      inFlight++
      let done = false // the judge answered with a value
      const answered = () => {
        session.gating?.judging?.unsubscribe()
        gatingOf(session).judging = undefined
        return sessions.get(id) === session
      }
      gatingOf(session).judging = answer(verdict, judgeTimeoutMs).pipe(finalize(() => {
        inFlight--
        if (!done) call.abort() // given up on (or failed): the judge may stop its work
      })).subscribe({
        next: guard((approved: boolean) => {
          done = true
          if (!answered()) return
          if (approved === true) return settle(id, session, undefined, { ...offer, at: scheduler.now() / 1000 })
          refuse(session, offer, scheduler.now() / 1000)
          settle(id, session)
        }),
        error: guard((error: unknown) => {
          if (!answered()) return
          failed(error)
          settle(id, session)
        }),
      })
      return false
    }

    /**
     * Brings a session up to now (and `event`), offers if it may (`approved`: what the judge approved), then sets when
     * it is next due or releases it.
     */
    const settle = (id: string, session: Session, event?: SessionEvent, approved?: ProactiveOffer): void => {
      const shared = session.gating?.shared
      if (shared?.loading !== undefined) {
        if (event !== undefined && (shared.events ??= []).length < 16) shared.events.push(event)
        return
      }
      const now = scheduler.now() / 1000
      step(session, { type: 'tick' }, now)
      if (event !== undefined) step(session, event, now)
      const window = windowOf(session) // from the newest: an older part is its own still when the newer goes
      for (let i = window.length - 1; i >= 0; i--) if (!(window[i]!.forwarded_at >= now - lookback)) drop(session, i)
      // A float's last bit forgiven, as the timer's rounding forgives it.
      const { gating } = session
      for (const [key, until] of gating?.cooldowns ?? []) if (until <= now + 1e-9) gating!.cooldowns!.delete(key)
      if (gating?.cooldowns?.size === 0) gating.cooldowns = undefined
      const cooldowns = gating?.cooldowns
      const open = session.actions !== NONE && (gating?.judging === undefined || gating.judging.closed)
      const held = open ? gate(id, session, now) : undefined
      // Held, the context is built only to say which trigger was held.
      const context = open && approved === undefined && (held === undefined || telemetry?.proactiveOffer !== undefined)
        ? proactiveContext(windowOf(session) as unknown as ActionsPayload[], now, reach) : null
      const candidates = context === null ? [] : cooldowns === undefined ? rules
        : rules.filter(({ id: trigger }) => !cooldowns.has(trigger))
      const [match] = context === null || held !== undefined ? [] : matchTriggers(candidates, context, now)
      if (approved !== undefined && open) {
        if (held === undefined) fire(id, session, approved)
        else count(session, approved.triggerId, held[0])
      } else if (match !== undefined) {
        const offer = { ...match, sessionId: id, productId: context!.productId, conversationId: context!.conversationId,
          at: now }
        if (judge === undefined) fire(id, session, offer)
        else if (ask(id, session, offer, context!)) return settle(id, session) // refused: the next trigger may match
      } else if (context !== null && (held !== undefined || candidates.length < rules.length)) {
        const [first] = matchTriggers(rules, context, now) // held by the session's gate, or its own cooldown
        if (first !== undefined) count(session, first.triggerId, held?.[0] ?? 'cooldown')
      }
      if (sessions.get(id) !== session) return // the consumer's reaction released it
      if (store !== undefined) save(id, session)
      const at = Math.min(held?.[1] ?? Infinity,
        wakeAt(session, now, match === undefined && held === undefined ? context : null, candidates))
      if (at === Infinity) return release(id, session)
      // Whole ms (a strict boundary is given 1 ms late), a float's last bit forgiven, never at or before now.
      const ms = Math.max(Math.ceil(at * 1000 - 1e-6), Math.floor(scheduler.now()) + 1)
      if (ms === session.timerAt) return
      queue.arm(session, ms)
      if (ms < wakeupAt) rearm(ms)
    }

    /** Sets the one scheduler action to `at` (ms; `Infinity`: none). */
    function rearm(at: number) {
      wakeup?.unsubscribe()
      wakeupAt = at
      // At most 2^31 − 1 ms: a longer setTimeout fires at once (a far-future forwarded_at would spin); early is safe.
      wakeup = at === Infinity ? undefined
        : scheduler.schedule(wake, Math.min(Math.max(at - scheduler.now(), 0), 2_147_483_647))
    }
    /** Settles each session due, in the order due (ties: armed first), then waits for the next. */
    function wake() {
      wakeup = undefined
      wakeupAt = Infinity
      const now = scheduler.now()
      const run = guard(settle)
      for (let due = queue.pop(now); due && !subscriber.closed; due = queue.pop(now)) run(due.session_id, due)
      const next = queue.peek()
      if (next < wakeupAt && !subscriber.closed) rearm(next)
    }

    /** The next moment time alone changes what `settle` would do; `Infinity`: the session is quiet. */
    function wakeAt(session: Session, now: number, context: ProactiveContext | null, candidates: ProactiveTrigger[]) {
      const { state, lastOfferAt, cooldowns } = session.gating ?? idle
      const { mode, lastInteractionAt, cooldownSince, cooldownSeconds } = state
      const timeout = timings(session).interactionTimeoutSeconds ?? 20
      const tour = mode !== 'thinking' && state.tourId !== null && options.tours !== undefined &&
        Object.hasOwn(options.tours, state.tourId) ? options.tours[state.tourId] : undefined
      let at = mode !== 'thinking' ? lastInteractionAt + (tour?.interactionTimeoutSeconds ?? timeout) + 0.001
        : cooldownSince !== null ? cooldownSince + (cooldownSeconds ?? defaultCooldown)
        : lastOfferAt + minInterval > now ? lastOfferAt + minInterval : Infinity
      for (const trigger of context === null ? [] : candidates) {
        const due = trigger.becomesTrueAt?.(context!, now)
        if (due !== undefined && due > now) at = Math.min(at, due)
      }
      for (const until of cooldowns?.values() ?? []) at = Math.min(at, until)
      // A batch leaving the lookback changes the context (and frees its bytes).
      for (const kept of windowOf(session)) at = Math.min(at, kept.forwarded_at + lookback + 0.001)
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

    /** Its partition moved: its sessions go, their deliveries released to the next owner, nothing offered. */
    const revoked = (signal: AbortSignal) => () => {
      for (const [id, s] of [...sessions]) if (s.gating?.shared?.signal === signal) release(id, s, 'release')
    }
    const fromSource = source.subscribe({
      next: guard((item: ActionsPayload | UsertourTriggerPayload | Delivered) => {
        const delivery = 'payload' in item ? item as Delivered : undefined
        const batch = (delivery?.payload ?? item) as ActionsPayload
        // The connector starting a Usertour flow in the session's browser: a tour, as if the app had said so.
        if (!('payload' in item) && item.type === 'usertour_trigger') {
          const id = item.session_id
          if (id && (store === undefined || sessions.has(id))) {
            settle(id, open(id, scheduler.now() / 1000), { type: 'tour-started', tourId: item.flow_id })
          }
          return
        }
        // No session to offer in (or a summary's delivery): nothing to keep.
        if (!batch.session_id || delivery?.payload.type === 'summary') return void delivery?.ack()
        if (delivery?.signal?.aborted === true) return delivery.release()
        const fresh = !sessions.has(batch.session_id)
        const session = open(batch.session_id, scheduler.now() / 1000)
        ghosts.delete(session)
        if (delivery !== undefined || store !== undefined || session.gating?.shared !== undefined) {
          const shared = sharedOf(session)
          // Held while the batch is in the window, so a next owner rebuilds the window from the pending entries.
          shared.held.push(delivery?.hold?.() === true ? delivery : void delivery?.ack())
          const { signal } = delivery ?? {}
          if (signal !== undefined && !signals.has(signal)) {
            signals.add(signal)
            signal.addEventListener('abort', revoked(signal), { once: true })
          }
          shared.signal = signal ?? shared.signal
          shared.owned = delivery?.owned ?? shared.owned
        }
        keep(session, batch, estimatedBytes(batch))
        while (session.older.length >= maxActions) drop(session, 0)
        const bytes = () => windowOf(session).reduce((sum, kept) => sum + kept.size, 0)
        if (session.older.length > 0 && bytes() > maxBytes) {
          while (session.older.length > 0 && bytes() > maxBytes) drop(session, 0)
          warn(logger, 'warn', `proactive: a session's batches passed ${maxBytes} bytes (maxWindowBytes); ` +
            'dropped its oldest', { session_id: batch.session_id })
        }
        // All sessions together: the least recently active (the set's first) lose their oldest batches first.
        if (total > maxTotalBytes) {
          for (const other of holding) {
            while (other !== session && other.actions !== NONE && total > maxTotalBytes) drop(other, 0)
            if (total <= maxTotalBytes) break
          }
          warn(logger, 'warn', `proactive: the batches kept passed ${maxTotalBytes} bytes (maxBytes); dropped the ` +
            'least recently active sessions\' oldest')
        }
        if (fresh && store !== undefined) load(batch.session_id, session)
        else settle(batch.session_id, session)
      }),
      error: (error: unknown) => subscriber.error(error),
      complete: () => {
        ending = true
        if (out === 0) subscriber.complete()
      },
    })
    const fromApp = interactions?.subscribe({
      next: guard((interaction: Interaction) => {
        // Often a request body passed on: what is not an interaction is said and skipped, not every session's end.
        const report = interaction?.kind === 'delivered' || interaction?.kind === 'deliveryFailed'
        if (!KINDS.has(interaction?.kind) || !(interaction.sessionId || (report && interaction.productId)) ||
          typeof (interaction.sessionId ?? '') !== 'string' || typeof (interaction.productId ?? '') !== 'string') {
          return warn(logger, 'warn', 'proactive: an interaction without a known kind and a sessionId (or, for a ' +
            'delivery report, a productId) skipped')
        }
        const { sessionId, kind, tourId, ...delivery } = interaction
        if (kind === 'delivered' || kind === 'deliveryFailed') {
          const found = sessions.get(sessionId)
          const product = delivery.productId ?? (found?.actions === NONE ? undefined : found?.product_id)
          if ((delivery.surface ?? surface) !== surface || product === undefined) return // another operator's
          return void breakerOf(product, kind === 'delivered' ? 'success' : 'failure', scheduler.now() / 1000)
        }
        // With a store, the worker holding the session applies it (send each to every worker). Without, one for a
        // session unknown here opens it (the chat may open before any batch) if that drops no real session.
        const known = sessions.has(sessionId)
        if (!known && (store !== undefined || (sessions.size >= maxSessions && ghosts.size === 0))) return
        const event: SessionEvent = kind === 'dismissed' ? { type: 'reacted' }
          : kind === 'tour-started' ? { type: kind, tourId } : { type: kind }
        const session = open(sessionId, scheduler.now() / 1000)
        if (!known) ghosts.add(session)
        settle(sessionId, session, event)
      }),
      error: (error: unknown) => subscriber.error(error),
    })
    return () => {
      fromSource.unsubscribe()
      fromApp?.unsubscribe()
      for (const [saving, shared] of saves) {
        saving.unsubscribe()
        settleHeld(shared)
      }
      // The last empties the queue and its timer.
      for (const [id, session] of [...sessions]) release(id, session, 'release')
    }
  })
}
