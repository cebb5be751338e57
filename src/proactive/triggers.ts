/**
 * Triggers: pure rules over a session's context at a moment, and the ordered evaluation that turns their hits
 * into matches (the body shortened, timings and an offer id added) in one place.
 */
import { nonEmpty, positiveNumber } from '../internal/options.js'
import type { ProactiveContext } from './context.js'
import { shorten } from './text.js'

/** What a trigger answers when its rule holds; {@link matchTriggers} makes a {@link TriggerMatch} of it. */
interface TriggerHit {
  /** The offer's text; shortened to 150 characters. */
  readonly body: string
  /** Quick-reply labels; default none. */
  readonly replyLabels?: readonly string[] | undefined
  /** Facts for analytics and a judge (the built-ins use the reference's keys); default `{}`. */
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
}

/** How long an offer waits for an interaction, and how long before the trigger fires again. */
export interface TriggerTimings {
  /** Seconds an offer waits for an interaction before the session returns to thinking; default 10. */
  readonly interactionTimeoutSeconds?: number | undefined
  /** Seconds before this trigger may fire again in the session; default 30. */
  readonly cooldownSeconds?: number | undefined
}

/** A rule over one session's context: the built-ins, {@link predicateTrigger}, or an object of this shape. */
export interface ProactiveTrigger extends TriggerTimings {
  /** Stable id: the key of analytics, cooldowns and offer ids. */
  readonly id: string
  /** The hit when the rule holds at `now` (Unix seconds), else `undefined`; pure, so it may run at any time. */
  evaluate(context: ProactiveContext, now: number): TriggerHit | undefined
  /**
   * When (Unix seconds, after `now`) time alone would make the rule hold on this same context, if it can: the
   * {@link proactive} operator wakes the session then instead of polling. Default: never.
   */
  becomesTrueAt?(context: ProactiveContext, now: number): number | undefined
}

/** A trigger that fired: what to offer, and for how long. */
export interface TriggerMatch {
  /** The trigger's id. */
  readonly triggerId: string
  /** The offer's text: stripped, at most 150 characters (code points), as the reference cuts it. */
  readonly body: string
  /** Quick-reply labels. */
  readonly replyLabels: readonly string[]
  /** The trigger's facts (the built-ins': the reference's keys and values). */
  readonly metadata: Readonly<Record<string, unknown>>
  /** Seconds the offer waits for an interaction. */
  readonly interactionTimeoutSeconds: number
  /** Seconds before the trigger may fire again in the session. */
  readonly cooldownSeconds: number
  /**
   * The same for the same trigger over the same session window (product, session, newest action), so a chat
   * surface can drop a repeated delivery of one offer (a retry, a second worker).
   */
  readonly offerId: string
}

/**
 * Runs the triggers in order on one context at `now` (Unix seconds) and returns the first `limit` matches:
 * `1` (the default) for the one offer to send, `Infinity` for every match (for a judge). A trigger that throws
 * throws here.
 */
export function matchTriggers(
  triggers: readonly ProactiveTrigger[], context: ProactiveContext, now: number, limit = 1,
): TriggerMatch[] {
  const matches: TriggerMatch[] = []
  for (const trigger of triggers) {
    if (matches.length >= limit) break
    const hit = trigger.evaluate(context, now)
    if (hit === undefined) continue
    const last = context.actions[context.actions.length - 1]
    matches.push({
      triggerId: trigger.id, body: shorten(hit.body), replyLabels: hit.replyLabels ?? [], metadata: hit.metadata ?? {},
      interactionTimeoutSeconds: trigger.interactionTimeoutSeconds ?? 10,
      cooldownSeconds: trigger.cooldownSeconds ?? 30,
      offerId: hash(JSON.stringify([context.productId, context.sessionId, trigger.id, context.actions.length,
        last?.index, last?.timestamp_start])),
    })
  }
  return matches
}

/** A trigger of `id` with checked timings (a bad one is refused with a `TypeError` naming it). */
export function trigger(
  id: string, timings: TriggerTimings, evaluate: ProactiveTrigger['evaluate'],
  becomesTrueAt?: ProactiveTrigger['becomesTrueAt'],
): ProactiveTrigger {
  return {
    id: nonEmpty('id', id), evaluate, ...becomesTrueAt && { becomesTrueAt },
    interactionTimeoutSeconds: positiveNumber('interactionTimeoutSeconds', timings.interactionTimeoutSeconds ?? 10),
    cooldownSeconds: positiveNumber('cooldownSeconds', timings.cooldownSeconds ?? 30),
  }
}

/** What {@link predicateTrigger} offers when its predicate holds. */
interface PredicateTriggerOptions extends TriggerTimings {
  /** The trigger's stable id. */
  readonly id: string
  /** The offer's text. */
  readonly body: string
  /** Whether to offer, for this context at `now` (Unix seconds). */
  readonly when: (context: ProactiveContext, now: number) => boolean
  /** Quick-reply labels; default none. */
  readonly replyLabels?: readonly string[] | undefined
  /** The match's metadata, fixed or per context; default `{}`. */
  readonly metadata?: Readonly<Record<string, unknown>> | ((context: ProactiveContext) => Record<string, unknown>) |
    undefined
}

/** A trigger from one boolean rule over the context: the reference's `PredicateProactiveTrigger`. */
export function predicateTrigger(options: PredicateTriggerOptions): ProactiveTrigger {
  const { body, when, replyLabels = [], metadata = {} } = options
  return trigger(options.id, options, (context, now) => when(context, now)
    ? { body, replyLabels, metadata: typeof metadata === 'function' ? { ...metadata(context) } : { ...metadata } }
    : undefined)
}

/** A 64-bit hash as 16 hex digits (cyrb53's mixing, both halves kept): short ids, no crypto needed anywhere. */
function hash(text: string): string {
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 2654435761)
    h2 = Math.imul(h2 ^ c, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0')
}
