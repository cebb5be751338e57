/**
 * bySession: one Observable per user session, alive only while the session
 * is. A service that sees millions of sessions keeps in memory only those
 * that sent something within the last `idleMs`.
 */
import {
  asyncScheduler, debounceTime, defer, groupBy, Subject,
  type GroupedObservable, type OperatorFunction, type SchedulerLike,
} from 'rxjs'
import { sessionKey, type HasSession, type SessionKey } from '../payloads.js'

/**
 * Options of {@link bySession}.
 *
 * @example
 * ```ts
 * const options: BySessionOptions = { idleMs: 60_000 }
 * ```
 */
export interface BySessionOptions {
  /** A session's group completes once this many milliseconds pass without a payload of it. */
  readonly idleMs: number
  /** Schedules the idle timers; defaults to `asyncScheduler`. */
  readonly scheduler?: SchedulerLike
}

/**
 * Groups payloads by `session_id` into one `GroupedObservable` per session
 * (`group.key` is the session id, or {@link NO_SESSION} for payloads without
 * one). A group completes after `options.idleMs` without a payload of its
 * session, and is forgotten; a later payload of that session opens a new
 * group. So only sessions active within the last `idleMs` are retained.
 *
 * Semantics are those of `groupBy`: subscribe to each group as it arrives
 * (`mergeMap` does), because a group does not replay what it received before
 * it was subscribed; a source error reaches every open group and the outer
 * Observable; source completion completes every group. Unsubscribing from
 * the result (and from every group still subscribed) stops the source and
 * clears all idle timers.
 *
 * @param options - `idleMs` (a finite number ≥ 0) and an optional scheduler
 * @returns an operator emitting one group per active session
 * @throws TypeError when `idleMs` is not a finite number ≥ 0
 *
 * @example
 * ```ts
 * import { mergeMap, toArray, map } from 'rxjs'
 * import { WebhookReceiver, bySession, NO_SESSION } from 'autoplay-rx'
 *
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET! })
 * // One line per session, printed once it has been quiet for a minute.
 * receiver.actions$.pipe(
 *   bySession({ idleMs: 60_000 }),
 *   mergeMap((session) => session.pipe(
 *     toArray(),
 *     map((batches) => `${session.key === NO_SESSION ? 'anonymous' : session.key}: ${batches.length} batches`),
 *   )),
 * ).subscribe(console.log)
 * ```
 */
export function bySession<P extends HasSession>(options: BySessionOptions): OperatorFunction<P, GroupedObservable<SessionKey, P>> {
  const { idleMs, scheduler = asyncScheduler } = options
  if (!(typeof idleMs === 'number' && Number.isFinite(idleMs) && idleMs >= 0)) {
    throw new TypeError('autoplay-rx: bySession needs idleMs, a finite number >= 0')
  }
  return (source) => defer(() => {
    // The idle timer must watch each group's subject, not the GroupedObservable
    // handed to the duration selector: groupBy counts subscribers of the latter
    // as users of the group, so after the consumer unsubscribed the source and
    // the timers would stay alive until every group idled out (and, with new
    // sessions arriving, forever). groupBy calls `connector` and then
    // `duration` for the same new group, nested when a consumer re-enters the
    // source synchronously in between, so a stack pairs them up.
    const created: Subject<P>[] = []
    return source.pipe(groupBy(sessionKey, {
      connector: () => {
        const subject = new Subject<P>()
        created.push(subject)
        return subject
      },
      duration: () => created.pop()!.pipe(debounceTime(idleMs, scheduler)),
    }))
  })
}
