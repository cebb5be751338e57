/**
 * The Bounds table of docs/reliability.md names, for each bound, the spec that fails without it, as
 * `spec/file.ts` «it title». This holds the table to that: every spec it names exists, and every row
 * names one.
 */
import { expect } from 'chai'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
const doc = readFileSync(join(root, 'docs/reliability.md'), 'utf8')
const section = /^## Bounds\n([\s\S]*?)(?=^## )/m.exec(doc)?.[1] ?? ''
/** The rows of the section's tables, header and separator lines left out. */
const rows = section.split('\n')
  .filter((line) => line.startsWith('| ') && !line.startsWith('| what |') && !line.startsWith('|---'))
const REFERENCE = /`(spec\/[^`]+)` «([^»]+)»/g

/** The titles of a file's `it(` calls written as plain string literals, unescaped. */
function titlesIn(file: string): Set<string> {
  const text = readFileSync(join(root, file), 'utf8')
  const literals = text.matchAll(/\bit\(\s*(['"`])((?:\\.|(?!\1)[^\\])*)\1/g)
  return new Set([...literals].map((m) => m[2]!.replace(/\\(.)/g, '$1')))
}

describe('docs/reliability.md: the Bounds table', () => {
  it('sits near the top, before the first section on attacks, with a row per bound in its three tables', () => {
    expect(doc.indexOf('\n## Bounds\n')).to.be.above(0).and.below(doc.indexOf('\n## Bounded memory under attack'))
    expect(rows.length).to.be.at.least(50)
  })

  it('names for every row a spec that fails without the bound', () => {
    const named = new RegExp(REFERENCE.source)
    const bare = rows.filter((row) => !named.test(row.split(' | ').at(-1)!) || row.includes('(none yet'))
    expect(bare).to.deep.equal([])
  })

  it('names only specs that exist: the file, and an it( with that title in it', () => {
    const missing: string[] = []
    for (const row of rows) {
      for (const [, file, title] of row.matchAll(REFERENCE)) {
        if (!existsSync(join(root, file!)) || !titlesIn(file!).has(title!)) missing.push(`${file} «${title}»`)
      }
    }
    expect(missing).to.deep.equal([])
  })
})
