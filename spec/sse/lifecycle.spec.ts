/**
 * The one events observer, against a real local server: every lifecycle
 * event and every refused frame, in the order they happened, with their
 * exact fields; a throwing observer; silence after unsubscription.
 */
import { expect } from 'chai'
import { firstValueFrom, take, timeout, toArray } from 'rxjs'
import type { SummaryPayload } from '../../src/codecs.js'
import { silentLogger } from '../../src/logger.js'
import { connectorStream } from '../../src/sse/connectorStream.js'
import type { ConnectorStreamEvent } from '../../src/sse/lifecycle.js'
import { sleep } from '../helpers/http.js'
import { closeServers, frame, openSse, runChild, sourceModule, startServer, TOKEN } from './helpers.js'

/** Each event with its fields, an error reduced to its tag and message. */
function plain(event: ConnectorStreamEvent): unknown {
  switch (event._tag) {
    case 'Disconnected': return { _tag: event._tag, reason: event.reason._tag, message: event.reason.message }
    case 'FrameRejected': return { _tag: event._tag, data: event.data, event: event.event, id: event.id, error: event.error._tag }
    default: return { ...event }
  }
}

describe('sse/lifecycle: the events observer', () => {
  afterEach(closeServers)

  it('tells every connection step and refused frame, in order, with exact fields', async () => {
    const server = await startServer((_req, res, index) => {
      if (index === 0) return void res.writeHead(503).end()
      openSse(res)
      if (index === 1) {
        res.write('id: 4\ndata: {"type":"summary",\n\n')
        res.end(frame('one', '5'))
        return
      }
      res.write(frame('two'))
    })
    const events: ConnectorStreamEvent[] = []
    const payloads = await firstValueFrom(connectorStream({
      url: server.url, token: TOKEN, initialBackoffMs: 10, minBackoffMs: 1, random: () => 0, logger: silentLogger,
      events: (event) => events.push(event),
    }).pipe(take(2), toArray(), timeout(4000)))
    expect(payloads.map((p) => (p as SummaryPayload).summary)).to.deep.equal(['one', 'two'])
    expect(events.map(plain)).to.deep.equal([
      { _tag: 'Connecting', retry: 0, lastEventId: null },
      { _tag: 'Disconnected', reason: 'HttpStatus', message: 'The server answered HTTP 503' },
      { _tag: 'Retrying', retry: 1, delayMs: 10 },
      { _tag: 'Connecting', retry: 1, lastEventId: null },
      { _tag: 'Connected', retry: 1, status: 200 },
      { _tag: 'FrameRejected', data: '{"type":"summary",', event: null, id: '4', error: 'MalformedJson' },
      { _tag: 'Disconnected', reason: 'StreamEnded', message: 'The server closed the stream' },
      // The payload made the connection stable: the count starts over.
      { _tag: 'Retrying', retry: 1, delayMs: 10 },
      { _tag: 'Connecting', retry: 1, lastEventId: '5' },
      { _tag: 'Connected', retry: 1, status: 200 },
    ])
    expect(server.requests.map((r) => r.headers['last-event-id'])).to.deep.equal([undefined, undefined, '5'])
  })

  it('logs an observer that throws and goes on: no payload lost, no crash', async () => {
    const server = await startServer((_req, res) => {
      openSse(res)
      res.write('data: nope\n\n')
      res.write(frame('one'))
      res.write(frame('two'))
    })
    const errors: Array<[string, unknown]> = []
    const payloads = await firstValueFrom(connectorStream({
      url: server.url, token: TOKEN,
      logger: { error: (message, context) => errors.push([message, context?.['event']]) },
      events: (event) => { throw new Error(`observer broke on ${event._tag}`) },
    }).pipe(take(2), toArray(), timeout(4000)))
    expect(payloads.map((p) => (p as SummaryPayload).summary)).to.deep.equal(['one', 'two'])
    expect(errors).to.deep.equal([
      ['connectorStream: the events observer threw', 'Connecting'],
      ['connectorStream: the events observer threw', 'Connected'],
      ['connectorStream: the events observer threw', 'FrameRejected'],
    ])
  })

  it('survives a throwing observer in a process of its own (0.1 rethrew it on a timer: exit 1)', async function () {
    this.timeout(12_000)
    // A child, without mocha's handlers, so that a rethrown error would end the process.
    const { stdout } = await runChild(10_000, `
      import http from 'node:http'
      import { connectorStream } from ${JSON.stringify(sourceModule('sse/connectorStream.ts'))}
      const server = http.createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        res.write('data: nope\\n\\n')
        res.write('data: {"type":"summary","summary":"a"}\\n\\n')
        setTimeout(() => res.write('data: {"type":"summary","summary":"b"}\\n\\n'), 50)
      })
      server.listen(0, '127.0.0.1', () => {
        const got = []
        const thrower = () => { throw new Error('boom') }
        const subscription = connectorStream({ url: 'http://127.0.0.1:' + server.address().port + '/s', token: 't', logger: {}, events: thrower, lifecycle: thrower })
          .subscribe((p) => {
            got.push(p.summary)
            if (got.length < 2) return
            subscription.unsubscribe()
            server.closeAllConnections()
            server.close(() => setTimeout(() => console.log('survived ' + got.join(',')), 20))
          })
      })
    `)
    expect(stdout.trim()).to.equal('survived a,b')
  })

  it('tells nothing after unsubscription, though the server goes on', async () => {
    const server = await startServer((_req, res) => {
      openSse(res)
      res.write(frame('one'))
      const more = setInterval(() => res.write('data: nope\n\n'), 5)
      res.on('close', () => clearInterval(more))
    })
    const events: string[] = []
    const subscription = connectorStream({ url: server.url, token: TOKEN, logger: silentLogger, events: (e) => events.push(e._tag) })
      .subscribe(() => subscription.unsubscribe())
    while (!subscription.closed) await sleep(5)
    await server.requests[0]!.closed
    await sleep(30) // refused frames kept coming until the socket closed: none may be told
    expect(events).to.deep.equal(['Connecting', 'Connected'])
  })
})
