/**
 * Node's built-in modules where the runtime has them, found without a static `node:` import, which fails to
 * bundle and to load on Workers and the Edge: `process.getBuiltinModule` is a property read bundlers leave alone.
 */
import type * as NodeCrypto from 'node:crypto'

interface Builtins {
  readonly 'node:crypto': typeof NodeCrypto
}

type WithBuiltins = { readonly process?: { readonly getBuiltinModule?: (id: string) => unknown } }

/** The built-in module `id`, or `undefined` where this runtime has none (never throws). */
export function nodeBuiltin<K extends keyof Builtins>(id: K): Builtins[K] | undefined {
  try {
    return (globalThis as WithBuiltins).process?.getBuiltinModule?.(id) as Builtins[K] | undefined
  } catch {
    return undefined // a runtime whose process object refuses the call: treated as absent
  }
}
