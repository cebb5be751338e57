/**
 * The published package, packed once for every spec that checks it: `npm pack` into a temporary
 * folder, installed there into a fresh consumer project with the peers the main entry needs.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

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
