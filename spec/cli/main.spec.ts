import { expect } from 'chai'
import { sign } from '../../src/index.js'
import { fixture, SECRET } from '../helpers/fixtures.js'
import { listen } from '../helpers/http.js'
import { cli, fixtures, run, runEach, waitFor } from './run.js'

describe('cli', function () {
  this.timeout(90_000)

  it('--help for the tool and each command; bad flags exit 2 with a hint (more in frictions.spec.ts)', async () => {
    const main = await run(['--help'])
    expect([main.code, main.stdout]).to.satisfy(([code, out]: [number, string]) => code === 0 && out.includes('autoplay-rx send --url URL'))
    const commands = ['listen', 'send', 'sign', 'work']
    const [badFlag, ...helps] = await runEach([['send', '--url', 'http://127.0.0.1:1/x', '--secret', 's', '--count', 'many'], ...commands.map((c) => [c, '--help'])])
    expect(helps.map((r, i) => r.code === 0 && r.stdout.startsWith(`autoplay-rx ${commands[i]} — `))).to.deep.equal([true, true, true, true])
    expect([badFlag!.code, badFlag!.stderr]).to.deep.equal([2, 'autoplay-rx: --count must be a whole number ≥ 1, got "many" (see autoplay-rx send --help)\n'])
  })

  it('send against listen: generated events and fixture files, printed readably, then Ctrl-C stops listen', async () => {
    const listener = cli(['listen', '--port', '0', '--secret', SECRET])
    try {
      const url = await waitFor(() => /listening on (\S+)/.exec(listener.err())?.[1])
      const generated = await run(['send', '--url', url, '--secret', SECRET, '--count', '6', '--sessions', '2', '--quiet'])
      expect(generated.code).to.equal(0)
      expect(generated.stdout).to.equal('sent 6, accepted 6, rejected none, retried 0, failed 0\n')
      const files = await run(['send', '--url', url, '--secret', SECRET, '--quiet', `${fixtures}summary.json`, `${fixtures}usertour-trigger.json`,
        `${fixtures}unknown-type.json`])
      expect(files.stdout).to.equal('sent 3, accepted 3, rejected none, retried 0, failed 0\n')
      const triggers = await run(['send', '--url', url, '--secret', SECRET, '--quiet', '--type', 'usertour_trigger', '--count', '2'])
      expect(triggers.stdout).to.equal('sent 2, accepted 2, rejected none, retried 0, failed 0\n')
      const forged = await run(['send', '--url', url, '--secret', 'not-the-secret', '--count', '1', '--quiet'])
      expect([forged.code, forged.stdout]).to.deep.equal([1, 'event 1: refused 401, invalid_signature: Invalid X-Connector-Signature: ' +
        'the signature does not match the body — does --secret match the receiver\'s secret?\n'])
      await waitFor(() => /^rejected InvalidSignature/m.test(listener.out()))
      const out = listener.out()
      expect(out.match(/^actions {2}Session ps_\w+ — 3 actions$/gm)).to.have.length(6)
      expect(out).to.include('summary  session ps_abc123 (replaces 12)\n  The user navigated to the Dashboard')
      expect(out).to.include('usertour session ps_abc123: start flow flow_42\n')
      expect(out.match(/^usertour session ps_\w+: start flow flow_\w+\n {2}The user went back and forth on the .+ page$/gm)).to.have.length(2)
      expect(out).to.include('rejected UnknownEventType: Event type "session_started" is not modelled by this version; ignored')
    } finally {
      listener.child.kill('SIGINT')
    }
    expect(await listener.closed).to.equal(0)
    expect(listener.err()).to.include('stopped')
  })

  it('listen --json prints NDJSON', async () => {
    const listener = cli(['listen', '--port', '0', '--secret', SECRET, '--json'])
    try {
      const url = await waitFor(() => /listening on (\S+)/.exec(listener.err())?.[1])
      await run(['send', '--url', url, '--secret', SECRET, '--quiet', `${fixtures}summary.json`, `${fixtures}usertour-trigger.json`,
        `${fixtures}unknown-type.json`])
      await waitFor(() => listener.out().trim().split('\n').length >= 3)
      const lines = listener.out().trim().split('\n').map((l) => JSON.parse(l))
      expect(lines.map((l) => l.event).sort()).to.deep.equal(['payload', 'rejected', 'usertour_trigger'])
      expect(lines.find((l) => l.event === 'payload').payload).to.deep.include({ type: 'summary', replaces: 12 })
      expect(lines.find((l) => l.event === 'usertour_trigger').trigger).to.deep.equal({ type: 'usertour_trigger',
        product_id: 'prod_abc', flow_id: 'flow_42', session_id: 'ps_abc123', reason: '', user_id: null })
      expect(lines.find((l) => l.event === 'rejected')).to.deep.include({ tag: 'UnknownEventType', eventType: 'session_started' })
    } finally {
      listener.child.kill('SIGINT')
    }
    await listener.closed
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
      const r = await run(['send', '--url', `http://127.0.0.1:${flaky.port}/`, '--secret', SECRET, '--backoff', '50'])
      expect([r.code, r.stdout]).to.deep.equal([0, 'event 1: accepted 200 after 2 retries\n'])
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
      expect([r.code, r.stdout.split('\n').sort(), badCalls]).to.deep.equal([1,
        ['', 'event 1: refused 400', 'event 2: refused 400', 'sent 2, accepted 0, rejected 400×2, retried 0, failed 0'], 2])
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
