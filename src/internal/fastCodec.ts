/**
 * The codecs' combinators: each is a real io-ts `t.Type` that also checks without io-ts' error bookkeeping,
 * as closures (`interpret`) and compiled from `inline` (an expression per check) into straight-line code
 * (`fast`, falling back to `interpret` where code generation is forbidden). A leaf is written those two ways
 * only; io-ts' `is` and `validate` derive from `interpret`. spec/internal/fastCodec.spec.ts holds all paths to agree.
 */
import * as t from 'io-ts'
import { compileFunction, hasOwn, INVALID, type Gen, type Invalid } from './compile.js'

// What the combinators need of a part: not `encode`, so that a part of any type fits where `unknown` is expected.
export interface FastPart<A> {
  readonly name: string
  readonly is: (u: unknown) => u is A
  readonly validate: (u: unknown, c: t.Context) => t.Validation<A>
  readonly decode: (u: unknown) => t.Validation<A>
  /** Decodes `u` like `validate`, to the value or INVALID; never throws. */
  readonly fast: (u: unknown) => A | Invalid
  readonly interpret: (u: unknown) => A | Invalid
  /** A JavaScript expression of the decoded value of the variable `v`, or `INVALID`. */
  inline(v: string, gen: Gen): string
}

export interface FastCodec<A> extends t.Type<A, A, unknown>, FastPart<A> {
  readonly is: (u: unknown) => u is A
  readonly validate: (u: unknown, c: t.Context) => t.Validation<A>
  readonly decode: (u: unknown) => t.Validation<A>
}

// A leaf: a value is already an `A` when decoding gives it back unchanged (only a default, or `""` read as
// null, maps a value to another, and `is` must refuse those anyway). `explain` names a narrower check a
// refused value failed, so that the report says more than the leaf's type.
class LeafCodec<A> extends t.Type<A> implements FastCodec<A> {
  readonly fast: (u: unknown) => A | Invalid
  constructor(
    name: string, readonly interpret: (u: unknown) => A | Invalid, readonly inline: (v: string, gen: Gen) => string,
    explain?: (u: unknown) => t.Decoder<unknown, unknown> | undefined,
  ) {
    super(name, (u): u is A => interpret(u) === u, (u, c) => {
      const v = interpret(u)
      if (v !== INVALID) return t.success(v)
      const check = explain?.(u)
      return t.failure(u, check === undefined ? c : t.appendContext(c, '', check, u))
    }, t.identity)
    this.fast = interpret
  }
}

const stringCodec = new LeafCodec<string>('string',
  (u) => (typeof u === 'string' ? u : INVALID),
  (v) => `(typeof ${v} === 'string' ? ${v} : INVALID)`)

/** A finite number (JSON's `1e999` parses to `Infinity`, which no field accepts). */
const finiteNumberCodec = new LeafCodec<number>('number',
  (u) => (typeof u === 'number' && u - u === 0 ? u : INVALID),
  (v) => `(typeof ${v} === 'number' && ${v} - ${v} === 0 ? ${v} : INVALID)`)

const integerCodec = new LeafCodec<number>('integer',
  (u) => (Number.isSafeInteger(u) ? (u as number) : INVALID),
  (v) => `(Number.isSafeInteger(${v}) ? ${v} : INVALID)`)

const nullableStringCodec = (emptyIsNull: boolean) => new LeafCodec<string | null>('string | null',
  (u) => {
    if (typeof u === 'string') return emptyIsNull && u === '' ? null : u
    return u === null || u === undefined ? null : INVALID
  },
  (v) => {
    const text = emptyIsNull ? `(${v} === '' ? null : ${v})` : v
    return `(typeof ${v} === 'string' ? ${text} : ${v} == null ? null : INVALID)`
  })

const defaultCodec = <A>(inner: FastPart<A>, fallback: A) => new LeafCodec<A>(inner.name,
  (u) => (u === undefined || u === null ? fallback : inner.interpret(u)),
  (v, gen) => {
    // Primitive fallbacks are literals; anything else is referenced (never shared mutable state: see ArrayCodec).
    const primitive = fallback === null || ['string', 'number', 'boolean'].includes(typeof fallback)
    const literal = primitive ? JSON.stringify(fallback) : gen.ref(fallback)
    return `(${v} == null ? ${literal} : ${inner.inline(v, gen)})`
  })

