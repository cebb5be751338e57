/**
 * What node.ts and fastify.ts share: node's header lookup, and a Node stream (node:http's request,
 * or the raw stream Fastify hands over) as the chunks of a body read.
 */
import { IncomingMessage, type IncomingHttpHeaders } from 'node:http'
import { ABORTED, type BodyRead, type ChunkSource } from './body.js'

/** A header by lower-case name: the first value when repeated. */
export function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

export type NodeStream = NodeJS.ReadableStream & { destroyed?: boolean }

const ignore = (): void => {}

export class StreamSource implements ChunkSource {
  private read: BodyRead | undefined
  // node:http's request emits 'error' only to a listener and is marked destroyed when its client goes
  // away, which the deadline sweep notices: listening to 'error' and 'close' on every request costs more
  // than decoding a small delivery, so only other streams (a Fastify preParsing transform) get them.
  private readonly watch: boolean

  constructor(private readonly stream: NodeStream) {
    this.watch = !(stream instanceof IncomingMessage)
  }

  start(read: BodyRead): void {
    this.read = read
    const stream = this.stream
    stream.on('data', this.onData)
    stream.on('end', this.onEnd)
    if (this.watch) {
      stream.on('error', this.onAbort)
      stream.on('close', this.onAbort)
    }
    if (stream.destroyed === true) this.onAbort()
  }

  stop(): void {
    this.stream.removeListener('data', this.onData)
    this.stream.removeListener('end', this.onEnd)
    this.stream.pause()
    this.unwatch()
  }

  gone(): boolean {
    return this.stream.destroyed === true
  }

  private readonly onData = (chunk: Buffer | string): void => {
    this.read!.chunk(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  }

  private readonly onEnd = (): void => {
    this.unwatch()
    this.read!.end()
  }

  private readonly onAbort = (): void => {
    this.read!.fail(ABORTED)
  }

  private unwatch(): void {
    if (!this.watch) return
    // The no-op stays: the adapter may destroy the request after answering, and an 'error' the stream
    // then emits with no listener at all would crash the process.
    this.stream.on('error', ignore)
    this.stream.removeListener('error', this.onAbort)
    this.stream.removeListener('close', this.onAbort)
  }
}
