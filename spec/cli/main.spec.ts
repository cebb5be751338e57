import { expect } from 'chai'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { sign } from '../../src/index.js'
import { fixture, SECRET } from '../helpers/fixtures.js'
import { listen } from '../helpers/http.js'

const bin = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url))
const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url))

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs the CLI as a user would, with a deadline. */
function run(args: string[], options: { until?: (stdout: string, stderr: string) => boolean; signal?: NodeJS.Signals; input?: Buffer } = {}): Promise<Run> & { kill: () => void } {
  const child = spawn(process.execPath, ['--import', 'tsx', bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const done = new Promise<Run>((resolve) => {
    const deadline = setTimeout(() => child.kill('SIGKILL'), 15_000)
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    child.on('close', (code) => { clearTimeout(deadline); resolve({ code, stdout, stderr }) })
  })
  child.stdin.end(options.input ?? undefined)
  return Object.assign(done, { kill: () => child.kill('SIGINT') })
}

describe('cli', function () {
  this.timeout(30_000)

  it('--help for the tool and each command; unknown commands and bad flags exit 2 with a hint', async () => {
    const main = await run(['--help'])
    expect([main.code, main.stdout]).to.satisfy(([code, out]: [number, string]) => code === 0 && out.includes('autoplay-rx send --url URL'))
    for (const command of ['listen', 'send', 'sign']) {
      const r = await run([command, '--help'])
      expect(r.code).to.equal(0)
      expect(r.stdout).to.include(`autoplay-rx ${command}`)
    }
    const unknown = await run(['serve'])
    expect([unknown.code, unknown.stderr]).to.deep.equal([2, 'autoplay-rx: unknown command "serve"\nRun "autoplay-rx --help".\n'])
    const badFlag = await run(['send', '--url', 'http://127.0.0.1:1/x', '--secret', 's', '--count', 'many'])
    expect([badFlag.code, badFlag.stderr]).to.deep.equal([2, 'autoplay-rx: --count must be a whole number ≥ 1, got "many"\nRun "autoplay-rx send --help".\n'])
    const missing = await run(['send', '--secret', 's'])
    expect([missing.code, missing.stderr.split('\n')[0]]).to.deep.equal([2, 'autoplay-rx: --url is required'])
    const badUrl = await run(['send', '--url', 'ftp://x', '--secret', 's'])
    expect(badUrl.code).to.equal(2)
  })

  it('sign prints the header value of a file or of standard input', async () => {
    const expected = sign(fixture('summary'), SECRET)
    const fromFile = await run(['sign', '--secret', SECRET, `${fixtures}summary.json`])
    const fromStdin = await run(['sign', '--secret', SECRET, '-'], { input: fixture('summary') })
    expect([fromFile.code, fromFile.stdout, fromStdin.stdout]).to.deep.equal([0, `${expected}\n`, `${expected}\n`])
    const absent = await run(['sign', '--secret', SECRET, '/nonexistent.json'])
    expect([absent.code, absent.stderr.split('\n')[0]]).to.deep.equal([2, 'autoplay-rx: cannot read /nonexistent.json: ENOENT'])
  })

  it('send against listen: generated events and fixture files, printed readably, then Ctrl-C stops listen', async () => {
    const listener = spawn(process.execPath, ['--import', 'tsx', bin, 'listen', '--port', '0', '--secret', SECRET], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    listener.stdout.on('data', (d) => { out += d })
    listener.stderr.on('data', (d) => { err += d })
    const closed = new Promise<number | null>((resolve) => listener.on('close', resolve))
    try {
      const url = await waitFor(() => /listening on (\S+)/.exec(err)?.[1])
      const generated = await run(['send', '--url', url, '--secret', SECRET, '--count', '6', '--sessions', '2', '--quiet'])
      expect(generated.code).to.equal(0)
      expect(generated.stdout).to.match(/^sent 6, accepted 6, rejected none, retried 0, failed 0\nlatency p50 [\d.]+ ms, p99 [\d.]+ ms, in [\d.]+ s\n$/)
      const files = await run(['send', '--url', url, '--secret', SECRET, '--quiet', `${fixtures}summary.json`, `${fixtures}usertour-trigger.json`])
      expect(files.stdout.split('\n')[0]).to.equal('sent 2, accepted 2, rejected none, retried 0, failed 0')
      const forged = await run(['send', '--url', url, '--secret', 'not-the-secret', '--count', '1', '--quiet'])
      expect([forged.code, forged.stdout.split('\n')[0]]).to.deep.equal([1, 'sent 1, accepted 0, rejected 401×1, retried 0, failed 0'])
      await waitFor(() => (out.match(/^rejected InvalidSignature/m) ? true : undefined))
      expect(out.match(/^actions {2}Session ps_\w+ — 3 actions$/gm)).to.have.length(6)
      expect(out).to.include('summary  session ps_abc123 (replaces 12)\n  The user navigated to the Dashboard')
      expect(out).to.include('rejected UnknownEventType: Event type "usertour_trigger" is not modelled by this version; ignored')
    } finally {
      listener.kill('SIGINT')
    }
    expect(await closed).to.equal(0)
    expect(err).to.include('stopped')
  })

  it('listen --json prints NDJSON', async () => {
    const listener = spawn(process.execPath, ['--import', 'tsx', bin, 'listen', '--port', '0', '--secret', SECRET, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    listener.stdout.on('data', (d) => { out += d })
    listener.stderr.on('data', (d) => { err += d })
    const closed = new Promise((resolve) => listener.on('close', resolve))
    try {
      const url = await waitFor(() => /listening on (\S+)/.exec(err)?.[1])
      await run(['send', '--url', url, '--secret', SECRET, '--quiet', `${fixtures}summary.json`, `${fixtures}usertour-trigger.json`])
      await waitFor(() => (out.trim().split('\n').length >= 2 ? true : undefined))
      const lines = out.trim().split('\n').map((l) => JSON.parse(l))
      expect(lines.map((l) => l.event).sort()).to.deep.equal(['payload', 'rejected'])
      expect(lines.find((l) => l.event === 'payload').payload).to.deep.include({ type: 'summary', replaces: 12 })
      expect(lines.find((l) => l.event === 'rejected')).to.deep.include({ tag: 'UnknownEventType', eventType: 'usertour_trigger' })
    } finally {
      listener.kill('SIGINT')
    }
    await closed
  })

  it('send retries 5xx with backoff until 200, and never retries a 400', async () => {
    const seen: number[] = []
    let calls = 0
    const flaky = await listen((req, res) => {
      req.resume()
      req.on('end', () => {
        calls++
        seen.push(Date.now())
        res.writeHead(calls <= 2 ? 500 : 200).end()
      })
    })
    try {
      const r = await run(['send', '--url', `http://127.0.0.1:${flaky.port}/`, '--secret', SECRET, '--count', '1', '--backoff', '50', '--quiet'])
      expect([r.code, r.stdout.split('\n')[0]]).to.deep.equal([0, 'sent 1, accepted 1, rejected none, retried 2, failed 0'])
      expect(calls).to.equal(3)
      expect(seen[1]! - seen[0]!).to.be.at.least(45)
      expect(seen[2]! - seen[1]!).to.be.at.least(95) // doubled
    } finally {
      await flaky.close()
    }
    let badCalls = 0
    const refusing = await listen((req, res) => { req.resume(); req.on('end', () => { badCalls++; res.writeHead(400).end() }) })
    try {
      const r = await run(['send', '--url', `http://127.0.0.1:${refusing.port}/`, '--secret', SECRET, '--count', '2', '--backoff', '10', '--quiet'])
      expect([r.code, r.stdout.split('\n')[0], badCalls]).to.deep.equal([1, 'sent 2, accepted 0, rejected 400×2, retried 0, failed 0', 2])
    } finally {
      await refusing.close()
    }
  })

  it('send signs exactly as the connector: headers and raw bytes', async () => {
    const received: Array<{ headers: Record<string, unknown>; body: Buffer }> = []
    const capture = await listen((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => { received.push({ headers: req.headers, body: Buffer.concat(chunks) }); res.writeHead(200).end() })
    })
    try {
      await run(['send', '--url', `http://127.0.0.1:${capture.port}/`, '--secret', SECRET, '--quiet', `${fixtures}actions-small.json`])
      expect(received).to.have.length(1)
      const [{ headers, body }] = received as [typeof received[0]]
      expect(body.equals(fixture('actions-small'))).to.equal(true)
      expect(headers).to.include({
        'content-type': 'application/json', 'x-connector-signature': sign(body, SECRET), authorization: `Bearer ${SECRET}`,
      })
    } finally {
      await capture.close()
    }
  })
})

async function waitFor<T>(probe: () => T | undefined, ms = 10_000): Promise<T> {
  const started = Date.now()
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() - started > ms) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 20))
  }
}
