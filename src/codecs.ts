/**
 * The connector's wire format (payload schema v1), as io-ts codecs: the
 * single source of truth for the fields, the defaults and leniency of the
 * reference SDK, and the error reports.
 *
 * The static types are written out as interfaces, so that editors and the
 * API reference show their fields by name, and each is checked at compile
 * time to be exactly what its codec decodes. The codecs are plain io-ts
 * `t.Type`s to users; the receiver also runs their compiled fast path
 * (src/internal/fastCodec.ts) before io-ts' `validate`.
 */
import * as t from 'io-ts'
import {
  arrayOf, integerOr0, integerOrNull, literal, nullableString, numberOr0, objectCodec, stringOr,
  type OutputOf,
} from './internal/fastCodec.js'

/** Identity inside an action: an empty string stays `""`. */
const identity = nullableString(false)
/** Identity of a batch or summary: an empty string becomes `null`. */
const batchIdentity = nullableString(true)

const slimActionProps = {
  index: integerOr0,
  type: stringOr(''),
  title: stringOr(''),
  description: stringOr(''),
  canonical_url: stringOr(''),
  raw_url: stringOr(''),
  timestamp_start: numberOr0,
  timestamp_end: numberOr0,
  session_id: identity,
  user_id: identity,
  email: identity,
  conversation_id: identity,
}

const slimAction = objectCodec('SlimAction', slimActionProps, (a): SlimAction => a)

/**
 * The codec of one UI action inside an `actions` batch: an io-ts
 * `t.Type<SlimAction>`. Missing or `null` fields
 * take their defaults, unknown fields are dropped, a wrong JSON type is
 * refused. Usually reached through {@link ActionsPayload}.
 *
 * @example
 * ```ts
 * import { SlimAction } from 'autoplay-rx'
 * import * as E from 'fp-ts/lib/Either.js'
 *
 * const action = SlimAction.decode({ type: 'click', description: 'Clicked Export', session_id: 'ps_1' })
 * if (E.isRight(action)) action.right.title // '' (the default)
 * ```
 */
export const SlimAction: t.Type<SlimAction> = slimAction

/**
 * One UI action inside an `actions` batch (the static type of the
 * {@link SlimAction} codec). Times are Unix seconds and may carry a fraction.
 * The identity fields of an action keep `""` as `""` (unlike a batch's).
 *
 * @example
 * ```ts
 * const lines = batch.actions.map((action: SlimAction) => `${action.index}: ${action.description} on ${action.canonical_url}`)
 * ```
 */
export interface SlimAction {
  /** Position of the action in its session, from 0 (`mergeActions` renumbers it within the merged batch); default `0`. */
  index: number
  /** What kind of action, in lower case (`pageview`, `click`, `submit`, `type`, `focus`, `blur`, …: free text); default `""`. */
  type: string
  /** A short label; default `""`. */
  title: string
  /** The action in plain words ("Clicked Export CSV"); default `""`. */
  description: string
  /** The page's URL with its variable parts replaced by `:id`; default `""`. */
  canonical_url: string
  /** The page's URL as it was; default `""`. */
  raw_url: string
  /** When the action began (Unix seconds); default `0`. */
  timestamp_start: number
  /** When it ended (Unix seconds); default `0`. */
  timestamp_end: number
  /** The session this action belongs to; default `null`. */
  session_id: string | null
  /** The user who did it; default `null`. */
  user_id: string | null
  /** That user's e-mail address; default `null`. */
  email: string | null
  /** A linked chat thread; default `null`. */
  conversation_id: string | null
}

const actionsProps = {
  type: literal('actions'),
  product_id: stringOr(''),
  session_id: batchIdentity,
  user_id: batchIdentity,
  email: batchIdentity,
  conversation_id: batchIdentity,
  count: integerOr0,
  forwarded_at: numberOr0,
  actions: arrayOf(slimAction),
}

/**
 * The codec of a batch of UI actions of one session: an io-ts
 * `t.Type<ActionsPayload>`. `count` is always reconciled to
 * `actions.length` (decoding reports a mismatch; the receiver logs it as a warning).
 *
 * @example
 * ```ts
 * import { ActionsPayload } from 'autoplay-rx'
 * import * as E from 'fp-ts/lib/Either.js'
 *
 * const batch = ActionsPayload.decode({ type: 'actions', session_id: '', count: 5, actions: [{ type: 'click' }] })
 * if (E.isRight(batch)) batch.right.count // 1; session_id is null
 * ```
 */
export const ActionsPayload: t.Type<ActionsPayload> = objectCodec('ActionsPayload', actionsProps,
  (a): ActionsPayload => {
    a.count = a.actions.length
    return a
  })
/** The batch as sent: `count` as declared (null when absent), for decoding to report a mismatch. */
const actionsAsSent = objectCodec('ActionsPayload', { ...actionsProps, count: integerOrNull }, (a) => a)

/**
 * A batch of UI actions of one session (the static type of the
 * {@link ActionsPayload} codec). The batch's identity fields turn `""` into `null`.
 *
 * @example
 * ```ts
 * receiver.actions$.subscribe((batch: ActionsPayload) => console.log(batch.session_id ?? 'anonymous', batch.count))
 * ```
 */
