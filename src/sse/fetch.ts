/**
 * One SSE connection as an Observable: the request, the status and
 * Content-Type checks, and the body cut into complete frames. Time plays no
 * part here (timeouts and retries are connectorStream's), so that the I/O
 * and the policy are tested apart.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import { catchError, concat, defer, finalize, from, mergeMap, type Observable, of, throwError } from 'rxjs'
import { utf8Chunks } from '../internal/utf8Chunks.js'
import { disconnectReason, type DisconnectReason } from './lifecycle.js'

/**
 * The part of a `fetch` response the stream reads; the global `fetch`'s and
 * undici's fit, and so does a stub for tests.
 *
 * @example
 * ```ts
 * const stub: FetchResponse = {
 *   status: 200,
 *   headers: { get: (name) => (name === 'content-type' ? 'text/event-stream' : null) },
 *   body: (async function* () { yield new TextEncoder().encode('data: {"type":"summary"}\n\n') })(),
 * }
 * ```
 */
export interface FetchResponse {
  /** The HTTP status: 2xx opens the stream, 401/403/404 end it, any other is retried. */
  readonly status: number
  /** The response headers; only `Content-Type` is read. */
  readonly headers: {
    /** A header's value by case-insensitive name, `null` when absent (as `Headers.get`). */
    get(name: string): string | null
  }
  /** The body; a WHATWG `ReadableStream` and a Node `Readable` are both async iterables of bytes. */
  readonly body: AsyncIterable<Uint8Array> | null
}

/**
 * A `fetch`. It must honour `signal`: that is how timeouts and
 * unsubscription end a connection. One that throws, or resolves to
 * something that is not a response, fails that connection as a
 * `NetworkError`, which is retried like any other.
 *
 * @example
 * ```ts
 * import { fetch as undiciFetch, ProxyAgent } from 'undici'
 *
 * const dispatcher = new ProxyAgent(process.env.HTTPS_PROXY!)
 * const viaProxy: FetchFunction = (url, init) => undiciFetch(url, { ...init, dispatcher })
 * connectorStream({ url, token, fetch: viaProxy })
 * ```
 */
export type FetchFunction = (
  url: string,
  init: { method: 'GET'; headers: Record<string, string>; signal: AbortSignal },
) => Promise<FetchResponse>

/** What a connection emits: once `Open` (headers accepted), then `Frames` for each chunk that completed a frame or comment. */
export type Signal =
  | { readonly _tag: 'Open'; readonly status: number }
  | { readonly _tag: 'Frames'; readonly messages: readonly EventSourceMessage[] }

/** How a connection ends, on the error channel between the connection and the retry policy; never seen by users. */
export class Ended {
  constructor(readonly reason: DisconnectReason) {}
}

/** What one connection needs. */
export interface Request {
  readonly fetch: FetchFunction
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly maxFrameChars: number
  /** Called with the server's `retry:` field. */
  readonly onRetry: (ms: number) => void
}

/** HTTP statuses no retry can fix (the reference's list). */
const FATAL_STATUSES: ReadonlySet<number> = new Set([401, 403, 404])

const ended = (reason: DisconnectReason): Observable<never> => throwError(() => new Ended(reason))

/**
 * One connection: `Open`, then `Frames`, then an {@link Ended} error (the
 * stream ending included). Unsubscribing aborts the request.
 */
export function connection(request: Request): Observable<Signal> {
  return defer(() => {
    const controller = new AbortController()
    // Inside a promise: a fetch that throws, or returns something else than a promise, fails this
    // connection like any network error (retried), never the stream with a raw error.
    // Called detached, not as `request.fetch(…)`: workerd's fetch refuses any `this` but the global
    // one ("Illegal invocation"), and a user's fetch is a plain function either way.
    const { fetch } = request
    const response = new Promise<FetchResponse>((resolve) =>
      resolve(fetch(request.url, { method: 'GET', headers: { ...request.headers }, signal: controller.signal })))
    return from(response).pipe(
      mergeMap((r) => read(r, request)),
      // A fetch that fails, or a body that breaks off, is a network error; our own Ended passes through.
      catchError((error: unknown) => throwError(() => (error instanceof Ended ? error : new Ended(disconnectReason.networkError(error))))),
      // Frees the socket of an unread body (a 500 page) and any listener fetch left on the signal.
      finalize(() => controller.abort()),
    )
  })
}

function read(response: FetchResponse, request: Request): Observable<Signal> {
  if (typeof response?.status !== 'number' || typeof response.headers?.get !== 'function') {
    return ended(disconnectReason.networkError(new TypeError('the fetch option resolved to something that is not a response (no status, no headers.get)')))
  }
  if (response.status < 200 || response.status > 299) {
    return ended(disconnectReason.httpStatus(response.status, FATAL_STATUSES.has(response.status)))
  }
  const contentType = response.headers.get('content-type')
  const body = response.body
  if (contentType === null || !/^\s*text\/event-stream\s*(;|$)/i.test(contentType)) {
    return ended(disconnectReason.unexpectedContentType(contentType))
  }
  // A stream announced without a body (a fetch stub, a proxy that dropped it): nothing to read, retried.
  if (body === null) {
    return ended(disconnectReason.networkError(new TypeError('the response announced text/event-stream but has no body')))
  }
  return concat(of<Signal>({ _tag: 'Open', status: response.status }), frames(body, request))
}

/** The body as complete frames. A fresh parser and decoder per connection: half a frame or half a UTF-8 sequence never leaks into the next. */
function frames(body: AsyncIterable<Uint8Array>, request: Request): Observable<Signal> {
  return defer(() => {
    const decode = utf8Chunks()
    let messages: EventSourceMessage[] = []
    let complete = false
    let overflowed = false
    const parser = createParser({
      onEvent: (message) => { messages.push(message); complete = true },
      onComment: () => { complete = true },
      onRetry: request.onRetry,
      onError: (error) => {
        // Other parse errors (an unknown field, a bad retry:) are ignored, as EventSource does.
        if (error.type === 'max-buffer-size-exceeded') overflowed = true
      },
      maxBufferSize: request.maxFrameChars,
    })
    return concat(from(body), ended(disconnectReason.streamEnded())).pipe(
      mergeMap((chunk) => {
        const text = decode(chunk)
        if (text !== '') parser.feed(text)
        // Only whole frames and comments are signals: a line that never ends must stall.
        const out: Signal[] = complete ? [{ _tag: 'Frames', messages }] : []
        messages = []
        complete = false
        return overflowed ? concat(out, ended(disconnectReason.frameTooLarge(request.maxFrameChars))) : out
      }),
    )
  })
}
