/**
 * io-ts codecs for the connector's wire format (payload schema v1).
 *
 * The codecs are the single source of truth for the defaults and leniency
 * of the reference SDK and for the error reports. The static types are
 * written out as interfaces, so that editors and the API reference show
 * their fields by name, and each is checked at compile time to be exactly
 * what its codec decodes (`Exactly` below). Every
 * combinator here is a real `t.Type` (usable with `decode`, `t.TypeOf`, and
 * other io-ts combinators) that also carries `fast`: the same validation
 * without error bookkeeping, which `ingest` runs first. Only when `fast`
 * refuses a value does the full `validate` run, to say exactly why.
 *
 * `fast` is compiled: each combinator also says how to check a value as a
 * JavaScript expression (`inline`), and objects and arrays are turned into
 * straight-line functions that build fixed-shape objects — several times
 * faster than walking the codec tree. Where code generation is forbidden
 * (a CSP without 'unsafe-eval'), `fast` falls back to `interpret`, the
 * same checks as closures. spec/codecs.spec.ts holds all three to agree.
 */
import * as t from 'io-ts'

/**
 * Returned by a codec's `fast` path when the value does not decode.
 *
 * Internal: exported because the codecs' public types mention it; a later
 * release will hide it. Use `decode` (or {@link decodeEvent}) instead.
 *
 * @example
 * ```ts
 * import { SlimAction, INVALID } from 'autoplay-rx'
 *
 * SlimAction.fast({ index: 'x' }) === INVALID // true
 * ```
 */
export const INVALID: unique symbol = Symbol('autoplay-rx/invalid')

/**
 * What every codec of this module adds to `t.Type`: a validation without
 * error bookkeeping, tried before io-ts' `validate`.
 *
 * Internal: exported because the codecs' public types mention it; a later
 * release will hide it. Use the codecs as plain io-ts `t.Type`s.
 *
 * @typeParam A - the decoded type
 * @typeParam O - the encoded type
 * @example
 * ```ts
 * import { SummaryPayload, INVALID } from 'autoplay-rx'
 *
 * const value = SummaryPayload.fast(JSON.parse(text)) // SummaryPayload | typeof INVALID, never throws
 * if (value !== INVALID) console.log(value.summary)
 * ```
 */
export interface FastCodec<A, O = A> extends t.Type<A, O, unknown> {
  /** Decodes `u` like `decode`, returning the value or {@link INVALID}. Never throws. Compiled where possible. */
  readonly fast: (u: unknown) => A | typeof INVALID
  /** The same as `fast`, as closures (no code generation). */
  readonly interpret: (u: unknown) => A | typeof INVALID
  /**
   * A JavaScript expression that evaluates to the decoded value of the
   * variable named `v`, or to `INVALID`. `gen.ref` makes a value available
   * to the generated code under a fresh name.
   */
  inline(v: string, gen: Gen): string
}

/**
 * Code generation context of {@link FastCodec.inline}: closure values
 * referenced by generated code.
 *
 * Internal: exported because {@link FastCodec} mentions it; a later release
 * will hide it.
 *
 * @example
 * ```ts
 * const source = SlimAction.inline('v', { ref: (value) => 'r0' }) // a JavaScript expression over `v`
 * ```
 */
export interface Gen {
  /**
   * Makes `value` available to the generated code.
   *
   * @param value - any value the generated code needs (a function, a fallback object)
   * @returns the name under which the generated code reads it
   */
  ref(value: unknown): string
}

/** Compiles `body` (a function expression) with `refs` in scope, or returns null where eval is forbidden. */
function compileFunction<F>(build: (gen: Gen) => string): F | null {
  const values: unknown[] = []
  const gen: Gen = { ref: (value) => `r${values.push(value) - 1}` }
  const source = build(gen)
  const names = values.map((_, i) => `r${i}`)
  try {
    return new Function('INVALID', 'hasOwn', ...names, `'use strict'; return ${source}`)(INVALID, hasOwn, ...values) as F
  } catch {
    return null
  }
}

const hasOwn = Object.prototype.hasOwnProperty

/** A string. */
class StringCodec extends t.Type<string> implements FastCodec<string> {
  readonly _tag = 'StringCodec' as const
  constructor() {
    super('string', (u): u is string => typeof u === 'string',
      (u, c) => (typeof u === 'string' ? t.success(u) : t.failure(u, c)), t.identity)
  }
  readonly interpret = (u: unknown): string | typeof INVALID => (typeof u === 'string' ? u : INVALID)
  readonly fast = this.interpret
  inline(v: string): string {
    return `(typeof ${v} === 'string' ? ${v} : INVALID)`
  }
}

