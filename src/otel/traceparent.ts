// W3C Trace Context (`traceparent`, `tracestate`), read strictly: the API's default propagator reads
// nothing, and the W3C one lives in @opentelemetry/core, an SDK package this library does not depend on.
import { createTraceState, type SpanContext } from '@opentelemetry/api'

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/
const ZEROS = /^0+$/
type Fields = [string, string, string, string, string, string | undefined]

/**
 * The sender's span context (remote), or `undefined` for anything Trace Context level 1 calls invalid:
 * upper-case hex, version `ff`, a version `00` longer than 55 characters, all-zero ids.
 */
export function parseTraceparent(
  traceparent: string | null | undefined, tracestate?: string | null,
): SpanContext | undefined {
  if (typeof traceparent !== 'string') return undefined
  // Optional whitespace around a header value is not part of it (RFC 9110).
  const match = TRACEPARENT.exec(traceparent.trim())
  if (match === null) return undefined
  const [, version, traceId, spanId, flags, rest] = match as unknown as Fields
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined
  if (ZEROS.test(traceId) || ZEROS.test(spanId)) return undefined
  const context: SpanContext = { traceId, spanId, traceFlags: parseInt(flags, 16), isRemote: true }
  return typeof tracestate === 'string' && tracestate.trim() !== ''
    ? { ...context, traceState: createTraceState(tracestate) }
    : context
}
