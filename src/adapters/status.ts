/**
 * The one table from outcome to HTTP answer: every refusal and every acknowledgement of every adapter
 * is written here, and nowhere else.
 */
import type { IngestError } from '../errors.js'

/**
 * The stable code of every answer, in the JSON body's `code`; the statuses are in docs/protocol.md.
 * A 5xx makes the connector retry, a 4xx drop the batch.
 */
export type ResponseCode =
  | 'ok' | 'ignored' | 'processing'
  | 'invalid_signature' | 'malformed_json' | 'invalid_payload' | 'body_not_raw'
  | 'body_too_large' | 'unsupported_media_type' | 'method_not_allowed'
  | 'callback_failed' | 'verification_unavailable' | 'body_timeout' | 'unavailable' | 'overloaded' | 'not_found'

/** What an adapter writes back. The body never holds the secret nor an expected signature. */
export interface AdapterResponse {
  readonly status: number
  /** The body's `code`: what metrics count answers by. */
  readonly code: ResponseCode
  /** Lower-case names: `content-type`, plus `allow`, `retry-after` or `connection: close` where they apply. */
  readonly headers: Readonly<Record<string, string>>
  /** JSON: `{"status":"ok"}`, or `status`, `code` and, for errors, a short `message`. */
  readonly body: string
}

const STATUS: Record<ResponseCode, number> = {
  ok: 200, ignored: 200, processing: 202,
  invalid_signature: 401, malformed_json: 400, invalid_payload: 400,
  body_too_large: 413, unsupported_media_type: 415, method_not_allowed: 405, not_found: 404,
  // The server's own setup (a body parser first; a sync caller without node:crypto): a 4xx would lose
  // every delivery until the deploy is fixed, a 5xx is retried after it.
  body_not_raw: 500, callback_failed: 500, verification_unavailable: 500,
  // A body late, a store down, a server over its budget: may work on a retry.
  body_timeout: 503, unavailable: 503, overloaded: 503,
}

/** The response for a code; `message` is short and safe to show. */
export function response(code: ResponseCode, message?: string, extra: Record<string, string> = {}): AdapterResponse {
  const status = STATUS[code]
  // A `code` left undefined is left out: `{"status":"ok"}`.
  const body = JSON.stringify(status < 300
    ? { status: code === 'processing' ? 'accepted' : 'ok', code: code === 'ok' ? undefined : code }
    : { status: 'error', code, message: message ?? code })
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', ...extra }
  if (code === 'method_not_allowed') headers.allow = 'POST'
  return { status, code, headers, body }
}

/** The answer to an accepted delivery, made once: it is the hot path. */
export const OK: AdapterResponse = response('ok')

const CODES: Record<IngestError['_tag'], ResponseCode> = {
  InvalidSignature: 'invalid_signature',
  MalformedJson: 'malformed_json',
  InvalidPayload: 'invalid_payload',
  UnknownEventType: 'ignored',
  NotRawBody: 'body_not_raw',
  BodyTooLarge: 'body_too_large',
  SyncVerificationUnavailable: 'verification_unavailable',
}

/** The response code of each refusal: the one mapping from outcome to status. */
export const codeOf = (error: IngestError): ResponseCode => CODES[error._tag]

/** The answer to a request for another path (Express and node:http without a `next` handler). */
export const NOT_FOUND: AdapterResponse = response('not_found', 'Not found')

/** 503 `overloaded`: the connector retries later (with backoff), so nothing is lost. */
export function overloaded(message: string, headers?: Record<string, string>): AdapterResponse {
  return response('overloaded', message, { 'retry-after': '1', ...headers })
}

