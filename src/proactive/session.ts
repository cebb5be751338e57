/**
 * A session's agent state (the reference's `agent_state_v2`) as a pure transition: thinking → proactive on an offer
 * unless cooling down, thinking → reactive when the user opens the chat, and back to thinking only by an interaction
 * timeout, which starts a cooldown. An operator keeps one state per session and schedules the next timeout.
 */
import { positiveNumber } from '../internal/options.js'

/** One session's agent state. Times are seconds on the caller's clock (`now`). */
export interface SessionState {
  /** `thinking` (offers allowed), `proactive` (an offer is out) or `reactive` (the user drives the chat). */
  readonly mode: 'thinking' | 'proactive' | 'reactive'
  /** When the user or the agent last interacted (the timeout counts from here). */
  readonly lastInteractionAt: number
  /** When the cooldown that blocks offers began; `null`: none. */
  readonly cooldownSince: number | null
  /** That cooldown's length (a tour's own, or the session's when it began); `null`: none. */
  readonly cooldownSeconds: number | null
  /** Whether a tour (visual guidance) is running. */
  readonly guidance: boolean
  /** The running tour's id, which may set its own timeout and cooldown. */
  readonly tourId: string | null
  /** Whether the user clicked a quick reply of the latest offer. */
  readonly clickedOption: boolean
}

/** What happened in a session: an interaction the app reports, an offer, or `tick` (time passing). */
export type SessionEvent =
  | { readonly type: 'tick' | 'offered' | 'opened-chat' | 'wrote' | 'clicked' | 'reacted' | 'tour-step' | 'tour-ended' }
  | { readonly type: 'tour-started'; readonly tourId?: string | null | undefined }

/** The timings of a session, and per tour; a bad value is refused with a `TypeError` naming it. */
export interface SessionOptions {
  /** Seconds without interaction before proactive or reactive returns to thinking; default 20. */
  readonly interactionTimeoutSeconds?: number | undefined
  /** Seconds offers stay blocked after that return; default 60. */
  readonly cooldownSeconds?: number | undefined
  /** A tour's own timeout and cooldown while it runs, by tour id. */
  readonly tours?: Readonly<Record<string, TourTimings>> | undefined
}

/** A tour's own timings, which apply while it runs. */
interface TourTimings {
  /** Seconds without interaction before the session returns to thinking. */
  readonly interactionTimeoutSeconds: number
  /** Seconds offers stay blocked after that return. */
  readonly cooldownSeconds: number
}

/**
 * The session's state after `event` at `now` (seconds), from `state` (`undefined`: a new session, thinking since
 * `now`). `refused` says why nothing changed: `cooldown` (an offer while cooling down) or `state` (an offer or an
 * opened chat outside thinking, a tour in thinking: the reference raises `InvalidTransitionError`).
 */
export function sessionTransition(
  state: SessionState | undefined, event: SessionEvent, now: number, options: SessionOptions = {},
): { readonly state: SessionState; readonly refused: 'cooldown' | 'state' | null } {
  const timeout = positiveNumber('interactionTimeoutSeconds', options.interactionTimeoutSeconds ?? 20)
  const cooldown = positiveNumber('cooldownSeconds', options.cooldownSeconds ?? 60)
  let s: SessionState = state ?? {
    mode: 'thinking', lastInteractionAt: now, cooldownSince: null, cooldownSeconds: null, guidance: false, tourId: null,
    clickedOption: false,
  }
  const thinking = s.mode === 'thinking'
  const result = (next: Partial<SessionState>, refused: 'cooldown' | 'state' | null = null) =>
    ({ state: { ...s, ...next }, refused })
  // A cooldown ends once its length has passed, checked on a tick and before an offer.
  const cooled = () => s.cooldownSince !== null && now - s.cooldownSince >= (s.cooldownSeconds ?? cooldown)
    ? { cooldownSince: null, cooldownSeconds: null } : {}
  switch (event.type) {
    case 'tick': {
      if (thinking) return result(cooled())
      const tour = s.tourId !== null && options.tours !== undefined && Object.hasOwn(options.tours, s.tourId)
        ? options.tours[s.tourId] : undefined
      if (!(now - s.lastInteractionAt > (tour?.interactionTimeoutSeconds ?? timeout))) return result({})
      return result({
        mode: 'thinking', guidance: false, tourId: null, cooldownSince: now,
        cooldownSeconds: tour?.cooldownSeconds ?? cooldown,
      })
    }
    case 'offered':
      if (!thinking) return result({}, 'state')
      s = { ...s, ...cooled() }
      if (s.cooldownSince !== null) return result({}, 'cooldown')
      return result({ mode: 'proactive', lastInteractionAt: now, clickedOption: false })
    case 'opened-chat':
      return thinking ? result({ mode: 'reactive', lastInteractionAt: now, cooldownSince: null, cooldownSeconds: null })
        : result({}, 'state')
    case 'tour-started':
      if (thinking) return result({}, 'state')
      return result({ guidance: true, tourId: event.tourId ?? null, lastInteractionAt: now })
    case 'tour-ended':
      return thinking ? result({}, 'state') : result({ guidance: false, tourId: null })
    case 'clicked':
      return result({ lastInteractionAt: now, clickedOption: s.clickedOption || s.mode === 'proactive' })
    default: // wrote, reacted, tour-step: interactions that only restart the timeout
      return result({ lastInteractionAt: now })
  }
}
