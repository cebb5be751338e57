// docs:check in one TypeDoc run (a run costs ~7 s of CPU, so not two):
// generate the reference into a temporary folder with every warning an
// error (an export without a summary, a broken link, a missing or misplaced @example), then
// compare it with the committed docs/api, so a change to a TSDoc comment
// without `npm run docs` fails too.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const committed = join(here, '..', 'api')
const typedoc = join(dirname(createRequire(import.meta.url).resolve('typedoc/package.json')), 'bin', 'typedoc')

/** Every file under `root`, as paths relative to it. */
function files(root) {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort()
}

const out = mkdtempSync(join(tmpdir(), 'autoplay-rx-api-'))
try {
  const run = spawnSync(process.execPath, [typedoc, '--options', 'typedoc.json', '--treatWarningsAsErrors', '--out', out], {
    cwd: here, stdio: 'inherit',
  })
  if (run.status !== 0) {
    console.error('docs:check: TypeDoc reported the problems above (exports without a summary, broken links, a missing or misplaced @example).')
    process.exit(run.status ?? 1)
  }
  const generated = files(out)
  const stored = files(committed)
  const stale = [
    ...generated.filter((file) => !stored.includes(file)).map((file) => `missing: ${file}`),
    ...stored.filter((file) => !generated.includes(file)).map((file) => `no longer generated: ${file}`),
    ...generated.filter((file) => stored.includes(file) &&
      !readFileSync(join(out, file)).equals(readFileSync(join(committed, file)))).map((file) => `differs: ${file}`),
  ]
  if (stale.length > 0) {
    console.error(`docs:check: docs/api does not match the source; run \`npm run docs\` and commit docs/api.\n  ${stale.join('\n  ')}`)
    process.exit(1)
  }
  console.log(`docs:check: no warnings, and docs/api (${stored.length} files) matches the source.`)
} finally {
  rmSync(out, { recursive: true, force: true })
}
