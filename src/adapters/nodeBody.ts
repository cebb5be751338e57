/**
 * The body reader for Node streams (node:http's request, or the raw stream
 * Fastify hands over): under a size, time and memory limit, never
 * buffering past them.
 */
import { IncomingMessage } from 'node:http'
import { bodyDeadlines, type Deadlines } from './deadlines.js'
import { startBody } from './bodyChunks.js'
import type { BodyLimits, BodyOutcome } from './middleware.js'

/**
 * Reads a request stream into one `Uint8Array` under `limits` (the chunk itself, a Buffer, when it came
 * in one; the chunks are gathered by the accumulator the fetch handler uses too): refused at once
 * (`OverBudget`) when the declared length or a read slot does not fit the
 * budget, stopped as soon as it exceeds `maxBodyBytes` or a chunked body
 * outgrows the budget (the rest is never buffered), at its deadline, or
 * when the client goes away. Whatever the outcome, the budget gets back
 * what the read held, the deadline is removed, and so are the listeners of
 * a read that ends early, but for a no-op `'error'` listener on a stream that
 * is not node:http's request, so that an error it emits once destroyed
 * cannot crash the process.
 *
 * @param stream - the request body
 * @param declared - the declared Content-Length (see {@link declaredLength}), held in the budget from the start
 * @param limits - size, time and budget
 * @param deadlines - the deadline sweep, one shared by every read of a server (default: one for this read)
 * @returns how the read ended; never rejects
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { InFlightBudget, declaredLength, readBody, type BodyLimits } from 'autoplay-rx/node'
 *
 * const limits: BodyLimits = { maxBodyBytes: 1024 * 1024, bodyTimeoutMs: 10_000, budget: new InFlightBudget() }
 * createServer(async (req, res) => {
 *   const outcome = await readBody(req, declaredLength(req.headers['content-length']), limits)
 *   if (outcome._tag === 'Aborted') return
 *   res.statusCode = outcome._tag === 'Body' ? 200 : outcome._tag === 'TooLarge' ? 413 : 503
 *   res.end(outcome._tag === 'Body' ? `${outcome.bytes.length} bytes` : outcome._tag) // curl -d hello: "5 bytes"
 * }).listen(8787)
 * ```
 */
export function readBody(
  stream: NodeJS.ReadableStream & { destroyed?: boolean },
  declared: number,
  limits: BodyLimits,
  deadlines: Deadlines = bodyDeadlines(limits.bodyTimeoutMs),
): Promise<BodyOutcome> {
  return new Promise((resolve) => readBodyInto(stream, declared, limits, deadlines, resolve))
}

const ignore = (): void => {}

/** {@link readBody} with a callback: the middleware's hot path has no promise to wait for. */
export function readBodyInto(
  stream: NodeJS.ReadableStream & { destroyed?: boolean },
  declared: number,
  limits: BodyLimits,
  deadlines: Deadlines,
  resolve: (outcome: BodyOutcome) => void,
): void {
  const body = startBody(limits, declared)
  // Refused before a listener is attached: the stream stays paused and the connection is closed after the 503.
  if (body === null) return resolve({ _tag: 'OverBudget' })
  // node:http's request emits 'error' only to a listener and is marked destroyed when its client
  // goes away; the deadline sweep notices that. Listening to 'error' and 'close' on every request
  // costs more than decoding a small delivery, so only other streams (a Fastify preParsing
  // transform, say) get them.
  const watch = !(stream instanceof IncomingMessage)
  let settled = false
  // The common case, a whole body, is kept short: it is the hot path of every delivery.
  const onEnd = () => {
    if (settled) return
    settled = true
    body.end()
    deadlines.remove(deadline)
    if (watch) unwatch()
    resolve(body.body())
  }
  const stop = (outcome: BodyOutcome) => {
    if (settled) return
    settled = true
    body.end()
    deadlines.remove(deadline)
    stream.removeListener('data', onData)
    stream.removeListener('end', onEnd)
    stream.pause()
    if (watch) unwatch()
    resolve(outcome)
  }
  const onData = (chunk: Buffer | string) => {
    const refused = body.add(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
    if (refused !== null) stop(refused)
  }
  const onAbort = () => stop({ _tag: 'Aborted' })
  const unwatch = () => {
    // The no-op stays: the adapter may destroy the request after answering, and an 'error' the stream
    // then emits with no listener at all would crash the process.
    stream.on('error', ignore)
    stream.removeListener('error', onAbort)
    stream.removeListener('close', onAbort)
  }
  const deadline = deadlines.add(limits.bodyTimeoutMs, (abandoned) => stop(abandoned ? { _tag: 'Aborted' } : { _tag: 'Timeout' }),
    () => stream.destroyed === true)
  stream.on('data', onData)
  stream.on('end', onEnd)
  if (watch) {
    stream.on('error', onAbort)
    stream.on('close', onAbort)
  }
  if (stream.destroyed) onAbort()
}

