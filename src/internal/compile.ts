/**
 * Code generation for the codecs' fast path: a function expression built as
 * source text, compiled once with the values it references in scope.
 */

/**
 * What a fast check returns for a value that does not decode (a symbol, so
 * that no decoded value can be mistaken for it).
 *
 * @example
 * ```ts
 * if (codec.fast(value) === INVALID) report(codec.decode(value))
 * ```
 */
export const INVALID: unique symbol = Symbol('autoplay-rx/invalid')

/** The value every fast check may return instead of a decoded `A`. */
export type Invalid = typeof INVALID

/**
 * The context generated code is built in: values it needs are referenced
 * by name rather than serialised.
 *
 * @example
 * ```ts
 * const source = (gen: Gen) => `(u) => ${gen.ref(check)}(u)`
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

/** Own-property check available to generated code as `hasOwn`. */
export const hasOwn = Object.prototype.hasOwnProperty

/**
 * Compiles the function expression `build` writes, with `INVALID`, `hasOwn`
 * and every referenced value in scope.
 *
 * @param build - writes the source of one function expression
 * @returns the compiled function, or null where code generation is forbidden
 *   (a CSP without 'unsafe-eval'): the caller falls back to closures
 * @example
 * ```ts
 * const isText = compileFunction<(u: unknown) => string | Invalid>(() => `function (u) { return typeof u === 'string' ? u : INVALID }`)
 * ```
 */
export function compileFunction<F>(build: (gen: Gen) => string): F | null {
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
