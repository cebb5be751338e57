/** The README's first example runs as written and prints what it says it prints. */
import { expect } from 'chai'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

describe('README', () => {
  it('first example prints what its comment says', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    const section = readme.slice(readme.indexOf('## First example'))
    const code = /```ts\n([\s\S]*?)```/.exec(section)![1]!
    const expected = code.split('// prints:\n')[1]!.trim().split('\n').map((l) => l.replace(/^\/\/ /, ''))
    expect(expected.length).to.be.greaterThan(1)
    const dir = mkdtempSync(join(tmpdir(), 'autoplay-rx-readme-'))
    try {
      const file = join(dir, 'example.ts')
      writeFileSync(file, code.replaceAll("from 'autoplay-rx'", `from '${join(root, 'src', 'index.ts')}'`))
      const output = execFileSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8' })
      expect(output.trim().split('\n')).to.deep.equal(expected)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
