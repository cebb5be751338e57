/**
 * A small run of bench/load.ts inside `npm test`: the same child-process
 * server, plan and accounting as the 100,000-delivery run, at 3,000
 * deliveries over 64 connections, plus the accounting's negative control.
 */
import { expect } from 'chai'
import { runLoad } from '../../bench/load.js'

describe('reliability: load with accounting (bench/load.ts, small)', function () {
  this.timeout(60_000)

  it('3,000 deliveries over 64 connections: each unique one reaches the subscriber once, every forged one 401, every malformed one 400, none lost', async () => {
    const report = await runLoad({ total: 3000, connections: 64, deadlineMs: 45_000 })
    expect(report.rows).to.deep.equal([
      { kind: 'unique', sent: 2550, expectedStatus: 200, answeredAsExpected: 2550, answeredOtherwise: 0, errored: 0 },
      { kind: 'duplicate', sent: 300, expectedStatus: 200, answeredAsExpected: 300, answeredOtherwise: 0, errored: 0 },
      { kind: 'forged', sent: 75, expectedStatus: 401, answeredAsExpected: 75, answeredOtherwise: 0, errored: 0 },
      { kind: 'malformed', sent: 75, expectedStatus: 400, answeredAsExpected: 75, answeredOtherwise: 0, errored: 0 },
    ])
    expect([report.reachedOnce, report.neverReached, report.reachedTwiceOrMore, report.reachedUnexpectedly]).to.deep.equal([2550, 0, 0, 0])
    expect(report.accepted).to.equal(2850)
    expect(report.rejected).to.deep.equal({ InvalidSignature: 75, MalformedJson: 75 })
    expect(report.failures).to.deep.equal([])
    // Keep-alive held: one TCP connection per generator connection, not one per delivery.
    expect(report.serverConnections).to.equal(64)
    expect(report.serverPeakRssMiB).to.be.greaterThan(0)
  })

  it('the accounting notices retries reaching the subscriber when the server does not dedupe (negative control)', async () => {
    const report = await runLoad({ total: 400, connections: 16, deadlineMs: 45_000, dedupe: false })
    // 400 deliveries: 340 unique, 40 retries, 10 forged, 10 malformed; some originals are retried twice.
    expect(report.rows.map((r) => [r.kind, r.sent, r.answeredAsExpected])).to.deep.equal([
      ['unique', 340, 340], ['duplicate', 40, 40], ['forged', 10, 10], ['malformed', 10, 10],
    ])
    expect(report.reachedTwiceOrMore).to.be.within(1, 40)
    expect(report.reachedOnce + report.reachedTwiceOrMore).to.equal(340)
    expect(report.failures).to.have.length(1)
    expect(report.failures[0]).to.match(/^of 340 unique deliveries \d+ reached the subscriber once, 0 never, \d+ more than once$/)
  })
})
