import { expect } from 'chai'
import { PassThrough } from 'node:stream'
import { readBody as readWith, type BodyLimits } from '../../src/adapters/body.js'
import { InFlightBudget } from '../../src/adapters/budget.js'
import { deadlineSweep } from '../../src/adapters/deadlines.js'
import { headerOf, StreamSource } from '../../src/adapters/nodeStream.js'
import { runChild, sourceModule } from '../sse/helpers.js'

describe('adapters/nodeStream: a body read from a stream that is not node:http', () => {
  const limits = (budget = new InFlightBudget(), maxBodyBytes = 10, bodyTimeoutMs = 5000, deadlines = deadlineSweep(5)): BodyLimits =>
    ({ maxBodyBytes, bodyTimeoutMs, minBodyRate: 1, budget, deadlines })
  const readBody = async (stream: PassThrough, declared: number, given: BodyLimits) => readWith(new StreamSource(stream), declared, given, given.budget.shares.of(undefined))

  it('reads the first value of a repeated header, as node:http and Fastify hand headers over', () => {
    expect([headerOf({ a: ['1', '2'] }, 'a'), headerOf({ a: '1' }, 'a'), headerOf({}, 'a')]).to.deep.equal(['1', '1', undefined])
  })

  it('stops at the first byte over the limit: TooLarge with the size seen, the stream paused, nothing more read or held', async () => {
    const budget = new InFlightBudget()
    const stream = new PassThrough()
    const reading = readBody(stream, 0, limits(budget))
    stream.write('123456')
    stream.write('789012')
    const outcome = await reading
    expect(outcome).to.deep.equal({ _tag: 'TooLarge', size: 12 })
    // One 'error' listener is left: a no-op, so that an error after the read cannot crash the process (next spec).
    expect([stream.isPaused(), stream.listenerCount('data'), stream.listenerCount('error'), stream.listenerCount('close')]).to.deep.equal([true, 0, 1, 0])
    expect([budget.bytes, budget.requests]).to.deep.equal([0, 0])
  })

  it('survives an error the stream emits after the read stopped (the adapter destroys the request), in a process of its own', async function () {
    this.timeout(15_000)
    // 0.1 removed the only 'error' listener: the late error was uncaught and the process exited 1.
    const { stdout } = await runChild(10_000, `
      import { PassThrough } from 'node:stream'
      import { readBody } from '${sourceModule('adapters/body.ts')}'
      import { StreamSource } from '${sourceModule('adapters/nodeStream.ts')}'
      import { InFlightBudget } from '${sourceModule('adapters/budget.ts')}'
      import { deadlineSweep } from '${sourceModule('adapters/deadlines.ts')}'
      const stream = new PassThrough()
      const limits = { maxBodyBytes: 4, bodyTimeoutMs: 5000, budget: new InFlightBudget(), deadlines: deadlineSweep(5) }
      const reading = readBody(new StreamSource(stream), 0, limits)
      stream.write('123456')
      console.log((await reading)._tag)
      stream.destroy(new Error('late: the adapter destroyed the request after its 413'))
      await new Promise((resolve) => setTimeout(resolve, 20))
      console.log('alive')
    `)
    expect(stdout.trim().split('\n')).to.deep.equal(['TooLarge', 'alive'])
  })

  it('Aborted when the stream fails or closes early; Timeout at the deadline', async () => {
    const failing = new PassThrough()
    const failed = readBody(failing, 0, limits())
    failing.destroy(new Error('socket hang up'))
    expect(await failed).to.deep.equal({ _tag: 'Aborted' })
    const deadlines = deadlineSweep(5)
    const stalled = new PassThrough()
    const started = Date.now()
    const outcome = await readBody(stalled, 0, limits(new InFlightBudget(), 10, 30, deadlines))
    expect(outcome).to.deep.equal({ _tag: 'Timeout' })
    expect(Date.now() - started).to.be.at.least(30)
    expect(deadlines.sweeping).to.equal(false)
  })

  it('OverBudget at once when the declared length does not fit, without touching the stream', async () => {
    const budget = new InFlightBudget({ maxBytes: 100 })
    const stream = new PassThrough()
    expect(await readBody(stream, 101, limits(budget, 1000))).to.deep.equal({ _tag: 'OverBudget' })
    expect([stream.listenerCount('data'), budget.bytes, budget.requests]).to.deep.equal([0, 0, 0])
  })
})
