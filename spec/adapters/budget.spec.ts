import { expect } from 'chai'
import { WebhookReceiver, silentLogger } from '../../src/index.js'
import { InFlightBudget, isBudget } from '../../src/adapters/budget.js'
import { resolveOptions } from '../../src/adapters/options.js'
import { createNodeMiddleware } from '../../src/adapters/node.js'
import { recordingLogger } from '../helpers/fixtures.js'

describe('adapters/budget', () => {
  describe('InFlightBudget', () => {
    it('starts a read only when a slot and its declared bytes are free, takes nothing when refused, and gets all back', () => {
      const budget = new InFlightBudget({ maxBytes: 100, maxRequests: 2 })
      expect([budget.startRead(60), budget.startRead(50), budget.bytes, budget.requests]).to.deep.equal([true, false, 60, 1])
      expect([budget.hold(40), budget.hold(1), budget.bytes]).to.deep.equal([true, false, 100])
      expect([budget.startRead(0), budget.startRead(0), budget.requests]).to.deep.equal([true, false, 2])
      budget.endRead(100)
      budget.endRead(0)
      expect([budget.bytes, budget.requests]).to.deep.equal([0, 0])
    })

    it('counts pending callbacks until they settle, fulfilled or rejected', async () => {
      const budget = new InFlightBudget({ maxPendingCallbacks: 2 })
      let fulfil!: () => void
      let reject!: (e: Error) => void
      budget.trackCallbacks(new Promise<void>((r) => { fulfil = r }))
      budget.trackCallbacks(new Promise<void>((_r, j) => { reject = j }))
      expect([budget.pendingCallbacks, budget.callbacksFull()]).to.deep.equal([2, true])
      fulfil()
      reject(new Error('callback failed'))
      await new Promise((r) => setImmediate(r))
      expect([budget.pendingCallbacks, budget.callbacksFull()]).to.deep.equal([0, false])
    })

    it('has defaults for a small server and refuses limits that cannot work', () => {
      const budget = new InFlightBudget()
      expect([budget.maxBytes, budget.maxRequests, budget.maxPendingCallbacks]).to.deep.equal([32 * 1024 * 1024, 1024, 512])
      for (const bad of [{ maxBytes: 0 }, { maxRequests: 1.5 }, { maxPendingCallbacks: -1 }, { maxBytes: Number.NaN }]) {
        expect(() => new InFlightBudget(bad), JSON.stringify(bad)).to.throw(TypeError, 'must be a positive integer')
      }
      const receiver = new WebhookReceiver({ secret: 's', logger: silentLogger })
      expect(() => resolveOptions(receiver.maxBodyBytes, { budget: { maxBytes: 1 } as InFlightBudget })).to.throw(TypeError, 'budget must be an InFlightBudget')
      expect(resolveOptions(receiver.maxBodyBytes).budget).to.not.equal(resolveOptions(receiver.maxBodyBytes).budget) // one each, no global state
      // A budget smaller than one body at the limit could never read it: the adapter says so once, when made.
      const logger = recordingLogger()
      const limited = new WebhookReceiver({ secret: 's', logger, maxBodyBytes: 1024 })
      createNodeMiddleware(limited, { budget: new InFlightBudget({ maxBytes: 1024 }) })
      expect(logger.lines).to.deep.equal([])
      createNodeMiddleware(limited, { budget: new InFlightBudget({ maxBytes: 1023 }) })
      expect(logger.lines.map((line) => [line.level, line.message]))
        .to.deep.equal([['warn', 'budget.maxBytes (1023) < maxBodyBytes (1024): larger bodies get 503']])
    })
  })

  describe('InFlightBudget accounting', () => {
    it('refuses a read whose declared bytes alone exceed maxBytes, and one that would overflow by a single byte', () => {
      const budget = new InFlightBudget({ maxBytes: 10, maxRequests: 3 })
      expect([budget.startRead(11), budget.bytes, budget.requests]).to.deep.equal([false, 0, 0])
      expect([budget.startRead(10), budget.startRead(1), budget.bytes, budget.requests]).to.deep.equal([true, false, 10, 1])
      budget.endRead(10)
      expect([budget.startRead(4), budget.startRead(6), budget.startRead(1), budget.bytes, budget.requests]).to.deep.equal([true, true, false, 10, 2])
    })

    it('hold adds to a read in progress byte for byte, and a refused hold changes nothing', () => {
      const budget = new InFlightBudget({ maxBytes: 8 })
      expect(budget.startRead(0)).to.equal(true)
      expect([budget.hold(3), budget.hold(5), budget.hold(1), budget.bytes, budget.requests]).to.deep.equal([true, true, false, 8, 1])
      budget.endRead(8)
      expect([budget.bytes, budget.requests, budget.startRead(8)]).to.deep.equal([0, 0, true])
    })

    it('gives back exactly what each read held, in any order, so interleaved reads end at zero', () => {
      const budget = new InFlightBudget({ maxBytes: 100, maxRequests: 3 })
      budget.startRead(30)
      budget.startRead(0)
      budget.hold(20)
      budget.startRead(40)
      expect([budget.bytes, budget.requests]).to.deep.equal([90, 3])
      budget.endRead(20)
      expect([budget.bytes, budget.requests, budget.startRead(0)]).to.deep.equal([70, 2, true])
      budget.endRead(0)
      budget.endRead(30)
      budget.endRead(40)
      expect([budget.bytes, budget.requests]).to.deep.equal([0, 0])
    })

    it('is full of callbacks at exactly maxPendingCallbacks, and frees one slot per settled delivery', async () => {
      const budget = new InFlightBudget({ maxPendingCallbacks: 3 })
      const settle: Array<() => void> = []
      const track = () => budget.trackCallbacks(new Promise<void>((r) => settle.push(r)))
      track()
      track()
      expect([budget.pendingCallbacks, budget.callbacksFull()]).to.deep.equal([2, false])
      track()
      expect([budget.pendingCallbacks, budget.callbacksFull()]).to.deep.equal([3, true])
      settle[1]!()
      await new Promise((r) => setImmediate(r))
      expect([budget.pendingCallbacks, budget.callbacksFull()]).to.deep.equal([2, false])
      // Reads and callbacks are separate counts.
      expect([budget.bytes, budget.requests]).to.deep.equal([0, 0])
      settle[0]!()
      settle[2]!()
      await new Promise((r) => setImmediate(r))
      expect(budget.pendingCallbacks).to.equal(0)
    })

    it('counts a thenable that is not a Promise, and a promise that is already settled, until it settles', async () => {
      const budget = new InFlightBudget()
      let done!: () => void
      budget.trackCallbacks({ then: (onFulfilled: () => void) => { done = onFulfilled; return undefined as never } } as PromiseLike<unknown>)
      budget.trackCallbacks(Promise.reject(new Error('already failed')))
      expect(budget.pendingCallbacks).to.equal(2)
      await new Promise((r) => setImmediate(r))
      expect(budget.pendingCallbacks).to.equal(1)
      done()
      expect(budget.pendingCallbacks).to.equal(0)
    })

    it('one budget passed to several adapters is the same object for each, so they share its limits', () => {
      const receiver = new WebhookReceiver({ secret: 's', logger: silentLogger })
      const budget = new InFlightBudget({ maxRequests: 1 })
      const a = resolveOptions(receiver.maxBodyBytes, { budget })
      const b = resolveOptions(receiver.maxBodyBytes, { budget })
      expect([a.budget, b.budget]).to.deep.equal([budget, budget])
      expect(a.budget).to.equal(b.budget)
      expect(a.budget.startRead(0)).to.equal(true)
      expect(b.budget.startRead(0)).to.equal(false) // the one slot is taken by the other adapter
    })
  })

  describe('shares by remote address', () => {
    /** How many reads `peer` gets started, one after another, up to `tries`. */
    const reads = (budget: InFlightBudget, peer: string | undefined, tries: number) => {
      let started = 0
      while (started < tries && budget.startRead(0, budget.shares.of(peer))) started++
      return started
    }

    it('alone, an address takes every slot; with a second one seen, each stops at half once over half is used', () => {
      const alone = new InFlightBudget({ maxRequests: 8 })
      expect(reads(alone, 'a', 10)).to.equal(8)
      const two = new InFlightBudget({ maxRequests: 8 })
      two.shares.of('b')
      expect([reads(two, 'a', 10), reads(two, 'b', 10), two.requests]).to.deep.equal([4, 4, 8])
    })

    it('with many addresses seen, an address may still hold an eighth; bytes and callbacks are shared the same way', () => {
      const budget = new InFlightBudget({ maxRequests: 16, maxBytes: 1600, maxPendingCallbacks: 16 })
      for (let i = 0; i < 20; i++) budget.shares.of(`10.0.0.${i}`)
      const a = budget.shares.of('a')
      expect(reads(budget, 'a', 16)).to.equal(8) // up to half used no share applies; past it, 'a' holds far more than 2
      budget.endRead(0, a)
      expect([budget.hold(800, a), budget.hold(1, a), budget.hold(1, budget.shares.of('b'))]).to.deep.equal([true, false, true])
      for (let i = 0; i < 9; i++) budget.trackCallbacks(new Promise(() => {}), a)
      expect([budget.callbacksFull(a), budget.callbacksFull(budget.shares.of('b'))]).to.deep.equal([true, false])
    })

    it('an exempt sender (undefined) is never held to a share, and idle addresses are forgotten after 1,024 to 2,048 calls', () => {
      const budget = new InFlightBudget({ maxRequests: 8 })
      budget.shares.of('b')
      expect(reads(budget, undefined, 10)).to.equal(8)
      for (let i = 0; i < 8; i++) budget.endRead(0)
      for (let i = 0; i < 2048; i++) budget.shares.of('a')
      expect(reads(budget, 'a', 10)).to.equal(8) // 'b' was forgotten: 'a' is alone again
    })
  })

  describe('InFlightBudget options', () => {
    it('takes each limit given, the others at their defaults', () => {
      const budget = new InFlightBudget({ maxRequests: 7 })
      expect([budget.maxBytes, budget.maxRequests, budget.maxPendingCallbacks]).to.deep.equal([33_554_432, 7, 512])
    })

    it('names the wrong limit in its TypeError, for each kind of wrong value', () => {
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ maxBytes: -5 }, 'autoplay-rx: budget maxBytes must be a positive integer'],
        [{ maxBytes: Infinity }, 'autoplay-rx: budget maxBytes must be a positive integer'],
        [{ maxRequests: 0 }, 'autoplay-rx: budget maxRequests must be a positive integer'],
        [{ maxRequests: '8' }, 'autoplay-rx: budget maxRequests must be a positive integer'],
        [{ maxPendingCallbacks: 2 ** 53 }, 'autoplay-rx: budget maxPendingCallbacks must be a positive integer'],
        [{ maxPendingCallbacks: 0.5 }, 'autoplay-rx: budget maxPendingCallbacks must be a positive integer'],
      ]
      for (const [options, message] of cases) {
        expect(() => new InFlightBudget(options), JSON.stringify(options)).to.throw(TypeError).with.property('message', message)
      }
    })
  })

  describe('isBudget', () => {
    it('says yes to a budget and to any object with its four methods, no to options and other values', () => {
      const copy = { startRead: () => true, hold: () => true, endRead: () => {}, trackCallbacks: () => {} }
      expect([isBudget(new InFlightBudget()), isBudget(copy)]).to.deep.equal([true, true])
      const { trackCallbacks: _dropped, ...threeMethods } = copy
      for (const value of [{ maxBytes: 1024 }, threeMethods, null, undefined, 0, 'budget', () => {}]) {
        expect(isBudget(value), String(value)).to.equal(false)
      }
    })
  })
})
