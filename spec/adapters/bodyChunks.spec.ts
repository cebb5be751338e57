import { expect } from 'chai'
import { startBody } from '../../src/adapters/bodyChunks.js'
import { InFlightBudget } from '../../src/adapters/budget.js'

describe('adapters/bodyChunks: the one accumulator of both body readers', () => {
  const limits = (budget: InFlightBudget, maxBodyBytes = 10) => ({ maxBodyBytes, bodyTimeoutMs: 5000, budget })
  const bytes = (text: string) => new TextEncoder().encode(text)

  it('joins the chunks into one view, keeps a lone chunk as it is, and gives the budget back once', () => {
    const budget = new InFlightBudget()
    const body = startBody(limits(budget), 0)!
    expect([body.add(bytes('{"a":')), body.add(bytes('1}'))]).to.deep.equal([null, null])
    expect(budget.bytes).to.equal(7)
    const outcome = body.body()
    expect(outcome._tag === 'Body' && new TextDecoder().decode(outcome.bytes as Uint8Array)).to.equal('{"a":1}')
    body.end()
    body.end()
    expect([budget.bytes, budget.requests]).to.deep.equal([0, 0])
    const one = bytes('{}')
    const single = startBody(limits(budget), 2)!
    single.add(one)
    expect(single.body()).to.deep.equal({ _tag: 'Body', bytes: one }).and.to.satisfy((o: { bytes: Uint8Array }) => o.bytes === one)
    single.end()
    const empty = startBody(limits(budget), 0)!
    expect(empty.body()).to.deep.equal({ _tag: 'Body', bytes: new Uint8Array(0) })
    empty.end()
    expect([budget.bytes, budget.requests]).to.deep.equal([0, 0])
  })

  it('stops at the first chunk over the limit, with the size seen, and keeps nothing of it', () => {
    const budget = new InFlightBudget()
    const body = startBody(limits(budget), 0)!
    expect(body.add(bytes('123456'))).to.equal(null)
    expect(body.add(bytes('789012'))).to.deep.equal({ _tag: 'TooLarge', size: 12 })
    body.end()
    expect(budget.bytes).to.equal(0)
  })

  it('holds the declared length from the start, grows the hold as bytes arrive, and refuses what the budget cannot hold', () => {
    const budget = new InFlightBudget({ maxBytes: 8, maxRequests: 1 })
    expect(startBody(limits(budget), 9)).to.equal(null)
    const body = startBody(limits(budget), 4)!
    expect(budget.bytes).to.equal(4)
    expect(startBody(limits(budget), 0)).to.equal(null) // the one read slot is taken
    expect(body.add(bytes('1234'))).to.equal(null)
    expect(budget.bytes).to.equal(4)
    expect(body.add(bytes('5678'))).to.equal(null)
    expect(budget.bytes).to.equal(8)
    expect(body.add(bytes('9'))).to.deep.equal({ _tag: 'OverBudget' })
    body.end()
    expect([budget.bytes, budget.requests]).to.deep.equal([0, 0])
  })
})
