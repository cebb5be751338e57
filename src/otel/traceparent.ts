/**
 * W3C Trace Context (`traceparent`, `tracestate`), read strictly, for the
 * sender that supplies a `traceparent` when no propagator is registered.
 */
import { createTraceState, type SpanContext } from '@opentelemetry/api'

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/
const ZEROS = /^0+$/

/**
 * Reads a W3C `traceparent` header (Trace Context, level 1) strictly:
 * lower-case hex only, version `ff` refused, version `00` exactly 55
 * characters, a higher version only followed by `-` and more, an all-zero
 * trace id or parent id refused. The span context is marked remote.
 *
 * @param traceparent - the header's value, if any
 * @param tracestate - the `tracestate` header, kept when valid (vendor entries)
 * @returns the sender's span context, or `undefined` for anything invalid
 * @example
 * ```ts
 * parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')
 * // { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true }
 * parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01') // undefined
 * ```
 */
export function parseTraceparent(traceparent: string | null | undefined, tracestate?: string | null): SpanContext | undefined {
  if (typeof traceparent !== 'string') return undefined
  // Optional whitespace around a header value is not part of it (RFC 9110).
  const match = TRACEPARENT.exec(traceparent.trim())
  if (match === null) return undefined
  const [, version, traceId, spanId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined]
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined
  if (ZEROS.test(traceId) || ZEROS.test(spanId)) return undefined
  const context: SpanContext = { traceId, spanId, traceFlags: parseInt(flags, 16), isRemote: true }
  return typeof tracestate === 'string' && tracestate.trim() !== ''
    ? { ...context, traceState: createTraceState(tracestate) }
    : context
}
