import { expect } from 'chai'
import { isThenable } from '../src/thenable.js'

describe('thenable', () => {
  it('says yes to a promise and to any object or function with a then method', () => {
    const callable = Object.assign(() => {}, { then: () => {} })
    const handled = Promise.reject(new Error('rejected'))
    handled.catch(() => {})
    for (const value of [Promise.resolve(1), handled, { then: () => {} }, callable]) {
      expect(isThenable(value), String(value)).to.equal(true)
    }
  })

  it('says no to values without a callable then, null and primitives included', () => {
    for (const value of [null, undefined, 0, 'then', true, {}, { then: 'later' }, () => {}, Symbol('then')]) {
      expect(isThenable(value), String(value)).to.equal(false)
    }
  })
})
