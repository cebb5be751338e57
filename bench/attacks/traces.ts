/**
 * Issue 22, item 12: traces from strangers. 18,000 unsigned requests carrying a sampled `traceparent` to the
 * node adapter with `otelTelemetry` and an always-on sampler: how many delivery spans land under the sender's trace?
 */
import { Agent, createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import { AlwaysOnSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { WebhookReceiver, silentLogger } from '../../dist/esm/index.js'
import { createNodeMiddleware } from '../../dist/esm/adapters/node.js'
import { otelTelemetry } from '../../dist/esm/otel/index.js'
import { actionsBody, int, row } from './common.js'

const exporter = new InMemorySpanExporter()
const tracerProvider = new BasicTracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [new SimpleSpanProcessor(exporter)] })
const telemetry = otelTelemetry({ meterProvider: new MeterProvider(), tracerProvider })
const receiver = new WebhookReceiver({ secret: 'whsec_attack', telemetry, logger: silentLogger })
const server = createServer(createNodeMiddleware(receiver))
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
const port = (server.address() as AddressInfo).port
const traceId = 'f'.repeat(8) + '0123456789abcdef01234567'
const body = actionsBody('ps_1', 1)
const agent = new Agent({ keepAlive: true, maxSockets: 16 })
const total = 18_000
let sent = 0
const post = () => new Promise<void>((done) => {
  const req = request({ port, host: '127.0.0.1', method: 'POST', path: '/', agent, headers: {
    'content-type': 'application/json', 'content-length': Buffer.byteLength(body), traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
  } }, (res) => { res.resume(); res.on('end', () => done()) })
  req.on('error', () => done())
  req.end(body)
})
await Promise.all(Array.from({ length: 16 }, async () => { while (sent < total) { sent++; await post() } }))
agent.destroy()
server.close()
const spans = exporter.getFinishedSpans()
const under = spans.filter((s) => s.spanContext().traceId === traceId).length
row({ item: '12', measure: `${int(total)} unsigned requests with a sampled traceparent, always-on sampler`,
  figure: `${int(under)} of ${int(spans.length)} spans under the sender's trace`, target: '0', pass: under === 0 })
process.exit(0)
