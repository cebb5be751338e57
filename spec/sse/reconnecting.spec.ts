/**
 * The reconnection policy in virtual time: each connection is a cold marble
 * Observable of signals, so that backoff, connect timeout, stall and the
 * reset of the backoff are asserted to the millisecond, with no wall clock.
 */
import { expect } from 'chai'
import type { Observable } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import type { SummaryPayload } from '../../src/codecs.js'
import { silentLogger } from '../../src/logger.js'
import { reconnecting } from '../../src/sse/connectorStream.js'
import { Ended, type Signal } from '../../src/sse/fetch.js'
import { disconnectReason, type ConnectorStreamEvent } from '../../src/sse/lifecycle.js'
import { resolveOptions, type ConnectorStreamOptions } from '../../src/sse/options.js'
import { summaryJson } from './helpers.js'

type Helpers = Parameters<Parameters<TestScheduler['run']>[0]>[0]

const open: Signal = { _tag: 'Open', status: 200 }
const payload = (text: string, id?: string): Signal => ({ _tag: 'Frames', messages: [{ data: summaryJson(text), id, event: undefined }] })
const comment: Signal = { _tag: 'Frames', messages: [] }
const alive = { _tag: 'Alive' } as unknown as Signal
const refused = new Ended(disconnectReason.httpStatus(503, false))
const dropped = new Ended(disconnectReason.streamEnded())

function line(event: ConnectorStreamEvent): string {
  switch (event._tag) {
    case 'Connecting': return `Connecting ${event.retry}${event.lastEventId === null ? '' : ` after ${event.lastEventId}`}`
    case 'Connected': return `Connected ${event.retry}`
    case 'Disconnected': return `Disconnected ${event.reason._tag}`
    case 'Retrying': return `Retrying ${event.retry} in ${event.delayMs}`
    case 'FrameRejected': return `FrameRejected ${event.error._tag}`
  }
}

/**
 * Runs the policy in virtual time: `connections(helpers, n)` gives the n-th
 * connection (0-based). Returns every event, payload and error, each with
 * its virtual time, and what each connection was asked for.
 */
function play(
  options: Partial<ConnectorStreamOptions>,
  connections: (helpers: Helpers, n: number, onRetry: (ms: number) => void) => Observable<Signal>,
  stopAt = 10_000,
): { log: string[]; asked: Array<string | null> } {
  const scheduler = new TestScheduler((actual, expected) => { expect(actual).to.deep.equal(expected) })
  const log: string[] = []
  const asked: Array<string | null> = []
  scheduler.run((helpers) => {
    const at = () => `${scheduler.now()}:`
    const config = resolveOptions({
      url: 'http://connector.test/stream/p', token: 't', fetch: async () => { throw new Error('not used') },
      initialBackoffMs: 100, minBackoffMs: 10, maxBackoffMs: 400, random: () => 0, logger: silentLogger, scheduler,
      events: (event) => log.push(`${at()} ${line(event)}`),
      ...options,
    })
    const subscription = reconnecting(config, (lastEventId, onRetry) => {
      asked.push(lastEventId)
      return connections(helpers, asked.length - 1, onRetry)
    }).subscribe({
      next: (p) => log.push(`${at()} payload ${(p as SummaryPayload).summary}`),
      error: (e: { _tag?: string; message: string }) => log.push(`${at()} error ${e._tag ?? ''} ${e.message}`),
    })
    scheduler.schedule(() => subscription.unsubscribe(), stopAt)
  })
  return { log, asked }
}

