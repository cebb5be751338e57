/**
 * The public surface, counted where users meet it: every name an entry of the packed package
 * exports, read from its .d.ts files by the TypeScript compiler (re-exports followed, `export *`
 * expanded, a namespace counted by its members), held to the budget of issue 21.
 */
import { expect } from 'chai'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { SignatureKind, SymbolFlags, type Checker, type Symbol as TsSymbol } from 'typescript/unstable/sync'
import { entryDeclarations, packed, withCompiler } from './packed.js'

/** At most this many public names per entry: each one a name users write in their own code. */
const BUDGETS: Readonly<Record<string, number>> = {
  '.': 45, './node': 6, './web': 4, './fastify': 4, './redis': 10, './otel': 4, './proactive': 15,
}

/**
 * The public names of a module: its exports, with aliases resolved; a namespace (`export * as`,
 * `namespace`) or an object of functions (`export const errors = { … }`) counts its members.
 */
function publicNames(checker: Checker, module: TsSymbol, prefix = ''): string[] {
  return checker.getExportsOfModule(module).flatMap((exported) => {
    const target = exported.flags & SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
    const name = `${prefix}${exported.name}`
    if (target.flags & SymbolFlags.Module) return publicNames(checker, target, `${name}.`)
    if (target.flags & SymbolFlags.Variable) {
      const type = checker.getTypeOfSymbol(target)
      const members = type ? checker.getPropertiesOfType(type) : []
      const callable = (member: TsSymbol) => {
        const memberType = checker.getTypeOfSymbol(member)
        return memberType !== undefined && (checker.getSignaturesOfType(memberType, SignatureKind.Call).length > 0 ||
          checker.getSignaturesOfType(memberType, SignatureKind.Construct).length > 0)
      }
      if (members.length > 0 && members.every(callable)) return members.map((member) => `${name}.${member.name}`)
    }
    return [name]
  })
}

describe('the public surface of the packed package', function () {
  this.timeout(180_000)
  /** Per entry ('.', './node', …): its names from the ESM and from the CJS declarations. */
  const surface = new Map<string, { esm: string[]; cjs: string[] }>()
  let entries: string[] = []
  let sample: string[] = []

  before(() => {
    const pack = packed()
    const declarations = entryDeclarations(pack)
    entries = declarations.map(({ entry }) => entry)
    // A module that shows what counts, checked along with the package.
    const sampleFile = join(pack.dir, 'surface', 'sample.d.ts')
    mkdirSync(dirname(sampleFile), { recursive: true })
    writeFileSync(join(dirname(sampleFile), 'inner.d.ts'), 'export declare function f(): void\nexport type T = string\n')
    writeFileSync(sampleFile, `export * from './inner.js'
export * as ns from './inner.js'
export type { T as Renamed } from './inner.js'
export declare const errors: { readonly a: () => void; readonly B: new () => object }
export declare const table: { readonly x: { readonly unit: string } }
`)
    const files = [sampleFile, ...declarations.flatMap(({ esm, cjs }) => [esm, cjs])]
    withCompiler(pack, 'surface', files, (program, checker) => {
      const namesOf = (file: string) => {
        const module = checker.getSymbolAtLocation(program.getSourceFile(file)!)
        if (!module) throw new Error(`${file} is not a module`)
        return publicNames(checker, module).sort()
      }
      for (const { entry, esm, cjs } of declarations) surface.set(entry, { esm: namesOf(esm), cjs: namesOf(cjs) })
      sample = namesOf(sampleFile)
    })
    for (const [entry, { esm }] of surface) console.log(`      ${entry}: ${esm.length} of ${BUDGETS[entry]}`)
  })

  it('counts re-exports, `export *`, the members of a namespace and of an object of functions', () => {
    expect(sample).to.deep.equal(['Renamed', 'T', 'errors.B', 'errors.a', 'f', 'ns.T', 'ns.f', 'table'])
  })

  it('has a budget for every entry in package.json "exports", and an entry for every budget', () => {
    expect(entries.sort()).to.deep.equal(Object.keys(BUDGETS).sort())
  })

  for (const [entry, budget] of Object.entries(BUDGETS)) {
    it(`${entry}: at most ${budget} names, the same for import and require`, () => {
      const { esm, cjs } = surface.get(entry)!
      expect(esm.length, `${entry} exports ${esm.length} names (budget ${budget}): ${esm.join(', ')}`).to.be.at.most(budget)
      expect(cjs, `${entry}: the CommonJS declarations export other names than the ES module ones`).to.deep.equal(esm)
    })
  }
})
