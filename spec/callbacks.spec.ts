import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import { callbackList, SETTLED, type CallbackOutcome } from '../src/callbacks.js'
import type { ActionsPayload, SummaryPayload } from '../src/codecs.js'
import { silentLogger, WebhookReceiver } from '../src/index.js'
import { decodeBytes } from '../src/decode.js'
import { fixture, recordingLogger, SECRET, signed } from './helpers/fixtures.js'
import type { Dispatch } from '../src/receiver.js'

/** A dispatch where node:crypto is (here) is synchronous: the adapters' contract. */
const now = (dispatched: Dispatch | Promise<Dispatch>): Dispatch => {
  if (dispatched instanceof Promise) throw new Error('expected a synchronous dispatch where node:crypto is')
  return dispatched
}

function decoded<P>(name: 'actions-small' | 'summary'): P {
  const result = decodeBytes(fixture(name))
  if (E.isLeft(result)) throw new Error(`fixture ${name} does not decode: ${result.left.message}`)
  return result.right.payload as P
}
const batch = decoded<ActionsPayload>('actions-small')
const summary = decoded<SummaryPayload>('summary')

const failuresOf = (outcome: CallbackOutcome) =>
  outcome._tag === 'Settled' ? Promise.resolve(outcome.failures) : outcome.done

describe('callbacks', () => {
  it('an empty list settles at once with the shared no-failure outcome', () => {
    expect(callbackList(silentLogger).run(batch, 'async')).to.equal(SETTLED)
  })

  it('runs only the handlers of the payload type, in registration order', () => {
    const list = callbackList(silentLogger)
    const calls: string[] = []
    list.onActions(() => { calls.push('a1') })
    list.onSummary(() => { calls.push('s1') })
    list.onActions(() => { calls.push('a2') })
    expect(list.run(batch, 'async')).to.equal(SETTLED)
    expect(list.run(summary, 'async')).to.equal(SETTLED)
    expect(calls).to.deep.equal(['a1', 'a2', 's1'])
  })

  it('a throw is a Settled failure, logged, and the next handler still runs', () => {
    const logger = recordingLogger()
    const list = callbackList(logger)
    const boom = new Error('boom')
    let after = 0
    list.onSummary(() => { throw boom })
    list.onSummary(() => { after++ })
    expect(list.run(summary, 'async')).to.deep.equal({ _tag: 'Settled', failures: [{ callback: 'onSummary', error: boom }] })
    expect(after).to.equal(1)
    expect(logger.lines).to.deep.equal([{ level: 'error', message: 'onSummary callback failed',
      context: { session_id: summary.session_id, product_id: summary.product_id, type: 'summary', error: boom } }])
  })

  it('an async handler makes the outcome Pending; done resolves with every failure, sync ones first', async () => {
    const list = callbackList(silentLogger)
    const sync = new Error('sync')
    const late = new Error('late')
    list.onActions(async () => { await new Promise((r) => setTimeout(r, 5)); throw late })
    list.onActions(() => { throw sync })
    list.onActions(async () => 'fine')
    const outcome = list.run(batch, 'async')
    expect(outcome._tag).to.equal('Pending')
    expect(await failuresOf(outcome)).to.deep.equal([
      { callback: 'onActions', error: sync }, { callback: 'onActions', error: late }])
  })

  it('done never rejects, whatever a handler rejects with', async () => {
    const list = callbackList(silentLogger)
    list.onActions(() => Promise.reject(undefined))
    const outcome = list.run(batch, 'async')
    if (outcome._tag !== 'Pending') expect.fail('expected Pending')
    expect(await outcome.done).to.deep.equal([{ callback: 'onActions', error: undefined }])
  })

  it("sync mode warns about a returned promise once per handler (not per delivery), and still logs each rejection", async () => {
    const logger = recordingLogger()
    const list = callbackList(logger)
    list.onSummary(async () => { throw new Error('later') })
    await failuresOf(list.run(summary, 'sync'))
    await failuresOf(list.run(summary, 'sync'))
    expect(logger.lines.map((l) => l.level)).to.deep.equal(['warn', 'error', 'error'])
    expect(logger.lines[0]!.message).to.match(/^onSummary returned a promise, which handleSync does not wait for/)
  })

  it('a handler registered while a delivery runs waits for the next delivery', () => {
    const list = callbackList(silentLogger)
    const calls: string[] = []
    list.onActions(() => { calls.push('first'); list.onActions(() => { calls.push('late') }) })
    list.run(batch, 'async')
    expect(calls).to.deep.equal(['first'])
    list.run(batch, 'async')
    expect(calls).to.deep.equal(['first', 'first', 'late'])
  })

  it('clear drops every handler', () => {
    const list = callbackList(silentLogger)
    let called = false
    list.onActions(() => { called = true })
    list.clear()
    expect(list.run(batch, 'async')).to.equal(SETTLED)
    expect(called).to.equal(false)
  })

  describe('through the receiver', () => {
    it('dispatch reports only its own delivery\'s failures, even when a callback re-enters the receiver', () => {
      const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
      const inner = signed(fixture('summary'))
      const outer = signed(fixture('actions-small'))
      let innerOutcome: CallbackOutcome | undefined
      receiver.onSummary(() => { throw new Error('inner') })
      receiver.onActions(() => { innerOutcome = now(receiver.dispatch(inner.body, inner.signature)).callbacks })
      const { result, callbacks } = now(receiver.dispatch(outer.body, outer.signature))
      expect(E.isRight(result)).to.equal(true)
      expect(callbacks).to.equal(SETTLED)
      expect(innerOutcome?._tag).to.equal('Settled')
      expect((innerOutcome as { failures: ReadonlyArray<{ callback: string }> }).failures.map((f) => f.callback)).to.deep.equal(['onSummary'])
    })

    it('a refused delivery runs no callback and settles with no failure', () => {
      let called = false
      const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger, onActions: () => { called = true } })
      const { result, callbacks } = now(receiver.dispatch(fixture('actions-small'), 'sha256=' + '0'.repeat(64)))
      expect(E.isLeft(result) && result.left._tag).to.equal('InvalidSignature')
      expect(callbacks).to.equal(SETTLED)
      expect(called).to.equal(false)
    })
  })

  it('a callback whose returned thenable throws when read is a failure like any other: the next callbacks still run', async () => {
    const logger = recordingLogger()
    const list = callbackList(logger)
    const ran: string[] = []
    list.onActions(() => ({ get then(): never { throw new Error('then getter') } }))
    list.onActions(() => { ran.push('second') })
    const failures = await failuresOf(list.run(batch, 'sync'))
    expect(failures.map((f) => (f.error as Error).message)).to.deep.equal(['then getter'])
    expect(ran).to.deep.equal(['second'])
    expect(logger.lines.map((l) => l.level)).to.deep.equal(['error'])
  })
})
