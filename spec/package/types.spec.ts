/**
 * The types users get, as TypeScript resolves them: @arethetypeswrong/cli run on the packed
 * package, for every entry, from an ES module and from CommonJS under node16, and for bundlers.
 */
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packed, root } from './packed.js'

/** What `attw --format json` prints, as far as these specs read it. */
interface Report {
  readonly problems: Readonly<Record<string, readonly { readonly entrypoint?: string; readonly resolutionKind?: string }[]>>
  readonly analysis: {
    readonly entrypoints: Readonly<Record<string, {
      readonly resolutions: Readonly<Record<string, { readonly resolution?: { readonly fileName: string } }>>
    }>>
  }
}

const ENTRIES = ['.', './node', './web', './fastify', './redis', './otel', './proactive']
/** node10 (TypeScript's `moduleResolution: node`) ignores "exports", so it cannot see subpaths; TypeScript 7 dropped it. */
const RESOLUTIONS = ['node16-esm', 'node16-cjs', 'bundler']

describe('the types of the packed package (@arethetypeswrong/cli)', function () {
  this.timeout(180_000)
  let report: Report

  before(() => {
    const { dir, tarball } = packed()
    // Into a file: attw exits as soon as it finds a problem, which cuts a piped report at 64 KiB.
    const file = join(dir, 'attw.json')
    const out = openSync(file, 'w')
    try {
      const args = [tarball, '--profile', 'node16', '--no-definitely-typed', '--format', 'json']
      const run = spawnSync(join(root, 'node_modules', '.bin', 'attw'), args, { stdio: ['ignore', out, 'pipe'], encoding: 'utf8' })
      const printed = readFileSync(file, 'utf8')
      if (!printed.startsWith('{')) throw new Error(`attw printed no report (exit ${run.status}):\n${printed}${run.stderr}`)
      report = JSON.parse(printed) as Report
    } finally {
      closeSync(out)
    }
  })

  it('finds no problem for any entry under node16 (ESM and CJS) or bundler', () => {
    const problems = Object.values(report.problems).flat().filter((problem) => problem.resolutionKind !== 'node10')
    expect(problems, JSON.stringify(problems, null, 2)).to.deep.equal([])
  })

  it('resolves every entry to declarations: ESM ones from import, CJS ones from require', () => {
    const resolved = Object.fromEntries(ENTRIES.map((entry) => [entry, Object.fromEntries(RESOLUTIONS.map((kind) =>
      [kind, report.analysis.entrypoints[entry]?.resolutions[kind]?.resolution?.fileName.replace(/^.*\/dist\/(esm|cjs)\/.*\.d\.ts$/, '$1')]))]))
    const expected = Object.fromEntries(ENTRIES.map((entry) => [entry, { 'node16-esm': 'esm', 'node16-cjs': 'cjs', bundler: 'esm' }]))
    expect(resolved).to.deep.equal(expected)
  })
})