/** A finite number (JSON's `1e999` parses to `Infinity`, which no field accepts). */
class FiniteNumberCodec extends t.Type<number> implements FastCodec<number> {
  readonly _tag = 'FiniteNumberCodec' as const
  constructor() {
    super('number', (u): u is number => typeof u === 'number' && Number.isFinite(u),
      (u, c) => (this.is(u) ? t.success(u) : t.failure(u, c)), t.identity)
  }
  readonly interpret = (u: unknown): number | typeof INVALID =>
    typeof u === 'number' && u - u === 0 ? u : INVALID
  readonly fast = this.interpret
  inline(v: string): string {
    return `(typeof ${v} === 'number' && ${v} - ${v} === 0 ? ${v} : INVALID)`
  }
}

/** A whole number (a JSON `3.0` is the integer 3). */
class IntegerCodec extends t.Type<number> implements FastCodec<number> {
  readonly _tag = 'IntegerCodec' as const
  constructor() {
    super('integer', (u): u is number => Number.isSafeInteger(u),
      (u, c) => (this.is(u) ? t.success(u) : t.failure(u, c)), t.identity)
  }
  readonly interpret = (u: unknown): number | typeof INVALID => (Number.isSafeInteger(u) ? (u as number) : INVALID)
  readonly fast = this.interpret
  inline(v: string): string {
    return `(Number.isSafeInteger(${v}) ? ${v} : INVALID)`
  }
}

/** A string or null; optionally an empty string becomes null (batch-level identity fields). */
class NullableStringCodec extends t.Type<string | null> implements FastCodec<string | null> {
  readonly _tag = 'NullableStringCodec' as const
  constructor(readonly emptyIsNull: boolean) {
    super('string | null', (u): u is string | null => u === null || (typeof u === 'string' && !(emptyIsNull && u === '')),
      (u, c) => {
        const v = this.interpret(u)
        return v === INVALID ? t.failure(u, c) : t.success(v)
      }, t.identity)
  }
  readonly interpret = (u: unknown): string | null | typeof INVALID => {
    if (typeof u === 'string') return this.emptyIsNull && u === '' ? null : u
    return u === null || u === undefined ? null : INVALID
  }
  readonly fast = this.interpret
  inline(v: string): string {
    const str = this.emptyIsNull ? `(${v} === '' ? null : ${v})` : v
    return `(typeof ${v} === 'string' ? ${str} : ${v} == null ? null : INVALID)`
  }
}

/** `inner`, with `fallback` when the value is missing or null. */
class DefaultCodec<A> extends t.Type<A> implements FastCodec<A> {
  readonly _tag = 'DefaultCodec' as const
  constructor(readonly inner: FastCodec<A>, readonly fallback: A) {
    super(inner.name, inner.is,
      (u, c) => (u === undefined || u === null ? t.success(fallback) : inner.validate(u, c)), t.identity)
  }
  readonly interpret = (u: unknown): A | typeof INVALID =>
    u === undefined || u === null ? this.fallback : this.inner.interpret(u)
  readonly fast = this.interpret
  inline(v: string, gen: Gen): string {
    const fallback = this.fallback
    // Primitive fallbacks are literals; anything else is referenced (never shared mutable state: see ArrayCodec).
    const literal = typeof fallback === 'string' || typeof fallback === 'number' || typeof fallback === 'boolean' || fallback === null
      ? JSON.stringify(fallback) : gen.ref(fallback)
    return `(${v} == null ? ${literal} : ${this.inner.inline(v, gen)})`
  }
}

/** One string literal (the event `type`). */
class LiteralCodec<V extends string> extends t.Type<V> implements FastCodec<V> {
  readonly _tag = 'LiteralCodec' as const
  constructor(readonly value: V) {
    super(JSON.stringify(value), (u): u is V => u === value,
      (u, c) => (u === value ? t.success(value) : t.failure(u, c)), t.identity)
  }
  readonly interpret = (u: unknown): V | typeof INVALID => (u === this.value ? this.value : INVALID)
  readonly fast = this.interpret
  inline(v: string): string {
    return `(${v} === ${JSON.stringify(this.value)} ? ${v} : INVALID)`
  }
}

