/**
 * A Redis worker written by hand on the client alone (bench/http.ts's redis-path-floor, bench/redis.ts's drain):
 * what the bridge's worker is held against. No claims, no bounds, no retries.
 */
import type { connect } from '../spec/helpers/redis.js'

type Client = Awaited<ReturnType<typeof connect>>
/** node-redis' own timer per command, off as the bridge has it. */
export const noTimer = { timeout: 0 }

/**
 * XREADGROUP of up to 200, JSON.parse of each, one XACK per read, until `enough` says so. Each payload is kept until
 * its XACK is answered, as a worker that acknowledges once done keeps it; `done` learns how many each read took.
 */
export async function workByHand(reader: Client, stream: string, group: string, enough: () => boolean, done: (n: number) => void): Promise<void> {
  while (!enough()) {
    const reply = await reader.sendCommand(['XREADGROUP', 'GROUP', group, 'w1', 'COUNT', '200', 'BLOCK', '100', 'STREAMS', stream, '>'], noTimer) as
      Record<string, Array<[string, string[]]>> | null // node-redis 6 answers a map by stream
    const entries = reply?.[stream] ?? []
    const payloads: unknown[] = entries.map(([, fields]) => JSON.parse(fields[1]!))
    if (entries.length > 0) await reader.sendCommand(['XACK', stream, group, ...entries.map(([id]) => id)], noTimer)
    done(payloads.length)
  }
}
