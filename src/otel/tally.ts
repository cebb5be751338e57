// Counts kept in plain numbers and read by observable instruments at collection: an SDK counter hashes
// its attributes on every `add`, a tally does a Map lookup (docs/benchmarks.md has the figures).
import type { Attributes, ObservableResult } from '@opentelemetry/api'

interface Slot {
  readonly attributes: Attributes
  value: number
}

/**
 * Values by key, each reported under the attributes `attributesOf(key)` gave the first time; by default
 * the key is the value of the instrument's one `attribute` (none: no attributes).
 */
export class Tally {
  private readonly slots = new Map<string, Slot>()

  constructor(private readonly attribute?: string) {}

  add(key: string, attributesOf = this.byKey, n = 1): void {
    const slot = this.slots.get(key)
    if (slot !== undefined) slot.value += n
    else this.slots.set(key, { attributes: attributesOf(key), value: n })
  }

  private readonly byKey = (key: string): Attributes => (this.attribute === undefined ? {} : { [this.attribute]: key })

  /** Zeros included: a series, once seen, stays. */
  observe(result: ObservableResult): void {
    for (const slot of this.slots.values()) result.observe(slot.value, slot.attributes)
  }
}
