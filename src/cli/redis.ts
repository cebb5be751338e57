/**
 * The CLI's Redis connection (`listen --redis`, `work`): node-redis, loaded
 * only when a command asks for Redis, since it is an optional peer dependency.
 */
import { backoffDelay } from '../backoff.js'
import { CliError } from './errors.js'

/**
 * Connects to `url`. A server that is not there at start is given up on
 * after a few tries, with what to do; once connected, the client reconnects
 * for ever (outages are answered 503 by `listen` meanwhile, and commands fail
 * fast instead of queueing), and each new error is printed once.
 *
 * @param url - a redis:// or rediss:// URL
 * @returns the connected client; close it with `close()`
 * @throws CliError when the redis package is missing or the server cannot be reached
 * @example
 * ```ts
 * const redis = await connectRedis('redis://127.0.0.1:6379')
 * await redis.close()
 * ```
 */
export async function connectRedis(url: string) {
  let redis: typeof import('redis')
  try {
    redis = await import('redis')
  } catch {
    throw new CliError('--redis needs the "redis" package: npm install redis')
  }
  let connected = false
  const client = redis.createClient({
    url, disableOfflineQueue: true,
    socket: { reconnectStrategy: (retries: number) => (!connected && retries >= 5 ? new Error('gave up') : backoffDelay(retries + 1, { initialMs: 100, minMs: 100, maxMs: 2000 })) },
  })
  let lastError = ''
  client.on('error', (error: Error) => {
    if (connected && error.message !== lastError) process.stderr.write(`redis: ${error.message}\n`)
    lastError = error.message
  })
  try {
    await client.connect()
    connected = true
  } catch {
    throw new CliError(`cannot connect to ${url} (${lastError || 'no answer'}): is redis-server running there? Start it, or correct --redis`)
  }
  return client
}
