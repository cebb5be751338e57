/**
 * bySession: one Observable per user session, alive only while the session is, so that a service
 * seeing millions of sessions holds only those that sent something within the last `idleMs`.
 */
import {
  asyncScheduler, debounceTime, defer, finalize, groupBy, map, merge, Subject,
  type GroupedObservable, type OperatorFunction, type SchedulerLike,
} from 'rxjs'
import { positiveInteger } from '../internal/options.js'
import { sessionKey, type HasSession, type SessionKey } from '../payloads.js'

interface BySessionOptions {
  /** A session's group completes once this many ms pass without a payload of it; finite, ≥ 0. */
  readonly idleMs: number
  /** Most groups open; a new session completes the least recently active group first. Default 10,000. */
  readonly maxSessions?: number | undefined
  /** Schedules the idle timers; default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike | undefined
}

/**
 * Groups payloads by `session_id` into one `GroupedObservable` per session (`key`: the session id, or
 * `NO_SESSION`). A group completes after `idleMs` without a payload of its session, or when `maxSessions`
 * are open and another session arrives, and is forgotten; a later payload opens a new group. As with
 * `groupBy`, subscribe to each group as it arrives (`mergeMap` does): a group does not replay. Unsubscribing
 * stops the source and every idle timer.
 *
 * @example
 * ```ts
 * import { mergeMap, toArray, map } from 'rxjs'
 * import { WebhookReceiver, bySession, NO_SESSION } from 'autoplay-rx'
 *
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 * receiver.actions$.pipe( // one line per session, printed once it has been quiet for a minute
 *   bySession({ idleMs: 60_000 }),
 *   mergeMap((session) => session.pipe(
 *     toArray(),
 *     map((batches) => `${session.key === NO_SESSION ? 'anonymous' : session.key}: ${batches.length} batches`),
 *   )),
 * ).subscribe(console.log)
 * ```
 */
export function bySession<P extends HasSession>(
  options: BySessionOptions,
): OperatorFunction<P, GroupedObservable<SessionKey, P>> {
  const { idleMs, scheduler = asyncScheduler } = options
  const maxSessions = positiveInteger('maxSessions', options.maxSessions ?? 10_000)
  if (!(typeof idleMs === 'number' && Number.isFinite(idleMs) && idleMs >= 0)) {
    throw new TypeError('autoplay-rx: bySession needs idleMs, a finite number >= 0')
  }
  return (source) => defer(() => {
    // The idle timer watches each group's subject, not the GroupedObservable given to `duration`:
    // groupBy counts subscribers of the latter as users of the group, which would keep the source and
    // the timers alive after the consumer left. groupBy calls `connector` then `duration` for one new
    // group (nested when a consumer re-enters the source in between), so a stack pairs them up.
    const created: Subject<P>[] = []
    // Each open group's early close, least recently active first. The timer sees no payload: it holds none.
    const open = new Map<SessionKey, Subject<void>>()
    return source.pipe(groupBy(sessionKey, {
      connector: () => {
        const subject = new Subject<P>()
        created.push(subject)
        return subject
      },
      duration: ({ key }) => {
        if (open.size >= maxSessions) open.values().next().value!.next()
        const close = new Subject<void>()
        open.set(key, close)
        const touch = () => { open.delete(key); open.set(key, close) }
        return merge(created.pop()!.pipe(map(touch), debounceTime(idleMs, scheduler)), close)
          .pipe(finalize(() => { if (open.get(key) === close) open.delete(key) }))
      },
    }))
  })
}
