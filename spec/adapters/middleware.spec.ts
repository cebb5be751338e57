import { expect } from 'chai'
import { WebhookReceiver, silentLogger } from '../../src/index.js'
import { InFlightBudget } from '../../src/adapters/budget.js'
import { checkHead } from '../../src/adapters/middleware.js'
import { resolveOptions } from '../../src/adapters/options.js'
import { response } from '../../src/adapters/status.js'

describe('adapters/middleware, options and status', () => {
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
      expect([budget.pendingCallbacks, budget.callbacksFull]).to.deep.equal([2, true])
      fulfil()
      reject(new Error('callback failed'))
      await new Promise((r) => setImmediate(r))
      expect([budget.pendingCallbacks, budget.callbacksFull]).to.deep.equal([0, false])
    })

    it('has defaults for a small server and refuses limits that cannot work', () => {
      const budget = new InFlightBudget()
      expect([budget.maxBytes, budget.maxRequests, budget.maxPendingCallbacks]).to.deep.equal([32 * 1024 * 1024, 1024, 512])
      for (const bad of [{ maxBytes: 0 }, { maxRequests: 1.5 }, { maxPendingCallbacks: -1 }, { maxBytes: Number.NaN }]) {
        expect(() => new InFlightBudget(bad), JSON.stringify(bad)).to.throw(TypeError, 'must be a positive integer')
      }
      const receiver = new WebhookReceiver({ secret: 's', logger: silentLogger })
      expect(() => resolveOptions(receiver, { budget: { maxBytes: 1 } as InFlightBudget })).to.throw(TypeError, 'budget must be an InFlightBudget')
      expect(resolveOptions(receiver).budget).to.not.equal(resolveOptions(receiver).budget) // one each, no global state
    })
  })

  describe('checkHead and response', () => {
    const receiver = new WebhookReceiver({ secret: 's', logger: silentLogger, maxBodyBytes: 100 })
    const options = resolveOptions(receiver)

    it('decides 405, 415 and 413 from the head alone, else reads on', () => {
      expect(checkHead(receiver, 'GET', undefined, undefined, options)?.status).to.equal(405)
      expect(checkHead(receiver, 'POST', 'text/plain', '5', options)?.status).to.equal(415)
      expect(checkHead(receiver, 'POST', 'application/json', '101', options)?.status).to.equal(413)
      for (const type of ['application/json', 'APPLICATION/JSON; charset=utf-8', 'application/cloudevents+json', '', undefined, null]) {
        expect(checkHead(receiver, 'POST', type, '100', options), String(type)).to.equal(null)
      }
      expect(checkHead(receiver, 'POST', 'application/jsonx', null, options)?.status).to.equal(415)
    })

    it('writes stable bodies: ok, ignored, processing, and errors with code and message', () => {
      expect(response('ok')).to.deep.equal({ status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{"status":"ok"}' })
      expect(response('ignored').body).to.equal('{"status":"ok","code":"ignored"}')
      expect(response('processing')).to.include({ status: 202, body: '{"status":"accepted","code":"processing"}' })
      expect(response('method_not_allowed', 'Only POST')).to.deep.equal({
        status: 405, headers: { 'content-type': 'application/json; charset=utf-8', allow: 'POST' },
        body: '{"status":"error","code":"method_not_allowed","message":"Only POST"}',
      })
      expect(response('unavailable').status).to.equal(503)
      expect([response('overloaded').status, response('body_not_raw').status]).to.deep.equal([503, 500])
    })
  })
})
