import { expect } from 'chai'
import { asyncScheduler } from 'rxjs'
import { consoleLogger, silentLogger } from '../../src/logger.js'
import { connectorStream } from '../../src/sse/connectorStream.js'
import type { FetchFunction } from '../../src/sse/fetch.js'
import {
  DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_INITIAL_BACKOFF_MS, DEFAULT_MAX_BACKOFF_MS, DEFAULT_MAX_FRAME_CHARS, DEFAULT_MIN_BACKOFF_MS,
  DEFAULT_RESET_BACKOFF_AFTER_MS, DEFAULT_STALL_TIMEOUT_MS, resolveOptions, type ConnectorStreamOptions,
} from '../../src/sse/options.js'
import { TOKEN } from './helpers.js'

describe('sse/options', () => {
  describe('checks', () => {
    it('refuses options that cannot be right, when called', () => {
      const url = 'http://127.0.0.1:1/stream/p'
      const bad: Array<[Partial<ConnectorStreamOptions>, string]> = [
        [{ url, token: '' }, 'token must be a non-empty string'],
        [{ url: 'ftp://x/stream/p', token: TOKEN }, 'url must be http: or https:'],
        [{ url: 'not a url', token: TOKEN }, 'url is not a valid URL'],
        [{ url: 'https://user:pw@x/stream/p', token: TOKEN }, 'url must not carry credentials'],
        [{ url, token: TOKEN, initialBackoffMs: -1 }, 'initialBackoffMs must be a non-negative number'],
        [{ url, token: TOKEN, maxBackoffMs: Infinity }, 'maxBackoffMs must be a non-negative number'],
        [{ url, token: TOKEN, maxRetries: 1.5 }, 'maxRetries must be a non-negative integer or Infinity'],
        [{ url, token: TOKEN, stallTimeoutMs: 0 }, 'stallTimeoutMs must be positive'],
        [{ url, token: TOKEN, connectTimeoutMs: Number.NaN }, 'connectTimeoutMs must be a non-negative number or Infinity'],
      ]
      for (const [options, message] of bad) {
        expect(() => connectorStream(options as ConnectorStreamOptions), message).to.throw(TypeError, message)
      }
    })

    it('names each wrong option in a TypeError with its exact message', () => {
      const url = 'http://127.0.0.1:1/stream/p'
      const prefix = 'autoplay-rx connectorStream: '
      const cases: Array<[unknown, string]> = [
        [null, 'options must be an object'],
        ['http://x/stream/p', 'options must be an object'],
        [{ url: 'not a url', token: TOKEN }, 'url is not a valid URL: "not a url"'],
        [{ token: TOKEN }, 'url is not a valid URL: "undefined"'],
        [{ url: 'ws://x/stream/p', token: TOKEN }, 'url must be http: or https:, got ws:'],
        [{ url: 'https://user@x/stream/p', token: TOKEN }, 'url must not carry credentials; pass the token option'],
        [{ url }, 'autoplay-rx: token must be a non-empty string'],
        [{ url, token: 42 }, 'autoplay-rx: token must be a non-empty string'],
        [{ url, token: TOKEN, maxRetries: -1 }, 'maxRetries must be a non-negative integer or Infinity, got -1'],
        [{ url, token: TOKEN, maxRetries: Number.NaN }, 'maxRetries must be a non-negative integer or Infinity, got NaN'],
        [{ url, token: TOKEN, maxFrameChars: 0 }, 'autoplay-rx: maxFrameChars must be a positive integer'],
        [{ url, token: TOKEN, maxFrameChars: 1.5 }, 'autoplay-rx: maxFrameChars must be a positive integer'],
        [{ url, token: TOKEN, maxFrameChars: Infinity }, 'autoplay-rx: maxFrameChars must be a positive integer'],
        [{ url, token: TOKEN, events: 'log' }, 'events must be a function'],
        [{ url, token: TOKEN, fetch: 'undici' }, "fetch must be a function, got string: pass the function itself (globalThis.fetch, or undici's fetch)"],
        [{ url, token: TOKEN, initialBackoffMs: -1 }, 'initialBackoffMs must be a non-negative number, got -1'],
        [{ url, token: TOKEN, initialBackoffMs: Infinity }, 'initialBackoffMs must be a non-negative number, got Infinity'],
        [{ url, token: TOKEN, initialBackoffMs: '5' }, 'initialBackoffMs must be a non-negative number, got 5'],
        [{ url, token: TOKEN, minBackoffMs: 0 }, 'autoplay-rx: minBackoffMs must be a positive number'],
        [{ url, token: TOKEN, minBackoffMs: Infinity }, 'autoplay-rx: minBackoffMs must be a positive number'],
        [{ url, token: TOKEN, maxBackoffMs: -0.5 }, 'maxBackoffMs must be a non-negative number, got -0.5'],
        [{ url, token: TOKEN, resetBackoffAfterMs: -1 }, 'resetBackoffAfterMs must be a non-negative number or Infinity, got -1'],
        [{ url, token: TOKEN, connectTimeoutMs: 0 }, 'connectTimeoutMs must be positive'],
        [{ url, token: TOKEN, stallTimeoutMs: Number.NaN }, 'stallTimeoutMs must be a non-negative number or Infinity, got NaN'],
        // The first wrong one is named: the url before the token, the token before the numbers.
        [{ url: 'ftp://x', token: '', maxRetries: -1 }, 'url must be http: or https:, got ftp:'],
        [{ url, token: '', maxRetries: -1 }, 'autoplay-rx: token must be a non-empty string'],
      ]
      for (const [options, message] of cases) {
        // The checks shared with every component (src/internal/options.ts) carry their own prefix.
        const full = message.startsWith('autoplay-rx') ? message : prefix + message
        expect(() => resolveOptions(options as ConnectorStreamOptions), message).to.throw(TypeError).with.property('message', full)
      }
    })

    it('refuses a missing global fetch when no fetch option is given', () => {
      const global = globalThis as { fetch?: unknown }
      const saved = global.fetch
      delete global.fetch
      try {
        expect(() => resolveOptions({ url: 'http://127.0.0.1:1/', token: TOKEN }))
          .to.throw(TypeError).with.property('message', 'autoplay-rx connectorStream: no global fetch (Node < 18?): pass the fetch option')
      } finally {
        global.fetch = saved
      }
    })
  })

  describe('defaults', () => {
    it('fills in every default, with the documented values', () => {
      const { fetch: fetchFunction, logger, random, scheduler, events, usertourTriggers, telemetry, ...numbers } = resolveOptions({ url: 'http://connector.test/stream/p', token: TOKEN })
      expect(numbers).to.deep.equal({
        url: 'http://connector.test/stream/p',
        headers: { accept: 'text/event-stream', 'cache-control': 'no-cache', authorization: `Bearer ${TOKEN}` },
        initialBackoffMs: 1000, minBackoffMs: 250, maxBackoffMs: 30_000, resetBackoffAfterMs: 5000,
        maxRetries: Infinity, connectTimeoutMs: 10_000, stallTimeoutMs: 90_000, maxFrameChars: 4_194_304,
      })
      expect([
        DEFAULT_INITIAL_BACKOFF_MS, DEFAULT_MIN_BACKOFF_MS, DEFAULT_MAX_BACKOFF_MS, DEFAULT_RESET_BACKOFF_AFTER_MS,
        DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_STALL_TIMEOUT_MS, DEFAULT_MAX_FRAME_CHARS,
      ]).to.deep.equal([1000, 250, 30_000, 5000, 10_000, 90_000, 4_194_304])
      expect([fetchFunction === globalThis.fetch, logger, random, scheduler, events, usertourTriggers, telemetry]).to.deep.equal([true, consoleLogger, Math.random, asyncScheduler, undefined, undefined, undefined])
    })

    it('keeps the values given: Infinity where allowed, 0 where allowed, and the functions passed', () => {
      const fetchOption: FetchFunction = async () => { throw new Error('not called') }
      const events = () => {}
      const random = () => 0.5
      const config = resolveOptions({
        url: new URL('https://connector.test:8443/stream/p?x=1'), token: TOKEN, fetch: fetchOption, events, random, logger: silentLogger,
        initialBackoffMs: 0, minBackoffMs: 1, maxBackoffMs: 0, resetBackoffAfterMs: Infinity, maxRetries: 0,
        connectTimeoutMs: Infinity, stallTimeoutMs: Infinity, maxFrameChars: 1,
      })
      expect(config).to.deep.include({
        url: 'https://connector.test:8443/stream/p?x=1', fetch: fetchOption, events, random, logger: silentLogger,
        initialBackoffMs: 0, minBackoffMs: 1, maxBackoffMs: 0, resetBackoffAfterMs: Infinity, maxRetries: 0,
        connectTimeoutMs: Infinity, stallTimeoutMs: Infinity, maxFrameChars: 1,
      })
    })

    it('takes an explicit undefined as not given (exactOptionalPropertyTypes)', () => {
      const given = resolveOptions({ url: 'http://connector.test/stream/p', token: TOKEN })
      const undefinedEverywhere = resolveOptions({
        url: 'http://connector.test/stream/p', token: TOKEN,
        initialBackoffMs: undefined, minBackoffMs: undefined, maxBackoffMs: undefined, resetBackoffAfterMs: undefined,
        maxRetries: undefined, connectTimeoutMs: undefined, stallTimeoutMs: undefined, maxFrameChars: undefined,
        headers: undefined, fetch: undefined, events: undefined, logger: undefined, telemetry: undefined,
        random: undefined, scheduler: undefined,
      })
      expect(undefinedEverywhere).to.deep.equal(given)
    })

    it('lower-cases the extra headers, lets its own win over them, and drops a Last-Event-ID', () => {
      const { headers } = resolveOptions({
        url: 'http://connector.test/stream/p', token: TOKEN,
        headers: { 'User-Agent': 'app/1', Authorization: 'Basic x', ACCEPT: 'text/html', 'Cache-Control': 'max-age=9', 'Last-Event-ID': '41' },
      })
      expect(headers).to.deep.equal({
        'user-agent': 'app/1', authorization: `Bearer ${TOKEN}`, accept: 'text/event-stream', 'cache-control': 'no-cache',
      })
    })
  })
})