/**
 * Whether a string holds a control character: C0 (U+0000–U+001F), DEL or C1 (U+007F–U+009F), Unicode's
 * category Cc. Stores join ids into keys with U+001F; C1 too, as no id needs one and NEL breaks log lines.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
export const hasControlCharacter = (s: string): boolean => CONTROL.test(s)
// Ids are keys in every store: past 1,024 characters (connector ids are UUIDs, e-mails at most 254) one is refused.
const badId = (u: unknown): boolean => typeof u === 'string' && (u.length > 1024 || CONTROL.test(u))

// Only a name for the report of a string the id leaves refuse.
const idCheck: t.Type<string> = new t.Type<string>('an id: at most 1024 characters, no control',
  (u): u is string => typeof u === 'string' && !badId(u),
  (u, c) => (idCheck.is(u) ? t.success(u) : t.failure(u, c)), t.identity)

// A string leaf that also refuses a bad id (too long, or holding a control), reported as `idCheck`. Compiled, each
// field remembers the last id it accepted: every action of a batch repeats its session, user and e-mail, so a
// repeat costs one comparison instead of a scan (short ids only, so that no large string is kept).
const withoutControls = <A>(inner: FastPart<A>) => new LeafCodec<A>(inner.name,
  (u) => (badId(u) ? INVALID : inner.interpret(u)),
  (v, gen) => {
    const seen = gen.ref({ id: '' })
    const fresh = `${v} !== ${seen}.id && !${gen.ref(acceptId)}(${v}, ${seen})`
    return `(typeof ${v} === 'string' && ${fresh} ? INVALID : ${inner.inline(v, gen)})`
  },
  (u) => (badId(u) ? idCheck : undefined))

function acceptId(id: string, seen: { id: string }): boolean {
  if (badId(id)) return false
  if (id.length <= 256) seen.id = id
  return true
}

const literalCodec = <V extends string>(value: V) => new LeafCodec<V>(JSON.stringify(value),
  (u) => (u === value ? value : INVALID),
  (v) => `(${v} === ${JSON.stringify(value)} ? ${v} : INVALID)`)

// Missing or null is `[]`; always a fresh array.
class ArrayCodec<A> extends t.Type<A[]> implements FastCodec<A[]> {
  readonly _tag = 'ArrayCodec' as const
  constructor(readonly item: FastPart<A>) {
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
    // Generated code on few lines: the whitespace of a template literal ships in every bundle.
    this.fast = compileFunction<(u: unknown) => A[] | Invalid>((gen) => 'function (u) {' +
      'if (u == null) return []; if (!Array.isArray(u)) return INVALID; const n = u.length, out = new Array(n);' +
      `for (let i = 0; i < n; i++) { const v = u[i], d = ${item.inline('v', gen)}; if (d === INVALID) return INVALID;` +
      'out[i] = d } return out }') ?? this.interpret
  }
  readonly interpret = (u: unknown): A[] | Invalid => {
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
  readonly fast: (u: unknown) => A[] | Invalid
  inline(v: string, gen: Gen): string {
    return `${gen.ref(this.fast)}(${v})`
  }
}

export type Props = Readonly<Record<string, FastPart<unknown>>>
export type OutputOf<P extends Props> = { [K in keyof P]: P[K] extends FastPart<infer A> ? A : never }

// A JSON object read through its own properties named in `props` only: unknown keys are dropped and the
// result is a fresh plain object, so `__proto__` or `constructor` never reach the output nor any prototype.
class ObjectCodec<A> extends t.Type<A> implements FastCodec<A> {
  readonly _tag = 'ObjectCodec' as const
  private readonly keys: string[]
  private readonly codecs: FastPart<unknown>[]
  constructor(name: string, readonly props: Props, readonly finish: (a: Record<string, unknown>) => A) {
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
    this.fast = compileFunction<(u: unknown) => A | Invalid>((gen) => {
      // Own properties only: an inherited value (a polluted prototype) reads as missing. A JSON
      // object inherits from Object.prototype alone, so while that has none of our keys (it has
      // not been polluted) no per-key own-property check is needed.
      const objectProto = gen.ref(Object.prototype)
      const mayInherit = [`Object.getPrototypeOf(u) !== ${objectProto}`,
        ...keys.map((k) => `${objectProto}[${JSON.stringify(k)}] !== undefined`)].join(' || ')
      const steps = keys.map((k, i) => {
        const key = JSON.stringify(k)
        return `v = u[${key}]; if (inherits && v !== undefined && !hasOwn.call(u, ${key})) v = undefined;` +
          `const p${i} = ${codecs[i]!.inline('v', gen)}; if (p${i} === INVALID) return INVALID;`
      })
      const literal = `{ ${keys.map((k, i) => `${JSON.stringify(k)}: p${i}`).join(', ')} }`
      return `function (u) { if (typeof u !== 'object' || u === null || Array.isArray(u)) return INVALID;` +
        `const inherits = ${mayInherit}; let v; ${steps.join('')} return ${gen.ref(finish)}(${literal}) }`
    }) ?? this.interpret
  }
  readonly interpret = (u: unknown): A | Invalid => {
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
  readonly fast: (u: unknown) => A | Invalid
  inline(v: string, gen: Gen): string {
    return `${gen.ref(this.fast)}(${v})`
  }
}

/** A JSON object of the given parts; `finish` may derive fields from the decoded ones. */
export function objectCodec<P extends Props, A>(name: string, props: P, finish: (a: OutputOf<P>) => A): FastCodec<A> {
  // Sound: the object finish receives is built key by key from `props`, so it is an OutputOf<P>.
  return new ObjectCodec(name, props, finish as (a: Record<string, unknown>) => A)
}

/** A JSON object: not null, not an array. */
export function isPlainRecord(u: unknown): u is Record<string, unknown> {
  return typeof u === 'object' && u !== null && !Array.isArray(u)
}

// The parts src/codecs.ts writes the schema with: missing or null takes the default.
export const stringOr = (fallback: string): FastCodec<string> => defaultCodec(stringCodec, fallback)
export const numberOr0: FastCodec<number> = defaultCodec(finiteNumberCodec, 0)
export const integerOr0: FastCodec<number> = defaultCodec(integerCodec, 0)
export const integerOrNull: FastCodec<number | null> = defaultCodec<number | null>(integerCodec, null)
export const nullableString = (emptyIsNull: boolean): FastCodec<string | null> => nullableStringCodec(emptyIsNull)
/** An id: as `stringOr`, without control characters. */
export const idOr = (fallback: string): FastCodec<string> => withoutControls(stringOr(fallback))
/** A required id: a string without control characters. */
export const id: FastCodec<string> = withoutControls(stringCodec)
/** An id that may be absent: as `nullableString`, without control characters. */
export const nullableId = (emptyIsNull: boolean): FastCodec<string | null> =>
  withoutControls(nullableStringCodec(emptyIsNull))
export const literal = <V extends string>(value: V): FastCodec<V> => literalCodec(value)
export const arrayOf = <A>(item: FastPart<A>): FastCodec<A[]> => new ArrayCodec(item)
