/**
 * A small run of the load driver (spec/helpers/load.ts, which bench/load.ts
 * runs at 100,000 deliveries): the same child-process server, plan and
 * accounting, at 3,000 deliveries over 64 connections, plus the
 * accounting's negative control. The plan is seeded, so every count is exact.
 */
import { expect } from 'chai'
import { runLoad } from '../helpers/load.js'

describe('reliability: load with accounting (spec/helpers/load.ts, small)', function () {
  this.timeout(60_000)

  it('3,000 deliveries over 64 connections: each unique one reaches the subscriber once, every retry is absorbed, every forged one 401, every malformed one 400, none lost', async () => {
    const report = await runLoad({ total: 3000, connections: 64, deadlineMs: 45_000 })
    expect(report.rows).to.deep.equal([
      { kind: 'unique', sent: 2550, expectedStatus: 200, answeredAsExpected: 2550, answeredOtherwise: 0, errored: 0 },
      { kind: 'duplicate', sent: 300, expectedStatus: 200, answeredAsExpected: 300, answeredOtherwise: 0, errored: 0 },
      { kind: 'forged', sent: 75, expectedStatus: 401, answeredAsExpected: 75, answeredOtherwise: 0, errored: 0 },
      { kind: 'malformed', sent: 75, expectedStatus: 400, answeredAsExpected: 75, answeredOtherwise: 0, errored: 0 },
    ])
    // Every delivery accounted: accepted (unique + retries) plus refused by tag is what was sent.
    expect(report.accepted).to.equal(2850)
    expect(report.rejected).to.deep.equal({ InvalidSignature: 75, MalformedJson: 75 })
    expect(report.accepted + report.rejected.InvalidSignature! + report.rejected.MalformedJson!).to.equal(report.total)
    // Each unique delivery reached the subscriber exactly once; none of the 300 retries did.
    expect([report.reachedOnce, report.neverReached, report.reachedTwiceOrMore, report.reachedExtra, report.reachedUnexpectedly])
      .to.deep.equal([2550, 0, 0, 0, 0])
    expect(report.failures).to.deep.equal([])
    // Keep-alive held: one TCP connection per generator connection, not one per delivery.
    expect(report.serverConnections).to.equal(64)
    // 3,000 small deliveries in flight 64 at a time may not grow the server by more than a few buffers and the dedupe keys.
    expect(report.serverPeakRssMiB).to.be.within(report.serverListeningRssMiB, report.serverListeningRssMiB + 128)
  })

  it('the accounting notices retries reaching the subscriber when the server does not dedupe (negative control)', async () => {
    const report = await runLoad({ total: 400, connections: 16, deadlineMs: 45_000, dedupe: false })
    // 400 deliveries: 340 unique, 40 retries, 10 forged, 10 malformed.
    expect(report.rows.map((r) => [r.kind, r.sent, r.answeredAsExpected])).to.deep.equal([
      ['unique', 340, 340], ['duplicate', 40, 40], ['forged', 10, 10], ['malformed', 10, 10],
    ])
    // Without dedupe each of the 40 retries reaches the subscriber once more, exactly.
    expect(report.reachedExtra).to.equal(40)
    expect([report.reachedOnce + report.reachedTwiceOrMore, report.neverReached, report.reachedUnexpectedly]).to.deep.equal([340, 0, 0])
    expect(report.reachedTwiceOrMore).to.be.within(1, 40)
    expect(report.failures).to.deep.equal([
      `of 340 unique deliveries ${report.reachedOnce} reached the subscriber once, 0 never, ${report.reachedTwiceOrMore} more than once`,
    ])
  })
})
