/**
 * `autoplay-rx listen`: a local receiver for testing an integration. Serves the node adapter and prints each
 * delivery readably (or as NDJSON), refused ones with the reason; with Redis, stores each before answering.
 */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Subscription } from 'rxjs'
import type { Payload, UsertourTriggerPayload } from '../codecs.js'
import { toText } from '../payloads.js'
import { WebhookReceiver, type WebhookReceiverOptions as ReceiverOptions } from '../receiver.js'
import { createHardenedServer, createNodeMiddleware, type AdapterOptions } from '../adapters/node.js'
import { CliError } from './errors.js'
import { cliLogger, untilInterrupted, writeError, writeLine } from './io.js'
import { connectRedis } from './redis.js'

/** A listener's options; the logger defaults to one line on stderr per warning or error. */
export interface ListenOptions extends AdapterOptions, Pick<ReceiverOptions, 'secret' | 'maxBodyBytes' | 'logger'> {
  readonly port: number
  readonly host?: string | undefined
  /** Route; default `/events`. */
  readonly path?: string | undefined
  /** Print NDJSON instead of text. */
  readonly json?: boolean | undefined
  /** Where lines go; default stdout. */
  readonly write?: ((line: string) => void) | undefined
}

export interface Listener {
  readonly url: string
  readonly receiver: WebhookReceiver
  readonly server: Server
  /** Stops accepting, completes the receiver's streams, and resolves when the server is closed. */
  close(): Promise<void>
}

// Text a sender chose (descriptions, summaries, reasons, messages that quote a body) is printed with its control
// characters escaped, so that a signed body can neither forge a line nor drive the terminal. Ids hold none.
const printable = (text: string) =>
  text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)

/** A delivery, readable: the session line and action lines, or the summary. */
export function formatPayload(payload: Payload): string {
  if (payload.type === 'summary') {
    const head = `summary  session ${payload.session_id ?? 'unknown'} (replaces ${payload.replaces})`
    return `${head}\n  ${printable(payload.summary)}`
  }
  // The head line holds only an id and a count; each action's line is escaped on its own.
  const [head] = toText(payload).split('\n', 1)
  return [`actions  ${head}`, ...payload.actions.map((a) => `  ${printable(toText(a))}`)].join('\n')
}

/** A `usertour_trigger`, readable. */
export function formatTrigger(trigger: UsertourTriggerPayload): string {
  const why = trigger.reason === '' ? '' : `\n  ${printable(trigger.reason)}`
  return `usertour session ${trigger.session_id ?? 'unknown'}: start flow ${trigger.flow_id}${why}`
}

export function formatRejection(error: { readonly _tag: string; readonly message: string }): string {
  return `rejected ${error._tag}: ${printable(error.message)}`
}

/** Starts a listener; resolves once it accepts connections. */
export async function startListener(options: ListenOptions): Promise<Listener> {
  const { secret, maxBodyBytes, json, write = writeLine, logger = cliLogger, path = '/events', ...rest } = options
  const receiver = new WebhookReceiver({ secret, maxBodyBytes, logger })
  const subscriptions = new Subscription()
  subscriptions.add(receiver.payloads$.subscribe((payload) =>
    write(json ? JSON.stringify({ event: 'payload', payload }) : formatPayload(payload))))
  subscriptions.add(receiver.usertourTrigger$.subscribe((trigger) =>
    write(json ? JSON.stringify({ event: 'usertour_trigger', trigger }) : formatTrigger(trigger))))
  subscriptions.add(receiver.rejected$.subscribe((error) =>
    write(json
      ? JSON.stringify({ event: 'rejected', tag: error._tag, message: error.message,
        ...(error._tag === 'UnknownEventType' ? { eventType: error.eventType } : {}) })
      : formatRejection(error))))
  // Hardened like any server should be: even a local one must not hold silent sockets for ever.
  const server = createHardenedServer(createNodeMiddleware(receiver, { ...rest, path }))
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

/** Runs `autoplay-rx listen` until Ctrl-C, then closes the server, the receiver and Redis; resolves with 0. */
export async function listenCommand(
  options: ListenOptions & {
    readonly host: string; readonly redisUrl: string | undefined; readonly stream: string
    readonly partitions: number | undefined
  },
): Promise<number> {
  const { port, host, redisUrl, stream, partitions, ...rest } = options
  const redis = redisUrl === undefined ? undefined : await connectRedis(redisUrl)
  try {
    const persist = redis && (await import('../redis/index.js')).redisAppender(redis, { stream, partitions })
    const listener = await startListener({ port, host, ...rest, ...(persist ? { persist } : {}) })
      .catch((error: unknown) => { throw cannotListen(error, host, port) })
    // Listening for Ctrl-C before saying so: a signal sent on that line must not find the default action.
    const interrupted = untilInterrupted()
    const streams = partitions === undefined ? '' : ` (${partitions} partitions, ${stream}:{0} to {${partitions - 1}})`
    writeError(`listening on ${listener.url}${redis ? ` → Redis stream ${stream}${streams}` : ''} (Ctrl-C to stop)`)
    await interrupted
    await listener.close()
  } finally {
    await redis?.close()
  }
  writeError('stopped')
  return 0
}

/** Why the server could not listen, with what to do, when it is the user's to fix; else the error as it is. */
function cannotListen(error: unknown, host: string, port: number): unknown {
  const choose = 'use --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every interface)'
  const noHost = `cannot listen on ${host}: no such host; ${choose}`
  const why: Record<string, string> = {
    EADDRINUSE: `port ${port} on ${host} is already in use: stop what holds it, or choose another with --port ` +
      '(0 picks a free one)',
    EACCES: `no permission to listen on port ${port}: choose a port above 1023 with --port`,
    EADDRNOTAVAIL: `cannot listen on ${host}: it is not an address of this machine; ${choose}`,
    ENOTFOUND: noHost,
    EAI_AGAIN: noHost,
  }
  const message = why[(error as NodeJS.ErrnoException | null)?.code ?? '']
  return message === undefined ? error : new CliError(message, 1)
}
