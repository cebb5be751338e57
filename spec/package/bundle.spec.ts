/**
 * What a browser-platform build pays for the receiver and the fetch handler: the packed package
 * bundled by esbuild as a user's edge build would (minified, peers left to the user's bundle),
 * gzipped, held to 10 KiB.
 */
import { expect } from 'chai'
import * as esbuild from 'esbuild'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { packed } from './packed.js'

const BUDGET_KIB = 10

describe('the bundle of createFetchHandler and WebhookReceiver (esbuild, browser platform)', function () {
  this.timeout(180_000)

  it(`is at most ${BUDGET_KIB} KiB gzipped, with the peers external`, async () => {
    const { dir, installed } = packed()
    const entry = join(dir, 'edge-worker.mjs')
    writeFileSync(entry, `import { WebhookReceiver } from 'autoplay-rx'
import { createFetchHandler } from 'autoplay-rx/web'
const receiver = new WebhookReceiver({ secret: 'k' })
receiver.actions$.subscribe((batch) => console.log(batch.session_id, batch.count))
export default { fetch: createFetchHandler(receiver) }
`)
    const peers = Object.keys((JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      peerDependencies: Record<string, string>
    }).peerDependencies)
    const result = await esbuild.build({
      entryPoints: [entry], absWorkingDir: dir, bundle: true, write: false, metafile: true,
      platform: 'browser', format: 'esm', target: 'es2022', minify: true, external: peers, logLevel: 'silent',
    })
    const code = result.outputFiles[0]!.contents
    const gzipped = gzipSync(code).length / 1024
    console.log(`      ${(code.length / 1024).toFixed(1)} KiB minified, ${gzipped.toFixed(2)} KiB gzipped`)
    // From the package as installed, and nothing of a peer inlined.
    const inputs = Object.keys(result.metafile.inputs)
    expect(inputs.filter((input) => input.startsWith('node_modules/') && !/^node_modules\/(autoplay-rx|eventsource-parser)\//.test(input))).to.deep.equal([])
    expect(inputs).to.include('node_modules/autoplay-rx/dist/esm/adapters/web.js')
    expect(gzipped, `${gzipped.toFixed(2)} KiB gzipped`).to.be.at.most(BUDGET_KIB)
  })
})
