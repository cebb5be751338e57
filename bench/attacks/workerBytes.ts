/**
 * Issue 22, item 3: a worker's memory counts entries, not bytes. 400 entries of ~1 MiB (within the receiver's
 * default 1 MiB body limit) in the stream; the worker of docs/scaling.md with reader defaults (work 20 ms per
 * entry) at --max-old-space-size=256, restarted up to 3 times when it dies: its peak heap, deaths, entries done.
 */
import { silentLogger, WebhookReceiver } from '../../dist/esm/index.js'
import { redisAppender } from '../../dist/esm/redis/index.js'
import { connect, startRedis } from '../../spec/helpers/redis.js'
import { actionsBody, child, MiB, mib, row } from './common.js'

const redis = await startRedis()
const client = await connect(redis.url)
try {
  const append = redisAppender(client, { stream: 'big' })
  const parser = new WebhookReceiver({ secret: '', logger: silentLogger })
  const body = actionsBody('ps_big', 1, 'x'.repeat(MiB - 2048))
  for (let i = 0; i < 400; i++) await append(parser.parse(body.replace('ps_big', `ps_${String(i).padStart(3, '0')}`))!)
  const processed = new Set<string>()
  let peak = 0
  let deaths = 0
  let runs = 0
  while (runs < 4 && processed.size < 400) {
    runs++
    const worker = child('redisWorker.ts', ['--url', redis.url, '--stream', 'big', '--work-ms', '20', '--seconds', '40', '--idle-ms', '3000'], {
      heapMiB: 256, limitMs: 50_000, onLine: (line) => {
        if (line.startsWith('PROCESSED ')) processed.add(line.slice(10))
        else if (line.startsWith('HEAP ')) peak = Math.max(peak, Number(line.slice(5)))
      },
    })
    if ((await worker.exited) !== 0) deaths++
  }
  row({ item: '3', measure: '400 entries of ~1 MiB, worker at --max-old-space-size=256, reader defaults, up to 3 restarts',
    figure: `peak heap ${mib(peak)}; died ${deaths} of ${runs} runs; ${processed.size}/400 processed`,
    target: 'no death, all 400 processed, heap < 256 MiB', pass: deaths === 0 && processed.size === 400 })
} finally {
  await client.close()
  await redis.stop()
}
