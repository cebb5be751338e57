import { expect } from 'chai'
import { existsSync, readFileSync } from 'node:fs'
import { KINDS } from './launch.js'

/** The "What runs where" table of docs/runtimes.md claims only what a runtime spec of this folder checks. */
describe('runtime: docs/runtimes.md\'s table is the specs\' (spec/runtimes)', () => {
  const guide = readFileSync(new URL('../../docs/runtimes.md', import.meta.url), 'utf8')
  const start = guide.indexOf('\n## What runs where\n')
  it('has the table', () => expect(start).to.be.greaterThan(-1))
  const table = guide.slice(start, guide.indexOf('\n## ', start + 1))
  const rows = table.split('\n').filter((line) => /^\| [A-Z]/.test(line) && !line.startsWith('| runtime'))
  // The package each row says it was tested with, and the spec that runs it.
  const kindOf: Record<string, string> = {
    node: 'node', bun: 'bun', deno: 'deno', miniflare: 'workerd', 'edge-runtime': 'edge',
  }

  it('has one row per runtime spec, and each row\'s sync column is what its spec asserts', () => {
    const claimed = rows.map((row) => {
      const cells = row.split('|').map((c) => c.trim())
      const tested = /\(`([a-z-]+)`/.exec(cells[1]!)![1]!
      const everything = cells.slice(2, 7).every((c) => c === '✓' || c === 'refused, by name')
      return { kind: kindOf[tested]!, sync: cells[4] === '✓', everything }
    })
    expect(claimed.map((c) => c.kind).sort()).to.deep.equal([...KINDS].sort())
    for (const { kind, sync, everything } of claimed) {
      const file = new URL(`./${kind}.spec.ts`, import.meta.url)
      expect(existsSync(file), `${kind}.spec.ts`).to.equal(true)
      expect(readFileSync(file, 'utf8'), kind).to.include(`'${kind}', ${String(sync)})`)
      expect(everything, kind).to.equal(true)
    }
  })
})
