/**
 * A session's proactive context: what triggers read. Built as the reference builds it from a session's batches:
 * those forwarded within the lookback, then the newest actions up to a cap, the oldest batch kept trimmed.
 */
import type { ActionsPayload, SlimAction } from '../codecs.js'
import { positiveInteger, positiveNumber } from '../internal/options.js'

/** One session's recent actions, as the triggers see them at one moment. */
export interface ProactiveContext {
  /** The session, from its newest batch; `null` when it names none. */
  readonly sessionId: string | null
  /** The product, from the newest batch; `""` when none. */
  readonly productId: string
  /** The chat thread linked to the session: the newest batch's that names one, else `null`. */
  readonly conversationId: string | null
  /** The window's actions, oldest first. */
  readonly actions: readonly SlimAction[]
  /** Each action's `canonical_url`, `null` where it is empty. */
  readonly canonicalUrls: readonly (string | null)[]
}

/** How much of a session the context holds; a bad value is refused with a `TypeError` naming it. */
interface ProactiveContextOptions {
  /** Only batches forwarded at most this many seconds before `now`; default 120, `Infinity` for all. */
  readonly lookbackSeconds?: number | undefined
  /** At most this many actions, the newest; default 50, `Infinity` for all. */
  readonly maxActions?: number | undefined
}

/**
 * The context of one session's batches (in the order they came) at `now`, in Unix seconds like `forwarded_at`.
 * Pure: the batches are not changed, and the same arguments give the same context.
 */
export function proactiveContext(
  batches: readonly ActionsPayload[], now: number, options: ProactiveContextOptions = {},
): ProactiveContext {
  const lookback = options.lookbackSeconds ?? 120
  const max = options.maxActions ?? 50
  if (lookback !== Infinity) positiveNumber('lookbackSeconds', lookback)
  if (max !== Infinity) positiveInteger('maxActions', max)
  const kept: (readonly SlimAction[])[] = []
  let room = max
  let conversationId: string | null = null
  for (let i = batches.length - 1; i >= 0; i--) {
    const batch = batches[i]!
    conversationId ??= batch.conversation_id
    if (room <= 0 || !(batch.forwarded_at >= now - lookback)) continue
    kept.push(batch.actions.length <= room ? batch.actions : batch.actions.slice(-room))
    room -= kept[kept.length - 1]!.length
  }
  const actions = kept.reverse().flat()
  const newest = batches[batches.length - 1]
  return {
    sessionId: newest?.session_id ?? null, productId: newest?.product_id ?? '', conversationId,
    actions, canonicalUrls: actions.map((action) => action.canonical_url || null),
  }
}
