/**
 * Issue 11 item 5: what a user meets first. Each case runs the real CLI
 * (the bin, or its `main` through driver.ts where many cases share one
 * process) and checks its exact output and exit code; on 0.1 each failed.
 */
import { expect } from 'chai'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startListener, type Listener } from '../../src/cli/listen.js'
import { silentLogger } from '../../src/index.js'
import { SECRET } from '../helpers/fixtures.js'
import { listen } from '../helpers/http.js'
import { fixtures, run, runEach } from './run.js'

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }

/** A port that was free a moment ago and that nothing listens on now. */
async function closedPort(): Promise<number> {
  const server = await listen(() => undefined)
  await server.close()
  return server.port
}

describe('cli frictions (issue 11 item 5)', function () {
  this.timeout(90_000)

  it('--version, -v and version print the package version', async () => {
    const runs = await runEach([['--version'], ['-v'], ['version']])
    expect(runs).to.deep.equal(Array(3).fill({ code: 0, stdout: `${version}\n`, stderr: '' }))
  })

  it('listen on a port in use: one line naming the port, exit 1', async () => {
    const taken = await listen(() => undefined)
    try {
      const r = await run(['listen', '--port', String(taken.port), '--secret', SECRET])
      expect([r.code, r.stdout, r.stderr]).to.deep.equal([1, '',
        `autoplay-rx: port ${taken.port} on 127.0.0.1 is already in use: stop what holds it, or choose another with --port (0 picks a free one)\n`])
    } finally {
      await taken.close()
    }
  })

  it('a --redis that is not a Redis URL: exit 2 with the expected form, for work and listen alike', async () => {
    const message = 'autoplay-rx: --redis must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379, got "not-a-url"'
    const work = await run(['work', '--redis', 'not-a-url'])
    expect([work.code, work.stderr]).to.deep.equal([2, `${message} (see autoplay-rx work --help)\n`])
    const [listener] = await runEach([['listen', '--port', '0', '--secret', SECRET, '--redis', 'not-a-url']])
    expect([listener!.code, listener!.stderr]).to.deep.equal([2, `${message} (see autoplay-rx listen --help)\n`])
  })

  describe('send says why each delivery was refused or failed, in one line', () => {
    let receiver: Listener
    let dir: string
    before(async () => {
      receiver = await startListener({ port: 0, secret: SECRET, logger: silentLogger, write: () => undefined })
      dir = mkdtempSync(join(tmpdir(), 'autoplay-rx-cli-'))
    })
    after(async () => {
      await receiver.close()
      rmSync(dir, { recursive: true, force: true })
    })

    it('a refusal: its status, code and message, and what to check', async () => {
      const r = await run(['send', '--url', receiver.url, '--secret', 'not-the-secret', '--count', '3', '--concurrency', '1'])
      const why = 'refused 401, invalid_signature: Invalid X-Connector-Signature: the signature does not match the body — ' +
        'does --secret match the receiver\'s secret?'
      expect([r.code, r.stdout.split('\n')]).to.deep.equal([1, [
        `event 1: ${why}`, `event 2: ${why}`, `event 3: ${why}`, 'sent 3, accepted 0, rejected 401×3, retried 0, failed 0', '',
      ]])
    })

    it('--quiet leaves out the accepted ones; a body that is not JSON is told by its first line', async () => {
      const broken = '{"type":"actions","actions":['
      const file = join(dir, 'broken.json')
      writeFileSync(file, broken)
      let detail = ''
      try { JSON.parse(broken) } catch (e) { detail = (e as Error).message }
      const plain = await listen((req, res) => { req.resume(); req.on('end', () => res.writeHead(404, { 'content-type': 'text/plain' }).end('Cannot POST /nowhere\n')) })
      try {
        const [json, text] = await runEach([
          ['send', '--url', receiver.url, '--secret', SECRET, '--concurrency', '1', '--quiet', file, `${fixtures}summary.json`, file],
          ['send', '--url', `http://127.0.0.1:${plain.port}/nowhere`, '--secret', SECRET, '--count', '2', '--quiet'],
        ])
        expect([json!.code, json!.stdout.split('\n')]).to.deep.equal([1, [
          `${file}: refused 400, malformed_json: Body is not valid JSON: ${detail}`,
          `${file}: refused 400, malformed_json: Body is not valid JSON: ${detail}`,
          'sent 3, accepted 1, rejected 400×2, retried 0, failed 0',
          '',
        ]])
        const notFound = 'refused 404, Cannot POST /nowhere — is the path in --url the receiver\'s route?'
        expect(text!.stdout.split('\n').sort()).to.deep.equal(
          ['', `event 1: ${notFound}`, `event 2: ${notFound}`, 'sent 2, accepted 0, rejected 404×2, retried 0, failed 0'])
      } finally {
        await plain.close()
      }
    })

    it('a network failure: the error, and what to check', async () => {
      const port = await closedPort()
      const url = `http://127.0.0.1:${port}/events`
      const [r] = await runEach([['send', '--url', url, '--secret', SECRET, '--count', '2', '--retries', '1', '--backoff', '1', '--quiet']])
      const why = `failed after 1 retry, ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${port} — is the receiver running at ${url}?`
      expect([r!.code, r!.stdout.split('\n').sort()]).to.deep.equal([1,
        ['', `event 1: ${why}`, `event 2: ${why}`, 'sent 2, accepted 0, rejected none, retried 2, failed 2']])
    })
  })

  it('every usage error is one line that names its fix, and exits 2', async () => {
    const cases: Array<[string[], string]> = [
      [['listen', '--port', '0'], '--secret is required: pass the secret the connector signs with (or --secret "" to accept unsigned deliveries in development) (see autoplay-rx listen --help)'],
      [['listen', '--secret', 's', '--path', 'events'], '--path must start with "/": use --path /events (see autoplay-rx listen --help)'],
      [['listen', '--secret', 's', '--stream', 'x'], '--stream needs --redis, the Redis server that holds the stream (such as --redis redis://127.0.0.1:6379) (see autoplay-rx listen --help)'],
      [['listen', '--secret', 's', '--port', '70000'], '--port must be a whole number from 0 to 65535, got "70000" (see autoplay-rx listen --help)'],
      [['send', '--secret', 's'], '--url is required: the receiver\'s endpoint, such as --url http://127.0.0.1:8787/events (see autoplay-rx send --help)'],
      [['send', '--url', 'ftp://x', '--secret', 's'], '--url must be an http:// or https:// URL such as http://127.0.0.1:8787/events, got "ftp://x" (see autoplay-rx send --help)'],
      [['send', '--url', 'http://127.0.0.1:1/'], '--secret is required: pass the secret the receiver checks signatures with (see autoplay-rx send --help)'],
      [['sign', '-'], '--secret is required: pass the secret to sign with (see autoplay-rx sign --help)'],
      [['sign', '--secret', 's', '/nonexistent.json'], 'cannot read /nonexistent.json (ENOENT): check the path (see autoplay-rx sign --help)'],
      [['work'], '--redis is required: the stream\'s Redis server, such as --redis redis://127.0.0.1:6379 (see autoplay-rx work --help)'],
      [['serve'], 'unknown command "serve": the commands are listen, send, sign, work, dead, demo and version (see autoplay-rx --help)'],
      [['send', '--bogus'], 'unknown option --bogus (see autoplay-rx send --help)'],
      [['send', '-x'], 'unknown option -x (see autoplay-rx send --help)'],
      [['send', '--url', 'http://127.0.0.1:1/', '--secret', 's', '--count', '-1'], '--count must be a whole number ≥ 1, got "-1" (see autoplay-rx send --help)'],
      [['send', '--url', 'http://127.0.0.1:1/', '--secret', 's', '--count', ''], '--count must be a whole number ≥ 1, got "" (see autoplay-rx send --help)'],
      [['send', '--url', 'http://127.0.0.1:1/', '--secret', 's', '--count', '1e3'], '--count must be a whole number ≥ 1, got "1e3" (see autoplay-rx send --help)'],
      [['send', '--url', 'http://127.0.0.1:1/', '--secret', 's', '--count', '0x10'], '--count must be a whole number ≥ 1, got "0x10" (see autoplay-rx send --help)'],
      [['send', '--secret'], '--secret needs a value (see autoplay-rx send --help)'],
      [['send', '--secret', '--url', 'http://127.0.0.1:1/'], '--secret needs a value (see autoplay-rx send --help)'],
      [['listen', '--json=yes'], '--json takes no value (see autoplay-rx listen --help)'],
      [['work', 'extra'], 'unexpected argument "extra" (see autoplay-rx work --help)'],
      [['listen', '--secret', '', '--secret', 's'], '--secret "" to accept unsigned deliveries in development is given alone, not among other secrets (see autoplay-rx listen --help)'],
      [['demo', '--port', '1'], 'unknown option --port (see autoplay-rx demo --help)'],
    ]
    const runs = await runEach(cases.map(([args]) => args))
    expect(runs.map((r, i) => [cases[i]![0], r.code, r.stderr])).to.deep.equal(cases.map(([args, message]) => [args, 2, `autoplay-rx: ${message}\n`]))
  })

  it('listen --secret "": the warning says what to do in production, in one line', async () => {
    const taken = await listen(() => undefined)
    try {
      const [r] = await runEach([['listen', '--port', String(taken.port), '--secret', '']])
      expect([r!.code, r!.stderr.split('\n')]).to.deep.equal([1, [
        '[autoplay-rx] The secret is empty: every delivery is accepted unsigned (for development only)',
        `autoplay-rx: port ${taken.port} on 127.0.0.1 is already in use: stop what holds it, or choose another with --port (0 picks a free one)`,
        '',
      ]])
    } finally {
      await taken.close()
    }
  })
})
