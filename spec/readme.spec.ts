/**
 * The README, and the guides whose code is plain TypeScript, as a user meets them: every
 * TypeScript block type-checks against the package's declarations (strict, with
 * `exactOptionalPropertyTypes`, as a user's strict project has it), every block with a
 * `// prints:` comment runs and prints exactly that, and every link between the README and the
 * guides lands on a file and a heading that exist.
 */
import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const root = fileURLToPath(new URL('..', import.meta.url))
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const run = promisify(execFile)
const tsc = join(root, 'node_modules', '.bin', 'tsc')

interface Block { readonly file: string; readonly heading: string; readonly code: string }

/** Every ```ts block of a Markdown file, with the `## ` heading it sits under. */
function blocksOf(file: string): Block[] {
  const text = readFileSync(join(root, file), 'utf8')
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => {
    const before = text.slice(0, m.index)
    const heading = /^## (.+)$/m.exec(before.slice(before.lastIndexOf('\n## ')))?.[1] ?? '(top)'
    return { file, heading, code: m[1]! }
  })
}

const blocks = blocksOf('README.md')
/** The guides' blocks, held to the same rules (not docs/runtimes.md's: Deno, Bun, Worker modules). */
const guideBlocks = ['protocol', 'recipes', 'reliability', 'sse', 'context', 'scaling', 'observability']
  .map((name) => `docs/${name}.md`).flatMap(blocksOf)

/** The lines a block's `// prints:` comment promises, or null for a block that is only type-checked. */
function promised(code: string): string[] | null {
  const tail = code.split('// prints:\n')[1]
  return tail === undefined ? null : tail.trim().split('\n').map((l) => l.replace(/^\/\/ ?/, ''))
}

/** A temporary folder that sees the repository's node_modules, so a block's other imports (fp-ts, express) resolve. */
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'autoplay-rx-readme-'))
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir')
  return dir
}

/**
 * Runs a block as a user who copied it would, 'autoplay-rx' pointing at src/; a module (.mts),
 * so that top-level await works.
 */
async function runExample(code: string): Promise<{ stdout: string; stderr: string }> {
  const dir = scratch()
  try {
    const file = join(dir, 'example.mts')
    writeFileSync(file, code.replaceAll("from 'autoplay-rx'", `from '${join(root, 'src', 'index.ts')}'`))
    return await run(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 60_000 })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Each entry of package.json "exports" mapped to its declarations, emitted from src/ into `dir`
 * as the build emits them to dist/esm/: what a user's compiler reads, without touching dist/.
 */
async function declarations(dir: string): Promise<Record<string, string[]>> {
  await run(tsc, ['-p', join(root, 'tsconfig.build.json'), '--outDir', dir, '--emitDeclarationOnly'])
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }
  const paths: Record<string, string[]> = {}
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    const types = (target as { import?: { types?: string } }).import?.types
    // ./dist/esm/adapters/node.d.ts → <dir>/adapters/node.d.ts
    if (types === undefined) continue
    paths[posix.join('autoplay-rx', subpath)] = [join(dir, posix.relative('./dist/esm', types))]
  }
  return paths
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')

/** The anchors of a Markdown file's headings (outside code blocks), with GitHub's -1, -2 for repeats. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const found = new Set<string>()
  for (const [, heading] of markdown.replace(/```[\s\S]*?```/g, '').matchAll(/^#{1,6} (.+)$/gm)) {
    const base = slug(heading!)
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    found.add(n === 0 ? base : `${base}-${n}`)
  }
  return found
}

describe('README', function () {
  this.timeout(120_000)

  it('is at most 250 lines, and starts with the two commands that try it from a clone', () => {
    expect(readme.trimEnd().split('\n').length).to.be.at.most(250)
    const first = /```sh\n([\s\S]*?)```/.exec(readme)![1]!
    expect(first).to.match(/^npm ci && npm start\b/m)
    expect(first).to.match(/^npm test\b/m)
  })

  it('runs the first example, and at least three blocks in all', () => {
    expect(blocks[0]!.heading).to.equal('First example')
    expect(promised(blocks[0]!.code)).to.not.equal(null)
    expect(blocks.filter((b) => promised(b.code) !== null).length).to.be.at.least(3)
  })

  for (const { file, heading, code } of [...blocks, ...guideBlocks].filter((b) => promised(b.code) !== null)) {
    const where = file === 'README.md' ? heading : `${file}, ${heading}`
    it(`${where}: the block prints what its comment says, and no warning or stack`, async () => {
      const expected = promised(code)!
      expect(expected.join('')).to.not.equal('')
      const { stdout, stderr } = await runExample(code)
      expect(stdout.trimEnd().split('\n')).to.deep.equal(expected)
      expect(stderr).to.equal('')
    })
  }

  it('every block, its own and the guides\', type-checks: strict, with exactOptionalPropertyTypes', async () => {
    const all = [...blocks, ...guideBlocks]
    const dir = scratch()
    try {
      const paths = await declarations(join(dir, 'types'))
      const files = all.map(({ code }, i) => {
        writeFileSync(join(dir, `block${i}.mts`), code)
        return `block${i}.mts`
      })
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: {
          strict: true, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true,
          noEmit: true, skipLibCheck: true, module: 'nodenext', moduleResolution: 'nodenext',
          target: 'es2022', lib: ['es2022'], types: ['node'], paths,
        },
        files,
      }))
      const checked = await run(tsc, ['-p', dir], { cwd: dir, encoding: 'utf8' })
        .then(() => '', (error: { stdout: string }) => error.stdout)
      // Name each failing block by its file and heading, not by a temporary file.
      const named = checked.replace(/block(\d+)\.mts/g, (_, i: string) => {
        const { file, heading } = all[Number(i)]!
        return `${file} "${heading}"`
      })
      expect(named).to.equal('')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('every relative link of it, the CHANGELOG and the guides lands on a file, and on a heading there', () => {
    const guides = ['protocol', 'reliability', 'recipes', 'runtimes', 'benchmarks', 'sse', 'context', 'scaling', 'observability', 'cli']
      .map((name) => `docs/${name}.md`)
    const sources = ['README.md', 'CHANGELOG.md', 'examples/README.md', ...guides]
    const broken: string[] = []
    for (const source of sources) {
      const text = readFileSync(join(root, source), 'utf8').replace(/```[\s\S]*?```/g, '')
      for (const [, target, anchor] of text.matchAll(/\]\(([^)#\s]*)(?:#([^)\s]*))?\)/g)) {
        if (/^[a-z]+:/i.test(target!)) continue
        const file = target === '' ? source : posix.normalize(posix.join(dirname(source), target!))
        if (!existsSync(join(root, file))) broken.push(`${source} → ${target} (no such file)`)
        else if (anchor === undefined) continue
        else if (!file.endsWith('.md') || !anchors(readFileSync(join(root, file), 'utf8')).has(anchor)) {
          broken.push(`${source} → ${target}#${anchor} (no such heading)`)
        }
      }
    }
    expect(broken).to.deep.equal([])
  })
})
