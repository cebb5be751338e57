/**
 * The worker of docs/scaling.md, as a process of its own, for the Redis attacks: `mergeMap(…, 8)`, ack after
 * the work, `release()` when it throws. The work fails on the entry whose session is `poison`: `--mode exit`
 * ends the process (a crash), `--mode release` throws. `--work-ms` makes the work take time. Prints
 * `PROCESSED id`, `HANDOUT id` (each time the poison is handed out) and `HEAP bytes` (every 20 ms). Stops by
 * itself after `--seconds`, or `--idle-ms` after the last delivery.
 */
import { createClient } from 'redis'
import { mergeMap } from 'rxjs'
import { silentLogger, type Payload } from '../../dist/esm/index.js'
import { fromRedisStream } from '../../dist/esm/redis/index.js'
import { sleep } from './common.js'

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]!
}
const mode = arg('mode', 'exit')
const workMs = Number(arg('work-ms', '0'))
const idleMs = Number(arg('idle-ms', '3000'))
const until = Date.now() + Number(arg('seconds', '20')) * 1000
const claimIdleMs = arg('claim-idle-ms', '')

const redis = createClient({ url: arg('url', ''), disableOfflineQueue: true })
redis.on('error', () => undefined)
await redis.connect()

let last = Date.now()
async function work(id: string, payload: Payload): Promise<void> {
  last = Date.now()
  if (payload.session_id === 'poison') {
    console.log(`HANDOUT ${id}`)
    if (mode === 'exit') process.exit(1)
    throw new Error('poison')
  }
  if (workMs > 0) await sleep(workMs)
}
const heap = setInterval(() => console.log(`HEAP ${process.memoryUsage().heapUsed}`), 20)
const worker = fromRedisStream(redis, {
  stream: arg('stream', 'attack'), group: 'workers', consumer: arg('consumer', 'host-1'), logger: silentLogger,
  ...(claimIdleMs === '' ? {} : { claimIdleMs: Number(claimIdleMs) }),
}).pipe(mergeMap(async (delivery) => {
  try {
    await work(delivery.id, delivery.payload)
  } catch {
    return delivery.release()
  }
  if (await delivery.ack()) console.log(`PROCESSED ${delivery.id}`)
}, 8)).subscribe({ error: (error) => console.log(`STOPPED ${String(error)}`) })

while (Date.now() < until && Date.now() - last < idleMs) await sleep(50)
worker.unsubscribe()
clearInterval(heap)
await sleep(100)
await redis.close()
