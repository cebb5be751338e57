/**
 * EventBuffer: the reference SDK's pull-based buffer. A stream pushes into it; a consumer that works on
 * its own schedule (a cron job, an agent turn) drains it. Bounded: when full, the oldest event makes room.
 */
import type { Observable, Subscription } from 'rxjs'
import type { Payload } from '../codecs.js'
import { estimatedBytes } from '../internal/estimatedBytes.js'
import { positiveInteger } from '../internal/options.js'
import { consoleLogger, errorText, log, type Logger } from '../logger.js'

interface EventBufferOptions<T> {
  /** Most events held, a positive integer; when full, the oldest is dropped to make room. */
  readonly maxSize: number
  /** Most bytes held (2 a string's character, 16 a value); default 16 MiB; past it the oldest drop, as past maxSize. */
  readonly maxBytes?: number | undefined
  /** Told each event dropped to make room, oldest first; a throw is logged. */
  readonly onDrop?: ((dropped: T) => void) | undefined
  /** Told when an attached source errors (the buffered events stay); default: logged. */
  readonly onError?: ((error: unknown) => void) | undefined
  /** Where a throwing callback, and source errors without `onError`, are logged; default `consoleLogger`. */
  readonly logger?: Logger | undefined
}

// Spent slots at the front are reclaimed only past this many, so that shifting stays amortised O(1).
const COMPACT_AFTER = 1024

/**
 * A bounded, pull-based buffer of events, in arrival order: attach it to a stream, then take events out
 * when convenient. At most `maxSize` events and `maxBytes` are held: a consumer that falls behind loses the
 * oldest events (passed to `onDrop`), never the newest. Throws a TypeError when `maxSize` is not a positive integer.
 *
 * @example
 * ```ts
 * import { WebhookReceiver, EventBuffer } from 'autoplay-rx'
 *
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 * const buffer = new EventBuffer({ maxSize: 10_000, onDrop: (event) => console.warn('dropped', event.session_id) })
 * buffer.attach(receiver.payloads$) // a Subscription: unsubscribe to detach
 * setInterval(() => {
 *   const summaries = buffer.drainByType('summary') // SummaryPayload[]
 *   const rest = buffer.drain()                     // everything else, oldest first
 *   console.log(summaries.length, rest.length)
 * }, 10_000)
 * ```
 */
export class EventBuffer<T extends {
  /** What `drainByType` selects by. */
  readonly type: string
} = Payload> {
  /** Most events held. */
  readonly maxSize: number
  /** Most bytes held, estimated. */
  readonly maxBytes: number
  private readonly onDrop: ((dropped: T) => void) | undefined
  private readonly onError: ((error: unknown) => void) | undefined
  private readonly logger: Logger
  // Events live in items[head..]; slots before head are spent.
  private items: T[] = []
  private head = 0
  private bytes = 0

  constructor(options: EventBufferOptions<T>) {
    this.maxSize = positiveInteger('maxSize', options.maxSize)
    this.maxBytes = positiveInteger('maxBytes', options.maxBytes ?? 16 * 1024 * 1024)
    this.onDrop = options.onDrop
    this.onError = options.onError
    this.logger = options.logger ?? consoleLogger
  }

  /** The number of events held. */
  get size(): number {
    return this.items.length - this.head
  }

  /** Pushes each event of `source` (several may be attached); its error goes to `onError`. Unsubscribe to detach. */
  attach(source: Observable<T>): Subscription {
    return source.subscribe({
      next: (event) => this.push(event),
      error: (error: unknown) => {
        if (this.onError !== undefined) this.tell(this.onError, error, 'onError')
        else {
          const why = `EventBuffer: the attached source failed (${errorText(error)}); buffered events are kept`
          log(this.logger, 'error', why)
        }
      },
    })
  }

  /** Adds one event; when that makes one too many, drops the oldest (and passes it to `onDrop`). */
  push(event: T): void {
    // Add, then drop: an onDrop that pushes again still leaves maxSize events. One larger than maxBytes goes too.
    this.items.push(event)
    this.bytes += estimatedBytes(event)
    while (this.size > this.maxSize || (this.bytes > this.maxBytes && this.size > 0)) this.dropOldest()
  }

  /** Removes and returns at most `max` events (a non-negative integer; all when omitted), oldest first. */
  drain(max?: number): T[] {
    const n = max === undefined ? this.size : Math.min(checkCount(max, 'drain'), this.size)
    const out = this.items.slice(this.head, this.head + n)
    if (n === this.size) this.reset([])
    else this.advance(n)
    return out
  }

  /** Removes and returns the events of one `type` (e.g. `'summary'`), oldest first; the others stay, in order. */
  drainByType<K extends T['type']>(type: K): Array<Extract<T, {
    /** The type asked for. */
    readonly type: K
  }>> {
    const taken: Array<Extract<T, { readonly type: K }>> = []
    const kept: T[] = []
    for (let i = this.head; i < this.items.length; i++) {
      const event = this.items[i]!
      if (event.type === type) taken.push(event as Extract<T, { readonly type: K }>)
      else kept.push(event)
    }
    if (taken.length > 0) this.reset(kept)
    return taken
  }

  /** Returns at most `n` events (a non-negative integer; all when omitted) without removing them, oldest first. */
  peek(n?: number): T[] {
    const count = n === undefined ? this.size : checkCount(n, 'peek')
    return this.items.slice(this.head, this.head + count)
  }

  /** Removes every event, without calling `onDrop` (clearing is not dropping). */
  clear(): void {
    this.reset([])
  }

  private dropOldest(): void {
    const dropped = this.items[this.head]!
    this.advance(1)
    if (this.onDrop !== undefined) this.tell(this.onDrop, dropped, 'onDrop')
  }

  private tell<A>(callback: (value: A) => void, value: A, name: string): void {
    try {
      callback(value)
    } catch (error) {
      // The buffer's own state is already consistent; a broken callback must not stop intake.
      log(this.logger, 'error', `EventBuffer: ${name} threw`, { error })
    }
  }

  private advance(n: number): void {
    const items = this.items
    // Release the references at once, so drained events can be collected.
    for (let i = this.head; i < this.head + n; i++) {
      this.bytes -= estimatedBytes(items[i])
      ;(items as unknown[])[i] = undefined
    }
    this.head += n
    if (this.head >= COMPACT_AFTER && this.head * 2 >= items.length) this.reset(items.slice(this.head))
  }

  private reset(items: T[]): void {
    this.items = items
    this.head = 0
    this.bytes = items.reduce((sum, event) => sum + estimatedBytes(event), 0)
  }
}

function checkCount(n: number, method: string): number {
  if (!(Number.isSafeInteger(n) && n >= 0)) {
    throw new RangeError(`autoplay-rx: EventBuffer.${method} needs a non-negative integer, got ${String(n)}`)
  }
  return n
}
