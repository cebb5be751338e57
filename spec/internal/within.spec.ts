import { expect } from 'chai'
import { within } from '../../src/internal/within.js'

describe('internal/within', () => {
  const after = <A>(ms: number, value: A) => new Promise<A>((resolve) => setTimeout(resolve, ms, value))

  it('gives what settles first: the promise, or the fallback once the time is up', async () => {
    expect(await within(after(5, 'done'), 1000, 'timeout')).to.equal('done')
    expect(await within(after(1000, 'done'), 5, 'timeout')).to.equal('timeout')
    await within(Promise.reject(new RangeError('passes through')), 1000, 'timeout').then(
      () => expect.fail('resolved'), (error: unknown) => expect(error).to.be.instanceOf(RangeError))
  })

  it('a wait past 2^31 - 1 ms is that long, not over at once (setTimeout would fire after 1 ms)', async () => {
    expect(await within(after(30, 'done'), 2 ** 31, 'timeout')).to.equal('done')
    expect(await within(after(30, 'done'), 1e12, 'timeout')).to.equal('done')
  })
})
