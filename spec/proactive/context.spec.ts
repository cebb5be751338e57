/** proactiveContext beyond the recorded reference answers (spec/reference/proactive.spec.ts): ids, purity, options. */
import { expect } from 'chai'
import { proactiveContext } from '../../src/proactive/index.js'
import { T0, action, batch } from './helpers.js'

describe('proactiveContext', () => {
  it('keeps the batches of the last 120 s, then the newest 50 actions, trimming the oldest batch kept', () => {
    const old = batch(T0 - 121, [action(0, '/a')])
    const big = batch(T0 - 60, Array.from({ length: 49 }, (_, i) => action(i + 1, `/p${i}`)))
    const newest = batch(T0, [action(50, ''), action(51, '/z')])
    const context = proactiveContext([old, big, newest], T0)
    expect(context.actions.map((a) => a.index)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i + 2))
    expect(context.canonicalUrls.slice(-3)).to.deep.equal(['/p48', null, '/z'])
  })

  it('takes the session and product from the newest batch, the conversation from the newest that names one', () => {
    const context = proactiveContext([
      batch(T0 - 500, [], { conversation_id: 'conv_old' }), batch(T0 - 400, [], { conversation_id: 'conv_1' }),
      batch(T0, [], { session_id: 'ps_2', product_id: 'prod_b' }),
    ], T0)
    expect(context).to.deep.include({ sessionId: 'ps_2', productId: 'prod_b', conversationId: 'conv_1', actions: [] })
    expect(proactiveContext([], T0)).to.deep.equal({
      sessionId: null, productId: '', conversationId: null, actions: [], canonicalUrls: [],
    })
  })

  it('does not change the batches it reads', () => {
    const batches = [batch(T0, [action(0, '/a'), action(1, '/b'), action(2, '/c')])]
    const before = JSON.stringify(batches)
    expect(proactiveContext(batches, T0, { maxActions: 1 }).actions.map((a) => a.index)).to.deep.equal([2])
    expect(JSON.stringify(batches)).to.equal(before)
  })

  it('takes Infinity for no bound, and refuses a bound that is not positive with a TypeError naming it', () => {
    const batches = [batch(T0 - 10_000, [action(0, '/a'), action(1, '/b')])]
    expect(proactiveContext(batches, T0, { lookbackSeconds: Infinity, maxActions: Infinity }).actions).to.have.length(2)
    expect(() => proactiveContext(batches, T0, { lookbackSeconds: 0 })).to.throw(TypeError, /lookbackSeconds/)
    expect(() => proactiveContext(batches, T0, { maxActions: 2.5 })).to.throw(TypeError, /maxActions/)
  })
})
