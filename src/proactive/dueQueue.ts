/**
 * The proactive operator's timers as one queue, so that one scheduler action re-armed to the earliest serves every
 * session: a binary min-heap of due times, ties in the order armed, as a scheduler runs its own timers. An entry is
 * live while its owner's `timerAt` names its time; the rest are dropped on reaching the top, or all at once when
 * they outnumber the live ones.
 */

/** What the queue times: `timerAt` is the due time of its live entry, `Infinity` when it has none. */
export interface Timed {
  timerAt: number
}

export class DueQueue<T extends Timed> {
  // Parallel arrays: numbers unboxed, and no object per entry.
  private readonly due: number[] = []
  private readonly order: number[] = []
  private readonly owners: T[] = []
  private armed = 0
  private armings = 0

  /** Owners with a live entry: at most one each. */
  get live(): number {
    return this.armed
  }

  /** Entries held, stale ones included: at most twice the live ones and 32, none once no owner is live. */
  get size(): number {
    return this.due.length
  }

  /** Gives `owner` its one live entry, due `at`; the one it had goes stale. */
  arm(owner: T, at: number): void {
    if (owner.timerAt === Infinity) this.armed++
    owner.timerAt = at
    this.due.push(at)
    this.order.push(this.armings++)
    this.owners.push(owner)
    this.up(this.due.length - 1)
    if (this.due.length > 2 * this.armed + 32) this.compact()
  }

  /** Takes `owner`'s live entry away: left in place, stale, till the stale outnumber the live (none hold on). */
  disarm(owner: T): void {
    if (owner.timerAt === Infinity) return
    this.armed--
    owner.timerAt = Infinity
    if (this.due.length > 2 * this.armed + 32 || this.armed === 0) this.compact()
  }

  /** The earliest live due time; `Infinity` when none. */
  peek(): number {
    while (this.due.length > 0 && this.owners[0]!.timerAt !== this.due[0]) this.take()
    return this.due.length > 0 ? this.due[0]! : Infinity
  }

  /** The owner of the earliest live entry if it is due at `now`, disarmed; else `undefined`. */
  pop(now: number): T | undefined {
    if (!(this.peek() <= now) || this.due.length === 0) return undefined
    const owner = this.take()
    this.disarm(owner)
    return owner
  }

  private before(i: number, j: number): boolean {
    return this.due[i]! < this.due[j]! || (this.due[i] === this.due[j] && this.order[i]! < this.order[j]!)
  }

  private swap(i: number, j: number): void {
    const due = this.due[i]!
    const order = this.order[i]!
    const owner = this.owners[i]!
    this.due[i] = this.due[j]!
    this.order[i] = this.order[j]!
    this.owners[i] = this.owners[j]!
    this.due[j] = due
    this.order[j] = order
    this.owners[j] = owner
  }

  private up(i: number): void {
    for (let parent = (i - 1) >> 1; i > 0 && this.before(i, parent); i = parent, parent = (i - 1) >> 1) {
      this.swap(i, parent)
    }
  }

  private down(i: number): void {
    for (;;) {
      const left = 2 * i + 1
      let least = i
      if (left < this.due.length && this.before(left, least)) least = left
      if (left + 1 < this.due.length && this.before(left + 1, least)) least = left + 1
      if (least === i) return
      this.swap(i, least)
      i = least
    }
  }

  /** Removes the top entry; its owner. */
  private take(): T {
    const owner = this.owners[0]!
    const last = this.due.length - 1
    this.swap(0, last)
    this.due.pop()
    this.order.pop()
    this.owners.pop()
    this.down(0)
    return owner
  }

  /** Keeps one live entry per owner (an owner armed back to a stale entry's time has two), then re-heaps. */
  private compact(): void {
    const seen = new Set<T>()
    let kept = 0
    for (let i = 0; i < this.due.length; i++) {
      const owner = this.owners[i]!
      if (owner.timerAt !== this.due[i] || seen.has(owner)) continue
      seen.add(owner)
      this.due[kept] = this.due[i]!
      this.order[kept] = this.order[i]!
      this.owners[kept++] = owner
    }
    this.due.length = this.order.length = this.owners.length = kept
    for (let i = (kept >> 1) - 1; i >= 0; i--) this.down(i)
  }
}
