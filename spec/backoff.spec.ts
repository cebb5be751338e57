import { expect } from 'chai'
import { backoffDelay } from '../src/backoff.js'

describe('backoffDelay', () => {
  const none = () => 0

  it('starts at the base and doubles per retry up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((retry) => backoffDelay(retry, { initialMs: 1000, minMs: 250, maxMs: 30000 }, none)))
      .to.deep.equal([1000, 2000, 4000, 8000, 16000, 30000, 30000])
  })

  it('adds 0–10 % jitter on top of the capped delay', () => {
    expect(backoffDelay(1, { initialMs: 1000, minMs: 250, maxMs: 30000 }, () => 0.5)).to.equal(1050)
    expect(backoffDelay(1, { initialMs: 1000, minMs: 250, maxMs: 30000 }, () => 0.999)).to.equal(1100)
    expect(backoffDelay(9, { initialMs: 1000, minMs: 250, maxMs: 30000 }, () => 0.5)).to.equal(31500)
  })

  it('clamps a random source that strays out of [0, 1)', () => {
    expect(backoffDelay(1, { initialMs: 1000, minMs: 250, maxMs: 30000 }, () => -3)).to.equal(1000)
    expect(backoffDelay(1, { initialMs: 1000, minMs: 250, maxMs: 30000 }, () => 7)).to.equal(1100)
  })

  it('honours a server base above the cap instead of cutting it, up to ten caps', () => {
    expect([1, 2].map((retry) => backoffDelay(retry, { initialMs: 60000, minMs: 250, maxMs: 30000 }, none))).to.deep.equal([60000, 60000])
    expect(backoffDelay(1, { initialMs: 300000, minMs: 250, maxMs: 30000 }, none)).to.equal(300000)
  })

  it('cuts an untrusted base (a server\'s retry: of 24 days) at ten caps, and keeps the floor above a zero cap', () => {
    expect([1, 2].map((retry) => backoffDelay(retry, { initialMs: 2 ** 31 - 1, minMs: 250, maxMs: 30000 }, none))).to.deep.equal([300000, 300000])
    expect(backoffDelay(1, { initialMs: 5000, maxMs: 0 }, none)).to.equal(1)
  })

  it('raises a base under the floor (a server\'s retry: 0) to the floor, and doubles from there', () => {
    expect([1, 2, 3, 4].map((retry) => backoffDelay(retry, { initialMs: 0, minMs: 250, maxMs: 30000 }, none))).to.deep.equal([250, 500, 1000, 2000])
    expect([1, 2].map((retry) => backoffDelay(retry, { initialMs: 10, minMs: 250, maxMs: 30000 }, none))).to.deep.equal([250, 500])
  })

  it('keeps the floor when the cap is under it', () => {
    expect([1, 5].map((retry) => backoffDelay(retry, { initialMs: 0, minMs: 250, maxMs: 100 }, none))).to.deep.equal([250, 250])
  })

  it('does not overflow on a very high retry number', () => {
    expect(backoffDelay(5000, { initialMs: 1000, minMs: 250, maxMs: 30000 }, none)).to.equal(30000)
  })

  it('defaults to a 1 ms floor, doubling and 0-10 % jitter', () => {
    expect([1, 2, 3].map((retry) => backoffDelay(retry, { initialMs: 0, maxMs: 100 }, none))).to.deep.equal([1, 2, 4])
    expect(backoffDelay(1, { initialMs: 1000, maxMs: 100 }, () => 0.5)).to.equal(1050)
  })

  it('grows by any factor, and jitter 0 gives exact delays (the Redis reader)', () => {
    const redis = { initialMs: 100, maxMs: 5000, jitter: 0 }
    expect([1, 2, 6, 7, 8].map((n) => backoffDelay(n, redis, () => 0.99))).to.deep.equal([100, 200, 3200, 5000, 5000])
    expect([1, 2, 3].map((n) => backoffDelay(n, { initialMs: 100, maxMs: 10_000, factor: 3, jitter: 0 }))).to.deep.equal([100, 300, 900])
    expect([1, 2].map((n) => backoffDelay(n, { initialMs: 100, maxMs: 10_000, factor: 1 }, none))).to.deep.equal([100, 100])
  })

  it('scales the jitter by its fraction', () => {
    expect(backoffDelay(1, { initialMs: 1000, maxMs: 1000, jitter: 0.5 }, () => 0.5)).to.equal(1250)
  })
})
