import { expect } from 'chai'
import { consoleLogger, silentLogger, type Logger } from '../src/index.js'
import { log, rateLimited } from '../src/logger.js'
import { recordingLogger } from './helpers/fixtures.js'

type Method = 'log' | 'debug' | 'info' | 'warn' | 'error' | 'trace'
const methods: ReadonlyArray<Method> = ['log', 'debug', 'info', 'warn', 'error', 'trace']

/** Every call to a console method while `run` runs, the real methods restored after. */
function consoleCalls(run: () => void): Array<{ method: Method; args: unknown[] }> {
  const calls: Array<{ method: Method; args: unknown[] }> = []
  const saved = methods.map((method) => [method, console[method]] as const)
  for (const method of methods) console[method] = (...args: unknown[]) => { calls.push({ method, args }) }
  try {
    run()
  } finally {
    for (const [method, original] of saved) console[method] = original
  }
  return calls
}

describe('logger', () => {
  describe('consoleLogger', () => {
    it('writes warnings to console.warn, prefixed, with the context as a second argument', () => {
      const context = { session_id: 'ps_1', product_id: 'prod_1' }
      expect(consoleCalls(() => consoleLogger.warn!('count mismatch', context))).to.deep.equal([
        { method: 'warn', args: ['[autoplay-rx] count mismatch', context] },
      ])
    })

    it('writes errors to console.error, prefixed, with the context as a second argument', () => {
      const context = { error: new Error('boom') }
      const calls = consoleCalls(() => consoleLogger.error!('callback threw', context))
      expect(calls).to.deep.equal([{ method: 'error', args: ['[autoplay-rx] callback threw', context] }])
      expect(calls[0]!.args[1]).to.equal(context)
    })

    it('passes no second argument when there is no context', () => {
      expect(consoleCalls(() => {
        consoleLogger.warn!('w')
        consoleLogger.error!('e')
      })).to.deep.equal([
        { method: 'warn', args: ['[autoplay-rx] w'] },
        { method: 'error', args: ['[autoplay-rx] e'] },
      ])
    })

    it('has no info or debug level: those are silent', () => {
      expect(Object.keys(consoleLogger).sort()).to.deep.equal(['error', 'warn'])
      expect(consoleCalls(() => {
        log(consoleLogger, 'info', 'listening')
        log(consoleLogger, 'debug', 'refused')
      })).to.deep.equal([])
    })
  })

  describe('silentLogger', () => {
    it('has no level and writes nothing at any level', () => {
      expect(Object.keys(silentLogger)).to.deep.equal([])
      expect(consoleCalls(() => {
        for (const level of ['debug', 'info', 'warn', 'error'] as const) log(silentLogger, level, 'quiet', { level })
      })).to.deep.equal([])
    })
  })

  describe('log', () => {
    it('calls the one level asked for with the message and context as given', () => {
      const calls: Array<[string, string, unknown]> = []
      const logger: Logger = {
        debug: (m, c) => calls.push(['debug', m, c]), info: (m, c) => calls.push(['info', m, c]),
        warn: (m, c) => calls.push(['warn', m, c]), error: (m, c) => calls.push(['error', m, c]),
      }
      const context = { tag: 'InvalidSignature' }
      log(logger, 'info', 'hello', context)
      log(logger, 'error', 'bad')
      expect(calls).to.deep.equal([['info', 'hello', context], ['error', 'bad', undefined]])
      expect(calls[0]![2]).to.equal(context)
    })

    it('never lets a throwing logger escape, and goes on logging after it', () => {
      const seen: string[] = []
      const logger: Logger = {
        warn: () => { throw new Error('broken logger') },
        error: (m) => { seen.push(m) },
      }
      expect(() => log(logger, 'warn', 'first')).to.not.throw()
      log(logger, 'error', 'second')
      expect(seen).to.deep.equal(['second'])
    })
  })

  describe('rateLimited', () => {
    it('says one line per period; the next one counts the lines held back', async () => {
      const logger = recordingLogger()
      const limited = rateLimited(100)
      for (let i = 0; i < 5; i++) limited(logger, 'debug', `refused ${i}`, { i })
      await new Promise((resolve) => setTimeout(resolve, 120))
      limited(logger, 'debug', 'refused 5', { i: 5 })
      limited(logger, 'debug', 'refused 6', { i: 6 })
      expect(logger.lines).to.deep.equal([
        { level: 'debug', message: 'refused 0', context: { i: 0 } },
        { level: 'debug', message: 'refused 5 (and 4 more)', context: { i: 5 } },
      ])
    })
  })
})
