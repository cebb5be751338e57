/**
 * Options as a strict project passes them: under `exactOptionalPropertyTypes`, `{ path: undefined }`
 * or `{ productId: maybe }` only compiles where the optional field says `| undefined`. Read from
 * the packed ES module declarations: every optional field of an `…Options` interface (inherited
 * ones included) and of an object type written inline as a parameter.
 */
import { expect } from 'chai'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { SymbolFlags } from 'typescript/unstable/sync'
import { SyntaxKind, type Node } from 'typescript/unstable/ast'
import { entryDeclarations, packed, withCompiler } from './packed.js'

/** The type written for an optional field admits `undefined`: `T | undefined`, or `undefined`. */
const admitsUndefined = (type: Node | undefined): boolean => type !== undefined &&
  (type.kind === SyntaxKind.UndefinedKeyword ||
    (type.kind === SyntaxKind.UnionType && (type as Node & { types: readonly Node[] }).types.some(admitsUndefined)))

type Named = Node & { readonly name?: { readonly text?: string } }
type Field = Named & { readonly postfixToken?: Node; readonly type?: Node }

describe('the options of the packed package, under exactOptionalPropertyTypes', function () {
  this.timeout(180_000)
  let strict: string[] = []

  let sample: string[] = []

  before(() => {
    const pack = packed()
    const esm = `${pack.installed}/dist/esm/`
    // A module that shows what is read, checked along with the package.
    const sampleFile = join(pack.dir, 'options', 'sample.d.ts')
    mkdirSync(dirname(sampleFile), { recursive: true })
    writeFileSync(sampleFile, `interface Base { readonly inherited?: number }
export interface SampleOptions extends Base { readonly a?: number; readonly b?: number | undefined; readonly c?: undefined; readonly d: number }
export interface Sample { readonly notOptions?: number }
export declare function f(o?: { readonly x?: string; readonly y?: string | undefined }, p?: SampleOptions): void
`)
    const files = [sampleFile, ...entryDeclarations(pack).map(({ esm }) => esm)]
    strict = withCompiler(pack, 'options', files, (program, checker) => {
      const found: string[] = []
      for (const file of program.getSourceFileNames().filter((name) => name.startsWith(esm) || name === sampleFile)) {
        const where = file === sampleFile ? 'sample.d.ts' : file.slice(esm.length)
        const visit = (node: Node): void => {
          const named = node as Named
          if (node.kind === SyntaxKind.InterfaceDeclaration && /Options$/.test(named.name?.text ?? '')) {
            const symbol = checker.getSymbolAtLocation(named.name as unknown as Node)!
            for (const field of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol))) {
              if (!(field.flags & SymbolFlags.Optional)) continue
              const declaration = field.declarations[0]?.resolve() as Field | undefined
              if (!admitsUndefined(declaration?.type)) found.push(`${where}: ${named.name!.text}.${field.name}`)
            }
          }
          const field = node as Field
          if (node.kind === SyntaxKind.PropertySignature && field.postfixToken?.kind === SyntaxKind.QuestionToken &&
            node.parent.kind === SyntaxKind.TypeLiteral && node.parent.parent.kind === SyntaxKind.Parameter &&
            !admitsUndefined(field.type)) {
            const parameter = node.parent.parent as Named
            const fn = parameter.parent as Named
            const owner = (fn.parent as Named).name?.text
            found.push(`${where}: ${owner ? `${owner}.` : ''}${fn.name?.text ?? 'constructor'}(${parameter.name?.text}).${field.name?.text}`)
          }
          node.forEachChild(visit)
        }
        program.getSourceFile(file)!.forEachChild(visit)
      }
      return found
    })
    sample = strict.filter((field) => field.startsWith('sample.d.ts: '))
    strict = strict.filter((field) => !field.startsWith('sample.d.ts: '))
  })

  it('reads the optional fields of options interfaces, inherited ones too, and of inline parameter types', () => {
    expect(sample).to.deep.equal(['sample.d.ts: SampleOptions.a', 'sample.d.ts: SampleOptions.inherited', 'sample.d.ts: f(o).x'])
  })

  it('every optional field a user passes accepts an explicit undefined', () => {
    expect(strict, `${strict.length} optional fields without \`| undefined\`:\n${strict.join('\n')}`).to.deep.equal([])
  })
})