export interface ActionsPayload {
  /** Selects this kind of event. */
  type: 'actions'
  /** The connector's id of the product; default `""`. */
  product_id: string
  /** The user's session; `null` when absent or `""`. */
  session_id: string | null
  /** The product's own id for the user; `null` when absent or `""`. */
  user_id: string | null
  /** The user's e-mail address; `null` when absent or `""`. */
  email: string | null
  /** A chat thread linked to the session; `null` when absent or `""`. */
  conversation_id: string | null
  /** How many actions the batch holds: always `actions.length`, whatever was sent. */
  count: number
  /** When the connector sent the batch (Unix seconds); default `0`. */
  forwarded_at: number
  /** The actions, in the order they happened; default `[]`. */
  actions: SlimAction[]
}

const summaryProps = {
  type: literal('summary'),
  product_id: stringOr(''),
  session_id: batchIdentity,
  summary: stringOr(''),
  replaces: integerOr0,
  forwarded_at: numberOr0,
}

const summaryPayload = objectCodec('SummaryPayload', summaryProps, (a): SummaryPayload => a)

/**
 * The codec of an LLM prose summary of a session: an io-ts
 * `t.Type<SummaryPayload>`.
 *
 * @example
 * ```ts
 * import { SummaryPayload } from 'autoplay-rx'
 * import * as E from 'fp-ts/lib/Either.js'
 *
 * const summary = SummaryPayload.decode({ type: 'summary', session_id: 'ps_1', summary: 'Exported a CSV.' })
 * if (E.isRight(summary)) summary.right.replaces // 0 (the default)
 * ```
 */
export const SummaryPayload: t.Type<SummaryPayload> = summaryPayload

/**
 * An LLM prose summary of a session (the static type of the {@link SummaryPayload} codec).
 *
 * @example
 * ```ts
 * receiver.summary$.subscribe((summary: SummaryPayload) => remember(summary.session_id, summary.summary))
 * ```
 */
export interface SummaryPayload {
  /** Selects this kind of event. */
  type: 'summary'
  /** The connector's id of the product; default `""`. */
  product_id: string
  /** The session summarised; `null` when absent or `""`. */
  session_id: string | null
  /** The summary, as prose; default `""`. */
  summary: string
  /** How many actions the summary stands for; default `0`. */
  replaces: number
  /** When the connector sent it (Unix seconds); default `0`. */
  forwarded_at: number
}

/** `true` only when `A` and `B` are the same type: ties each written-out interface to its codec. */
type Exactly<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
// Each interface is exactly what its codec decodes, field for field: a field added to one and not
// the other fails the build here.
const _sameShapes: [
  Exactly<SlimAction, OutputOf<typeof slimActionProps>>,
  Exactly<ActionsPayload, OutputOf<typeof actionsProps>>,
  Exactly<SummaryPayload, OutputOf<typeof summaryProps>>,
] = [true, true, true]
void _sameShapes

/**
 * The event types this version models, each with the codec decoding uses
 * (internal: not in the barrel). An actions batch keeps its declared
 * `count` here; decoding reconciles it and reports a mismatch.
 */
export const payloadCodecs = { actions: actionsAsSent, summary: summaryPayload } as const

/**
 * The codec of any modelled event: `actions` or `summary`, told apart by
 * `type`. An io-ts union: {@link decodeEvent} is faster and tells an unknown
 * event type apart from an invalid payload.
 *
 * @example
 * ```ts
 * import { Payload } from 'autoplay-rx'
 *
 * Payload.is(value) // value is Payload
 * ```
 */
export const Payload: t.UnionC<[typeof ActionsPayload, typeof SummaryPayload]> =
  t.union([ActionsPayload, SummaryPayload], 'Payload')
/**
 * Any modelled event: an {@link ActionsPayload} or a {@link SummaryPayload}, told apart by `type`.
 *
 * @example
 * ```ts
 * const size = (p: Payload) => (p.type === 'actions' ? p.actions.length : p.summary.length)
 * ```
 */
export type Payload = ActionsPayload | SummaryPayload

/**
 * The `type` values that have a codec: `'actions' | 'summary'`.
 *
 * @example
 * ```ts
 * const seen: Record<PayloadType, number> = { actions: 0, summary: 0 }
 * ```
 */
export type PayloadType = Payload['type']

/**
 * Whether `type` names a modelled event (an own key of the codec table, so
 * `'constructor'` or `'__proto__'` are not).
 *
 * @param type - any value, typically the `type` field of parsed JSON
 * @returns `true` for `'actions'` and `'summary'`
 * @example
 * ```ts
 * import { isPayloadType } from 'autoplay-rx'
 *
 * isPayloadType('summary')          // true
 * isPayloadType('usertour_trigger') // false: an unknown event type
 * ```
 */
export function isPayloadType(type: unknown): type is PayloadType {
  return typeof type === 'string' && Object.prototype.hasOwnProperty.call(payloadCodecs, type)
}
