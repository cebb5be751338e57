/**
 * Paired measurement: candidates run in alternation, round after round, and
 * each round's figure is divided by the floor's of the same round, so a
 * machine that slows down for a while slows both sides of a ratio alike.
 * Ratios are reported as the median with the interquartile range, and rounds
 * go on until that range is narrow enough (or a cap is reached).
 */
import { loadavg } from 'node:os'

/** One function to time: `run` is called `iterations` times per round. */
export interface Candidate {
  readonly name: string
  readonly run: () => void
}

/** Median and quartiles of a sample. */
export interface Quantiles { p25: number; median: number; p75: number }

/** Median and quartiles, interpolated between order statistics (so 4 rounds give a real IQR, not the minimum). */
export function quantiles(values: number[]): Quantiles {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => {
    const i = q * (sorted.length - 1)
    const lo = Math.floor(i)
    return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (i - lo)
  }
  return { p25: at(0.25), median: at(0.5), p75: at(0.75) }
}

/** How far the IQR reaches from the median, as a fraction of the median (the larger side). */
export function halfSpread(q: Quantiles): number {
  return Math.max(q.median - q.p25, q.p75 - q.median) / q.median
}

/** The stopping rule: rounds go on until every ratio's IQR is within ±`tolerance` of its median. */
export interface SteadyRule { readonly minRounds: number; readonly maxRounds: number; readonly tolerance: number }

/** Issue 16: ±5 %, at most 12 rounds; at least 4 so that an IQR means something. */
export const STEADY: SteadyRule = { minRounds: 4, maxRounds: 12, tolerance: 0.05 }

/** Whether every series of per-round ratios is steady under `rule`. */
export function isSteady(series: Iterable<number[]>, rule: SteadyRule): boolean {
  for (const s of series) if (s.length < rule.minRounds || halfSpread(quantiles(s)) > rule.tolerance) return false
  return true
}

/** `1.02 (IQR 0.99–1.04, ±2.9 %)`. */
export function fmtRatio(values: number[]): string {
  const q = quantiles(values)
  return `${fmt(q.median)} (IQR ${fmt(q.p25)}–${fmt(q.p75)}, ±${fmt(halfSpread(q) * 100, 1)} %)`
}

/**
 * This process's CPU time in ns. On a machine shared with other work, wall
 * time counts the slices the scheduler gave to others, which swung the
 * per-round ratio by ±20–40 % under a load average of 9; CPU time does not.
 */
function cpuNs(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) * 1000
}

/**
 * Times `candidates` in alternation, until `steady` says so or
 * `rule.maxRounds`; returns per-candidate CPU ns/op per round. Each round
 * runs each candidate for about `roundMs` of CPU time (the count calibrated
 * on the first candidate), long enough that a GC or a cache flushed by a
 * neighbour is a small part of it.
 */
export function pairedRounds(candidates: Candidate[], roundMs: number, rule: SteadyRule, steady: (times: Map<string, number[]>) => boolean): Map<string, number[]> {
  const times = new Map<string, number[]>(candidates.map((c) => [c.name, []]))
  let iterations = 1
  for (;;) {
    const start = cpuNs()
    for (let i = 0; i < iterations; i++) candidates[0]!.run()
    if (cpuNs() - start >= roundMs * 1e6) break
    iterations *= 2
  }
  for (const c of candidates.slice(1)) for (let i = 0; i < iterations; i++) c.run() // warm-up
  for (let r = 0; r < rule.maxRounds && !(r >= rule.minRounds && steady(times)); r++) {
    // Alternate the order so neither side always runs after the other.
    const order = r % 2 === 0 ? candidates : [...candidates].reverse()
    for (const c of order) {
      const start = cpuNs()
      for (let i = 0; i < iterations; i++) c.run()
      times.get(c.name)!.push((cpuNs() - start) / iterations)
    }
  }
  return times
}

/** Per-round ratios `a[i] / b[i]`. */
export function ratios(a: number[], b: number[]): number[] {
  return a.map((x, i) => x / b[i]!)
}

/** `load average 1.52 1.80 2.01 (1, 5, 15 min)`: the machine is shared, so every section says how busy it was. */
export function loadLine(when: string): string {
  const [one, five, fifteen] = loadavg()
  return `_Load average ${when}: ${fmt(one!)} ${fmt(five!)} ${fmt(fifteen!)} (1, 5, 15 min)._`
}

export const fmt = (x: number, digits = 2) => x.toFixed(digits)
