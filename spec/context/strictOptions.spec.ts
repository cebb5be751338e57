/**
 * Every option of the context and Redis APIs takes an explicit `undefined`: a user's file that passes one to each
 * compiles under `exactOptionalPropertyTypes`, against the package's declarations, and the stores treat it as "not
 * given".
 */
import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ContextStore, silentLogger } from '../../src/index.js'
import { RedisContextStore, redisAppender, redisDedupeStore } from '../../src/redis/index.js'
import { scratchDir } from '../helpers/redis.js'
import { batch, line } from './batches.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')

function run(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => execFile(process.execPath, [tsc, ...args], { cwd: root },
    (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), out: stdout + stderr })))
}

/** A user's file: each option given as `undefined` (what `?? undefined` and optional fields of their own produce). */
const USER_FILE = `
import { ContextStore, SessionSummarizer, intoContext, type ContextReader } from './types/index.js'
import { RedisContextStore, fromRedisStream, redisAppender, redisDedupeStore, toRedisStream } from './types/redis/index.js'

declare const client: { sendCommand(args: string[]): Promise<unknown> }
declare const product: string | undefined
const none = undefined

const defaults = {
  includeSummary: none, includeActions: none, lookbackSeconds: none, maxActions: none, maxBucketActions: none, now: none,
}
const store = new ContextStore({ ...defaults, maxSessions: none, logger: none })
const perCall = { productId: product, includeSummary: none, includeActions: none, lookbackSeconds: none, maxActions: none }
store.get('ps_1', perCall)
store.enrich('ps_1', 'q', { productId: product })
store.context$('ps_1', perCall)
store.reset('ps_1', { productId: product })
intoContext(store, { onError: none, logger: none })
new SessionSummarizer({
  llm: (prompt) => prompt, threshold: none, prompt: none, formatActions: none, concurrency: none, maxSessions: none,
  target: none, logger: none, telemetry: none,
})
const redisStore = new RedisContextStore(client, { ...defaults, prefix: none, ttlSeconds: none, logger: none })
void redisStore.reset('ps_1', { productId: product })
const reader: ContextReader = redisStore.reader
void reader.enrich('ps_1', 'q', { productId: product })
redisAppender(client, { stream: 's', maxLen: none, telemetry: none })
toRedisStream(client, { stream: 's', maxLen: none, telemetry: none })
redisDedupeStore(client, { prefix: none, ttlMs: none })
fromRedisStream(client, {
  stream: 's', group: 'g', consumer: 'c', batchSize: none, blockMs: none, claimIdleMs: none, maxInFlight: none,
  startAt: none, readClient: none, rejected: none, logger: none, backoff: none, scheduler: none, telemetry: none,
})

// The flag is on: a property declared without \`| undefined\` refuses it.
interface Strict { readonly x?: number }
// @ts-expect-error
const refused: Strict = { x: none }
void refused
`

describe('context and Redis options under exactOptionalPropertyTypes', function () {
  this.timeout(60_000)

  it('a user\'s strict project passes undefined to every option and compiles', async () => {
    const dir = scratchDir('strict-')
    try {
      const types = join(dir, 'types')
      const built = await run(['-p', 'tsconfig.build.json', '--emitDeclarationOnly', '--declarationMap', 'false',
        '--sourceMap', 'false', '--outDir', types])
      expect(built.out).to.equal('')
      writeFileSync(join(dir, 'user.ts'), USER_FILE)
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: {
          target: 'es2022', lib: ['es2022'], module: 'nodenext', moduleResolution: 'nodenext', types: ['node'],
          strict: true, exactOptionalPropertyTypes: true, skipLibCheck: true, noEmit: true,
        },
        files: ['user.ts'],
      }))
      const checked = await run(['-p', relative(root, join(dir, 'tsconfig.json'))])
      expect(checked.out).to.equal('')
      expect(checked.code).to.equal(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('an explicit undefined is "not given": the defaults apply', async () => {
    const none = undefined
    const store = new ContextStore({ maxSessions: none, logger: silentLogger, maxActions: none, maxBucketActions: none, now: none })
    store.add(batch('s1', 'p1', Date.now() / 1000, ['A']))
    const text = `Recent activity:\n${line(1, 0, 'A')}`
    expect(store.get('s1', { productId: none, maxActions: none, lookbackSeconds: none, includeSummary: none })).to.equal(text)
    const sent: string[][] = []
    const client = { sendCommand: async (args: string[]) => (sent.push(args), 'OK') }
    await redisAppender(client, { stream: 's', maxLen: none, telemetry: none })(batch('s1', '', 1, []))
    expect(sent[0]!.slice(0, 5)).to.deep.equal(['XADD', 's', 'MAXLEN', '~', '1000000'])
    await redisDedupeStore(client, { prefix: none, ttlMs: none }).seen('k')
    expect(sent[1]).to.deep.equal(['SET', 'autoplay-rx:seen:k', '1', 'NX', 'PX', '3600000'])
    expect(() => new RedisContextStore(client, { prefix: none, ttlSeconds: none, logger: none })).not.to.throw()
  })
})
