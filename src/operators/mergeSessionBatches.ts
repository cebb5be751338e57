/**
 * mergeSessionBatches: the connector sends a session's actions in small batches; consumers that embed
 * or summarise want fewer, larger ones, so each session's batches are held for a window and merged.
 */
import { asyncScheduler, Observable, type SchedulerLike, type Subscription } from 'rxjs'
import type { ActionsPayload, Payload } from '../codecs.js'
import { mergeActions, sessionKey, type SessionKey } from '../payloads.js'
import { estimatedBytes } from '../internal/estimatedBytes.js'
import { positiveInteger } from '../internal/options.js'

interface MergeSessionBatchesOptions {
  /** How long a session's window stays open, in ms from its first batch; finite, ≥ 0. */
  readonly windowMs: number
  /** Most actions in one merged payload (a larger single batch goes alone, unsplit); default no cap. */
  readonly maxActions?: number | undefined
  /** Most windows open; a new session flushes the oldest window first. Default 10,000. */
  readonly maxSessions?: number | undefined
  /** Most bytes held in all windows (estimated from the batches' strings), oldest flushed first; default 16 MiB. */
  readonly maxBytes?: number | undefined
  /** Schedules the window timers; default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike | undefined
}

/** One session's open window. */
interface Window {
  readonly batches: [ActionsPayload, ...ActionsPayload[]]
  actionCount: number
  bytes: number
  timer: Subscription | undefined
}

/**
 * Merges, per session, the actions batches that arrive within `windowMs` of the first into one payload
 * with `mergeActions` (actions re-indexed from 0), emitted when the window closes: a fixed window, not a
 * debounce, so latency stays bounded. A window is flushed early once it holds `maxActions`, or before a
 * batch would take it past; the oldest windows are, before a batch would pass `maxSessions` or `maxBytes`.
 * Other payloads (summaries) pass at once. Nothing is lost: open windows are flushed, in opening order,
 * before the source's completion or error (these batches were acknowledged and will not be sent again).
 * Unsubscribing discards open windows.
 *
 * @example
 * ```ts
 * import { WebhookReceiver, mergeSessionBatches, toText } from 'autoplay-rx'
 *
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 * receiver.actions$.pipe(
 *   mergeSessionBatches({ windowMs: 5_000, maxActions: 200 }), // at most one payload per session every 5 s
 * ).subscribe((batch) => console.log(toText(batch)))
 * ```
 */
export function mergeSessionBatches(options: MergeSessionBatchesOptions):
  <P extends Payload>(source: Observable<P>) => Observable<P | ActionsPayload> {
  const { windowMs, maxActions = Infinity, scheduler = asyncScheduler } = options
  const maxSessions = positiveInteger('maxSessions', options.maxSessions ?? 10_000)
  const maxBytes = positiveInteger('maxBytes', options.maxBytes ?? 16 * 1024 * 1024)
  if (!(typeof windowMs === 'number' && Number.isFinite(windowMs) && windowMs >= 0)) {
    throw new TypeError('autoplay-rx: mergeSessionBatches needs { windowMs }, a finite number >= 0')
  }
  if (maxActions !== Infinity) positiveInteger('maxActions', maxActions)
  return <P extends Payload>(source: Observable<P>) => new Observable<P | ActionsPayload>((subscriber) => {
    // Insertion order is opening order: completion flushes in that order.
    const windows = new Map<SessionKey, Window>()
    let held = 0

    const flush = (key: SessionKey, window: Window): void => {
      // Forget the window before emitting: a consumer that feeds the source again must find a fresh one.
      if (windows.get(key) === window) windows.delete(key)
      held -= window.bytes
      window.timer?.unsubscribe()
      subscriber.next(mergeActions(window.batches))
    }

    const flushAll = (): void => {
      for (const [key, window] of [...windows]) flush(key, window)
    }

    const add = (batch: ActionsPayload): void => {
      const key = sessionKey(batch)
      const bytes = estimatedBytes(batch)
      // Room first, the oldest windows flushed early (nothing is lost): within maxSessions and maxBytes.
      for (const [oldest, window] of windows) {
        if (held + bytes <= maxBytes && (windows.size < maxSessions || windows.has(key))) break
        flush(oldest, window)
      }
      const open = windows.get(key)
      const count = batch.actions.length
      if (open !== undefined && open.actionCount + count <= maxActions) {
        open.batches.push(batch)
        open.actionCount += count
        open.bytes += bytes
        held += bytes
        if (open.actionCount >= maxActions) flush(key, open)
        return
      }
      if (open !== undefined) {
        // The cap would be passed: close this window, then start over (a consumer may have re-entered
        // and opened a window meanwhile).
        flush(key, open)
        add(batch)
        return
      }
      const window: Window = { batches: [batch], actionCount: count, bytes, timer: undefined }
      if (count >= maxActions) {
        subscriber.next(mergeActions(window.batches))
        return
      }
      windows.set(key, window)
      held += bytes
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
