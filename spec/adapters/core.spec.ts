import { expect } from 'chai'
import { WebhookReceiver, silentLogger } from '../../src/index.js'
import { checkHead, Deadlines, InFlightBudget, resolveOptions, response } from '../../src/adapters/core.js'
import { sleep } from '../helpers/http.js'

describe('adapters/core', () => {
  describe('Deadlines', () => {
    it('expires a deadline once its time has passed, at most one resolution late', async () => {
      const deadlines = new Deadlines(10)
      const fired: Array<[boolean, number]> = []
      const started = Date.now()
      deadlines.add(50, (abandoned) => fired.push([abandoned, Date.now() - started]))
      await sleep(30)
      expect(fired).to.deep.equal([])
      await sleep(60)
      expect(fired.map(([abandoned]) => abandoned)).to.deep.equal([false])
      expect(fired[0]![1]).to.be.within(50, 85)
    })

    it('never fires a removed deadline, and runs no timer while nothing is pending', async () => {
      const deadlines = new Deadlines(5)
      let fired = 0
      expect(deadlines.sweeping).to.equal(false)
      const a = deadlines.add(20, () => { fired++ })
      const b = deadlines.add(20, () => { fired++ })
      expect([deadlines.size, deadlines.sweeping]).to.deep.equal([2, true])
      deadlines.remove(a)
      expect([deadlines.size, deadlines.sweeping]).to.deep.equal([1, true])
      deadlines.remove(b)
      expect([deadlines.size, deadlines.sweeping]).to.deep.equal([0, false])
      await sleep(40)
      expect(fired).to.equal(0)
    })

    it('expires early, as abandoned, when its check says the work was abandoned', async () => {
      const deadlines = new Deadlines(5)
      let gone = false
      const fired: boolean[] = []
      deadlines.add(10_000, (abandoned) => fired.push(abandoned), () => gone)
      await sleep(20)
      expect(fired).to.deep.equal([])
      gone = true
      await sleep(20)
      expect(fired).to.deep.equal([true])
      expect(deadlines.sweeping).to.equal(false)
    })
  })

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
    const receiver = new WebhookReceiver({ secret: 's', logger: silentLogger })
    const options = resolveOptions(receiver, { maxBodyBytes: 100 })

    it('decides 405, 415 and 413 from the head alone, else reads on', () => {
      expect(checkHead(receiver, { method: 'GET', contentType: undefined, contentLength: undefined }, options)?.status).to.equal(405)
      expect(checkHead(receiver, { method: 'POST', contentType: 'text/plain', contentLength: '5' }, options)?.status).to.equal(415)
      expect(checkHead(receiver, { method: 'POST', contentType: 'application/json', contentLength: '101' }, options)?.status).to.equal(413)
      for (const type of ['application/json', 'APPLICATION/JSON; charset=utf-8', 'application/cloudevents+json', '', undefined, null]) {
        expect(checkHead(receiver, { method: 'POST', contentType: type, contentLength: '100' }, options), String(type)).to.equal(null)
      }
      expect(checkHead(receiver, { method: 'POST', contentType: 'application/jsonx', contentLength: null }, options)?.status).to.equal(415)
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
