/**
 * Many deadlines on one coarse timer, for body reads: a timer per request costs more than decoding a
 * small delivery, so one interval, running only while work is pending, checks each work's deadline.
 */

/** Work under a deadline (a body read is one: no object is made for its deadline). */
export interface Expiring {
  /**
   * Called at each tick while the work is pending: it ends itself (and is removed) once its time ran out,
   * or once it was abandoned (its client went away).
   */
  check(now: number): void
}

/** A sweep of deadlines: one fires up to `resolutionMs` late; the timer never keeps a process alive. */
export interface Deadlines {
  readonly size: number
  /** Whether the sweeping timer runs (only while work is pending). */
  readonly sweeping: boolean
  add(work: Expiring): void
  /** Drops a work, once it ended: it is checked no more, and the timer stops when none is left. */
  remove(work: Expiring): void
}

export function deadlineSweep(resolutionMs: number): Deadlines {
  const pending = new Set<Expiring>()
  let timer: ReturnType<typeof setInterval> | undefined
  const sweep = (): void => {
    const now = Date.now()
    for (const work of pending) work.check(now)
  }
  return {
    get size() {
      return pending.size
    },
    get sweeping() {
      return timer !== undefined
    },
    add: (work) => {
      pending.add(work)
      if (timer === undefined) {
        timer = setInterval(sweep, resolutionMs)
        ;(timer as { unref?: () => void }).unref?.()
      }
    },
    remove: (work) => {
      pending.delete(work)
      if (pending.size === 0) {
        clearInterval(timer)
        timer = undefined
      }
    },
  }
}
