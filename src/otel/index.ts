/**
 * `autoplay-rx/otel`: metrics and traces through OpenTelemetry. It needs
 * `@opentelemetry/api` (an optional peer dependency: the main entry never
 * loads it) and uses the API only; the SDK and exporters are the
 * application's. Pass {@link otelTelemetry}'s result as the `telemetry`
 * option of each component.
 *
 * @example
 * ```ts
 * import { WebhookReceiver, connectorStream } from 'autoplay-rx'
 * import { otelTelemetry } from 'autoplay-rx/otel'
 *
 * const telemetry = otelTelemetry() // the global MeterProvider and TracerProvider
 * const receiver = new WebhookReceiver({ secret: process.env.CONNECTOR_SECRET!, telemetry })
 * const sse$ = connectorStream({ url, token, telemetry })
 * ```
 *
 * @module autoplay-rx/otel
 */
export { otelTelemetry, type OtelTelemetryOptions } from './otelTelemetry.js'
export { INSTRUMENTS } from './instruments.js'
