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
    // mergeSessionBatches windows are wall-clock: on a loaded machine a session's batches may span two windows,
    // but every action reaches the pipeline once, re-indexed from 0 in each merged batch.
    const perSession = new Map<string, number>()
    let windows = 0
    for (const [, session, actions, last] of stdout.matchAll(/^pipeline │ session (ps_\w+): (\d+) actions, indexes 0–(\d+)$/gm)) {
      expect(Number(last)).to.equal(Number(actions) - 1)
      perSession.set(session!, (perSession.get(session!) ?? 0) + Number(actions))
      windows++
    }
    expect([...perSession.values()]).to.deep.equal([9, 9, 9])
    expect(stdout).to.include(`demo     │ accepted action batches: 10, after dedupeDeliveries: 9 (1 retried duplicate dropped), merged into ${windows}\n`)
    expect(stdout).to.include('demo     │ rejected: InvalidSignature×1, MalformedJson×1')
    expect(stdout).to.include('listen   │ summary  session ')
    expect(stdout.trimEnd().endsWith('demo     │ done')).to.equal(true)
  })
})
