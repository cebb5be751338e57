/** The Redis connection of `listen --redis` and `work`: node-redis, an optional peer, loaded only when asked for. */
import { backoffDelay } from '../backoff.js'
import { bounded } from '../internal/within.js'
import { CliError } from './errors.js'
import { writeError } from './io.js'

/**
 * Connects to `url`, giving up after a few tries when the server is not there at start (exit 1, an outage
 * of the user's, not bad usage). Once connected the client reconnects for ever and fails commands fast
 * meanwhile (`listen` answers 503), printing each new error in one line. A server that takes the connection but
 * does not answer within `timeoutMs` (default: no bound) rejects with a `TimeoutError`.
 */
export async function connectRedis(url: string, timeoutMs = Infinity) {
  let redis: typeof import('redis')
  try {
    redis = await import('redis')
  } catch {
    throw new CliError('--redis needs the "redis" package: npm install redis', 1)
  }
  let connected = false
  const backoff = { initialMs: 100, minMs: 100, maxMs: 2000 }
  const reconnectStrategy = (tries: number) =>
    !connected && tries >= 5 ? new Error('gave up') : backoffDelay(tries + 1, backoff)
  const client = redis.createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy } })
  let lastError = ''
  client.on('error', (error: Error) => {
    // Not once closed by its owner: a late socket error after `stopped` is no news.
    if (connected && client.isOpen && error.message !== lastError) writeError(`redis: ${error.message}`)
    lastError = error.message
  })
  try {
    await bounded(client.connect(), timeoutMs, 'Redis')
    connected = true
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') throw (client.destroy(), error)
    const fix = 'is redis-server running there? Start it, or correct --redis'
    throw new CliError(`cannot connect to ${url} (${lastError || 'no answer'}): ${fix}`, 1)
  }
  return client
}
