/**
 * dedupeDeliveries: the connector re-sends a delivery after a 5xx or a
 * timeout, so the same event can arrive more than once. This operator lets
 * the first copy through and drops the repeats, with bounded memory.
 */
import { asyncScheduler, concatMap, defer, EMPTY, from, of, type MonoTypeOperatorFunction, type Observable, type SchedulerLike } from 'rxjs'
import type { Payload } from '../codecs.js'
import type { Telemetry } from '../telemetry.js'
import { deliveryKey } from '../payloads.js'
import { isThenable } from '../thenable.js'
import type { DedupeStore } from './dedupeStore.js'
import { memoryDedupeStore } from './memoryDedupeStore.js'

/** Options shared by every form of {@link dedupeDeliveries}. */
interface KeyOption<T> {
  /**
   * The identity of a delivery: equal keys are repeats. Defaults to
   * {@link deliveryKey}. A key function that throws errors the stream.
   */
  readonly key?: (value: T) => string
  /** Counts each check, hit (a repeat, dropped) or not (`otelTelemetry()` from `autoplay-rx/otel`). Default: none. */
  readonly telemetry?: Telemetry
}

/**
 * {@link dedupeDeliveries} with the default in-memory store.
 *
 * @typeParam T - the values deduplicated
 * @example
 * ```ts
 * dedupeDeliveries({ maxKeys: 50_000, ttlMs: 30 * 60_000 })
 * ```
 */
export interface DedupeInMemoryOptions<T> extends KeyOption<T> {
  /** Most keys remembered (least recently seen forgotten first). Default 10,000. */
  readonly maxKeys?: number
  /** How long a key is remembered after first seen, in milliseconds. Default one hour. */
  readonly ttlMs?: number
  /** The clock of the store (`scheduler.now()`); defaults to `asyncScheduler`. */
  readonly scheduler?: SchedulerLike
  /** Not with these options: give either a store or its bounds. */
  readonly store?: undefined
}

/**
 * {@link dedupeDeliveries} with a store of one's own (shared across processes, say).
 *
 * @typeParam T - the values deduplicated
 * @example
 * ```ts
 * dedupeDeliveries({ store: redisDedupeStore(redis) }) // redisDedupeStore from 'autoplay-rx/redis'
 * ```
 */
export interface DedupeWithStoreOptions<T> extends KeyOption<T> {
  /** Where keys are remembered; its own bounds apply. */
  readonly store: DedupeStore
  /** Not with a store: the store's own bounds apply. */
  readonly maxKeys?: undefined
  /** Not with a store: the store's own bounds apply. */
  readonly ttlMs?: undefined
  /** Not with a store: the store keeps its own clock. */
  readonly scheduler?: undefined
}

/**
 * Options of {@link dedupeDeliveries}: an in-memory store's bounds, or a
 * store (never both: the type and a `TypeError` both refuse it).
 *
 * @typeParam T - the values deduplicated
 * @example
 * ```ts
 * const options: DedupeDeliveriesOptions<ActionsPayload> = { ttlMs: 10 * 60_000 }
 * ```
 */
export type DedupeDeliveriesOptions<T> = DedupeInMemoryOptions<T> | DedupeWithStoreOptions<T>

/**
 * Drops repeated deliveries: a value passes the first time its key is seen
 * and is dropped while the store remembers that key.
 *
 * By default keys are {@link deliveryKey} and are remembered in a
 * {@link memoryDedupeStore} bounded by `maxKeys` (least recently seen
 * forgotten first, default 10,000) and `ttlMs` (default one hour), created
 * per subscription. Pass `store` to share keys between processes or
 * subscriptions; see {@link DedupeStore} for the contract it must keep.
 *
 * Order is preserved: values are checked one at a time, each after the
 * previous one's check settled, even when the store answers asynchronously
 * (so with a remote store, its latency bounds the throughput).
 *
 * Errors: a key function or store that throws, or a store whose promise
 * rejects, errors the stream with that error (a dropped check would let a
 * duplicate through or lose an event, and neither may pass silently). A
 * source error is forwarded at once; a check still pending is abandoned.
 * Unsubscribing abandons a pending check too: its answer is ignored.
 *
 * @param options - a key function, and either the in-memory store's bounds or a store
 * @returns an operator that lets each distinct delivery through once
 * @throws TypeError when `store` is combined with `maxKeys`, `ttlMs` or
 *   `scheduler`, or when a bound is invalid (see {@link memoryDedupeStore})
 *
 * @example
 * ```ts
 * import { concatMap } from 'rxjs'
 * import { WebhookReceiver, dedupeDeliveries, type ActionsPayload } from 'autoplay-rx'
 *
 * async function saveToDatabase(batch: ActionsPayload): Promise<void> {
 *   console.log('INSERT', batch.session_id, batch.count) // your database write
 * }
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 * receiver.actions$.pipe(
 *   dedupeDeliveries({ maxKeys: 50_000, ttlMs: 30 * 60_000 }),
 *   concatMap((batch) => saveToDatabase(batch)),
 * ).subscribe()
 * ```
 */
export function dedupeDeliveries<P extends Payload>(options?: DedupeDeliveriesOptions<P>): MonoTypeOperatorFunction<P>
export function dedupeDeliveries<T>(options: DedupeDeliveriesOptions<T> & { readonly key: (value: T) => string }): MonoTypeOperatorFunction<T>
export function dedupeDeliveries<T>(options: DedupeDeliveriesOptions<T> = {}): MonoTypeOperatorFunction<T> {
  // Without a key the overloads admit payloads only, so here T is a Payload.
  const key = options.key ?? (deliveryKey as unknown as (value: T) => string)
  const given = options.store
  const telemetry = options.telemetry
  if (given !== undefined && (options.maxKeys !== undefined || options.ttlMs !== undefined || options.scheduler !== undefined)) {
    throw new TypeError('autoplay-rx: dedupeDeliveries takes either a store or maxKeys/ttlMs/scheduler, not both')
  }
  let makeStore: () => DedupeStore
  if (given !== undefined) {
    makeStore = () => given
  } else {
    const scheduler = options.scheduler ?? asyncScheduler
    const storeOptions = { maxKeys: options.maxKeys, ttlMs: options.ttlMs, now: () => scheduler.now() }
    memoryDedupeStore(storeOptions) // validates the bounds now, at the call site, rather than at subscription
    makeStore = () => memoryDedupeStore(storeOptions)
  }
  return (source: Observable<T>) => defer(() => {
    // Per subscription, like any operator state: two subscribers of one
    // pipeline each see every delivery once (a given store is shared, by design).
    const store = makeStore()
    const pass = (value: T, repeat: boolean): Observable<T> => {
      if (telemetry !== undefined) telemetry.dedupe(repeat)
      return repeat ? EMPTY : of(value)
    }
    return source.pipe(concatMap((value) => {
      const seen = store.seen(key(value))
      if (isThenable(seen)) return from(seen).pipe(concatMap((repeat) => pass(value, repeat)))
      return pass(value, seen)
    }))
  })
}
