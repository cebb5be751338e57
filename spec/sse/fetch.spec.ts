import { expect } from 'chai'
import { performance } from 'node:perf_hooks'
import { asyncScheduler, timeout } from 'rxjs'
import { connection, Ended, type FetchFunction, type Request, type Signal } from '../../src/sse/fetch.js'
import type { DisconnectReason } from '../../src/sse/lifecycle.js'
import { closeServers, frame, openSse, startServer, summaryJson } from './helpers.js'

const fetchFunction: FetchFunction = (url, init) => fetch(url, init)

/** Runs one connection to its end: every signal, then the reason it ended with (anything else rejects). */
function collect(url: string, options: Partial<Request> = {}):
  Promise<{ signals: Signal[]; reason: DisconnectReason; body: string; retries: number[] }> {
  const signals: Signal[] = []
  const retries: number[] = []
  const defaults = { fetch: fetchFunction, url, headers: {}, maxFrameChars: 1024, refusalTimeoutMs: 1000, scheduler: asyncScheduler }
  return new Promise((resolve, reject) => {
    connection({ ...defaults, onRetry: (ms) => retries.push(ms), ...options })
      .pipe(timeout(5000))
      .subscribe({
        next: (signal) => signals.push(signal),
        error: (error: unknown) => (error instanceof Ended
          ? resolve({ signals, reason: error.reason, body: error.body, retries })
          : reject(error)),
        complete: () => reject(new Error('a connection never completes')),
      })
  })
}

const utf8 = new TextEncoder()
const HINTS: Record<number, string> = {
  401: 'check the token (missing, mistyped, expired or revoked)',
  403: "check the token's rights: it is not allowed this product's stream",
  404: 'check the URL and the product id in it',
}

const messagesOf = (signals: Signal[]) => signals.flatMap((s) => (s._tag === 'Frames' ? s.messages : []))

