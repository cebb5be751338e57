/**
 * Every adapter option takes an explicit `undefined`: a user's file that passes one to each compiles under
 * `exactOptionalPropertyTypes` against the package's declarations, and the adapters treat it as "not given".
 */
import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import { WebhookReceiver, silentLogger } from '../../src/index.js'
import { InFlightBudget } from '../../src/adapters/budget.js'
import { createFastifyPlugin } from '../../src/adapters/fastify.js'
import { createHardenedServer } from '../../src/adapters/harden.js'
import { resolveOptions } from '../../src/adapters/options.js'
import { scratchDir } from '../helpers/redis.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')

function run(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => execFile(process.execPath, [tsc, ...args], { cwd: root },
    (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), out: stdout + stderr })))
}

/** A user's file: each option given as `undefined` (what optional fields of their own produce). */
const USER_FILE = `
import { WebhookReceiver } from './types/index.js'
import { InFlightBudget, createHardenedServer, createNodeMiddleware, hardenServer, type AdapterOptions } from './types/adapters/node.js'
import { createFetchHandler, type FetchHandler } from './types/adapters/web.js'
import { createFastifyPlugin, type FastifyAdapterOptions } from './types/adapters/fastify.js'

const none = undefined
const receiver = new WebhookReceiver({ secret: 's' })
const budget = new InFlightBudget({ maxBytes: none, maxRequests: none, maxPendingCallbacks: none })
const options: AdapterOptions = {
  path: none, ack: none, ackTimeoutMs: none, retryOnCallbackError: none, bodyTimeoutMs: none, persist: none,
  persistTimeoutMs: none, budget: none,
}
const server = createHardenedServer(createNodeMiddleware(receiver, options), {
  headersTimeoutMs: none, requestTimeoutMs: none, idleTimeoutMs: none, keepAliveTimeoutMs: none, maxConnections: none,
  connectionsCheckingIntervalMs: none,
})
hardenServer(server, { idleTimeoutMs: none })
const handler: FetchHandler = createFetchHandler(receiver, { ...options, budget })
const fastify: FastifyAdapterOptions = { ...options, receiver, path: '/events' }
void [handler, fastify, createFastifyPlugin]

// The flag is on: a property declared without \\\`| undefined\\\` refuses it.
interface Strict { readonly x?: number }
// @ts-expect-error
const refused: Strict = { x: none }
void refused
`

describe('adapter options under exactOptionalPropertyTypes', function () {
  this.timeout(60_000)

  it('a user\'s strict project passes undefined to every adapter option and compiles', async () => {
    const dir = scratchDir('strict-adapters-')
    try {
      const types = join(dir, 'types')
      const built = await run(['-p', 'tsconfig.build.json', '--emitDeclarationOnly', '--declarationMap', 'false',
        '--sourceMap', 'false', '--outDir', types])
      expect(built.out).to.equal('')
      writeFileSync(join(dir, 'user.ts'), USER_FILE)
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: {
          target: 'es2022', lib: ['es2022', 'dom'], module: 'nodenext', moduleResolution: 'nodenext', types: ['node'],
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
    const receiver = new WebhookReceiver({ secret: 's', logger: silentLogger })
    const given = resolveOptions(receiver.maxBodyBytes, {
      path: none, ack: none, ackTimeoutMs: none, retryOnCallbackError: none, bodyTimeoutMs: none, persist: none,
      persistTimeoutMs: none, budget: none,
    })
    const { budget, ...rest } = given
    const { budget: _, ...defaults } = resolveOptions(receiver.maxBodyBytes)
    expect(rest).to.deep.equal(defaults)
    const limits = (b: InFlightBudget) => [b.maxBytes, b.maxRequests, b.maxPendingCallbacks]
    expect(limits(budget)).to.deep.equal(limits(new InFlightBudget()))
    expect(limits(new InFlightBudget({ maxBytes: none, maxRequests: none, maxPendingCallbacks: none })))
      .to.deep.equal([32 * 1024 * 1024, 1024, 512])
    const server = createHardenedServer(undefined, { headersTimeoutMs: none, idleTimeoutMs: none, maxConnections: none })
    expect([server.headersTimeout, server.timeout, server.maxConnections]).to.deep.equal([10_000, 15_000, 1024])
    const app = Fastify()
    await app.register(createFastifyPlugin, { receiver, path: '/events', ackTimeoutMs: none, budget: none })
    expect((await app.inject({ method: 'GET', url: '/events' })).statusCode).to.equal(405)
    await app.close()
  })
})
