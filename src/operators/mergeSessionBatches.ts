/**
 * mergeSessionBatches: the connector sends a session's actions in small
 * batches; consumers that embed or summarise want fewer, larger ones. This
 * operator holds each session's batches for a window and emits them merged.
 */
import { asyncScheduler, Observable, type SchedulerLike, type Subscription } from 'rxjs'
import type { ActionsPayload, Payload } from '../codecs.js'
import { mergeActions, sessionKey, type SessionKey } from '../payloads.js'
import { positiveInteger } from '../internal/options.js'

/**
 * Options of {@link mergeSessionBatches}.
 *
 * @example
 * ```ts
 * mergeSessionBatches({ windowMs: 5_000, maxActions: 200 } satisfies MergeSessionBatchesOptions)
 * ```
 */
export interface MergeSessionBatchesOptions {
  /** How long a session's window stays open, in milliseconds from its first batch; a finite number ≥ 0. */
  readonly windowMs: number
  /**
   * Most actions in one merged payload: a window is flushed as soon as it
   * holds this many, and before a batch that would take it past this many.
   * A single batch larger than this is emitted on its own, never split.
   * Default: no cap.
   */
  readonly maxActions?: number
  /** Schedules the window timers; defaults to `asyncScheduler`. */
  readonly scheduler?: SchedulerLike
}

/** One session's open window. */
interface Window {
  readonly batches: [ActionsPayload, ...ActionsPayload[]]
  actionCount: number
  timer: Subscription | undefined
}

/**
 * Merges, per session, the actions batches that arrive within `options.windowMs` of
 * the first one into a single payload with {@link mergeActions} (actions
 * concatenated and re-indexed from 0, identities from the first non-null,
 * the latest `forwarded_at`), emitted when the window closes. A window opens
 * at a session's first batch and closes `windowMs` later, however busy the
 * session (a fixed window, not a debounce, so latency stays bounded); the
 * session's next batch opens a new one. Every actions payload emitted is
 * the output of `mergeActions`, a lone batch included, so action indexes
 * are always positions within the payload.
 *
 * Anything but an actions batch (summaries) passes through at once, so it
 * can overtake batches of its session still held in a window.
 *
 * Nothing is lost: when the source completes, open windows are flushed (in
 * the order they opened) before the completion; when the source errors, they
 * are flushed too, then the error is forwarded. Unlike `bufferTime`, which
 * drops its buffers on error: these batches were delivered and acknowledged,
 * and the connector will not send them again after a reconnect.
 * Unsubscribing clears every window timer and discards open windows.
 *
 * Memory: one open window per session that sent a batch within the last
 * `windowMs`, each holding at most its batches (bounded by `maxActions`).
 *
 * @param options - `windowMs` (how long a window stays open, a finite number
 *   ≥ 0), an optional `maxActions` cap and scheduler
 * @returns an operator emitting merged batches and everything else unchanged
 * @throws TypeError when `windowMs` is not a finite number ≥ 0 or
 *   `maxActions` not a positive integer
 *
 * @example
 * ```ts
 * import { WebhookReceiver, mergeSessionBatches, toText } from 'autoplay-rx'
 *
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 * // At most one payload per session every 5 s, with at most 200 actions each.
 * receiver.actions$.pipe(
 *   mergeSessionBatches({ windowMs: 5_000, maxActions: 200 }),
 * ).subscribe((batch) => console.log(toText(batch)))
 * ```
 */
export function mergeSessionBatches(options: MergeSessionBatchesOptions):
  <P extends Payload>(source: Observable<P>) => Observable<P | ActionsPayload> {
  const { windowMs, maxActions = Infinity, scheduler = asyncScheduler } = options
  if (!(typeof windowMs === 'number' && Number.isFinite(windowMs) && windowMs >= 0)) {
    throw new TypeError('autoplay-rx: mergeSessionBatches needs { windowMs }, a finite number >= 0')
  }
  if (maxActions !== Infinity) positiveInteger('maxActions', maxActions)
  return <P extends Payload>(source: Observable<P>) => new Observable<P | ActionsPayload>((subscriber) => {
    // Insertion order is opening order: completion flushes in that order.
    const windows = new Map<SessionKey, Window>()

    const flush = (key: SessionKey, window: Window): void => {
      // Forget the window before emitting: a consumer that synchronously
      // feeds the source again must find a fresh window.
      if (windows.get(key) === window) windows.delete(key)
      window.timer?.unsubscribe()
      subscriber.next(mergeActions(window.batches))
    }

    const flushAll = (): void => {
      for (const [key, window] of [...windows]) flush(key, window)
    }

    const add = (batch: ActionsPayload): void => {
      const key = sessionKey(batch)
      const open = windows.get(key)
      const count = batch.actions.length
      if (open !== undefined && open.actionCount + count <= maxActions) {
        open.batches.push(batch)
        open.actionCount += count
        if (open.actionCount >= maxActions) flush(key, open)
        return
      }
      if (open !== undefined) {
        // The cap would be passed: close the current window first, then start
        // over (a consumer may have re-entered and opened a window meanwhile).
        flush(key, open)
        add(batch)
        return
      }
      const window: Window = { batches: [batch], actionCount: count, timer: undefined }
      if (count >= maxActions) {
        subscriber.next(mergeActions(window.batches))
        return
      }
      windows.set(key, window)
      window.timer = scheduler.schedule(() => flush(key, window), windowMs)
    }

    const subscription = source.subscribe({
      next: (payload) => {
        if (payload.type === 'actions') add(payload)
        else subscriber.next(payload)
      },
      error: (error: unknown) => {
        flushAll()
        subscriber.error(error)
      },
      complete: () => {
        flushAll()
        subscriber.complete()
      },
    })

    return () => {
      subscription.unsubscribe()
      for (const window of windows.values()) window.timer?.unsubscribe()
      windows.clear()
    }
  })
}
