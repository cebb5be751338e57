/**
 * The attacks that broke the SSE source of 0.1 (issue 10, items 8–10), each
 * against a real SSE server on 127.0.0.1. Every one of them failed on 0.1.
 */
import { expect } from 'chai'
import type { ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import { firstValueFrom, take, timeout, toArray } from 'rxjs'
import type { SummaryPayload } from '../../src/codecs.js'
import type { Logger } from '../../src/logger.js'
import { connectorStream } from '../../src/sse/connectorStream.js'
import { DEFAULT_MAX_FRAME_CHARS, DEFAULT_MIN_BACKOFF_MS } from '../../src/sse/options.js'
import type { RetriesExhaustedError } from '../../src/sse/errors.js'
import type { ConnectionEvent } from '../../src/sse/lifecycle.js'
import { silentLogger } from '../../src/logger.js'
import { sleep } from '../helpers/http.js'
import {
  closeServers, failThenServe, failure, frame, openSse, run, runChild, show, sourceModule, startServer, summary, TOKEN, write,
} from './helpers.js'

/** Resolves on the response's next `drain`, or at once if it closed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve()
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

/** Writes `chunk` again and again, as fast as the client reads, until the connection closes. */
async function flood(res: ServerResponse, chunk: Buffer): Promise<void> {
  while (!res.destroyed) {
    if (!res.write(chunk)) await drained(res)
  }
}

/** Records a logger's calls as `level: message` lines. */
function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = []
  const at = (level: string) => (message: string) => { lines.push(`${level}: ${message}`) }
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines }
}

