/**
 * A real OpenTelemetry SDK for the specs: sdk-metrics with an in-memory
 * exporter (cumulative, collected on demand) and sdk-trace-base with an
 * in-memory span exporter, wired into otelTelemetry.
 */
import type { Attributes } from '@opentelemetry/api'
import {
  AggregationTemporality, DataPointType, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricData,
} from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { otelTelemetry, type OtelTelemetryOptions } from '../../src/otel/index.js'
import type { Telemetry } from '../../src/telemetry.js'

/** One point: its attributes and its value (a histogram's count, sum and buckets). */
export interface Point {
  readonly attributes: Attributes
  readonly value: number
  readonly count?: number
  readonly sum?: number
  readonly boundaries?: ReadonlyArray<number>
}

export interface OtelHarness {
  readonly telemetry: Telemetry
  /** Collects now, and returns every metric by name. */
  collect(): Promise<Map<string, MetricData>>
  /** The points of one metric after a fresh collection, sorted by their attributes. */
  points(name: string): Promise<Point[]>
  /** `{ 'a=x,b=y': value }` (histograms: their count) for one metric, after a fresh collection. */
  values(name: string): Promise<Record<string, number>>
  /** The spans ended so far. */
  spans(): ReadableSpan[]
  shutdown(): Promise<void>
}

/** What every harness collected, by instrument: its unit, its kind as the SDK reports it, and the attribute keys seen. */
export const collected = new Map<string, { unit: string; kind: string; attributes: Set<string> }>()

function remember(metric: MetricData): void {
  const kind = metric.dataPointType === DataPointType.HISTOGRAM ? 'histogram'
    : metric.dataPointType === DataPointType.GAUGE ? 'gauge'
      : metric.dataPointType === DataPointType.SUM && metric.isMonotonic ? 'counter' : `other (${metric.dataPointType})`
  const seen = collected.get(metric.descriptor.name) ?? { unit: metric.descriptor.unit, kind, attributes: new Set<string>() }
  for (const point of metric.dataPoints) for (const key of Object.keys(point.attributes)) seen.attributes.add(key)
  collected.set(metric.descriptor.name, seen)
}

const label = (attributes: Attributes) => Object.keys(attributes).sort().map((k) => `${k}=${String(attributes[k])}`).join(',')

export function otelHarness(options: Omit<OtelTelemetryOptions, 'meterProvider' | 'tracerProvider'> = {}): OtelHarness {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  // Exports only when asked (forceFlush): an hour is never reached by a spec.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
  const meterProvider = new MeterProvider({ readers: [reader] })
  const spanExporter = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] })
  const telemetry = otelTelemetry({ ...options, meterProvider, tracerProvider })
  const collect = async () => {
    exporter.reset()
    await reader.forceFlush()
    const byName = new Map<string, MetricData>()
    for (const resource of exporter.getMetrics()) {
      for (const scope of resource.scopeMetrics) {
        for (const metric of scope.metrics) {
          byName.set(metric.descriptor.name, metric)
          if (metric.dataPoints.length > 0) remember(metric)
        }
      }
    }
    return byName
  }
  const points = async (name: string): Promise<Point[]> => {
    const metric = (await collect()).get(name)
    if (metric === undefined) return []
    return metric.dataPoints.map((p): Point => {
      if (metric.dataPointType === DataPointType.HISTOGRAM) {
        const h = p.value as { count: number; sum?: number; buckets: { boundaries: number[] } }
        return { attributes: p.attributes, value: h.count, count: h.count, sum: h.sum, boundaries: h.buckets.boundaries }
      }
      return { attributes: p.attributes, value: p.value as number }
    }).sort((a, b) => label(a.attributes).localeCompare(label(b.attributes)))
  }
  return {
    telemetry,
    collect,
    points,
    values: async (name) => Object.fromEntries((await points(name)).map((p) => [label(p.attributes), p.value])),
    spans: () => spanExporter.getFinishedSpans(),
    shutdown: async () => { await meterProvider.shutdown(); await tracerProvider.shutdown() },
  }
}
