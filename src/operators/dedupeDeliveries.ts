/**
 * dedupeDeliveries: the connector re-sends a delivery after a 5xx or a timeout, so one event can arrive
 * more than once. This operator lets the first copy through and drops the repeats, with bounded memory.
 */
import {
  asyncScheduler, concatMap, EMPTY, filter, from, Observable, of, timeout, type MonoTypeOperatorFunction,
  type SchedulerLike,
} from 'rxjs'
import { estimatedBytes } from '../internal/estimatedBytes.js'
import { positiveInteger } from '../internal/options.js'
import { consoleLogger, rateLimited, type Logger } from '../logger.js'
import type { Payload } from '../codecs.js'
import { fenced, type Telemetry } from '../telemetry.js'
import { deliveryKey } from '../payloads.js'
import { isThenable } from '../thenable.js'
import type { DedupeStore } from './dedupeStore.js'
import { memoryDedupeStore, type MemoryDedupeStoreOptions } from './memoryDedupeStore.js'

interface KeyOption<T> {
  /** The identity of a delivery, equal keys being repeats; default `deliveryKey`. A throw errors the stream. */
  readonly key?: ((value: T) => string) | undefined
  /** Told each check, repeat or not (`otelTelemetry()` from `autoplay-rx/otel`); default none. */
  readonly telemetry?: Telemetry | undefined
  /** How long a store's asynchronous answer may take before the stream errors (`TimeoutError`); default 5,000 ms. */
  readonly timeoutMs?: number | undefined
  /** Most values waiting for an asynchronous store's answer; past it (or `maxQueuedBytes`), one passes unchecked. */
  readonly maxQueued?: number | undefined
  /** Most bytes of them (2 a character, 16 a value); default 16 MiB. `maxQueued` defaults to 10,000. */
  readonly maxQueuedBytes?: number | undefined
  /** Where a value passed on unchecked is said, at most once per 10 s; default `consoleLogger`. */
  readonly logger?: Logger | undefined
}

/** The bounds of the in-memory store made per subscription (see `memoryDedupeStore`). */
interface DedupeInMemoryOptions<T> extends KeyOption<T>, Omit<MemoryDedupeStoreOptions, 'now'> {
  /** The store's clock (`scheduler.now()`); default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike | undefined
  readonly store?: undefined
}

/** A store of one's own (shared across processes, say): its own bounds and clock apply. */
interface DedupeWithStoreOptions<T> extends KeyOption<T> {
  readonly store: DedupeStore
  readonly maxKeys?: undefined
  readonly maxBytes?: undefined
  readonly ttlMs?: undefined
  readonly scheduler?: undefined
}

type DedupeDeliveriesOptions<T> = DedupeInMemoryOptions<T> | DedupeWithStoreOptions<T>

/**
 * Drops repeated deliveries: a value passes the first time its key (`deliveryKey` by default) is seen,
 * and is dropped while the store remembers it. The store is a `memoryDedupeStore` per subscription
 * (`maxKeys` default 10,000, `maxBytes` 16 MiB, `ttlMs` one hour), or the `store` given, shared. Values are
 * checked one at a time, in order, even when the store answers with a promise; past `maxQueued` (10,000) or
 * `maxQueuedBytes` (16 MiB) waiting for its answer, a value passes on unchecked (ahead of them), logged. A key
 * function or store that throws, rejects or answers after `timeoutMs` errors the stream: a lost check would let
 * a duplicate through or lose an event. Throws a TypeError when `store` comes with `maxKeys`, `maxBytes`, `ttlMs`
 * or `scheduler`, or a bound is wrong.
 *
 * @example
 * ```ts
 * import { concatMap } from 'rxjs'
 * import { WebhookReceiver, dedupeDeliveries } from 'autoplay-rx'
 *
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 * receiver.actions$.pipe(
 *   dedupeDeliveries({ maxKeys: 50_000, ttlMs: 30 * 60_000 }), // or { store: redisDedupeStore(redis) }
 *   concatMap((batch) => saveToDatabase(batch)), // your database write, once per delivery
 * ).subscribe()
 * ```
 */
export function dedupeDeliveries<T>(
  options: DedupeDeliveriesOptions<T> & { readonly key: (value: T) => string },
): MonoTypeOperatorFunction<T>
// Last, so that `Parameters<typeof dedupeDeliveries>[0]` names the options of the common (payload) form.
export function dedupeDeliveries<P extends Payload>(options?: DedupeDeliveriesOptions<P>): MonoTypeOperatorFunction<P>
export function dedupeDeliveries<T>(options: DedupeDeliveriesOptions<T> = {}): MonoTypeOperatorFunction<T> {
  // Without a key the overloads admit payloads only, so here T is a Payload.
  const key = options.key ?? (deliveryKey as unknown as (value: T) => string)
  const { store: given, maxKeys, maxBytes, ttlMs } = options
  const telemetry = fenced(options.telemetry, options.logger ?? consoleLogger)
  const timeoutMs = positiveInteger('timeoutMs', options.timeoutMs ?? 5_000)
  const maxQueued = positiveInteger('maxQueued', options.maxQueued ?? 10_000)
  const maxQueuedBytes = positiveInteger('maxQueuedBytes', options.maxQueuedBytes ?? 16 * 1024 * 1024)
  if (given !== undefined && [maxKeys, maxBytes, ttlMs, options.scheduler].some((bound) => bound !== undefined)) {
    throw new TypeError('autoplay-rx: dedupeDeliveries takes either a store or maxKeys/maxBytes/ttlMs/scheduler')
  }
  const scheduler = options.scheduler ?? asyncScheduler
  const bounds: MemoryDedupeStoreOptions = { maxKeys, maxBytes, ttlMs, now: () => scheduler.now() }
  if (given === undefined) memoryDedupeStore(bounds) // checks the bounds at the call site, not at subscription
  return (source: Observable<T>) => new Observable<T>((subscriber) => {
    // Per subscription, like any operator state: two subscribers each see every delivery once.
    const store = given ?? memoryDedupeStore(bounds)
    const say = rateLimited(10_000)
    // Values queue (in concatMap) only behind an asynchronous answer, so only then are they counted: a
    // synchronous store pays nothing. `busy` may outlive the answer; a value counted then starts at once, uncounted.
    let busy = false
    let waiting = 0
    let bytes = 0
    const admit = (value: T): boolean => {
      if (!busy) return true
      const size = estimatedBytes(value)
      const fits = waiting < maxQueued && bytes + size <= maxQueuedBytes
      if (fits) (waiting++, bytes += size)
      else {
        // Never lose an event: past the bound a value goes on unchecked, a possible duplicate.
        say(options.logger ?? consoleLogger, 'warn', `dedupeDeliveries: past maxQueued (${maxQueued}) or `
          + `maxQueuedBytes (${maxQueuedBytes}) values waiting for the store: passed on unchecked (duplicates?)`)
        subscriber.next(value)
      }
      return fits
    }
    const pass = (value: T, repeat: boolean): Observable<T> => {
      if (telemetry !== undefined) telemetry.dedupe(repeat)
      return repeat ? EMPTY : of(value)
    }
    return source.pipe(filter(admit), concatMap((value) => {
      if (waiting > 0) (waiting--, bytes -= estimatedBytes(value))
      const seen = store.seen(key(value))
      busy = isThenable(seen)
      if (isThenable(seen)) return from(seen).pipe(timeout(timeoutMs), concatMap((repeat) => pass(value, repeat)))
      return pass(value, seen)
    })).subscribe(subscriber)
  })
}
