/** The one fold over tagged unions, as the three public folds use it. */
import { expect } from 'chai'
import { matchTag } from '../../src/internal/match.js'

type Shape = { readonly _tag: 'Circle'; readonly r: number } | { readonly _tag: 'Square'; readonly side: number }

describe('internal/match', () => {
  const area = matchTag<Shape, number>({ Circle: ({ r }) => 3 * r * r, Square: ({ side }) => side * side })

  it('calls the handler of the value\'s tag, with the value', () => {
    expect(area({ _tag: 'Circle', r: 2 })).to.equal(12)
    expect(area({ _tag: 'Square', side: 3 })).to.equal(9)
  })

  it('lets a handler\'s throw through to the caller (folds do not swallow)', () => {
    const boom = matchTag<Shape, number>({ Circle: () => { throw new RangeError('no circles') }, Square: () => 0 })
    expect(() => boom({ _tag: 'Circle', r: 1 })).to.throw(RangeError, 'no circles')
  })
})
