/**
 * Many deadlines on one coarse timer, for body reads: a timer per request
 * costs more than decoding a small delivery.
 */

/** A deadline registered with {@link Deadlines}. */
export class Deadline {
  constructor(
    readonly at: number,
    /** Called once, when the deadline passed or `abandoned` said so. */
    readonly expire: (abandoned: boolean) => void,
    /** Checked at each sweep: the work was abandoned (its client went away), so expire early. */
    readonly abandoned: (() => boolean) | undefined,
  ) {}
}

/**
 * Many deadlines on one coarse timer. A body read needs a deadline per
 * request; a timer each costs more per request than the whole decode of a
 * small delivery, so one interval, running only while deadlines are
 * pending, sweeps them instead. A deadline fires up to `resolutionMs` late.
 * The timer never keeps a process alive.
 *
 * @example
 * ```ts
 * const deadlines = new Deadlines(100) // share one per server: one timer for all its reads
 * const deadline = deadlines.add(5000, (abandoned) => console.log(abandoned ? 'client gone' : 'too slow'))
 * deadlines.remove(deadline) // done in time: expire is never called
 * ```
 */
export class Deadlines {
  private readonly pending = new Set<Deadline>()
  private timer: ReturnType<typeof setInterval> | undefined
  /** @param resolutionMs - how often pending deadlines are checked, in ms: how late one may fire at most */
  constructor(private readonly resolutionMs: number) {}

  /** Deadlines pending. */
  get size(): number {
    return this.pending.size
  }

  /** Whether the sweeping timer runs (only while deadlines are pending). */
  get sweeping(): boolean {
    return this.timer !== undefined
  }

  /**
   * Calls `expire` once `ms` have passed (or `abandoned()` turns true), unless {@link remove}d first.
   *
   * @param ms - from now
   * @param expire - called once, with `true` when `abandoned` said so, `false` when the time ran out
   * @param abandoned - checked at each sweep: `true` expires the deadline early
   * @returns the handle to pass to {@link remove}
   */
  add(ms: number, expire: (abandoned: boolean) => void, abandoned?: () => boolean): Deadline {
    const deadline = new Deadline(Date.now() + ms, expire, abandoned)
    this.pending.add(deadline)
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.resolutionMs)
      // Never keep a process alive for a sweep: the sockets being read do that.
      ;(this.timer as { unref?: () => void }).unref?.()
    }
    return deadline
  }

  /** Drops a deadline before it fires (harmless once it has); the timer stops when none is left. */
  remove(deadline: Deadline): void {
    this.pending.delete(deadline)
    if (this.pending.size === 0) this.stop()
  }

  private sweep(): void {
    const now = Date.now()
    for (const deadline of this.pending) {
      const abandoned = deadline.abandoned?.() === true
      if (!abandoned && deadline.at > now) continue
      this.pending.delete(deadline)
      deadline.expire(abandoned)
    }
    if (this.pending.size === 0) this.stop()
  }

  private stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }
}

/**
 * Deadlines for reads under `bodyTimeoutMs`: a tenth of it late at most, between 5 ms and 1 s.
 *
 * @param bodyTimeoutMs - the longest time a body read may take
 * @returns a sweep to share between every read of one adapter
 * @example
 * ```ts
 * const deadlines = bodyDeadlines(10_000) // checked once a second
 * ```
 */
export function bodyDeadlines(bodyTimeoutMs: number): Deadlines {
  return new Deadlines(Math.min(1000, Math.max(5, Math.floor(bodyTimeoutMs / 10))))
}
