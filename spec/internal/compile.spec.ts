/** The codec compiler's one primitive: source text in, a function with its referenced values in scope, or null where eval is forbidden. */
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { compileFunction, hasOwn, INVALID, type Invalid } from '../../src/internal/compile.js'

const compile = fileURLToPath(new URL('../../src/internal/compile.ts', import.meta.url))

describe('internal/compile', () => {
  it('compiles the source with INVALID, hasOwn and each referenced value in scope', () => {
    const allowed = new Set(['a', 'b'])
    const check = compileFunction<(u: unknown) => string | Invalid>((gen) =>
      `function (u) { return typeof u === 'string' && ${gen.ref(allowed)}.has(u) && !hasOwn.call({}, u) ? u : INVALID }`)
    expect(check).to.be.a('function')
    expect([check!('a'), check!('b'), check!('c'), check!(1)]).to.deep.equal(['a', 'b', INVALID, INVALID])
    expect(hasOwn).to.equal(Object.prototype.hasOwnProperty)
  })

  it('names references in order, so two values never share a name', () => {
    const names: string[] = []
    const pick = compileFunction<(i: number) => string>((gen) => {
      names.push(gen.ref('first'), gen.ref('second'))
      return `function (i) { return i === 0 ? ${names[0]} : ${names[1]} }`
    })
    expect(names).to.deep.equal(['r0', 'r1'])
    expect([pick!(0), pick!(1)]).to.deep.equal(['first', 'second'])
  })

  it('gives null for source that does not compile, so the caller falls back to closures', () => {
    expect(compileFunction(() => 'function (u) { return u +* 1 }')).to.equal(null)
  })

  it('gives null where code generation is forbidden (as under a CSP without unsafe-eval)', () => {
    const script = `
      import { compileFunction } from ${JSON.stringify(compile)}
      process.stdout.write(String(compileFunction(() => 'function (u) { return u }')))
    `
    const result = spawnSync(process.execPath, ['--disallow-code-generation-from-strings', '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 40_000 })
    expect([result.status, result.stdout]).to.deep.equal([0, 'null'])
  })
})
