/**
 * The published package, as a user gets it: `npm pack`, install the tarball
 * into a fresh project, then import it, require it, type-check a consumer in
 * both module systems and run the bin.
 */
import { expect } from 'chai'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, posix } from 'node:path'
import { INSTRUMENTS } from '../src/otel/index.js'
import { packed, root, versionOf, type Packed } from './package/packed.js'

/** Every file under a folder, as '/'-separated paths relative to it. */
function listFiles(top: string, prefix = ''): string[] {
  return readdirSync(join(top, prefix)).flatMap((name) => {
    const rel = prefix ? `${prefix}/${name}` : name
    return statSync(join(top, rel)).isDirectory() ? listFiles(top, rel) : [rel]
  })
}

describe('the packed package', function () {
  this.timeout(180_000)
  let dir: string
  let sh: Packed['sh']

  before(() => { ({ dir, sh } = packed()) })

  const program = (load: string) => `${load}
const secret = 'k'
const body = '{"type":"summary","session_id":"s1","summary":"hi"}'
const receiver = new rx.WebhookReceiver({ secret, logger: rx.silentLogger })
const seen = []
receiver.summary$.subscribe((p) => seen.push(p.summary))
const result = receiver.ingest(body, rx.sign(body, secret))
console.log(JSON.stringify({ tag: result._tag, seen, node: typeof node.createNodeMiddleware, web: typeof web.createFetchHandler }))`

  it('imports as ESM, with every subpath', () => {
    writeFileSync(join(dir, 'esm.mjs'), program(`import * as rx from 'autoplay-rx'
import * as node from 'autoplay-rx/node'
import * as web from 'autoplay-rx/web'`))
    expect(JSON.parse(sh('node', ['esm.mjs']))).to.deep.equal({ tag: 'Right', seen: ['hi'], node: 'function', web: 'function' })
  })

  it('requires as CommonJS, with every subpath', () => {
    writeFileSync(join(dir, 'cjs.cjs'), program(`const rx = require('autoplay-rx')
const node = require('autoplay-rx/node')
const web = require('autoplay-rx/web')`))
    expect(JSON.parse(sh('node', ['cjs.cjs']))).to.deep.equal({ tag: 'Right', seen: ['hi'], node: 'function', web: 'function' })
  })

  it('loads no adapter unless imported', () => {
    writeFileSync(join(dir, 'lazy.cjs'), `require('autoplay-rx')
console.log(JSON.stringify(Object.keys(require.cache).filter((f) => f.includes('adapters') || f.includes('/cli/'))))`)
    expect(JSON.parse(sh('node', ['lazy.cjs']))).to.deep.equal([])
  })

  it('type-checks a consumer in both module systems (strict)', () => {
    const consumer = `import { WebhookReceiver, match, toText, type Payload, type IngestError, type UsertourTriggerPayload } from 'autoplay-rx'
import { createNodeMiddleware } from 'autoplay-rx/node'
import { createFetchHandler } from 'autoplay-rx/web'
import * as E from 'fp-ts/lib/Either.js'
const receiver = new WebhookReceiver({ secret: ['a', 'b'] })
const result: E.Either<IngestError, Payload | UsertourTriggerPayload> = receiver.ingest(new Uint8Array(), 'sha256=')
// Payload stays the two kinds a switch covers; a trigger has its stream.
const kind = (p: Payload): string => { switch (p.type) { case 'actions': return 'a'; case 'summary': return 's'; default: { const never: never = p; return never } } }
receiver.payloads$.subscribe((p) => void kind(p))
receiver.usertourTrigger$.subscribe((t) => { const flow: string = t.flow_id; const s: string | null = t.session_id; void flow; void s })
const status: number = match<IngestError, number>({ InvalidSignature: () => 401, MalformedJson: () => 400, InvalidPayload: () => 400,
  UnknownEventType: () => 200, NotRawBody: () => 400, BodyTooLarge: () => 413, SyncVerificationUnavailable: () => 500 })(E.isLeft(result) ? result.left : { _tag: 'NotRawBody', received: 'x', message: '' })
receiver.actions$.subscribe((batch) => { const n: number = batch.count; const s: string | null = batch.session_id; void n; void s; void toText(batch) })
export const handlers = [createNodeMiddleware(receiver, { path: '/events' }), createFetchHandler(receiver)] as const
export { status }
`
    writeFileSync(join(dir, 'consumer.mts'), consumer)
    writeFileSync(join(dir, 'consumer.cts'), consumer.replace("'fp-ts/lib/Either.js'", "'fp-ts/lib/Either'"))
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: ['node'], skipLibCheck: false },
      files: ['consumer.mts', 'consumer.cts'],
    }))
    const tsc = join(root, 'node_modules', '.bin', 'tsc')
    expect(sh(tsc, ['-p', '.'])).to.equal('')
    // And a wrong use is caught: the types really resolve (no silent any).
    writeFileSync(join(dir, 'wrong.mts'), `import { WebhookReceiver } from 'autoplay-rx'\nnew WebhookReceiver({ secret: 42 })\n`)
    let failed = ''
    writeFileSync(join(dir, 'tsconfig.wrong.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'nodenext', types: ['node'] }, files: ['wrong.mts'],
    }))
    try { sh(tsc, ['-p', 'tsconfig.wrong.json']) } catch (e) { failed = String((e as { stdout: string }).stdout) }
    expect(failed).to.include("Type 'number' is not assignable")
  })

  it('ships what a user needs, and nothing that reaches outside the package', () => {
    const installed = join(dir, 'node_modules', 'autoplay-rx')
    const files = listFiles(installed)
    for (const needed of ['LICENSE', 'CHANGELOG.md', 'README.md', 'package.json', 'dist/esm/index.js', 'dist/cjs/index.js', 'dist/esm/index.d.ts', 'docs/protocol.md']) {
      expect(files, needed).to.include(needed)
    }
    expect(files.filter((f) => /^(spec|bench|\.ci|node_modules|docs\/tooling)\//.test(f))).to.deep.equal([])
    // Every relative link in a shipped Markdown file lands on a shipped file; none names the
    // reference folder that sits beside the repository during development.
    const broken: string[] = []
    for (const md of files.filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(join(installed, md), 'utf8')
      if (/\.\.\/shared\b/.test(text)) broken.push(`${md}: names the folder beside the repository`)
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/i.test(target!)) continue
        const resolved = posix.normalize(posix.join(posix.dirname(md), target!)).replace(/\/$/, '')
        if (!files.some((f) => f === resolved || f.startsWith(`${resolved}/`))) broken.push(`${md} → ${target}`)
      }
    }
    expect(broken).to.deep.equal([])
  })

  it('needs no OpenTelemetry: only autoplay-rx/otel imports @opentelemetry/api, an optional peer', () => {
    const installed = join(dir, 'node_modules', 'autoplay-rx')
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      peerDependencies: Record<string, string>; peerDependenciesMeta: Record<string, { optional?: boolean }>
    }
    expect(manifest.peerDependenciesMeta['@opentelemetry/api']).to.deep.equal({ optional: true })
    expect(manifest.peerDependencies['@opentelemetry/api']).to.be.a('string')
    expect(readdirSync(join(dir, 'node_modules')).includes('@opentelemetry')).to.equal(false)
    const importers = listFiles(join(installed, 'dist')).filter((f) => f.endsWith('.js') && /(from\s*|require\()['"]@opentelemetry\//.test(readFileSync(join(installed, 'dist', f), 'utf8')))
    expect(importers.sort()).to.deep.equal(['cjs/otel/otelTelemetry.js', 'cjs/otel/traceparent.js', 'esm/otel/otelTelemetry.js', 'esm/otel/traceparent.js'])
    writeFileSync(join(dir, 'no-otel.cjs'), `require('autoplay-rx'); require('autoplay-rx/node'); require('autoplay-rx/web')
let otel = 'loaded'
try { require('autoplay-rx/otel') } catch (e) { otel = e.code + ' ' + String(e.message).split('\\n')[0] }
console.log(JSON.stringify({ otel, cached: Object.keys(require.cache).filter((f) => f.includes('@opentelemetry')) }))`)
    const { otel, cached } = JSON.parse(sh('node', ['no-otel.cjs'])) as { otel: string; cached: string[] }
    expect(cached).to.deep.equal([])
    expect(otel).to.match(/^MODULE_NOT_FOUND Cannot find module '@opentelemetry\/api'/)
  })

  it('autoplay-rx/otel works with the API alone (no SDK), imported and required, and type-checks', () => {
    sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', `@opentelemetry/api@${(JSON.parse(readFileSync(join(root, 'node_modules/@opentelemetry/api/package.json'), 'utf8')) as { version: string }).version}`])
    const check = (load: string) => `${load}
const telemetry = otel.otelTelemetry()
const receiver = new rx.WebhookReceiver({ secret: 'k', logger: rx.silentLogger, telemetry })
const body = '{"type":"summary","session_id":"s1","summary":"hi"}'
console.log(JSON.stringify({ tag: receiver.ingest(body, rx.sign(body, 'k'))._tag, instruments: Object.keys(otel.INSTRUMENTS).length }))`
    writeFileSync(join(dir, 'otel.mjs'), check(`import * as rx from 'autoplay-rx'\nimport * as otel from 'autoplay-rx/otel'`))
    writeFileSync(join(dir, 'otel.cjs'), check(`const rx = require('autoplay-rx')\nconst otel = require('autoplay-rx/otel')`))
    for (const file of ['otel.mjs', 'otel.cjs']) expect(JSON.parse(sh('node', [file])), file).to.deep.equal({ tag: 'Right', instruments: Object.keys(INSTRUMENTS).length })
    writeFileSync(join(dir, 'otel-consumer.mts'), `import { WebhookReceiver, type Telemetry } from 'autoplay-rx'
import { otelTelemetry, INSTRUMENTS } from 'autoplay-rx/otel'
const telemetry: Telemetry = otelTelemetry({ redisTimeoutMs: 500 })
const name: keyof typeof INSTRUMENTS = 'autoplay_rx.deliveries'
export const receiver = new WebhookReceiver({ secret: 'k', telemetry })
export const unit: string = INSTRUMENTS[name].unit
`)
    writeFileSync(join(dir, 'tsconfig.otel.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: ['node'] }, files: ['otel-consumer.mts'],
    }))
    expect(sh(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.otel.json'])).to.equal('')
  })

  it('installs the autoplay-rx bin, which knows its version', () => {
    expect(sh(join(dir, 'node_modules', '.bin', 'autoplay-rx'), ['--help'])).to.include('autoplay-rx listen --port 8787')
    // Read at run time from the installed package.json: from dist/, not from src/ as in spec/cli.
    expect(sh(join(dir, 'node_modules', '.bin', 'autoplay-rx'), ['--version'])).to.equal(`${versionOf('autoplay-rx')}\n`)
  })
})
