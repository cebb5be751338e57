/** `autoplay-rx sign`, run as a user runs it: the header value of the exact bytes given. */
import { expect } from 'chai'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sign, WebhookReceiver } from '../../src/index.js'
import { fixture, SECRET } from '../helpers/fixtures.js'
import { fixtures, run, runEach } from './run.js'

describe('cli/sign', function () {
  this.timeout(90_000)

  it('prints the header value of a file or of standard input', async () => {
    const expected = sign(fixture('summary'), SECRET)
    const fromFile = await run(['sign', '--secret', SECRET, `${fixtures}summary.json`])
    const fromStdin = await run(['sign', '--secret', SECRET, '-'], fixture('summary'))
    expect([fromFile.code, fromFile.stdout, fromStdin.stdout]).to.deep.equal([0, `${expected}\n`, `${expected}\n`])
  })

  it('signs the bytes as they are: a BOM, CRLF line ends or a trailing newline each give another signature, which the receiver accepts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autoplay-rx-sign-'))
    try {
      const plain = Buffer.from('{\n  "type": "summary",\n  "summary": "hi"\n}')
      const variants = [
        plain,
        Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), plain]),
        Buffer.from(plain.toString().replace(/\n/g, '\r\n')),
        Buffer.concat([plain, Buffer.from('\n')]),
      ]
      const files = variants.map((bytes, i) => {
        const file = join(dir, `event-${i}.json`)
        writeFileSync(file, bytes)
        return file
      })
      const printed = (await runEach(files.map((file) => ['sign', '--secret', SECRET, file]))).map((r) => r.stdout.trim())
      expect(printed).to.deep.equal(variants.map((bytes) => sign(bytes, SECRET)))
      expect(new Set(printed).size).to.equal(variants.length)
      const receiver = new WebhookReceiver({ secret: SECRET })
      expect(variants.map((bytes, i) => receiver.verify(bytes, printed[i]))).to.deep.equal([true, true, true, true])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
