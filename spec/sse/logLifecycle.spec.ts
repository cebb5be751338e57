import { expect } from 'chai'
import { disconnectReason, type ConnectionEvent } from '../../src/sse/lifecycle.js'
import { FAILURE_LOG_INTERVAL_MS, logLifecycle } from '../../src/sse/logLifecycle.js'

const URL = 'https://connector.example.com/stream/prod_abc'

describe('sse/logLifecycle', () => {
  /** Feeds events at given clock times and returns the lines logged. */
  function replay(steps: Array<[number, ConnectionEvent]>): string[] {
    const lines: string[] = []
    let clock = 0
    const observe = logLifecycle({
      info: (message) => lines.push(`info: ${message}`),
      warn: (message) => lines.push(`warn: ${message}`),
    }, URL, () => clock)
    for (const [at, event] of steps) {
      clock = at
      observe(event)
    }
    return lines
  }
  const refused = (): ConnectionEvent => ({ _tag: 'Disconnected', reason: disconnectReason.httpStatus(503, false) })
  const retrying = (retry: number, delayMs: number): ConnectionEvent => ({ _tag: 'Retrying', retry, delayMs })
  const connected = (retry: number): ConnectionEvent => ({ _tag: 'Connected', retry, status: 200 })

  it('logs the first failure at once, then one line per interval saying how many it stands for', () => {
    const steps: Array<[number, ConnectionEvent]> = []
    // Failures every 5 s: logged at 0 and 30 s; the one at 35 s is within the window again.
    for (let i = 0; i < 8; i++) steps.push([i * 5_000, refused()], [i * 5_000, retrying(i + 1, 5_000)])
    expect(replay(steps)).to.deep.equal([
      `warn: SSE stream ${URL}: The server answered HTTP 503; retry 1 in 5000 ms (pass an events observer to see every attempt, ` +
        'maxRetries to give up; further failures are logged at most every 30 s)',
      `warn: SSE stream ${URL}: The server answered HTTP 503; retry 7 in 5000 ms (5 more failures since the last report)`,
    ])
  })

  it('says once that it is connected again after a logged failure, not on every connect of a storm', () => {
    expect(replay([
      [0, connected(0)],
      [10, refused()], [10, retrying(1, 250)],
      [300, connected(1)],
      [310, refused()], [310, retrying(2, 500)],
      [900, connected(2)],
      [910, refused()], [910, retrying(3, 1000)],
      [FAILURE_LOG_INTERVAL_MS + 20, refused()], [FAILURE_LOG_INTERVAL_MS + 20, retrying(4, 2000)],
      [FAILURE_LOG_INTERVAL_MS + 2100, connected(4)],
    ])).to.deep.equal([
      `warn: SSE stream ${URL}: The server answered HTTP 503; retry 1 in 250 ms (pass an events observer to see every attempt, ` +
        'maxRetries to give up; further failures are logged at most every 30 s)',
      `info: SSE stream ${URL} connected again at retry 1`,
      `warn: SSE stream ${URL}: The server answered HTTP 503; retry 4 in 2000 ms (2 more failures since the last report)`,
      `info: SSE stream ${URL} connected again at retry 4`,
    ])
  })

  it('never lets a throwing logger escape', () => {
    const observe = logLifecycle({ warn: () => { throw new Error('broken logger') } }, URL)
    expect(() => { observe(refused()); observe(retrying(1, 10)) }).not.to.throw()
  })
})
