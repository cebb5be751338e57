import { expect } from 'chai'
import { PassThrough } from 'node:stream'
import { readBody, type BodyLimits, type BodyRead } from '../../src/adapters/body.js'
import { InFlightBudget } from '../../src/adapters/budget.js'
import { deadlineSweep } from '../../src/adapters/deadlines.js'
import { StreamSource } from '../../src/adapters/nodeStream.js'

describe('adapters/body: the one accumulator of every body read', () => {
  const limits = (budget: InFlightBudget, maxBodyBytes = 10, bodyTimeoutMs = 5000): BodyLimits =>
    ({ maxBodyBytes, bodyTimeoutMs, minBodyRate: 1, budget, deadlines: deadlineSweep(5) })
  const read = (stream: PassThrough, declared: number, given: BodyLimits) => readBody(new StreamSource(stream), declared, given, given.budget.shares.of(undefined))

  /** A body sent whole in `chunks`. */
  const sent = (chunks: ReadonlyArray<string | Buffer>, declared: number, given: BodyLimits) => {
    const stream = new PassThrough()
    const reading = read(stream, declared, given)
    for (const chunk of chunks) stream.write(chunk)
    stream.end()
    return reading
  }

  it('joins the chunks into one view, keeps a lone chunk as it is, and gives the budget back once', async () => {
    const budget = new InFlightBudget()
    const outcome = await sent(['{"a":', '1}'], 0, limits(budget))
    expect(outcome._tag === 'Body' && Buffer.from(outcome.bytes).toString()).to.equal('{"a":1}')
    expect([budget.bytes, budget.requests]).to.deep.equal([0, 0])
    const one = Buffer.from('{}')
    expect(await sent([one], 2, limits(budget))).to.deep.equal({ _tag: 'Body', bytes: one })
      .and.to.satisfy((o: { bytes: Uint8Array }) => o.bytes === one)
    expect(await sent([], 0, limits(budget))).to.deep.equal({ _tag: 'Body', bytes: new Uint8Array(0) })
    expect([budget.bytes, budget.requests]).to.deep.equal([0, 0])
  })

  it('holds the declared length from the start, grows the hold as bytes arrive, and refuses what the budget cannot hold', async () => {
    const budget = new InFlightBudget({ maxBytes: 8, maxRequests: 1 })
    expect(read(new PassThrough(), 9, limits(budget))).to.deep.equal({ _tag: 'OverBudget' })
    const stream = new PassThrough()
    const reading = read(stream, 4, limits(budget))
    expect(budget.bytes).to.equal(4)
    expect(read(new PassThrough(), 0, limits(budget))).to.deep.equal({ _tag: 'OverBudget' }) // the one read slot is taken
    stream.write('1234')
    await new Promise((resolve) => setImmediate(resolve))
    expect(budget.bytes).to.equal(4)
    stream.write('5678')
    await new Promise((resolve) => setImmediate(resolve))
    expect(budget.bytes).to.equal(8)
    stream.write('9')
    expect(await reading).to.deep.equal({ _tag: 'OverBudget' })
    expect([budget.bytes, budget.requests]).to.deep.equal([0, 0])
  })

  it('what a read holds is what arrived: no buffer sized by the declared length', async () => {
    const outcome = await sent(['{}'], 9, limits(new InFlightBudget()))
    expect(outcome._tag === 'Body' && outcome.bytes.length).to.equal(2)
  })

  it('times out once bodyTimeoutMs passed, at most one sweep late; too slow first when below the rate after a second', async () => {
    const budget = new InFlightBudget()
    const never = { start: () => {}, stop: () => {} }
    const started = Date.now()
    expect(await readBody(never, 0, limits(budget, 10, 50), budget.shares.of(undefined))).to.deep.equal({ _tag: 'Timeout' })
    expect(Date.now() - started).to.be.within(50, 90)
    const slow = { ...limits(budget, 10, 5000), minBodyRate: 100 }
    const at = Date.now()
    expect(await readBody(never, 0, slow, budget.shares.of(undefined))).to.deep.equal({ _tag: 'TooSlow' })
    expect(Date.now() - at).to.be.within(1000, 1200)
    expect([budget.bytes, budget.requests]).to.deep.equal([0, 0])
  })

  it('a read that timed out keeps nothing: a chunk or an end that comes late is dropped, the body never built', async () => {
    const budget = new InFlightBudget()
    let read: BodyRead | undefined
    let stopped = 0
    const source = { start: (r: BodyRead) => { read = r }, stop: () => { stopped++ } }
    const reading = readBody(source, 0, limits(budget, 10, 20), budget.shares.of(undefined))
    expect(read!.chunk(new Uint8Array(4))).to.equal(true)
    expect(await reading).to.deep.equal({ _tag: 'Timeout' })
    expect([stopped, budget.bytes, budget.requests]).to.deep.equal([1, 0, 0])
    const held = (read as unknown as { chunks: Uint8Array[] }).chunks
    expect(read!.chunk(new Uint8Array(4))).to.equal(false)
    read!.end()
    expect([held.length, budget.bytes, budget.requests]).to.deep.equal([0, 0, 0])
  })
})
