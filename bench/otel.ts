/**
 * Telemetry on beside off, in one run (issue 14): `ingest` on the four
 * fixtures with a receiver reporting through `otelTelemetry()` to a real,
 * globally registered MeterProvider, paired with the same receiver without
 * telemetry; then the HTTP rows of the node adapter with and without it,
 * beside the floor, by the HTTP benchmark's own method.
 */
import { readFileSync } from 'node:fs'
import { metrics } from '@opentelemetry/api'
import { InMemoryMetricExporter, AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { WebhookReceiver, sign, silentLogger } from '../dist/esm/index.js'
import { otelTelemetry } from '../dist/esm/otel/index.js'
import { benchHttp } from './http.js'
import { fmt, fmtRatio, isSteady, pairedRounds, quantiles, ratios, type SteadyRule } from './stats.js'

const fixtures = new URL('../spec/fixtures/', import.meta.url)
const secret = readFileSync(new URL('SECRET.txt', fixtures), 'utf8').trim()
const names = ['actions-small', 'actions-medium', 'actions-large', 'summary'] as const
const TARGET = 1.05
const FULL: SteadyRule = { minRounds: 9, maxRounds: 41, tolerance: 0.03 }
const QUICK: SteadyRule = { minRounds: 5, maxRounds: 15, tolerance: 0.05 }

/**
 * A real SDK registered as the global MeterProvider, as an application
 * does; it collects every 60 s (a usual scrape interval), so a collection
 * rarely lands in a round.
 */
export function registerMeterProvider(): MeterProvider {
  const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 60_000 })
  const provider = new MeterProvider({ readers: [reader] })
  metrics.setGlobalMeterProvider(provider)
  return provider
}

export function benchOtelIngest(quick: boolean): string {
  const provider = registerMeterProvider()
  const off = new WebhookReceiver({ secret, logger: silentLogger })
  const on = new WebhookReceiver({ secret, logger: silentLogger, telemetry: otelTelemetry() })
  const lean = new WebhookReceiver({ secret, logger: silentLogger, telemetry: otelTelemetry({ ingestDuration: false }) })
  let seen = 0
  for (const receiver of [off, on, lean]) receiver.payloads$.subscribe(() => { seen++ })
  let sink: unknown
  const rule = quick ? QUICK : FULL
  const lines = [
    '| fixture | rounds | off CPU µs/op | on CPU µs/op | on ÷ off (median, IQR, ±half-width) | target | met | on, `ingestDuration: false` ÷ off |',
    '|---|---:|---:|---:|---:|---:|:-:|---:|',
  ]
  for (const name of names) {
    const body = readFileSync(new URL(`${name}.json`, fixtures))
    const header = sign(body, secret)
    const ratio = (t: Map<string, number[]>) => ratios(t.get('on')!, t.get('off')!)
    const t = pairedRounds([
      { name: 'off', run: () => { sink = off.ingest(body, header) } },
      { name: 'on', run: () => { sink = on.ingest(body, header) } },
      { name: 'lean', run: () => { sink = lean.ingest(body, header) } },
    ], quick ? 20 : 50, rule, (t) => isSteady([ratio(t), ratios(t.get('lean')!, t.get('off')!)], rule))
    const r = ratio(t)
    const median = quantiles(r).median
    lines.push(`| ${name} | ${r.length} | ${fmt(quantiles(t.get('off')!).median / 1000)} | ${fmt(quantiles(t.get('on')!).median / 1000)} | ${fmtRatio(r)} | ≤ ${TARGET} | ${median <= TARGET ? 'yes' : 'no'} | ${fmtRatio(ratios(t.get('lean')!, t.get('off')!))} |`)
  }
  void sink
  if (seen === 0) throw new Error('the subscribers saw nothing')
  void provider.shutdown()
  metrics.disable()
  lines.push('', `"on": \`otelTelemetry()\` over a global sdk-metrics MeterProvider (periodic reader, 60 s), no TracerProvider (no spans); "on, \`ingestDuration: false\`": the same without the ingest histogram; "off": no \`telemetry\` option. ` +
    `The three alternate in each round (CPU time of this process), in an order that reverses each round; rounds stop once the IQR of the per-round ratio is within ±${rule.tolerance * 100} % of its median (at least ${rule.minRounds}, at most ${rule.maxRounds}).`)
  return lines.join('\n')
}

export async function benchOtel(quick: boolean): Promise<string> {
  const ingest = benchOtelIngest(quick)
  const http = await benchHttp(quick, ['floor', 'node-adapter', 'node-adapter-otel'])
  return `### ingest, telemetry on ÷ off\n\n${ingest}\n\n### HTTP, node adapter with telemetry on beside off\n\n${http}`
}
