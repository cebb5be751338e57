/**
 * The named differences are whole: each is used by a recorded row, each is a row of the parity tables
 * (docs/context.md for the stores and the summarizer, docs/protocol.md for the receiver), and every fixture says
 * which commit of the reference answered.
 */
import { expect } from 'chai'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { differences } from './differences.js'

const root = join(import.meta.dirname, '..', '..')
const fixtures = ['receiver', 'context-store', 'summarizer'].map((name) =>
  JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', `${name}.json`), 'utf8')) as {
    source: { commit: string }
    rows: Array<{ tag?: string; async?: { tag?: string } }>
  })

describe('the named differences from the reference', () => {
  it('come from one commit of the reference, d82a2fd, recorded by the generator in this folder', () => {
    expect(fixtures.map((f) => f.source.commit)).to.deep.equal(Array(3).fill('d82a2fd1e93059601540bd3286219e553510623a'))
    expect(readdirSync(import.meta.dirname)).to.include('generate.py')
  })

  it('are each used by at least one recorded row, and no row names another', () => {
    const used = new Set(fixtures.flatMap((f) => f.rows.flatMap((row) => [row.tag, row.async?.tag]))
      .flatMap((tag) => (tag === undefined ? [] : tag.replace(/^differs: /, '').split(', '))))
    expect([...used].sort()).to.deep.equal(Object.keys(differences).sort())
  })

  it('are each a row of a parity table in the docs, by name', () => {
    const tables = ['docs/context.md', 'docs/protocol.md'].map((page) => readFileSync(join(root, page), 'utf8')).join('\n')
    const rows = tables.split('\n').filter((line) => line.startsWith('|'))
    expect(Object.keys(differences).filter((id) => !rows.some((row) => row.includes(`**\`${id}\`**`)))).to.deep.equal([])
  })
})
