/** The README's runnable examples run as written and print what their comments say, and nothing on stderr. */
import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

/** The first TypeScript block of a README section, and the lines its `// prints:` comment promises. */
function example(heading: string): { code: string; expected: string[] } {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const start = readme.indexOf(`\n${heading}\n`)
  expect(start, heading).to.be.greaterThan(-1)
  const code = /```ts\n([\s\S]*?)```/.exec(readme.slice(start))![1]!
  const expected = code.split('// prints:\n')[1]!.trim().split('\n').map((l) => l.replace(/^\/\/ ?/, ''))
  expect(expected.length).to.be.greaterThan(1)
  return { code, expected }
}

/**
 * Runs a block as a user who copied it would, with 'autoplay-rx' pointing at
 * src/; a module (.mts), so that top-level await works. The folder gets the
 * repository's node_modules so that the block's other imports (fp-ts) resolve.
 */
async function runExample(code: string): Promise<{ stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'autoplay-rx-readme-'))
  try {
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir')
    const file = join(dir, 'example.mts')
    writeFileSync(file, code.replaceAll("from 'autoplay-rx'", `from '${join(root, 'src', 'index.ts')}'`))
    return await new Promise((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) =>
        (error ? reject(Object.assign(error, { stderr })) : resolve({ stdout, stderr })))
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('README', function () {
  this.timeout(90_000)

  for (const heading of ['## First example', '## Payloads', '## Callbacks, for parity with the Python SDK', '## Session context for LLM apps']) {
    it(`${heading.slice(3)}: the block prints what its comment says, and no warning or stack`, async () => {
      const { code, expected } = example(heading)
      const { stdout, stderr } = await runExample(code)
      expect(stdout.trimEnd().split('\n')).to.deep.equal(expected)
      expect(stderr).to.equal('')
    })
  }
})
