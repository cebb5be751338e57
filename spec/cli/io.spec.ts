/** The CLI's process I/O: reading input as exact bytes, and the first Ctrl-C. */
import { expect } from 'chai'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readInput } from '../../src/cli/io.js'
import { CliError } from '../../src/cli/errors.js'

const io = fileURLToPath(new URL('../../src/cli/io.ts', import.meta.url))

describe('cli/io', function () {
  this.timeout(60_000)

  it('readInput gives a file\'s exact bytes, and a CliError naming the file and the reason when it cannot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'autoplay-rx-io-'))
    try {
      const bytes = Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d, 0x0d, 0x0a, 0xff])
      writeFileSync(join(dir, 'body'), bytes)
      expect(readInput(join(dir, 'body')).equals(bytes)).to.equal(true)
      expect(() => readInput(join(dir, 'missing.json'))).to.throw(CliError, `cannot read ${join(dir, 'missing.json')} (ENOENT): check the path`)
      expect(() => readInput(dir)).to.throw(CliError, `cannot read ${dir} (EISDIR): check the path`)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('untilInterrupted resolves at the first SIGINT and lets go of the signal, so a second one kills as usual', async () => {
    // In a child process of its own: mocha has its own SIGINT handling.
    const script = `
      import { untilInterrupted } from ${JSON.stringify(io)}
      setInterval(() => {}, 1000) // a pending signal keeps no process alive: a server or a connection does, in the CLI
      const waiting = untilInterrupted()
      process.stdout.write('ready ' + process.listenerCount('SIGINT') + '\\n')
      await waiting
      process.stdout.write('interrupted ' + process.listenerCount('SIGINT') + ' ' + process.listenerCount('SIGTERM') + '\\n')
    `
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    const deadline = setTimeout(() => child.kill('SIGKILL'), 40_000)
    const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (code, signal) => { clearTimeout(deadline); resolve([code, signal]) }))
    const until = async (text: string) => {
      for (let i = 0; i < 1500 && !out.includes(text); i++) await new Promise((r) => setTimeout(r, 20))
      expect(out).to.include(text)
    }
    child.stdout.on('data', (d) => { out += d })
    await until('ready')
    child.kill('SIGINT')
    await until('interrupted')
    // Still up (the interval holds it): only the default action of this second SIGINT ends it.
    child.kill('SIGINT')
    expect(await closed).to.deep.equal([null, 'SIGINT'])
    expect(out).to.equal('ready 1\ninterrupted 0 0\n')
  })
})
