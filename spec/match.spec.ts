/** The one fold over tagged unions, in both its forms. */
import { expect } from 'chai'
import { match } from '../src/match.js'

type Shape = { readonly _tag: 'Circle'; readonly r: number } | { readonly _tag: 'Square'; readonly side: number }
const shapes: Shape[] = [{ _tag: 'Circle', r: 2 }, { _tag: 'Square', side: 3 }]

describe('match', () => {
  it('data first: calls the handler of the value\'s tag with the narrowed value, its result typed from the handlers', () => {
    const areas = shapes.map((shape) => match(shape, { Circle: ({ r }) => 3 * r * r, Square: ({ side }) => side * side }))
    const typed: number[] = areas
    expect(typed).to.deep.equal([12, 9])
  })

  it('data last: a function to pass to map or pipe', () => {
    expect(shapes.map(match<Shape, string>({ Circle: () => 'round', Square: () => 'square' }))).to.deep.equal(['round', 'square'])
  })

  it('lets a handler\'s throw through to the caller (a fold does not swallow)', () => {
    const boom = () => match(shapes[0]!, { Circle: (): number => { throw new RangeError('no circles') }, Square: () => 0 })
    expect(boom).to.throw(RangeError, 'no circles')
  })

  it('refuses, at compile time, a fold that forgets a tag', () => {
    // @ts-expect-error: Square has no handler
    const partial = () => match(shapes[1]!, { Circle: () => 1 })
    expect(partial).to.throw(TypeError)
  })

  it('refuses a tag it has no own handler for, by name: Object\'s methods are no handlers', () => {
    const fold = match<Shape, number>({ Circle: () => 1, Square: () => 2 })
    for (const tag of ['Triangle', 'toString', 'constructor', 'hasOwnProperty', '__proto__']) {
      expect(() => fold({ _tag: tag } as unknown as Shape), tag).to.throw(TypeError, `match has no handler for _tag ${tag}`)
    }
  })
})
