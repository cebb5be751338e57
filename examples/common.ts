/**
 * What every example shares, so that each one shows only its own wiring:
 * settings from the environment, one readable line per event, and a clean
 * stop on Ctrl-C or SIGTERM.
 */
import type { AddressInfo } from 'node:net'
import type { IngestError, Payload, UsertourTriggerPayload } from 'autoplay-rx'

/** PORT (0 picks a free one), HOST (loopback unless told) and AUTOPLAY_SECRET, the connector's signing secret. */
export function settings(): { port: number; host: string; secret: string } {
  const secret = process.env.AUTOPLAY_SECRET
  // An empty secret would accept unsigned deliveries: refuse to start rather than run open by mistake.
  if (!secret) throw new Error('Set AUTOPLAY_SECRET to the secret the connector signs with')
  return { port: Number(process.env.PORT ?? 8787), host: process.env.HOST ?? '127.0.0.1', secret }
}

/** An environment variable the example cannot run without. */
export function required(name: string): string {
  const value = process.env[name]
  if (!value) throw new Error(`Set ${name}`)
  return value
}

/** Prints where the server listens: the real port when PORT=0. */
export function listening(address: AddressInfo | string | null, path: string): void {
  const url = typeof address === 'string' ? new URL(address).origin
    : address === null ? 'an unknown address' : `http://${address.address}:${address.port}`
  console.log(`listening on ${url}${path}`)
}

/** One line for a payload: its kind, session and what happened. */
export function describe(payload: Payload): string {
  if (payload.type === 'summary') return `summary ${payload.session_id}: ${payload.summary}`
  const titles = payload.actions.slice(0, 3).map((action) => action.title)
  const more = payload.actions.length > 3 ? ', …' : ''
  return `actions ${payload.session_id}: ${payload.actions.length} (${titles.join(', ')}${more})`
}

/** One line for a `usertour_trigger`: whose browser should start which Usertour flow. */
export function describeTrigger(trigger: UsertourTriggerPayload): string {
  return `usertour ${trigger.session_id}: start flow ${trigger.flow_id}`
}

/** One line for a delivery the receiver refused (an unknown event type is ignored, not a fault). */
export function describeRefusal(error: IngestError): string {
  return error._tag === 'UnknownEventType' ? `ignored ${error.eventType}` : `refused ${error._tag}: ${error.message}`
}

/**
 * Runs `stop` on the first SIGTERM or SIGINT, then lets the process end by
 * itself: it only does once every server, socket and timer is closed, so a
 * clean exit proves nothing was left open. A second signal exits at once.
 */
export function stopOn(stop: () => unknown): void {
  let stopping = false
  const onSignal = () => {
    if (stopping) process.exit(1)
    stopping = true
    Promise.resolve().then(stop).then(
      () => {
        console.log('stopped')
        // Something left open would keep the process alive: say so instead of hanging.
        setTimeout(() => { console.error('still running 5 s after stopping: something was left open'); process.exit(1) }, 5_000).unref()
      },
      (error: unknown) => { console.error('could not stop cleanly:', error); process.exit(1) },
    )
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
}
