/**
 * Paired measurement: candidates run in alternation, round after round, in
 * one process, and each round's time is divided by the floor's of the same
 * round. Ratios are reported as the median with the interquartile range.
 */
import { performance } from 'node:perf_hooks'

/** One function to time: `run` is called `iterations` times per round. */
export interface Candidate {
  readonly name: string
  readonly run: () => void
}

/** Median and quartiles of a sample. */
export function quantiles(values: number[]): { p25: number; median: number; p75: number } {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))]!
  return { p25: at(0.25), median: at(0.5), p75: at(0.75) }
}

/** Times `candidates` in alternation; returns per-candidate ns/op per round. */
export function pairedRounds(candidates: Candidate[], iterations: number, rounds: number): Map<string, number[]> {
  const times = new Map<string, number[]>(candidates.map((c) => [c.name, []]))
  for (const c of candidates) for (let i = 0; i < iterations; i++) c.run() // warm-up
  for (let r = 0; r < rounds; r++) {
    // Alternate the order so neither side always runs after the other.
    const order = r % 2 === 0 ? candidates : [...candidates].reverse()
    for (const c of order) {
      const start = performance.now()
      for (let i = 0; i < iterations; i++) c.run()
      times.get(c.name)!.push(((performance.now() - start) * 1e6) / iterations)
    }
  }
  return times
}

/** Per-round ratios `a[i] / b[i]`. */
export function ratios(a: number[], b: number[]): number[] {
  return a.map((x, i) => x / b[i]!)
}

export const fmt = (x: number, digits = 2) => x.toFixed(digits)