/** An array whose elements all decode with `item`; missing or null is `[]`. Always a fresh array. */
class ArrayCodec<A> extends t.Type<A[]> implements FastCodec<A[]> {
  readonly _tag = 'ArrayCodec' as const
  constructor(readonly item: FastCodec<A>) {
    super(`Array<${item.name}>`, (u): u is A[] => Array.isArray(u) && u.every(item.is),
      (u, c) => {
        if (u === undefined || u === null) return t.success([])
        if (!Array.isArray(u)) return t.failure(u, c)
        const out: A[] = new Array(u.length)
        const errors: t.Errors = []
        for (let i = 0; i < u.length; i++) {
          const r = item.validate(u[i], t.appendContext(c, String(i), item, u[i]))
          if (r._tag === 'Left') errors.push(...r.left)
          else out[i] = r.right
        }
        return errors.length > 0 ? t.failures(errors) : t.success(out)
      }, t.identity)
    this.fast =     compileFunction((gen) => `function (u) {
      if (u == null) return []
      if (!Array.isArray(u)) return INVALID
      const n = u.length
      const out = new Array(n)
      for (let i = 0; i < n; i++) {
        const v = u[i]
        const d = ${item.inline('v', gen)}
        if (d === INVALID) return INVALID
        out[i] = d
      }
      return out
    }`) ?? this.interpret
  }
  readonly interpret = (u: unknown): A[] | typeof INVALID => {
    if (u === undefined || u === null) return []
    if (!Array.isArray(u)) return INVALID
    const n = u.length
    const out: A[] = new Array(n)
    const item = this.item.interpret
    for (let i = 0; i < n; i++) {
      const v = item(u[i])
      if (v === INVALID) return INVALID
      out[i] = v
    }
    return out
  }
  readonly fast: (u: unknown) => A[] | typeof INVALID
  inline(v: string, gen: Gen): string {
    return `${gen.ref(this.fast)}(${v})`
  }
}

type Props = Record<string, FastCodec<any>>
type OutputOf<P extends Props> = { [K in keyof P]: P[K] extends FastCodec<infer A> ? A : never }
/** `true` only when `A` and `B` are the same type: ties each written-out interface to its codec. */
type Exactly<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false

/**
 * A JSON object read through `props` only: every declared key is decoded
 * from the object's own property of that name (missing reads as undefined),
 * unknown keys are dropped, and the result is a fresh plain object. So keys
 * such as `__proto__` or `constructor` in a payload never reach the output
 * nor any prototype. `finish` may derive fields from the decoded ones.
 * Only the decoded type is a type parameter, so that the public type of a
 * codec reads `ObjectCodec<SlimAction>`; {@link objectCodec} keeps `props`
 * and `finish` checked against each other.
 */
class ObjectCodec<A> extends t.Type<A> implements FastCodec<A> {
  readonly _tag = 'ObjectCodec' as const
  private readonly keys: string[]
  private readonly codecs: FastCodec<any>[]
  constructor(name: string, readonly props: Props, readonly finish: (a: any) => A) {
    const keys = Object.keys(props)
    const codecs = keys.map((k) => props[k]!)
    super(name,
      (u): u is A => isPlainRecord(u) && keys.every((k, i) => codecs[i]!.is((u as Record<string, unknown>)[k])),
      (u, c) => {
        if (!isPlainRecord(u)) return t.failure(u, c)
        const out: Record<string, unknown> = {}
        const errors: t.Errors = []
        for (let i = 0; i < keys.length; i++) {
          const k = keys[i]!
          const v = hasOwn.call(u, k) ? (u as Record<string, unknown>)[k] : undefined
          const r = codecs[i]!.validate(v, t.appendContext(c, k, codecs[i]!, v))
          if (r._tag === 'Left') errors.push(...r.left)
          else out[k] = r.right
        }
        return errors.length > 0 ? t.failures(errors) : t.success(finish(out))
      }, t.identity)
    this.keys = keys
    this.codecs = codecs
    this.fast = compileFunction<(u: unknown) => A | typeof INVALID>((gen) => {
      // Own properties only: an inherited value (a polluted prototype) reads as missing. A JSON
      // object inherits from Object.prototype alone, so while that has none of our keys (it has
      // not been polluted) no per-key own-property check is needed.
      const objectProto = gen.ref(Object.prototype)
      const mayInherit = [`Object.getPrototypeOf(u) !== ${objectProto}`,
        ...keys.map((k) => `${objectProto}[${JSON.stringify(k)}] !== undefined`)].join(' || ')
      const steps = keys.map((k, i) => {
        const key = JSON.stringify(k)
        return `v = u[${key}]; if (inherits && v !== undefined && !hasOwn.call(u, ${key})) v = undefined
        const p${i} = ${codecs[i]!.inline('v', gen)}; if (p${i} === INVALID) return INVALID`
      })
      const literal = `{ ${keys.map((k, i) => `${JSON.stringify(k)}: p${i}`).join(', ')} }`
      return `function (u) {
        if (typeof u !== 'object' || u === null || Array.isArray(u)) return INVALID
        const inherits = ${mayInherit}
        let v
        ${steps.join('\n')}
        return ${gen.ref(finish)}(${literal})
      }`
    }) ?? this.interpret
  }
  readonly interpret = (u: unknown): A | typeof INVALID => {
    if (!isPlainRecord(u)) return INVALID
    const keys = this.keys
    const codecs = this.codecs
    const out: Record<string, unknown> = {}
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!
      let v = (u as Record<string, unknown>)[k]
      if (v !== undefined && !hasOwn.call(u, k)) v = undefined
      const d = codecs[i]!.interpret(v)
      if (d === INVALID) return INVALID
      out[k] = d
    }
    return this.finish(out)
  }
  readonly fast: (u: unknown) => A | typeof INVALID
  inline(v: string, gen: Gen): string {
    return `${gen.ref(this.fast)}(${v})`
  }
}

