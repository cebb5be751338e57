import { expect } from 'chai'
import { backoffDelay } from '../../src/sse/backoff.js'

describe('sse/backoffDelay', () => {
  const none = () => 0

  it('starts at the base and doubles per retry up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((retry) => backoffDelay(retry, 1000, 250, 30000, none)))
      .to.deep.equal([1000, 2000, 4000, 8000, 16000, 30000, 30000])
  })

  it('adds 0–10 % jitter on top of the capped delay', () => {
    expect(backoffDelay(1, 1000, 250, 30000, () => 0.5)).to.equal(1050)
    expect(backoffDelay(1, 1000, 250, 30000, () => 0.999)).to.equal(1100)
    expect(backoffDelay(9, 1000, 250, 30000, () => 0.5)).to.equal(31500)
  })

  it('clamps a random source that strays out of [0, 1)', () => {
    expect(backoffDelay(1, 1000, 250, 30000, () => -3)).to.equal(1000)
    expect(backoffDelay(1, 1000, 250, 30000, () => 7)).to.equal(1100)
  })

  it('honours a server base above the cap instead of cutting it', () => {
    expect([1, 2].map((retry) => backoffDelay(retry, 60000, 250, 30000, none))).to.deep.equal([60000, 60000])
  })

  it('raises a base under the floor (a server\'s retry: 0) to the floor, and doubles from there', () => {
    expect([1, 2, 3, 4].map((retry) => backoffDelay(retry, 0, 250, 30000, none))).to.deep.equal([250, 500, 1000, 2000])
    expect([1, 2].map((retry) => backoffDelay(retry, 10, 250, 30000, none))).to.deep.equal([250, 500])
  })

  it('keeps the floor when the cap is under it', () => {
    expect([1, 5].map((retry) => backoffDelay(retry, 0, 250, 100, none))).to.deep.equal([250, 250])
  })

  it('does not overflow on a very high retry number', () => {
    expect(backoffDelay(5000, 1000, 250, 30000, none)).to.equal(30000)
  })
})
