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

  it('signs the bytes as they are (a BOM, CRLF and a trailing newline change the signature), and the receiver accepts it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autoplay-rx-sign-'))
    try {
      const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"type":"summary","summary":"a\r\nb"}\n')])
      const file = join(dir, 'event.json')
      writeFileSync(file, body)
      const [printed] = await runEach([['sign', '--secret', SECRET, file]])
      const header = printed!.stdout.trim()
      expect(header).to.equal(sign(body, SECRET))
      expect(header).not.to.equal(sign(body.subarray(3), SECRET))
      expect(new WebhookReceiver({ secret: SECRET }).verify(body, header)).to.equal(true)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
