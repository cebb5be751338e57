/** The exit codes of docs/cli.md, each row run for real: 0 done, 1 a runtime failure, 2 bad usage. */
import { expect } from 'chai'
import { readFileSync } from 'node:fs'
import { SECRET } from '../helpers/fixtures.js'
import { listen } from '../helpers/http.js'
import { freePort } from '../helpers/redis.js'
import { cli, run, runEach, waitFor } from './run.js'

const table = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8')

describe('cli exit codes (docs/cli.md)', function () {
  this.timeout(90_000)

  it('the table documents 0, 1 and 2, and nothing else', () => {
    expect([...table.matchAll(/^\| (\d+) \|/gm)].map((row) => Number(row[1]))).to.deep.equal([0, 1, 2])
  })

  it('0: done (help, version, a dry run, every delivery accepted, stopped by Ctrl-C)', async () => {
    const receiver = await listen((req, res) => { req.resume(); req.on('end', () => res.writeHead(200).end()) })
    try {
      const runs = await runEach([['--help'], ['send', '--help'], ['--version'], ['send', '--dry-run', '--secret', SECRET],
        ['send', '--url', `http://127.0.0.1:${receiver.port}/`, '--secret', SECRET, '--count', '2']])
      expect(runs.map((r) => [r.code, r.stderr])).to.deep.equal(Array(5).fill([0, '']))
    } finally {
      await receiver.close()
    }
    const listener = cli(['listen', '--port', '0', '--secret', SECRET])
    await waitFor(() => listener.err().includes('listening on'))
    listener.child.kill('SIGINT')
    expect(await listener.closed).to.equal(0)
  })

  it('1: a runtime failure, in one line (a delivery refused, a port taken, Redis unreachable)', async () => {
    const refusing = await listen((req, res) => { req.resume(); req.on('end', () => res.writeHead(401).end()) })
    const redis = `redis://127.0.0.1:${await freePort()}`
    try {
      const [refused, taken] = await runEach([
        ['send', '--url', `http://127.0.0.1:${refusing.port}/`, '--secret', SECRET],
        ['listen', '--port', String(refusing.port), '--secret', SECRET],
      ])
      const [work, store] = await Promise.all([run(['work', '--redis', redis]), run(['listen', '--port', '0', '--secret', SECRET, '--redis', redis])])
      expect([refused, taken, work, store].map((r) => r!.code)).to.deep.equal([1, 1, 1, 1])
      expect([taken, work, store].map((r) => r!.stderr.split('\n').length)).to.deep.equal([2, 2, 2])
      expect(work.stderr).to.match(new RegExp(`^autoplay-rx: cannot connect to ${redis} \\(.+\\): is redis-server running there\\? `))
      expect(store.stderr).to.equal(work.stderr)
    } finally {
      await refusing.close()
    }
  })

  it('2: bad usage, one line with a pointer to the help', async () => {
    const runs = await runEach([['serve'], ['send', '--bogus'], ['listen', '--secret', 's', '--port', 'x'], ['sign', '--secret', 's', '/nonexistent']])
    expect(runs.map((r) => [r.code, r.stdout, r.stderr.split('\n').length, /\(see autoplay-rx (\w+ )?--help\)\n$/.test(r.stderr)]))
      .to.deep.equal(Array(4).fill([2, '', 2, true]))
  })
})
