/**
 * Many deadlines on one coarse timer, for body reads: a timer per request costs more than decoding a
 * small delivery, so one interval, running only while deadlines are pending, sweeps them.
 */

/** Work under a deadline (a body read is one: no object is made for its deadline). */
export interface Expiring {
  /** When it expires, in ms since the epoch. */
  readonly at: number
  /** Called once: `true` when {@link abandoned} said so, `false` when the time ran out. */
  expire(abandoned: boolean): void
  /** Checked at each sweep: the work was abandoned (its client went away) or ended itself, so expire early. */
  abandoned(now: number): boolean
}

/** A sweep of deadlines: one fires up to `resolutionMs` late; the timer never keeps a process alive. */
export interface Deadlines {
  readonly size: number
  /** Whether the sweeping timer runs (only while deadlines are pending). */
  readonly sweeping: boolean
  add(work: Expiring): void
  /** Drops a deadline before it fires (harmless once it has); the timer stops when none is left. */
  remove(work: Expiring): void
}

export function deadlineSweep(resolutionMs: number): Deadlines {
  const pending = new Set<Expiring>()
  let timer: ReturnType<typeof setInterval> | undefined
  const sweep = (): void => {
    const now = Date.now()
    for (const work of pending) {
      const abandoned = work.abandoned(now)
      if (!abandoned && work.at > now) continue
      remove(work)
      work.expire(abandoned)
    }
  }
  const remove = (work: Expiring): void => {
    pending.delete(work)
    if (pending.size === 0) {
      clearInterval(timer)
      timer = undefined
    }
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
    remove,
  }
}
