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
export class Deadlines {
  readonly #pending = new Set<Expiring>()
  #timer: ReturnType<typeof setInterval> | undefined
  readonly #resolutionMs: number
  constructor(resolutionMs: number) {
    this.#resolutionMs = resolutionMs
  }

  get size(): number {
    return this.#pending.size
  }

  /** Whether the sweeping timer runs (only while deadlines are pending). */
  get sweeping(): boolean {
    return this.#timer !== undefined
  }

  add(work: Expiring): void {
    this.#pending.add(work)
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#sweep(), this.#resolutionMs)
      ;(this.#timer as { unref?: () => void }).unref?.()
    }
  }

  /** Drops a deadline before it fires (harmless once it has); the timer stops when none is left. */
  remove(work: Expiring): void {
    this.#pending.delete(work)
    if (this.#pending.size === 0) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }

  #sweep(): void {
    const now = Date.now()
    for (const work of this.#pending) {
      const abandoned = work.abandoned(now)
      if (!abandoned && work.at > now) continue
      this.remove(work)
      work.expire(abandoned)
    }
  }
}
