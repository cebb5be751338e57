import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

describe('npm start (the demo)', function () {
  this.timeout(60_000)

  it('runs the whole story and exits 0 by itself within seconds', async () => {
    const started = Date.now()
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile('npm', ['start', '--silent'], { cwd: root, timeout: 30_000 }, () => undefined)
      let text = ''
      child.stdout!.on('data', (d) => { text += d })
      child.on('close', (c) => resolve({ code: c, stdout: text }))
    })
    expect(code).to.equal(0)
    expect(Date.now() - started).to.be.lessThan(20_000)
    expect(stdout).to.match(/^demo {5}│ listening on http:\/\/127\.0\.0\.1:\d+\/events$/m)
    expect(stdout).to.include('send     │ sent 13, accepted 11, rejected 400×1 401×1, retried 0, failed 0')
    // bufferTime windows are wall-clock: on a loaded machine a session's deliveries may span two windows.
    const perSession = new Map<string, number>()
    for (const [, session, deliveries, actions] of stdout.matchAll(/^pipeline │ session (ps_\w+): (\d) deliveries in this window → (\d+) actions/gm)) {
      expect(Number(actions)).to.equal(3 * Number(deliveries))
      perSession.set(session!, (perSession.get(session!) ?? 0) + Number(deliveries))
    }
    expect([...perSession.values()]).to.deep.equal([3, 3, 3])
    expect(stdout).to.include('demo     │ accepted action batches: 10, after dedupeDeliveries: 9 (1 retried duplicate dropped)')
    expect(stdout).to.include('demo     │ rejected: InvalidSignature×1, MalformedJson×1')
    expect(stdout).to.include('listen   │ summary  session ')
    expect(stdout.trimEnd().endsWith('demo     │ done')).to.equal(true)
  })
})
