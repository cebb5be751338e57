// One SSE connection as an Observable: the request, the status and Content-Type checks, the body cut
// into complete frames. Timeouts and retries are connectorStream's; the one timer here bounds the read
// of a fatal answer's body, which must not hang the error.
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import {
  catchError, concat, defer, EMPTY, finalize, from, ignoreElements, mergeMap, type Observable, of, type SchedulerLike,
  takeUntil, takeWhile, throwError, timer,
} from 'rxjs'
import { utf8Chunks } from '../internal/utf8Chunks.js'
import { disconnectReason, type DisconnectReason } from './lifecycle.js'

/** The part of a `fetch` response the stream reads: the global `fetch`'s, undici's, or a stub's. */
interface FetchResponse {
  readonly status: number
  readonly headers: {
    /** A header by name, `null` when absent. */
    get(name: string): string | null
  }
  /** A WHATWG `ReadableStream` and a Node `Readable` are both async iterables of bytes. */
  readonly body: AsyncIterable<Uint8Array> | null
}

/**
 * A `fetch` that honours `signal` (timeouts and unsubscription end a connection through it). One that
 * throws, or resolves to something that is not a response, fails that connection as a `NetworkError`.
 */
export type FetchFunction = (
  url: string,
  init: { method: 'GET'; headers: Record<string, string>; signal: AbortSignal },
) => Promise<FetchResponse>

/**
 * What a connection emits: once `Open` (headers accepted), then `Frames` per chunk that completed frames,
 * or `Alive` per chunk that completed only lines without a frame (a heartbeat with no `data:`, a comment).
 */
export type Signal =
  | { readonly _tag: 'Open'; readonly status: number }
  | { readonly _tag: 'Frames'; readonly messages: readonly EventSourceMessage[] }
  | { readonly _tag: 'Alive' }

/** How a connection ends, on the error channel between the connection and the retry policy. */
export class Ended {
  /** `body`: the first KiB of a fatal answer's body, for the `FatalStatus` error. */
  constructor(readonly reason: DisconnectReason, readonly body = '') {}
}

export interface Request {
  readonly fetch: FetchFunction
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly maxFrameChars: number
  readonly onRetry: (ms: number) => void
  /** How long a fatal answer's body is read for its first KiB, on `scheduler`. */
  readonly refusalTimeoutMs: number
  readonly scheduler: SchedulerLike
}

/** HTTP statuses no retry can fix (the reference's list). */
const FATAL_STATUSES: ReadonlySet<number> = new Set([401, 403, 404])

/** Bytes of a fatal answer's body kept for the error: enough for a JSON error or the start of a page. */
const REFUSAL_BODY_BYTES = 1024

// Shared, so that a chunk of lines without a frame allocates nothing.
const ALIVE: readonly Signal[] = [{ _tag: 'Alive' }]
const NOTHING: readonly Signal[] = []

const ended = (reason: DisconnectReason): Observable<never> => throwError(() => new Ended(reason))

/** One connection: `Open`, then `Frames`, then an {@link Ended} error (the end of the body included). */
export function connection(request: Request): Observable<Signal> {
  return defer(() => {
    const controller = new AbortController()
    // Inside a promise: a fetch that throws or returns no promise fails this connection (retried).
    // Called detached: workerd's fetch refuses any `this` but the global one ("Illegal invocation").
    const { fetch } = request
    const response = new Promise<FetchResponse>((resolve) =>
      resolve(fetch(request.url, { method: 'GET', headers: { ...request.headers }, signal: controller.signal })))
    return from(response).pipe(
      mergeMap((r) => read(r, request)),
      // A fetch that fails, or a body that breaks off, is a network error; our own Ended passes through.
      catchError((error: unknown) =>
        throwError(() => (error instanceof Ended ? error : new Ended(disconnectReason.networkError(error))))),
      // Frees the socket of an unread body (a 500 page) and any listener fetch left on the signal.
      finalize(() => controller.abort()),
    )
  })
}

function read(response: FetchResponse, request: Request): Observable<Signal> {
  if (typeof response?.status !== 'number' || typeof response.headers?.get !== 'function') {
    const what = 'the fetch option resolved to something that is not a response (no status, no headers.get)'
    return ended(disconnectReason.networkError(new TypeError(what)))
  }
  // The headers of a fatal answer are life: the connect timeout must not cut the read of its body.
  if (FATAL_STATUSES.has(response.status)) return concat(ALIVE, refusal(response.status, response.body, request))
  if (response.status < 200 || response.status > 299) {
    return ended(disconnectReason.httpStatus(response.status, false))
  }
  const contentType = response.headers.get('content-type')
  const body = response.body
  if (contentType === null || !/^\s*text\/event-stream\s*(;|$)/i.test(contentType)) {
    return ended(disconnectReason.unexpectedContentType(contentType))
  }
  // A stream announced without a body (a fetch stub, a proxy that dropped it): nothing to read, retried.
  if (body === null) {
    const what = 'the response announced text/event-stream but has no body'
    return ended(disconnectReason.networkError(new TypeError(what)))
  }
  return concat(of<Signal>({ _tag: 'Open', status: response.status }), frames(body, request))
}

/**
 * A fatal answer's end: its body's first KiB (never more held), read until it ends, breaks off or
 * `refusalTimeoutMs` is up, whichever comes first, so that a server that stalls cannot hang the error.
 */
function refusal(status: number, body: AsyncIterable<Uint8Array> | null, request: Request): Observable<never> {
  return defer(() => {
    const held = new Uint8Array(REFUSAL_BODY_BYTES)
    let length = 0
    const read = body === null ? EMPTY : from(body).pipe(
      takeWhile((chunk) => {
        const n = Math.min(chunk.byteLength, held.length - length)
        held.set(chunk.subarray(0, n), length)
        length += n
        return length < held.length
      }),
      takeUntil(timer(request.refusalTimeoutMs, request.scheduler)),
      ignoreElements(),
      catchError(() => EMPTY), // a body that breaks off (or is not bytes): what came is kept
    )
    return concat(read, defer(() => {
      const text = refusalText(held.subarray(0, length), request.headers)
      return throwError(() => new Ended(disconnectReason.httpStatus(status, true, text), text))
    }))
  })
}

/** The body's text, a character cut at the end left out, and the token hidden should the server echo it. */
function refusalText(bytes: Uint8Array, headers: Readonly<Record<string, string>>): string {
  const text = new TextDecoder().decode(bytes, { stream: true }).trim()
  const token = /^Bearer (.+)$/.exec(headers['authorization'] ?? '')?.[1]
  return token === undefined ? text : text.split(token).join('[token]')
}

/** Whether the text ends a line: the parser reports frames only, and a lone CR ends a line too. */
const endsLine = (text: string): boolean => text.indexOf('\n') !== -1 || text.indexOf('\r') !== -1

/** The body as complete frames; a parser and decoder per connection, so no half frame leaks into the next. */
function frames(body: AsyncIterable<Uint8Array>, request: Request): Observable<Signal> {
  return defer(() => {
    const decode = utf8Chunks()
    let messages: EventSourceMessage[] = []
    let overflowed = false
    const parser = createParser({
      onEvent: (message) => { messages.push(message) },
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
        // Any complete line is life; the bytes of a line that never ends are not, so that it stalls.
        let out = NOTHING
        if (messages.length > 0) {
          out = [{ _tag: 'Frames', messages }]
          messages = []
        } else if (endsLine(text)) {
          out = ALIVE
        }
        return overflowed ? concat(out, ended(disconnectReason.frameTooLarge(request.maxFrameChars))) : out
      }),
    )
  })
}