describe('sse/reconnecting (virtual time)', () => {
  it('backs off 100, 200, 400, 400 ms (doubling to the cap), then gives up after maxRetries', () => {
    const { log } = play({ maxRetries: 4 }, ({ cold }) => cold('#', undefined, refused))
    expect(log).to.deep.equal([
      '0: Connecting 0', '0: Disconnected HttpStatus', '0: Retrying 1 in 100',
      '100: Connecting 1', '100: Disconnected HttpStatus', '100: Retrying 2 in 200',
      '300: Connecting 2', '300: Disconnected HttpStatus', '300: Retrying 3 in 400',
      '700: Connecting 3', '700: Disconnected HttpStatus', '700: Retrying 4 in 400',
      '1100: Connecting 4', '1100: Disconnected HttpStatus',
      '1100: error RetriesExhausted SSE stream http://connector.test/stream/p: gave up after 4 retries; last: The server answered HTTP 503',
    ])
  })

  it('adds the jitter drawn from random, and raises a server\'s retry: 0 to the floor', () => {
    const { log } = play({ maxRetries: 2, random: () => 0.5 }, ({ cold }, _n, onRetry) => {
      onRetry(0)
      return cold('#', undefined, refused)
    })
    expect(log.filter((l) => l.includes('Retrying'))).to.deep.equal(['0: Retrying 1 in 11', '11: Retrying 2 in 21'])
  })

  it('drops a connection without headers after connectTimeoutMs, as a ConnectTimeout', () => {
    const { log } = play({ connectTimeoutMs: 50, maxRetries: 1 }, ({ cold }) => cold('-'))
    expect(log).to.deep.equal([
      '0: Connecting 0', '50: Disconnected ConnectTimeout', '50: Retrying 1 in 100',
      '150: Connecting 1', '200: Disconnected ConnectTimeout',
      '200: error RetriesExhausted SSE stream http://connector.test/stream/p: gave up after 1 retry; last: No response within 50 ms',
    ])
  })

  it('counts stallTimeoutMs from the last complete frame or comment, and reports a Stalled drop', () => {
    const { log } = play({ stallTimeoutMs: 50, maxRetries: 0 }, ({ cold }) =>
      cold('a 39ms b 39ms c 79ms d', { a: open, b: payload('one'), c: comment, d: payload('late') }))
    expect(log).to.deep.equal([
      '0: Connecting 0', '0: Connected 0', '40: payload one', '130: Disconnected Stalled',
      '130: error RetriesExhausted SSE stream http://connector.test/stream/p: gave up after 0 retries; last: No complete line, not even a heartbeat, for 50 ms',
    ])
  })

  it('counts any complete line (an Alive signal) as life for the stall clock, and says nothing of it', () => {
    const { log } = play({ stallTimeoutMs: 50, maxRetries: 0 }, ({ cold }) =>
      cold('a 39ms h 39ms h 39ms b 89ms d', { a: open, h: alive, b: payload('one'), d: payload('late') }))
    expect(log).to.deep.equal([
      '0: Connecting 0', '0: Connected 0', '120: payload one', '170: Disconnected Stalled',
      '170: error RetriesExhausted SSE stream http://connector.test/stream/p: gave up after 0 retries; last: No complete line, not even a heartbeat, for 50 ms',
    ])
  })

  it('does not reset the backoff for Alive signals alone', () => {
    const { log } = play({ resetBackoffAfterMs: Infinity }, ({ cold }, n) =>
      n === 0 ? cold('a 9ms h 9ms #', { a: open, h: alive }, dropped) : cold('#', undefined, refused), 150)
    expect(log).to.deep.equal([
      '0: Connecting 0', '0: Connected 0', '20: Disconnected StreamEnded', '20: Retrying 1 in 100',
      '120: Connecting 1', '120: Disconnected HttpStatus', '120: Retrying 2 in 200',
    ])
  })

  it('resets the backoff after a payload, and resends the last id', () => {
    const { log, asked } = play({ resetBackoffAfterMs: Infinity }, ({ cold }, n) =>
      n < 2 ? cold('#', undefined, refused)
        : n === 2 ? cold('a 9ms b 9ms #', { a: open, b: payload('ok', '7') }, dropped)
          : cold('#', undefined, refused), 700)
    expect(log).to.deep.equal([
      '0: Connecting 0', '0: Disconnected HttpStatus', '0: Retrying 1 in 100',
      '100: Connecting 1', '100: Disconnected HttpStatus', '100: Retrying 2 in 200',
      '300: Connecting 2', '300: Connected 2', '310: payload ok', '320: Disconnected StreamEnded', '320: Retrying 1 in 100',
      '420: Connecting 1 after 7', '420: Disconnected HttpStatus', '420: Retrying 2 in 200',
      '620: Connecting 2 after 7', '620: Disconnected HttpStatus', '620: Retrying 3 in 400',
    ])
    expect(asked).to.deep.equal([null, null, null, '7', '7'])
  })

  it('resets the backoff after a connection stayed up resetBackoffAfterMs without a payload, not before', () => {
    // Connection 1 is up 49 ms (not stable), connection 2 is up 60 ms (stable at 50).
    const { log } = play({ resetBackoffAfterMs: 50 }, ({ cold }, n) =>
      n === 0 ? cold('a 48ms #', { a: open }, dropped)
        : n === 1 ? cold('a 59ms #', { a: open }, dropped)
          : cold('#', undefined, refused), 500)
    expect(log).to.deep.equal([
      '0: Connecting 0', '0: Connected 0', '49: Disconnected StreamEnded', '49: Retrying 1 in 100',
      '149: Connecting 1', '149: Connected 1', '209: Disconnected StreamEnded', '209: Retrying 1 in 100',
      '309: Connecting 1', '309: Disconnected HttpStatus', '309: Retrying 2 in 200',
    ])
  })

  it('errors at once on a fatal status, never retrying, with its body and what to check', () => {
    const fatal = new Ended(disconnectReason.httpStatus(401, true, 'bad token'), 'bad token')
    const { log, asked } = play({}, ({ cold }) => cold('a 20ms #', { a: alive }, fatal))
    expect(log).to.deep.equal([
      '0: Connecting 0', '21: Disconnected HttpStatus',
      '21: error FatalStatus SSE stream http://connector.test/stream/p refused with HTTP 401; not retried: ' +
      'check the token (missing, mistyped, expired or revoked); it said "bad token"',
    ])
    expect(asked).to.have.length(1)
  })

  it('says nothing after unsubscription, and opens no connection after it', () => {
    const { log, asked } = play({}, ({ cold }) => cold('#', undefined, refused), 250)
    expect(log.at(-1)).to.equal('100: Retrying 2 in 200')
    expect(asked).to.have.length(2)
  })

  it('rate-limits its own failure log on the stream clock when no events observer is given', () => {
    // Retries at 0, 10 s, 30 s, 50 s of virtual time: the 30 s line reports the one failure it stood for.
    const lines: string[] = []
    play({ events: undefined, initialBackoffMs: 10_000, maxBackoffMs: 20_000, logger: { warn: (message) => lines.push(message) } },
      ({ cold }) => cold('#', undefined, refused), 55_000)
    expect(lines.map((l) => l.replace(/^.*?; /, ''))).to.deep.equal([
      'retry 1 in 10000 ms (pass an events observer to see every attempt, maxRetries to give up; further failures are logged at most every 30 s)',
      'retry 3 in 20000 ms (1 more failure since the last report)',
    ])
  })
})