function objectCodec<P extends Props, A>(name: string, props: P, finish: (a: OutputOf<P>) => A): ObjectCodec<A> {
  return new ObjectCodec(name, props, finish)
}

function isPlainRecord(u: unknown): u is Record<string, unknown> {
  return typeof u === 'object' && u !== null && !Array.isArray(u)
}

const str = new StringCodec()
const num = new FiniteNumberCodec()
const int = new IntegerCodec()
const stringOr = (fallback: string) => new DefaultCodec(str, fallback)
const numberOr0 = new DefaultCodec(num, 0)
const integerOr0 = new DefaultCodec(int, 0)
/** Identity inside an action: an empty string stays `""`. */
const identity = new NullableStringCodec(false)
/** Identity of a batch or summary: an empty string becomes `null`. */
const batchIdentity = new NullableStringCodec(true)

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

/**
 * The codec of one UI action inside an `actions` batch: an io-ts
 * `t.Type<SlimAction>` (also a {@link FastCodec}). Missing or `null` fields
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
export const SlimAction: ObjectCodec<SlimAction> = objectCodec('SlimAction', slimActionProps, (a): SlimAction => a)

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
  type: new LiteralCodec('actions'),
  product_id: stringOr(''),
  session_id: batchIdentity,
  user_id: batchIdentity,
  email: batchIdentity,
  conversation_id: batchIdentity,
  count: integerOr0,
  forwarded_at: numberOr0,
  actions: new ArrayCodec(SlimAction),
}

/**
 * The codec of a batch of UI actions of one session: an io-ts
 * `t.Type<ActionsPayload>` (also a {@link FastCodec}). `count` is always
 * reconciled to `actions.length` (the receiver logs a mismatch as a warning).
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
export const ActionsPayload: ObjectCodec<ActionsPayload> = objectCodec('ActionsPayload', actionsProps,
  (a): ActionsPayload => {
    a.count = a.actions.length
    return a
  })

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
  type: new LiteralCodec('summary'),
  product_id: stringOr(''),
  session_id: batchIdentity,
  summary: stringOr(''),
  replaces: integerOr0,
  forwarded_at: numberOr0,
}

/**
 * The codec of an LLM prose summary of a session: an io-ts
 * `t.Type<SummaryPayload>` (also a {@link FastCodec}).
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
export const SummaryPayload: ObjectCodec<SummaryPayload> = objectCodec('SummaryPayload', summaryProps, (a): SummaryPayload => a)

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

// Each interface is exactly what its codec decodes, field for field: a field added to one and not
// the other fails the build here.
const _sameShapes: [
  Exactly<SlimAction, OutputOf<typeof slimActionProps>>,
  Exactly<ActionsPayload, OutputOf<typeof actionsProps>>,
  Exactly<SummaryPayload, OutputOf<typeof summaryProps>>,
] = [true, true, true]
void _sameShapes

/** The event types this version models, each with its codec. */
export const payloadCodecs = { actions: ActionsPayload, summary: SummaryPayload } as const satisfies
  { readonly [K in PayloadType]: FastCodec<Extract<Payload, { type: K }>> }

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
