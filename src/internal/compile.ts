/** Code generation for the codecs' fast path: a function expression built as source text, compiled once. */

/** What a fast check returns for a value that does not decode (a symbol: no decoded value can be it). */
export const INVALID: unique symbol = Symbol('autoplay-rx/invalid')
export type Invalid = typeof INVALID

/** The context generated code is built in: `ref` names a value the code needs rather than serialising it. */
export interface Gen {
  ref(value: unknown): string
}

export const hasOwn = Object.prototype.hasOwnProperty

/**
 * Compiles the function expression `build` writes, with `INVALID`, `hasOwn` and every referenced value in
 * scope; null where code generation is forbidden (a CSP, Workers), and the caller falls back to closures.
 */
export function compileFunction<F>(build: (gen: Gen) => string): F | null {
  const values: unknown[] = []
  const gen: Gen = { ref: (value) => `r${values.push(value) - 1}` }
  const source = build(gen)
  const names = values.map((_, i) => `r${i}`)
  try {
    const make = new Function('INVALID', 'hasOwn', ...names, `'use strict'; return ${source}`)
    return make(INVALID, hasOwn, ...values) as F
  } catch {
    return null
  }
}