describe('sse/connectorStream under attack (issue 10)', () => {
  afterEach(closeServers)

  describe('an unbounded frame (item 8)', () => {
    it('survives one endless line in a 64 MiB heap: FrameTooLarge on the lifecycle, then a reconnect', async function () {
      this.timeout(15_000)
      // 0.1 buffered the line until the heap ran out: this child died of it.
      const line = Buffer.alloc(64 * 1024, 'a')
      const server = await startServer(async (_req, res) => {
        openSse(res)
        res.write('data: ')
        await flood(res, line)
      })
      const { stdout } = await runChild(12_000, `
        import { connectorStream } from ${JSON.stringify(sourceModule('sse/connectorStream.ts'))}
        const events = []
        const subscription = connectorStream({
          url: ${JSON.stringify(server.url)}, token: 't', initialBackoffMs: 10, minBackoffMs: 1,
          events: (event) => {
            events.push(event._tag === 'Disconnected' ? { tag: event.reason._tag, limit: event.reason.limit } : event._tag)
            if (event._tag === 'Connecting' && event.retry === 1) {
              subscription.unsubscribe()
              console.log(JSON.stringify(events))
            }
          },
        }).subscribe()
      `, ['--max-old-space-size=64'])
      expect(JSON.parse(stdout)).to.deep.equal([
        'Connecting', 'Connected', { tag: 'FrameTooLarge', limit: DEFAULT_MAX_FRAME_CHARS }, 'Retrying', 'Connecting',
      ])
      await server.requests[0]!.closed
    })

    it('drops a frame that grows past maxFrameChars by data: lines without a blank line, delivering those below it', async () => {
      const limit = 64 * 1024
      const big = 'b'.repeat(limit - 1000)
      const server = await startServer(async (_req, res, index) => {
        openSse(res)
        if (index > 0) {
          res.write(frame('after'))
          return
        }
        await write(res, frame(big))
        const dataLine = `data: ${'x'.repeat(1000)}\n`
        for (let i = 0; i < 300 && !res.destroyed; i++) await write(res, dataLine) // never a blank line
      })
      const { result, events } = run({ url: server.url, maxFrameChars: limit }, 2)
      expect((await result).map((p) => (p as SummaryPayload).summary)).to.deep.equal([big, 'after'])
      expect(events.map(show)).to.deep.equal([
        'Connecting retry=0 lastEventId=null', 'Connected retry=0 200',
        'Disconnected FrameTooLarge', 'Retrying retry=1 in 10',
        'Connecting retry=1 lastEventId=null', 'Connected retry=1 200',
      ])
      const disconnected = events[2]!
      expect(disconnected._tag === 'Disconnected' && disconnected.reason).to.deep.equal({
        _tag: 'FrameTooLarge', limit,
        message: `The server sent a frame longer than maxFrameChars (${limit} characters) without ending it`,
      })
      await server.requests[0]!.closed
    })

    it('counts a line that never ends as a stall, however many bytes it trickles', async () => {
      const server = await startServer(async (_req, res, index) => {
        openSse(res)
        if (index > 0) {
          res.write(frame('after the stall'))
          return
        }
        await write(res, ': a comment, the last complete line\ndata: {"type":"summary","summary":"')
        while (!res.destroyed) {
          await write(res, 'x').catch(() => {})
          await sleep(20)
        }
      })
      const { result, events } = run({ url: server.url, stallTimeoutMs: 200 }, 1)
      expect(await result).to.deep.equal([summary('after the stall')])
      expect(events.map(show).slice(0, 3)).to.deep.equal(['Connecting retry=0 lastEventId=null', 'Connected retry=0 200', 'Disconnected Stalled'])
      expect(server.requests[1]!.at - server.requests[0]!.at).to.be.at.least(190)
    })
  })

  describe('a reconnect storm (item 9)', () => {
    it('backs off from the floor against a server that answers retry: 0 and closes at once', async () => {
      const server = await startServer((_req, res) => {
        openSse(res)
        res.end('retry: 0\n\n')
      })
      const events: ConnectionEvent[] = []
      const subscription = connectorStream({
        url: server.url, token: TOKEN, random: () => 0, logger: silentLogger, events: (e) => { if (e._tag !== 'FrameRejected') events.push(e) },
      }).subscribe()
      const windowMs = 1_600
      await sleep(windowMs)
      subscription.unsubscribe()
      // 0.1 reconnected at once, for ever: thousands of requests in this window.
      // Now 250, 500, 1000 ms: requests at about 0, 250 and 750 ms.
      expect(server.requests.length).to.be.within(2, 4)
      const retrying = events.filter((e) => e._tag === 'Retrying').map(show)
      expect(retrying.length).to.be.within(2, 4)
      expect(retrying).to.deep.equal(['Retrying retry=1 in 250', 'Retrying retry=2 in 500', 'Retrying retry=3 in 1000', 'Retrying retry=4 in 2000'].slice(0, retrying.length))
      expect(DEFAULT_MIN_BACKOFF_MS).to.equal(250)
    })

    it('resets the backoff only after a connection delivered a payload, not for a heartbeat or a refused frame', async () => {
      const server = await startServer((_req, res, index) => {
        openSse(res)
        if (index < 2) res.end('retry: 0\n\nevent: heartbeat\ndata: {}\n\ndata: [1]\n\n')
        else if (index === 2) res.end(frame('one'))
        else res.write(frame('two'))
      })
      const { result, events } = run({ url: server.url, minBackoffMs: 20 }, 2)
      expect(await result).to.deep.equal([summary('one'), summary('two')])
      expect(events.filter((e) => e._tag === 'Retrying').map(show)).to.deep.equal([
        'Retrying retry=1 in 20', 'Retrying retry=2 in 40', 'Retrying retry=1 in 20',
      ])
    })

    it('resets the backoff after a connection stayed up resetBackoffAfterMs, even without a payload', async () => {
      const server = await startServer(async (_req, res, index) => {
        openSse(res)
        if (index === 0) {
          // Wide margins both ways: the client counts from when it sees the headers, later than this.
          await sleep(600)
          res.end()
        } else if (index === 1) {
          res.end()
        } else {
          res.write(frame('after'))
        }
      })
      const { result, events } = run({ url: server.url, resetBackoffAfterMs: 250 }, 1)
      expect(await result).to.deep.equal([summary('after')])
      expect(events.filter((e) => e._tag === 'Retrying').map(show)).to.deep.equal(['Retrying retry=1 in 10', 'Retrying retry=2 in 20'])
    })
  })

  describe('silent failure by default (item 10)', () => {
    it('without a lifecycle observer, logs a dead URL through the logger, once for a run of failures', async () => {
      const server = await startServer(() => {})
      const url = server.url
      await server.close() // connections are now refused
      const { logger, lines } = recordingLogger()
      const started = performance.now()
      const error = (await failure(firstValueFrom(connectorStream({
        url, token: TOKEN, initialBackoffMs: 1, minBackoffMs: 1, maxRetries: 6, random: () => 0, logger,
      }).pipe(timeout(4000))))) as RetriesExhaustedError
      expect(error._tag).to.equal('RetriesExhausted')
      expect(performance.now() - started).to.be.below(4000)
      expect(lines).to.have.length(1)
      expect(lines[0]).to.match(/^warn: SSE stream \S+: Network error: fetch failed \(.*ECONNREFUSED.*\); retry 1 in 1 ms \(pass an events observer/)
      expect(lines[0]).to.include(url).and.include('maxRetries').and.not.include(TOKEN)
    })

    it('says when it is connected again, and at which retry', async () => {
      const server = await startServer(failThenServe(3, 503, 'back'))
      const { logger, lines } = recordingLogger()
      const payloads = await firstValueFrom(connectorStream({
        url: server.url, token: TOKEN, initialBackoffMs: 1, minBackoffMs: 1, random: () => 0, logger,
      }).pipe(take(1), toArray(), timeout(4000)))
      expect(payloads).to.deep.equal([summary('back')])
      expect(lines).to.have.length(2)
      expect(lines[0]).to.match(/^warn: SSE stream \S+: The server answered HTTP 503; retry 1 in 1 ms/)
      expect(lines[1]).to.equal(`info: SSE stream ${server.url} connected again at retry 3`)
    })

    it('without a lifecycle observer, logs a fatal status in one error line: what to check and the body, no stack, no token', async () => {
      const server = await startServer((_req, res) => { res.writeHead(403).end(`{"error":"forbidden"}`) })
      const contexts: unknown[] = []
      const { logger, lines } = recordingLogger()
      const error = await failure(firstValueFrom(connectorStream({
        url: server.url, token: TOKEN, logger: { ...logger, error: (m, c) => { logger.error!(m, c); contexts.push(c) } },
      }).pipe(timeout(4000))))
      expect((error as { _tag: string })._tag).to.equal('FatalStatus')
      expect(lines).to.deep.equal([`error: SSE stream ${server.url}: The server answered HTTP 403 (fatal: not retried): ` +
        `check the token's rights: it is not allowed this product's stream; it said "{\\"error\\":\\"forbidden\\"}"`])
      expect(contexts).to.deep.equal([{ url: server.url, status: 403 }])
    })

    it('logs nothing of the connection when a lifecycle observer is given', async () => {
      const server = await startServer(failThenServe(1, 503, 'back'))
      const { logger, lines } = recordingLogger()
      const { result, events } = run({ url: server.url, logger }, 1)
      expect(await result).to.deep.equal([summary('back')])
      expect(events.map(show)).to.include('Disconnected HttpStatus 503')
      const refusing = await startServer((_req, res) => { res.writeHead(401).end('no') })
      const fatal = run({ url: refusing.url, logger }, 1)
      expect(await failure(fatal.result)).to.have.property('_tag', 'FatalStatus')
      expect(lines).to.deep.equal([])
    })
  })

  describe('ids the client cannot send back (issue 22)', () => {
    it('keeps the last id it can send as Last-Event-ID: one beyond Latin-1 or over 1,024 characters is ignored', async () => {
      // A fetch refuses a header beyond Latin-1 and a server refuses a huge one: every reconnect failed for ever.
      const server = await startServer(async (_req, res, index) => {
        openSse(res)
        const frames = [frame('a', '7') + frame('b', '\u20ac8'), frame('c', 'y'.repeat(1025)), frame('d')]
        await write(res, frames[index] ?? '')
        res.end()
      })
      const { result } = run({ url: server.url }, 4)
      expect((await result).map((p) => (p as SummaryPayload).summary)).to.deep.equal(['a', 'b', 'c', 'd'])
      expect(server.requests.slice(0, 3).map((r) => r.headers['last-event-id'])).to.deep.equal([undefined, '7', '7'])
    })
  })
})
