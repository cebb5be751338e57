/**
 * Metrics for Prometheus: the receiver reports through OpenTelemetry
 * (`autoplay-rx/otel`), and the same server answers Prometheus' scrapes on
 * /metrics (text format, `@opentelemetry/exporter-prometheus`).
 *
 *   AUTOPLAY_SECRET=… PORT=8787 node --import tsx examples/prometheus.ts
 *   curl http://127.0.0.1:8787/metrics
 */
import { createServer } from 'node:http'
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import { WebhookReceiver } from 'autoplay-rx'
import { createNodeMiddleware } from 'autoplay-rx/node'
import { otelTelemetry } from 'autoplay-rx/otel'
import { describe, describeRefusal, listening, settings, stopOn } from './common.js'

const { port, host, secret } = settings()

// The exporter is a metric reader; its own HTTP server is not started: /metrics is served below.
const exporter = new PrometheusExporter({ preventServerStart: true })
const meterProvider = new MeterProvider({ readers: [exporter] })
// One telemetry object for every component of the process (here, the receiver and its adapter).
const telemetry = otelTelemetry({ meterProvider })

const receiver = new WebhookReceiver({ secret, telemetry })
receiver.payloads$.subscribe((payload) => console.log(describe(payload)))
receiver.rejected$.subscribe((error) => console.log(describeRefusal(error)))

const webhooks = createNodeMiddleware(receiver, { path: '/events' })
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/metrics') return exporter.getMetricsRequestHandler(req, res)
  void webhooks(req, res)
})
server.listen(port, host, () => listening(server.address(), '/events'))

stopOn(async () => {
  await new Promise((resolve) => server.close(resolve))
  receiver.complete()
  await meterProvider.shutdown()
})