describe('sse/fetch: one connection', () => {
  afterEach(closeServers)

  it('emits Open, then Frames with each frame\'s fields, passes retry: on, and ends StreamEnded when the server closes', async () => {
    const server = await startServer((_req, res) => {
      openSse(res)
      res.end(`retry: 1500\n\n${frame('one', '7')}: heartbeat\n\nevent: custom\n${frame('two')}`)
    })
    const { signals, reason, retries } = await collect(server.url, { headers: { authorization: 'Bearer t', 'x-extra': '1' } })
    expect(signals[0]).to.deep.equal({ _tag: 'Open', status: 200 })
    expect(signals.slice(1).every((s) => s._tag === 'Frames')).to.equal(true)
    expect(messagesOf(signals)).to.deep.equal([
      { id: '7', event: undefined, data: summaryJson('one') },
      { id: undefined, event: 'custom', data: summaryJson('two') },
    ])
    expect(retries).to.deep.equal([1500])
    expect(reason).to.deep.equal({ _tag: 'StreamEnded', message: 'The server closed the stream' })
    expect(server.requests.map((r) => [r.headers.authorization, r.headers['x-extra']])).to.deep.equal([['Bearer t', '1']])
  })

  it('signals life for every complete line (a heartbeat without data:, a blank line, a comment, a field), not for a line without its end', async () => {
    const chunks = ['event: heartbeat\n', '\n', ': c\n', 'id: 4\r\n', 'retry: 5\n', 'data: never ends'].map((c) => utf8.encode(c))
    const stub: FetchFunction = async () => ({
      status: 200, headers: { get: () => 'text/event-stream' }, body: (async function* () { yield* chunks })(),
    })
    const { signals, reason } = await collect('http://127.0.0.1:1/', { fetch: stub })
    expect(signals).to.deep.equal([{ _tag: 'Open', status: 200 }, ...Array(5).fill({ _tag: 'Alive' })])
    expect(reason._tag).to.equal('StreamEnded')
  })

  it('signals life for a heartbeat comment alone, with no messages, over TCP', async () => {
    const server = await startServer((_req, res) => {
      openSse(res)
      res.end('event: heartbeat\n\n')
    })
    const { signals, reason } = await collect(server.url)
    expect(signals).to.deep.equal([{ _tag: 'Open', status: 200 }, { _tag: 'Alive' }])
    expect(reason._tag).to.equal('StreamEnded')
  })

  it('ends FrameTooLarge on a frame past maxFrameChars, after the frames before it, and closes the socket', async () => {
    const server = await startServer((_req, res) => {
      openSse(res)
      res.write(`${frame('small')}data: ${'x'.repeat(300)}`) // never ended: the server keeps the stream open
    })
    const { signals, reason } = await collect(server.url, { maxFrameChars: 200 })
    expect(signals[0]).to.deep.equal({ _tag: 'Open', status: 200 })
    expect(messagesOf(signals)).to.deep.equal([{ id: undefined, event: undefined, data: summaryJson('small') }])
    expect(reason).to.deep.equal({
      _tag: 'FrameTooLarge', limit: 200, message: 'The server sent a frame longer than maxFrameChars (200 characters) without ending it',
    })
    await server.requests[0]!.closed
  })

  it('ends HttpStatus on a non-2xx answer: 401, 403 and 404 fatal with what to check and their body, any other retried', async () => {
    const statuses = [401, 403, 404, 400, 429, 500, 503]
    const server = await startServer((_req, res, index) => { res.writeHead(statuses[index]!).end('refused') })
    const outcomes: unknown[] = []
    for (const _status of statuses) {
      const { signals, reason, body } = await collect(server.url)
      outcomes.push([signals.length, reason, body])
    }
    expect(outcomes).to.deep.equal(statuses.map((status) => {
      const fatal = status === 401 || status === 403 || status === 404
      const message = fatal
        ? `The server answered HTTP ${status} (fatal: not retried): ${HINTS[status]}; it said "refused"`
        : `The server answered HTTP ${status}`
      // A fatal answer's headers are a sign of life: the connect timeout does not cut its body.
      return [fatal ? 1 : 0, { _tag: 'HttpStatus', status, fatal, message }, fatal ? 'refused' : '']
    }))
  })

  it('keeps the first KiB of a fatal body, never more, and hides the token if the server echoes it', async () => {
    const long = 'é'.repeat(600) // 1,200 bytes: the cut falls inside no character
    const server = await startServer((req, res) => { res.writeHead(401).end(`bad ${req.headers.authorization} ${long}`) })
    const { body, reason } = await collect(server.url, { headers: { authorization: 'Bearer tok_secret' } })
    const expected = `bad Bearer [token] ${'é'.repeat((1024 - 'bad Bearer tok_secret '.length) / 2)}`
    expect(body).to.equal(expected)
    expect(reason.message).to.include(JSON.stringify(expected)).and.not.include('tok_secret')
  })

  it('ends a fatal status within refusalTimeoutMs when its body stalls, with the bytes that came, and closes the socket', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'text/plain' })
      res.write('{"error":"no access to prod_abc"')
    })
    const started = performance.now()
    const { signals, reason, body } = await collect(server.url, { refusalTimeoutMs: 150 })
    expect(performance.now() - started).to.be.within(140, 1000)
    expect([signals, reason._tag, body]).to.deep.equal([[{ _tag: 'Alive' }], 'HttpStatus', '{"error":"no access to prod_abc"'])
    await server.requests[0]!.closed
  })

  it('ends UnexpectedContentType on a 2xx that is not an event stream, and accepts text/event-stream in any case with parameters', async () => {
    const types = ['text/html', null, 'text/event-streamx', 'application/json; text/event-stream', ' TEXT/Event-Stream ; charset=utf-8']
    const server = await startServer((_req, res, index) => {
      const type = types[index]
      res.writeHead(200, type === null ? {} : { 'content-type': type }).end(': hi\n\n')
    })
    const outcomes: unknown[] = []
    for (const _type of types) {
      const { signals, reason } = await collect(server.url)
      outcomes.push(signals.length === 0 ? reason : [signals[0], reason._tag])
    }
    expect(outcomes).to.deep.equal([
      { _tag: 'UnexpectedContentType', contentType: 'text/html', message: 'Expected text/event-stream, got "text/html"' },
      { _tag: 'UnexpectedContentType', contentType: null, message: 'Expected text/event-stream, got no Content-Type' },
      { _tag: 'UnexpectedContentType', contentType: 'text/event-streamx', message: 'Expected text/event-stream, got "text/event-streamx"' },
      {
        _tag: 'UnexpectedContentType', contentType: 'application/json; text/event-stream',
        message: 'Expected text/event-stream, got "application/json; text/event-stream"',
      },
      [{ _tag: 'Open', status: 200 }, 'StreamEnded'],
    ])
  })

  it('ends NetworkError, saying the body is missing, on an event-stream 2xx without a body', async () => {
    const noBody: FetchFunction = async () => ({ status: 200, headers: { get: () => 'text/event-stream' }, body: null })
    const { signals, reason } = await collect('http://127.0.0.1:1/', { fetch: noBody })
    expect([signals, reason._tag, reason.message]).to.deep.equal([[], 'NetworkError',
      'Network error: the response announced text/event-stream but has no body'])
  })

  it('ends NetworkError on a fetch that throws, rejects, or resolves to something that is not a response, and aborts its signal', async () => {
    const boom = new Error('boom')
    const signals: AbortSignal[] = []
    const fetches: Array<[string, FetchFunction]> = [
      ['throws', (_url, init) => { signals.push(init.signal); throw boom }],
      ['rejects', async (_url, init) => { signals.push(init.signal); throw boom }],
      ['returns 42', ((_url: string, init: { signal: AbortSignal }) => { signals.push(init.signal); return 42 }) as unknown as FetchFunction],
      ['resolves to {}', (async (_url: string, init: { signal: AbortSignal }) => { signals.push(init.signal); return {} }) as unknown as FetchFunction],
      ['resolves to null', (async (_url: string, init: { signal: AbortSignal }) => { signals.push(init.signal); return null }) as unknown as FetchFunction],
    ]
    const notResponse = 'the fetch option resolved to something that is not a response (no status, no headers.get)'
    const outcomes: unknown[] = []
    for (const [name, fetchOption] of fetches) {
      const { signals: emitted, reason } = await collect('http://127.0.0.1:1/', { fetch: fetchOption })
      const error = reason._tag === 'NetworkError' ? reason.error : undefined
      outcomes.push([name, emitted, reason._tag, reason.message, error === boom || (error instanceof TypeError && error.message)])
    }
    expect(outcomes).to.deep.equal([
      ['throws', [], 'NetworkError', 'Network error: boom', true],
      ['rejects', [], 'NetworkError', 'Network error: boom', true],
      ['returns 42', [], 'NetworkError', `Network error: ${notResponse}`, notResponse],
      ['resolves to {}', [], 'NetworkError', `Network error: ${notResponse}`, notResponse],
      ['resolves to null', [], 'NetworkError', `Network error: ${notResponse}`, notResponse],
    ])
    expect(signals.map((s) => s.aborted)).to.deep.equal([true, true, true, true, true])
  })

  it('ends NetworkError, with the socket error, on a refused connection and on a body that breaks off', async () => {
    const closed = await startServer(() => undefined)
    const refusedUrl = closed.url
    await closed.close()
    const refused = await collect(refusedUrl)
    expect([refused.signals, refused.reason._tag]).to.deep.equal([[], 'NetworkError'])
    expect(refused.reason.message).to.match(/^Network error: fetch failed \(.*ECONNREFUSED/)

    const server = await startServer((_req, res) => {
      openSse(res)
      res.write(frame('before the break'), () => res.destroy())
    })
    const broken = await collect(server.url)
    expect(messagesOf(broken.signals).map((m) => m.data)).to.deep.equal([summaryJson('before the break')])
    expect(broken.reason._tag).to.equal('NetworkError')
  })
})
