/**
 * The published package, packed once for every spec that checks it: `npm pack` into a temporary
 * folder, installed there into a fresh consumer project with the peers the main entry needs.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
// TypeScript 7's API to its native compiler, pinned by package-lock.json; "unstable" means it may
// change in a later 7.x, which these specs would show by failing, never by checking less.
import { API, type Checker, type Program } from 'typescript/unstable/sync'

export const root = fileURLToPath(new URL('../../', import.meta.url))
const requireHere = createRequire(import.meta.url)

/** The version of a package installed at the top of the repository. */
export const versionOf = (name: string): string => (requireHere(`${name}/package.json`) as { version: string }).version

export interface Packed {
  /** The consumer project: its package.json, node_modules and whatever files a spec writes there. */
  readonly dir: string
  /** The tarball `npm pack` wrote, in `dir`. */
  readonly tarball: string
  /** The package as installed from the tarball (`dir`/node_modules/autoplay-rx). */
  readonly installed: string
  /** Runs a command in `cwd` (default `dir`) and returns its standard output. */
  sh(cmd: string, args: readonly string[], cwd?: string): string
}

let packing: Packed | undefined

/** Packs and installs on the first call; later calls (from any spec file) get the same folder. */
export function packed(): Packed {
  if (packing) return packing
  const dir = mkdtempSync(join(tmpdir(), 'autoplay-rx-pack-'))
  // Removed when mocha's process ends, since several spec files share it.
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  const sh = (cmd: string, args: readonly string[], cwd = dir) =>
    execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  sh('npm', ['pack', '--silent', '--pack-destination', dir], root)
  const tarball = join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz'))!)
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', tarball,
    ...['rxjs', 'io-ts', 'fp-ts', '@types/node'].map((name) => `${name}@${versionOf(name)}`)])
  packing = { dir, tarball, installed: join(dir, 'node_modules', 'autoplay-rx'), sh }
  return packing
}

/** An entry of package.json "exports" ('.', './node', …) and its ESM and CJS declarations, installed. */
export interface EntryDeclarations {
  readonly entry: string
  readonly esm: string
  readonly cjs: string
}

/** The entries of the installed package, read from its package.json "exports". */
export function entryDeclarations({ installed }: Packed): EntryDeclarations[] {
  type Conditions = { import: { types: string }; require: { types: string } }
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { exports: Record<string, Conditions | string> }
  return Object.entries(manifest.exports).flatMap(([entry, target]) => typeof target === 'string' ? [] : [{
    entry, esm: join(installed, target.import.types), cjs: join(installed, target.require.types),
  }])
}

/**
 * Runs `read` with TypeScript's program and checker over `files` (and what they import), in a
 * project of its own named `name` in the consumer folder, where the peers resolve.
 */
export function withCompiler<T>(packed: Packed, name: string, files: readonly string[],
  read: (program: Program, checker: Checker) => T): T {
  const project = join(packed.dir, name)
  mkdirSync(project, { recursive: true })
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, types: ['node'] },
    files,
  }))
  const api = new API({ cwd: project })
  try {
    const { program, checker } = api.updateSnapshot({ openProjects: [join(project, 'tsconfig.json')] }).getProjects()[0]!
    return read(program, checker)
  } finally {
    api.close()
  }
}
