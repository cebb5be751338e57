/**
 * Counts kept in plain numbers and read by observable instruments when
 * metrics are collected. An SDK's synchronous `counter.add(1, attributes)`
 * hashes the attributes on every call (about 1.6 µs in sdk-metrics 2.x, a
 * fifth of an ingest); an increment here costs a Map lookup.
 */
import type { Attributes, ObservableResult } from '@opentelemetry/api'

interface Slot {
  readonly attributes: Attributes
  value: number
}

/** Values by key, each with the attributes it is reported under. */
export class Tally {
  private readonly slots = new Map<string, Slot>()

  /** Adds `n` under `key`; `attributesOf(key)` is asked once, the first time. */
  add(key: string, attributesOf: (key: string) => Attributes, n = 1): void {
    const slot = this.slots.get(key)
    if (slot !== undefined) slot.value += n
    else this.slots.set(key, { attributes: attributesOf(key), value: n })
  }

  /** Reports every value (zeros included: a series, once seen, stays). */
  observe(result: ObservableResult): void {
    for (const slot of this.slots.values()) result.observe(slot.value, slot.attributes)
  }
}
