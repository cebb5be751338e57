/**
 * EventBuffer: the reference SDK's pull-based buffer. A stream pushes into
 * it; a consumer that works on its own schedule (a cron job, an agent turn)
 * drains it. Bounded: when full, the oldest event makes room.
 */
import type { Observable, Subscription } from 'rxjs'
import type { Payload } from '../codecs.js'
import { consoleLogger, log, type Logger } from '../logger.js'

/**
 * Options of an {@link EventBuffer}.
 *
 * @typeParam T - the events buffered
 * @example
 * ```ts
 * const options: EventBufferOptions<Payload> = { maxSize: 10_000, onDrop: (event) => metrics.increment('dropped') }
 * ```
 */
export interface EventBufferOptions<T> {
  /** Most events held; a positive integer. When full, the oldest is dropped to make room. */
  readonly maxSize: number
  /**
   * Called with each event dropped to make room, oldest first. It may throw:
   * the error is logged and the buffer carries on.
   */
  readonly onDrop?: (dropped: T) => void
  /**
   * Called when an attached source errors. The events already buffered stay
   * drainable. Defaults to logging the error.
   */
  readonly onError?: (error: unknown) => void
  /** Where a throwing `onDrop` or `onError`, and source errors without `onError`, are reported; defaults to {@link consoleLogger}. */
  readonly logger?: Logger
}

/** Space reclaimed at the front of the array only past this many slots, so that shifting stays amortised O(1). */
const COMPACT_AFTER = 1024

/**
 * A bounded, pull-based buffer of events: attach it to a stream, then take
 * events out when convenient with {@link EventBuffer.drain},
 * {@link EventBuffer.drainByType} or look with {@link EventBuffer.peek}.
 * Events are kept in arrival order. At most `maxSize` are held: when full,
 * the oldest is dropped (and passed to `onDrop`) to make room, so a consumer
 * that falls behind loses the oldest events, never the newest.
 *
 * @typeParam T - the events; anything with a string `type` (default: {@link Payload})
 * @throws TypeError when `maxSize` is not a positive integer
 *
 * @example
 * ```ts
 * import { WebhookReceiver, EventBuffer } from 'autoplay-rx'
 *
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 * const buffer = new EventBuffer({ maxSize: 10_000, onDrop: (event) => console.warn('dropped', event.session_id) })
 * const subscription = buffer.attach(receiver.payloads$)
 *
 * setInterval(() => {
 *   const summaries = buffer.drainByType('summary') // SummaryPayload[]
 *   const rest = buffer.drain()                     // everything else, oldest first
 *   console.log(summaries.length, rest.length)
 * }, 10_000)
 * // later: subscription.unsubscribe()
 * ```
 */
export class EventBuffer<T extends {
  /** The event's kind, which {@link EventBuffer.drainByType} selects by. */
  readonly type: string
} = Payload> {
  /** Most events held. */
  readonly maxSize: number
  private readonly onDrop: ((dropped: T) => void) | undefined
  private readonly onError: ((error: unknown) => void) | undefined
  private readonly logger: Logger
  // Events live in items[head..]; slots before head are spent.
  private items: T[] = []
  private head = 0

  /**
   * Creates an empty buffer.
   *
   * @param options - `maxSize` (required), `onDrop`, `onError` and logger
   * @throws TypeError when `maxSize` is not a positive integer
   */
  constructor(options: EventBufferOptions<T>) {
    if (!(Number.isSafeInteger(options.maxSize) && options.maxSize > 0)) {
      throw new TypeError('autoplay-rx: EventBuffer needs maxSize, a positive integer')
    }
    this.maxSize = options.maxSize
    this.onDrop = options.onDrop
    this.onError = options.onError
    this.logger = options.logger ?? consoleLogger
  }

  /** The number of events held. */
  get size(): number {
    return this.items.length - this.head
  }

  /**
   * Subscribes the buffer to `source`: each event is {@link EventBuffer.push}ed.
   * When the source completes or errors the buffered events stay; an error
   * goes to `onError`. Several sources may be attached.
   *
   * @returns the subscription; unsubscribe to detach
   */
  attach(source: Observable<T>): Subscription {
    return source.subscribe({
      next: (event) => this.push(event),
      error: (error: unknown) => {
        if (this.onError === undefined) {
          log(this.logger, 'error', 'EventBuffer: the attached source failed; buffered events are kept', { error })
          return
        }
        try {
          this.onError(error)
        } catch (failure) {
          log(this.logger, 'error', 'EventBuffer: onError threw', { error: failure })
        }
      },
    })
  }

  /**
   * Adds one event; when that makes one too many, drops the oldest (and
   * passes it to `onDrop`).
   *
   * @param event - the event to keep
   */
  push(event: T): void {
    // Add, then drop: an onDrop that pushes again still leaves maxSize events.
    this.items.push(event)
    if (this.size > this.maxSize) this.dropOldest()
  }

  /**
   * Removes and returns events, oldest first.
   *
   * @param max - at most this many (a non-negative integer); all when omitted
   * @throws RangeError when `max` is not a non-negative integer
   */
  drain(max?: number): T[] {
    const n = max === undefined ? this.size : Math.min(checkCount(max, 'drain'), this.size)
    const out = this.items.slice(this.head, this.head + n)
    if (n === this.size) this.reset([])
    else this.advance(n)
    return out
  }

  /**
   * Removes and returns the events of one `type`, oldest first; the others
   * stay, in order.
   *
   * @param type - an event type, e.g. `'summary'`
   * @returns the matching events, narrowed to their type
   */
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

  /**
   * Returns events without removing them, oldest first.
   *
   * @param n - at most this many (a non-negative integer); all when omitted
   * @throws RangeError when `n` is not a non-negative integer
   */
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
    if (this.onDrop === undefined) return
    try {
      this.onDrop(dropped)
    } catch (error) {
      // The buffer's own state is already consistent; a broken callback must not stop intake.
      log(this.logger, 'error', 'EventBuffer: onDrop threw', { error })
    }
  }

  private advance(n: number): void {
    const items = this.items
    // Release the references at once, so drained events can be collected.
    for (let i = this.head; i < this.head + n; i++) (items as unknown[])[i] = undefined
    this.head += n
    if (this.head >= COMPACT_AFTER && this.head * 2 >= items.length) this.reset(items.slice(this.head))
  }

  private reset(items: T[]): void {
    this.items = items
    this.head = 0
  }
}

function checkCount(n: number, method: string): number {
  if (!(Number.isSafeInteger(n) && n >= 0)) {
    throw new RangeError(`autoplay-rx: EventBuffer.${method} needs a non-negative integer, got ${String(n)}`)
  }
  return n
}
