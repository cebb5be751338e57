import { expect } from 'chai'
import { range, Subject, throwError, map, of } from 'rxjs'
import type { ActionsPayload, Payload, SummaryPayload } from '../../src/codecs.js'
import type { LogContext, Logger } from '../../src/logger.js'
import { EventBuffer } from '../../src/operators/EventBuffer.js'
import { batch, summary } from '../helpers/payloads.js'
import { runChild, sourceModule } from '../sse/helpers.js'

/** A logger that keeps what it is told. */
function recordingLogger(): Logger & { lines: Array<[string, string, LogContext | undefined]> } {
  const lines: Array<[string, string, LogContext | undefined]> = []
  return {
    lines,
    error: (message, context) => lines.push(['error', message, context]),
    warn: (message, context) => lines.push(['warn', message, context]),
  }
}

const forwarded = (events: Payload[]) => events.map((p) => p.forwarded_at)

describe('EventBuffer', () => {
  it('buffers an attached stream and drains it oldest first', () => {
    const source = new Subject<Payload>()
    const buffer = new EventBuffer({ maxSize: 10 })
    buffer.attach(source)
    source.next(batch('s1', 1))
    source.next(summary('s1', 2))
    source.next(batch('s2', 3))
    expect(buffer.size).to.equal(3)
    expect(forwarded(buffer.drain())).to.deep.equal([1, 2, 3])
    expect(buffer.size).to.equal(0)
    expect(buffer.drain()).to.deep.equal([])
  })

  it('drains at most max events when asked', () => {
    const buffer = new EventBuffer({ maxSize: 10 })
    for (let i = 1; i <= 4; i++) buffer.push(batch('s1', i))
    expect(forwarded(buffer.drain(3))).to.deep.equal([1, 2, 3])
    expect(forwarded(buffer.drain(3))).to.deep.equal([4])
    expect(buffer.drain(0)).to.deep.equal([])
  })

  it('peeks without removing', () => {
    const buffer = new EventBuffer({ maxSize: 10 })
    for (let i = 1; i <= 3; i++) buffer.push(batch('s1', i))
    expect(forwarded(buffer.peek(2))).to.deep.equal([1, 2])
    expect(forwarded(buffer.peek(5))).to.deep.equal([1, 2, 3])
    expect(forwarded(buffer.peek())).to.deep.equal([1, 2, 3])
    expect(buffer.size).to.equal(3)
  })

  it('drains one type, keeping the others in order', () => {
    const buffer = new EventBuffer({ maxSize: 10 })
    buffer.push(batch('s1', 1))
    buffer.push(summary('s1', 2))
    buffer.push(batch('s2', 3))
    buffer.push(summary('s2', 4))
    const summaries: SummaryPayload[] = buffer.drainByType('summary')
    expect(summaries.map((s) => s.session_id)).to.deep.equal(['s1', 's2'])
    expect(forwarded(buffer.peek())).to.deep.equal([1, 3])
    expect(buffer.drainByType('summary')).to.deep.equal([])
    expect(forwarded(buffer.drainByType('actions'))).to.deep.equal([1, 3])
    expect(buffer.size).to.equal(0)
  })

  it('drops the oldest when full and passes each dropped event to onDrop', () => {
    const dropped: number[] = []
    const buffer = new EventBuffer({ maxSize: 2, onDrop: (event) => dropped.push(event.forwarded_at) })
    for (let i = 1; i <= 5; i++) buffer.push(batch('s1', i))
    expect(dropped).to.deep.equal([1, 2, 3])
    expect(forwarded(buffer.drain())).to.deep.equal([4, 5])
  })

  it('keeps working when onDrop throws, and logs the error', () => {
    const logger = recordingLogger()
    const failure = new Error('metrics down')
    const buffer = new EventBuffer({ maxSize: 1, logger, onDrop: () => { throw failure } })
    const source = new Subject<Payload>()
    const subscription = buffer.attach(source)
    source.next(batch('s1', 1))
    source.next(batch('s1', 2))
    source.next(batch('s1', 3))
    expect(subscription.closed).to.equal(false)
    expect(forwarded(buffer.drain())).to.deep.equal([3])
    expect(logger.lines).to.deep.equal([
      ['error', 'EventBuffer: onDrop threw', { error: failure }],
      ['error', 'EventBuffer: onDrop threw', { error: failure }],
    ])
  })

  it('stays within maxSize when onDrop pushes again', () => {
    const buffer: EventBuffer = new EventBuffer({
      maxSize: 2,
      onDrop: (event) => { if (event.forwarded_at === 1) buffer.push(summary('s1', 99)) },
    })
    for (let i = 1; i <= 3; i++) buffer.push(batch('s1', i))
    expect(buffer.size).to.equal(2)
    expect(forwarded(buffer.drain())).to.deep.equal([3, 99]) // 3 arrived first: it was in before 1 was dropped
  })

  it('keeps buffered events when the source completes or errors, and reports the error', () => {
    const errors: unknown[] = []
    const failure = new Error('stream closed')
    const buffer = new EventBuffer({ maxSize: 10, onError: (error) => errors.push(error) })
    buffer.attach(of(batch('s1', 1)))
    buffer.attach(throwError(() => failure))
    expect(errors).to.deep.equal([failure])
    expect(forwarded(buffer.drain())).to.deep.equal([1])
  })

  it('logs a source error when there is no onError', () => {
    const logger = recordingLogger()
    const failure = new Error('stream closed')
    new EventBuffer({ maxSize: 10, logger }).attach(throwError(() => failure))
    expect(logger.lines).to.deep.equal([['error', `EventBuffer: the attached source failed (${failure.message}); buffered events are kept`, undefined]])
  })

  it('stops buffering once detached', () => {
    const source = new Subject<Payload>()
    const buffer = new EventBuffer({ maxSize: 10 })
    const subscription = buffer.attach(source)
    source.next(batch('s1', 1))
    subscription.unsubscribe()
    source.next(batch('s1', 2))
    expect(forwarded(buffer.drain())).to.deep.equal([1])
    expect(source.observed).to.equal(false)
  })

  it('clears without calling onDrop', () => {
    const dropped: Payload[] = []
    const buffer = new EventBuffer({ maxSize: 10, onDrop: (event) => dropped.push(event) })
    buffer.push(batch('s1', 1))
    buffer.clear()
    expect(buffer.size).to.equal(0)
    expect(dropped).to.deep.equal([])
  })

  it('holds any event with a string type', () => {
    const buffer = new EventBuffer<{ type: 'a' | 'b'; n: number }>({ maxSize: 3 })
    buffer.push({ type: 'a', n: 1 })
    buffer.push({ type: 'b', n: 2 })
    expect(buffer.drainByType('b')).to.deep.equal([{ type: 'b', n: 2 }])
  })

  it('refuses a maxSize or count that cannot be right', () => {
    expect(() => new EventBuffer({ maxSize: 0 })).to.throw(TypeError, 'maxSize')
    expect(() => new EventBuffer({ maxSize: Number.POSITIVE_INFINITY })).to.throw(TypeError, 'maxSize')
    const buffer = new EventBuffer({ maxSize: 1 })
    expect(() => buffer.peek(-1)).to.throw(RangeError, 'EventBuffer.peek needs a non-negative integer, got -1')
    expect(() => buffer.drain(1.5)).to.throw(RangeError, 'EventBuffer.drain needs a non-negative integer, got 1.5')
  })

  describe('memory', function () {
    // A million items is a count, not a time limit: on a loaded machine it can take longer than mocha's default.
    this.timeout(120_000)
    it('holds at most maxSize while 1,000,000 events go through, keeping the newest', () => {
      let dropped = 0
      let largest = 0
      const buffer: EventBuffer = new EventBuffer({
        maxSize: 1_000,
        onDrop: () => {
          dropped++
          largest = Math.max(largest, buffer.size)
        },
      })
      buffer.attach(range(0, 1_000_000).pipe(map((i) => batch('s1', i))))
      expect(buffer.size).to.equal(1_000)
      expect(dropped).to.equal(999_000)
      const kept = forwarded(buffer.drain())
      expect(kept.length).to.equal(1_000)
      expect(kept[0]).to.equal(999_000)
      expect(kept[999]).to.equal(999_999)
      expect(largest).to.equal(1_000)
    })

    it('holds 16 MiB of events by default (maxBytes): 200 summaries of 1 MiB with maxSize 10,000 live in a 96 MiB heap, the oldest to onDrop', async function () {
      this.timeout(20_000)
      const { stdout } = await runChild(18_000, `
        import { EventBuffer } from ${JSON.stringify(sourceModule('operators/EventBuffer.ts'))}
        let dropped = 0
        const buffer = new EventBuffer({ maxSize: 10_000, onDrop: () => dropped++ })
        const text = 'x'.repeat(1024 * 1024)
        for (let i = 0; i < 200; i++) buffer.push({ type: 'summary', session_id: 's' + i, summary: JSON.stringify([i, text]) })
        console.log(JSON.stringify([buffer.size, dropped, buffer.drain().at(-1).session_id]))
      `, ['--max-old-space-size=96'])
      // 2 a character: a 1 MiB summary counts 2 MiB, so 7 of them fit in 16 MiB.
      expect(JSON.parse(stdout)).to.deep.equal([7, 193, 's199'])
    })

    it('maxBytes drops the oldest events, and an event larger than it alone, to onDrop; drains give the bytes back', () => {
      const dropped: string[] = []
      // 16 an object, 16 + 2 a character a string: 380 estimated bytes for 150 characters.
      const big = (id: string, n: number) => ({ type: 'summary', session_id: id, summary: 'x'.repeat(n) })
      const buffer = new EventBuffer<ReturnType<typeof big>>({ maxSize: 100, maxBytes: 1_000, onDrop: (e) => dropped.push(e.session_id) })
      for (const id of ['a', 'b', 'c']) buffer.push(big(id, 150))
      expect(dropped).to.deep.equal(['a'])
      buffer.drain(1)
      buffer.push(big('d', 150))
      expect(dropped).to.deep.equal(['a'])
      buffer.push(big('e', 600))
      expect(dropped).to.deep.equal(['a', 'c', 'd', 'e'])
      expect(() => new EventBuffer({ maxSize: 1, maxBytes: 0 })).to.throw(TypeError, 'maxBytes')
    })
  })
})
