/**
 * A local receiver for testing an integration: serves the node adapter on a
 * port and prints each delivery readably (or as NDJSON for piping),
 * rejected ones with the reason.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Subscription } from 'rxjs'
import type { Payload } from '../codecs.js'
import type { Logger } from '../logger.js'
import { toText } from '../payloads.js'
import { WebhookReceiver } from '../receiver.js'
import { createNodeMiddleware, type AdapterOptions } from '../adapters/node.js'

/** Options of {@link startListener}. */
export interface ListenOptions extends AdapterOptions {
  readonly port: number
  readonly host?: string
  readonly secret: string | ReadonlyArray<string>
  /** Route; default `/events`. */
  readonly path?: string
  /** Print NDJSON instead of text. */
  readonly json?: boolean
  /** Where lines go; default stdout. */
  readonly write?: (line: string) => void
  readonly logger?: Logger
}

/** A running listener. */
export interface Listener {
  readonly url: string
  readonly receiver: WebhookReceiver
  readonly server: Server
  /** Stops accepting, completes the receiver's streams, and resolves when the server is closed. */
  close(): Promise<void>
}

/** A delivery, readable: the session line and action lines, or the summary. */
export function formatPayload(payload: Payload): string {
  if (payload.type === 'summary') {
    return `summary  session ${payload.session_id ?? 'unknown'} (replaces ${payload.replaces})\n  ${payload.summary}`
  }
  const [head, ...lines] = toText(payload).split('\n')
  return [`actions  ${head}`, ...lines.map((l) => `  ${l}`)].join('\n')
}

/** A refusal, readable: tag and reason. */
export function formatRejection(error: { readonly _tag: string; readonly message: string }): string {
  return `rejected ${error._tag}: ${error.message}`
}

/** Starts a listener; resolves once it accepts connections. */
export async function startListener(options: ListenOptions): Promise<Listener> {
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'))
  const path = options.path ?? '/events'
  const receiver = new WebhookReceiver({
    secret: options.secret,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
  })
  const subscriptions = new Subscription()
  subscriptions.add(receiver.payloads$.subscribe((payload) =>
    write(options.json ? JSON.stringify({ event: 'payload', payload }) : formatPayload(payload))))
  subscriptions.add(receiver.rejected$.subscribe((error) =>
    write(options.json
      ? JSON.stringify({ event: 'rejected', tag: error._tag, message: error.message,
        ...(error._tag === 'UnknownEventType' ? { eventType: error.eventType } : {}) })
      : formatRejection(error))))
  const server = createServer(createNodeMiddleware(receiver, { ...options, path }))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve())
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${host}:${address.port}${path}`,
    receiver,
    server,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeIdleConnections()
      receiver.complete()
      subscriptions.unsubscribe()
    }),
  }
}
