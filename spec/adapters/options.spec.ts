import { expect } from 'chai'
import { WebhookReceiver, silentLogger } from '../../src/index.js'
import { InFlightBudget } from '../../src/adapters/budget.js'
import { resolveOptions, type AdapterOptions } from '../../src/adapters/options.js'

describe('adapters/options', () => {
  const receiver = new WebhookReceiver({ secret: 's', logger: silentLogger, maxBodyBytes: 2048 })

  it('applies every default, and takes the body limit from the receiver', () => {
    const { budget, ...rest } = resolveOptions(receiver.maxBodyBytes)
    expect(rest).to.deep.equal({
      path: undefined, maxBodyBytes: 2048, ack: 'after-callbacks', ackTimeoutMs: 5000, retryOnCallbackError: false,
      bodyTimeoutMs: 10_000, persist: undefined, persistTimeoutMs: 2000, minBodyRate: 4096,
      trustedPeers: new Set(), trustedProxies: new Set(),
    })
    expect(budget).to.be.instanceOf(InFlightBudget)
    expect([budget.maxBytes, budget.maxRequests, budget.maxPendingCallbacks]).to.deep.equal([32 * 1024 * 1024, 1024, 512])
  })

  it('keeps every option given, as given', () => {
    const persist = async () => {}
    const budget = new InFlightBudget({ maxRequests: 3 })
    const given: AdapterOptions = {
      path: '/events', ack: 'on-accept', ackTimeoutMs: 0.5, retryOnCallbackError: true, bodyTimeoutMs: 250, persist, persistTimeoutMs: 75, budget,
      minBodyRate: 100, trustedPeers: ['10.0.0.1'], trustedProxies: ['10.0.0.2'],
    }
    expect(resolveOptions(receiver.maxBodyBytes, given)).to.deep.equal({
      ...given, maxBodyBytes: 2048, trustedPeers: new Set(['10.0.0.1']), trustedProxies: new Set(['10.0.0.2']),
    })
    expect(resolveOptions(receiver.maxBodyBytes, given).budget).to.equal(budget)
  })

  it('takes maxBodyBytes: undefined as not given (a config object that names the field), the receiver\'s limit kept', () => {
    expect(resolveOptions(2048, { maxBodyBytes: undefined } as AdapterOptions).maxBodyBytes).to.equal(2048)
  })

  it('refuses each option that cannot work, with its own message', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ maxBodyBytes: 10 }, 'autoplay-rx: maxBodyBytes must be set on the WebhookReceiver only'],
      [{ ackTimeoutMs: 0 }, 'autoplay-rx: ackTimeoutMs must be a positive number'],
      [{ ackTimeoutMs: Infinity }, 'autoplay-rx: ackTimeoutMs must be a positive number'],
      [{ bodyTimeoutMs: -1 }, 'autoplay-rx: bodyTimeoutMs must be a positive number'],
      [{ bodyTimeoutMs: '100' }, 'autoplay-rx: bodyTimeoutMs must be a positive number'],
      [{ persistTimeoutMs: Number.NaN }, 'autoplay-rx: persistTimeoutMs must be a positive number'],
      [{ minBodyRate: 0 }, 'autoplay-rx: minBodyRate must be a positive number'],
      [{ path: 'events' }, 'autoplay-rx: path must be a string starting with /'],
      [{ path: 42 }, 'autoplay-rx: path must be a string starting with /'],
      [{ path: '' }, 'autoplay-rx: path must be a string starting with /'],
      [{ budget: { maxBytes: 1 } }, 'autoplay-rx: budget must be an InFlightBudget'],
      [{ persist: 'redis' }, 'autoplay-rx: persist must be a function'],
      [{ ack: 'never' }, `autoplay-rx: ack must be 'after-callbacks' or 'on-accept'`],
      // The checks run in a fixed order: the first wrong option is the one named.
      [{ ack: 'never', ackTimeoutMs: 0 }, 'autoplay-rx: ackTimeoutMs must be a positive number'],
    ]
    for (const [options, message] of cases) {
      expect(() => resolveOptions(receiver.maxBodyBytes, options as AdapterOptions), JSON.stringify(options)).to.throw(TypeError).with.property('message', message)
    }
  })
})
