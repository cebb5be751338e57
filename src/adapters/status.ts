/**
 * The one table from outcome to HTTP answer: every refusal and every
 * acknowledgement of every adapter is written here, and nowhere else.
 */
import { matchIngestError, type IngestError } from '../errors.js'

/**
 * Stable, machine-readable codes of every response, in the JSON body's
 * `code` (and `status: 'error'` from 400 on). The statuses are in
 * `docs/protocol.md`: 200 `ok`/`ignored`, 202 `processing`, 400, 401, 404,
 * 405, 413, 415, 500 (`body_not_raw`, `callback_failed`, `verification_unavailable`: the connector
 * retries) and 503 (`body_timeout`, `unavailable`, `overloaded`: likewise).
 *
 * @example
 * ```ts
 * const handler = createFetchHandler(receiver)
 * const res = await handler(new Request('http://localhost/events', {
 *   method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', // no signature header
 * }))
 * const { code } = (await res.json()) as { code?: ResponseCode }
 * console.log(res.status, code) // 401 invalid_signature
 * ```
 */
export type ResponseCode =
  | 'ok' | 'ignored' | 'processing'
  | 'invalid_signature' | 'malformed_json' | 'invalid_payload' | 'body_not_raw'
  | 'body_too_large' | 'unsupported_media_type' | 'method_not_allowed'
  | 'callback_failed' | 'verification_unavailable' | 'body_timeout' | 'unavailable' | 'overloaded' | 'not_found'

/**
 * What an adapter writes back. The body never holds the secret nor an expected signature.
 *
 * @example
 * ```ts
 * // The answer to a correctly signed body that is not JSON:
 * const answer: AdapterResponse = {
 *   status: 400,
 *   code: 'malformed_json',
 *   headers: { 'content-type': 'application/json; charset=utf-8' },
 *   body: '{"status":"error","code":"malformed_json","message":"Body is not valid JSON: Unexpected token …"}',
 * }
 * ```
 */
export interface AdapterResponse {
  /** The HTTP status (see {@link ResponseCode}). */
  readonly status: number
  /** The body's `code` (`ok` for a plain 200): what metrics count answers by. */
  readonly code: ResponseCode
  /** Lower-case header names: always `content-type`, plus `allow`, `retry-after` or `connection: close` where they apply. */
  readonly headers: Readonly<Record<string, string>>
  /** JSON: `{"status":"ok"}`, or `status`, `code` (a {@link ResponseCode}) and, for errors, a short `message`. */
  readonly body: string
}

const STATUS: Record<ResponseCode, number> = {
  ok: 200, ignored: 200, processing: 202,
  invalid_signature: 401, malformed_json: 400, invalid_payload: 400,
  body_too_large: 413, unsupported_media_type: 415, method_not_allowed: 405, not_found: 404,
  // A body parser mounted before the adapter is the server's own fault: the connector drops a 4xx
  // for good, so every delivery would be lost until the deploy is fixed; a 5xx is retried after it.
  body_not_raw: 500,
  callback_failed: 500,
  // Only a synchronous caller on a runtime without node:crypto meets it (the fetch handler verifies
  // asynchronously there): the server's setup, retried once fixed, like body_not_raw.
  verification_unavailable: 500,
  // A body that does not arrive in time, a store that is down, or a server over its budget may
  // work on a retry: 503 makes the connector send again (a 4xx would make it drop the batch).
  body_timeout: 503, unavailable: 503, overloaded: 503,
}

/** The response for a code; `message` is short and safe to show. */
export function response(code: ResponseCode, message?: string, extraHeaders: Record<string, string> = {}): AdapterResponse {
  const status = STATUS[code]
  const body = status < 300
    ? JSON.stringify(code === 'ok' ? { status: 'ok' } : { status: code === 'processing' ? 'accepted' : 'ok', code })
    : JSON.stringify({ status: 'error', code, message: message ?? code })
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', ...extraHeaders }
  if (code === 'method_not_allowed') headers.allow = 'POST'
  return { status, code, headers, body }
}

/** The answer to an accepted delivery, made once: it is the hot path. */
export const OK: AdapterResponse = response('ok')

/** The response code of each refusal: the one mapping from outcome to status. */
export const codeOf: (error: IngestError) => ResponseCode = matchIngestError<ResponseCode>({
  InvalidSignature: () => 'invalid_signature',
  MalformedJson: () => 'malformed_json',
  InvalidPayload: () => 'invalid_payload',
  UnknownEventType: () => 'ignored',
  NotRawBody: () => 'body_not_raw',
  BodyTooLarge: () => 'body_too_large',
  SyncVerificationUnavailable: () => 'verification_unavailable',
})

/** The answer to a request for another path (Express and node:http without a `next` handler). */
export const NOT_FOUND: AdapterResponse = response('not_found', 'Not found')

/** 503 `overloaded`: the connector retries later (with backoff), so nothing is lost. */
export function overloaded(message: string, headers?: Record<string, string>): AdapterResponse {
  return response('overloaded', message, { 'retry-after': '1', ...headers })
}

