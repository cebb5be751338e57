/**
 * Issue 22, item 2: a poison entry in the Redis pipeline. 12 entries, one whose work ends the process; the
 * worker of docs/scaling.md with a stable consumer name, restarted 8 times. Then the work throws and calls
 * `release()`, `claimIdleMs: 500`, for 20 s: how many times the poison is handed out.
 */
import { silentLogger, WebhookReceiver } from '../../dist/esm/index.js'
import { redisAppender } from '../../dist/esm/redis/index.js'
import { connect, startRedis } from '../../spec/helpers/redis.js'
import { actionsBody, child, row } from './common.js'

const redis = await startRedis()
const client = await connect(redis.url)
const parser = new WebhookReceiver({ secret: '', logger: silentLogger })
const fill = async (stream: string) => {
  const append = redisAppender(client, { stream })
  for (let i = 0; i < 12; i++) await append(parser.parse(actionsBody(i === 3 ? 'poison' : `ps_${i}`, 1))!)
}
const pending = async (stream: string) => {
  try {
    return Number(((await client.sendCommand(['XPENDING', stream, 'workers'])) as unknown[])[0])
  } catch {
    return NaN
  }
}
try {
  await fill('crash')
  const processed = new Set<string>()
  let deaths = 0
  for (let run = 0; run < 9; run++) {
    const worker = child('redisWorker.ts', ['--url', redis.url, '--stream', 'crash', '--mode', 'exit', '--seconds', '8', '--idle-ms', '2000'], {
      limitMs: 20_000, onLine: (line) => { if (line.startsWith('PROCESSED ')) processed.add(line.slice(10)) },
    })
    if ((await worker.exited) !== 0) deaths++
  }
  const left = await pending('crash')
  row({ item: '2', measure: 'poison that ends the work: worker started 9 times (8 restarts), stable consumer name',
    figure: `died ${deaths}/9; ${processed.size} of 11 others processed; ${left} pending`,
    target: '11 processed, poison dead-lettered, 0 pending', pass: processed.size === 11 && left === 0 })

  await fill('throws')
  let handouts = 0
  const worker = child('redisWorker.ts', ['--url', redis.url, '--stream', 'throws', '--mode', 'release', '--claim-idle-ms', '500', '--seconds', '20', '--idle-ms', '30000'], {
    limitMs: 40_000, onLine: (line) => { if (line.startsWith('HANDOUT ')) handouts++ },
  })
  await worker.exited
  const left2 = await pending('throws')
  row({ item: '2', measure: 'poison whose work throws + release(), claimIdleMs 500, 20 s',
    figure: `handed out ${handouts} times; ${left2} pending at the end`, target: 'handed out ≤ the delivery cap (≤ 10), then dead-lettered; 0 pending',
    pass: handouts <= 10 && left2 === 0 })
} finally {
  await client.close()
  await redis.stop()
}
