/**
 * The connector's wire format (payload schema v1) as io-ts codecs: the one source of the fields, the
 * reference SDK's defaults and leniency, and the error reports. The static types are derived from the
 * codecs' parts; the receiver runs their compiled fast path (src/internal/fastCodec.ts) before `validate`.
 */
import * as t from 'io-ts'
import {
  arrayOf, id, idOr, integerOr0, integerOrNull, literal, nullableId, numberOr0, objectCodec, stringOr, type OutputOf,
} from './internal/fastCodec.js'
import { hasOwn } from './internal/compile.js'

// Every id and identity refuses control characters (C0, DEL, C1): the stores join a product id and a session id
// into one key with U+001F, so an id holding it could read or write another session's context.
/** Identity inside an action: an empty string stays `""`. */
const identity = nullableId(false)
/** Identity of a batch or summary: an empty string becomes `null`. */
const batchIdentity = nullableId(true)

const slimActionProps = {
  /** Position of the action in its session, from 0; default `0`. */
  index: integerOr0,
  /** What kind of action, in lower case (`pageview`, `click`, `submit`, …: free text); default `""`. */
  type: stringOr(''),
  /** A short label; default `""`. */
  title: stringOr(''),
  /** The action in plain words ("Clicked Export CSV"); default `""`. */
  description: stringOr(''),
  /** The page's URL with its variable parts replaced by `:id`; default `""`. */
  canonical_url: stringOr(''),
  /** The page's URL as it was; default `""`. */
  raw_url: stringOr(''),
  /** When the action began (Unix seconds, maybe with a fraction); default `0`. */
  timestamp_start: numberOr0,
  /** When it ended; default `0`. */
  timestamp_end: numberOr0,
  /** The session this action belongs to; default `null`. */
  session_id: identity,
  /** The user who did it; default `null`. */
  user_id: identity,
  /** That user's e-mail address; default `null`. */
  email: identity,
  /** A linked chat thread; default `null`. */
  conversation_id: identity,
}

/** One UI action inside an `actions` batch; its identity fields keep `""` as `""` (unlike a batch's). */
export interface SlimAction extends OutputOf<typeof slimActionProps> {}

const slimAction = objectCodec('SlimAction', slimActionProps, (a): SlimAction => a)

/** The codec of one action: missing or `null` fields take their defaults, unknown ones are dropped. */
export const SlimAction: t.Type<SlimAction> = slimAction

const actionsProps = {
  /** Selects this kind of event. */
  type: literal('actions'),
  /** The connector's id of the product; default `""`. */
  product_id: idOr(''),
  /** The user's session; `null` when absent or `""`, as every identity of a batch. */
  session_id: batchIdentity,
  /** The product's own id for the user. */
  user_id: batchIdentity,
  /** The user's e-mail address. */
  email: batchIdentity,
  /** A chat thread linked to the session. */
  conversation_id: batchIdentity,
  /** Always `actions.length`, whatever was sent. */
  count: integerOr0,
  /** When the connector sent the batch (Unix seconds); default `0`. */
  forwarded_at: numberOr0,
  /** The actions, in the order they happened; default `[]`. */
  actions: arrayOf(slimAction),
}

/** A batch of UI actions of one session. */
export interface ActionsPayload extends OutputOf<typeof actionsProps> {}

/** The codec of an actions batch; `count` is set to `actions.length`. */
// Pure, as is the union: a bundle that only decodes (the receiver) drops both.
export const ActionsPayload: t.Type<ActionsPayload> = /* @__PURE__ */ objectCodec('ActionsPayload', actionsProps,
  (a): ActionsPayload => {
    a.count = a.actions.length
    return a
  })
// The batch as sent: `count` as declared (null when absent), for decoding to report a mismatch.
const actionsAsSent = objectCodec('ActionsPayload', { ...actionsProps, count: integerOrNull }, (a) => a)

const summaryProps = {
  /** Selects this kind of event. */
  type: literal('summary'),
  /** The connector's id of the product; default `""`. */
  product_id: idOr(''),
  /** The session summarised; `null` when absent or `""`. */
  session_id: batchIdentity,
  /** The summary, as prose; default `""`. */
  summary: stringOr(''),
  /** How many actions the summary stands for; default `0`. */
  replaces: integerOr0,
  /** When the connector sent it (Unix seconds); default `0`. */
  forwarded_at: numberOr0,
}

/** An LLM prose summary of a session. */
export interface SummaryPayload extends OutputOf<typeof summaryProps> {}

const summaryPayload = objectCodec('SummaryPayload', summaryProps, (a): SummaryPayload => a)

/** The codec of a summary. */
export const SummaryPayload: t.Type<SummaryPayload> = summaryPayload

const usertourTriggerProps = {
  /** Selects this kind of event. */
  type: literal('usertour_trigger'),
  /** The connector's id of the product; default `""`. */
  product_id: idOr(''),
  /** The Usertour flow to start: required, as nothing can be started without it. */
  flow_id: id,
  /** The session whose browser should start the flow; `null` when absent or `""` (the reference leaves it out). */
  session_id: batchIdentity,
  /** Why the connector asks for the flow, as free text; default `""` (the connector's minimal form has none). */
  reason: stringOr(''),
  /** The product's own id for the user; `null` when absent or `""`. */
  user_id: batchIdentity,
}

/**
 * A request to start a Usertour flow in one session's browser, which the connector sends beside actions and
 * summaries. It is not a {@link Payload}: it has its own streams (`usertourTrigger$`), and `parse`/`handle`
 * return null for it, as the reference does.
 */
export interface UsertourTriggerPayload extends OutputOf<typeof usertourTriggerProps> {}

const usertourTrigger = objectCodec('UsertourTriggerPayload', usertourTriggerProps, (a): UsertourTriggerPayload => a)

/** The codec of a `usertour_trigger` event. */
export const UsertourTriggerPayload: t.Type<UsertourTriggerPayload> = usertourTrigger

/** Every event type the wire carries and this version models. */
export type WireEvent = Payload | UsertourTriggerPayload

/** The codec decoding uses per event type; an actions batch keeps its declared `count` here. */
export const payloadCodecs =
  { actions: actionsAsSent, summary: summaryPayload, usertour_trigger: usertourTrigger } as const

/** The codec of any modelled event, told apart by `type` (decoding is faster, and tells an unknown type apart). */
export const Payload: t.UnionC<[typeof ActionsPayload, typeof SummaryPayload]> =
  /* @__PURE__ */ t.union([ActionsPayload, SummaryPayload], 'Payload')
/** Any modelled event: an {@link ActionsPayload} or a {@link SummaryPayload}, told apart by `type`. */
export type Payload = ActionsPayload | SummaryPayload

/** Whether `type` names a modelled event (an own key of the codec table: not `'constructor'`). */
export function isEventType(type: unknown): type is WireEvent['type'] {
  return typeof type === 'string' && hasOwn.call(payloadCodecs, type)
}
