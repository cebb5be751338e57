/** `send --dry-run` prints curl commands for users who test with curl: run as printed, a real receiver accepts each. */
import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startListener } from '../../src/cli/listen.js'
import { silentLogger } from '../../src/index.js'
import { SECRET } from '../helpers/fixtures.js'
import { run } from './run.js'

describe('cli/send --dry-run', function () {
  this.timeout(90_000)

  it('sends nothing, and prints curl commands a shell runs against a real receiver, which accepts each', async () => {
    const lines: string[] = []
    const listener = await startListener({ port: 0, secret: SECRET, logger: silentLogger, write: (line) => lines.push(line) })
    const dir = mkdtempSync(join(tmpdir(), 'autoplay-rx-dry-'))
    try {
      // Quotes of both kinds and a non-ASCII character: the shell quoting must keep the signed bytes as they are.
      const file = join(dir, 'quoted.json')
      writeFileSync(file, '{"type":"summary","session_id":"ps_q","summary":"The user\'s \\"Export\\" — done","replaces":0}')
      const generated = await run(['send', '--dry-run', '--url', listener.url, '--secret', SECRET, '--count', '2', '--type', 'summary'])
      const fromFile = await run(['send', '--dry-run', '--url', listener.url, '--secret', SECRET, file])
      expect([generated.code, fromFile.code, lines]).to.deep.equal([0, 0, []])
      // Printed commands are saved and shared: the secret itself is never in them, only the signatures it made.
      expect([generated.stdout.includes(SECRET), fromFile.stdout.includes(SECRET)]).to.deep.equal([false, false])
      expect(generated.stdout.split('\n').filter((line) => line.startsWith('#'))).to.deep.equal(['# event 1', '# event 2'])
      expect(fromFile.stdout.split('\n')[1]).to.match(new RegExp(`^curl -sS '${listener.url}' -H 'content-type: application/json' ` +
        `-H 'x-connector-signature: sha256=[0-9a-f]{64}' --data-binary '`))
      const shell = await new Promise<{ error: Error | null; stderr: string }>((resolve) => {
        execFile('sh', ['-e', '-c', generated.stdout + fromFile.stdout], (error, _stdout, stderr) => resolve({ error, stderr }))
      })
      expect([shell.error, shell.stderr]).to.deep.equal([null, ''])
      expect(lines.map((line) => line.split('\n')[0]!.replace(/session \S+/, 'session …'))).to.deep.equal(Array(3).fill('summary  session … (replaces 0)'))
      expect(lines[2]).to.equal('summary  session ps_q (replaces 0)\n  The user\'s "Export" — done')
    } finally {
      await listener.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a file whose bytes text cannot carry (not UTF-8, a NUL) is sent by curl from the file itself, its signature intact', async () => {
    const lines: string[] = []
    const listener = await startListener({ port: 0, secret: SECRET, logger: silentLogger, json: true, write: (line) => lines.push(line) })
    const dir = mkdtempSync(join(tmpdir(), 'autoplay-rx-dry-'))
    try {
      const file = join(dir, 'binary.json')
      writeFileSync(file, Buffer.from([0x7b, 0x22, 0xff, 0x00, 0x22, 0x7d])) // {"<ff><nul>"}
      const printed = await run(['send', '--dry-run', '--url', listener.url, '--secret', SECRET, file])
      expect(printed.stdout.split('\n')[1]).to.match(new RegExp(`--data-binary '@${file}'$`))
      const stdin = await run(['send', '--dry-run', '--url', listener.url, '--secret', SECRET, '-'], Buffer.from([0xff]))
      expect(stdin.stdout.split('\n')[1]).to.equal('# not UTF-8 text, which no command line carries: use send')
      await new Promise<void>((resolve, reject) => execFile('sh', ['-c', printed.stdout], (error) => (error ? reject(error) : resolve())))
      // The signature held over the exact bytes: refused as JSON, not as forged.
      expect(lines.map((line) => (JSON.parse(line) as { tag: string }).tag)).to.deep.equal(['MalformedJson'])
    } finally {
      await listener.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('--url may be left out: the commands then target listen\'s default address', async () => {
    const r = await run(['send', '--dry-run', '--secret', SECRET])
    expect([r.code, r.stdout.split('\n')[1]!.slice(0, 48)]).to.deep.equal([0, 'curl -sS \'http://127.0.0.1:8787/events\' -H \'cont'])
  })
})
