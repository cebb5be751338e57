/** The shared option checks: what passes, what throws, and the exact words. */
import { expect } from 'chai'
import { nonEmpty, positiveInteger, positiveNumber } from '../../src/internal/options.js'

describe('internal/options', () => {
  it('positiveInteger passes positive safe integers through, and refuses everything else by name', () => {
    for (const good of [1, 7, Number.MAX_SAFE_INTEGER]) expect(positiveInteger('n', good)).to.equal(good)
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 53, '8', null, undefined]) {
      expect(() => positiveInteger('maxThings', bad), String(bad)).to.throw(TypeError, /^autoplay-rx: maxThings must be a positive integer$/)
    }
  })

  it('positiveNumber passes finite numbers above 0, and refuses everything else by name', () => {
    for (const good of [0.001, 1, 1.5, 1e12]) expect(positiveNumber('ms', good)).to.equal(good)
    for (const bad of [0, -0.5, Number.NaN, Infinity, '100', null]) {
      expect(() => positiveNumber('waitMs', bad), String(bad)).to.throw(TypeError, /^autoplay-rx: waitMs must be a positive number$/)
    }
  })

  it('nonEmpty passes non-empty strings through, and refuses everything else by name', () => {
    expect(nonEmpty('stream', 'autoplay:events')).to.equal('autoplay:events')
    for (const bad of ['', null, undefined, 5, ['s']]) {
      expect(() => nonEmpty('stream', bad), String(bad)).to.throw(TypeError, /^autoplay-rx: stream must be a non-empty string$/)
    }
  })
})
