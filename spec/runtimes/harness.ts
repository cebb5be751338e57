/**
 * What the runtime specs share: the worker of spec/runtimes/worker bundled with esbuild as a user's
 * build would, started once per spec file on its runtime (each binary from node_modules, where
 * `npm ci` put it), and the same checks run against each.
 */
import { expect } from 'chai'
import * as esbuild from 'esbuild'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import type { ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sign } from '../../src/index.js'
import { fixture, SECRET } from '../helpers/fixtures.js'
import { closeServers, openSse, startServer, write } from '../sse/helpers.js'
import { ROTATED_SECRET } from './worker/rotation.js'

export type Kind = 'workerd' | 'edge' | 'bun' | 'deno' | 'node'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** A binary that `npm ci` installed (the package's own bin link). */
export const binary = (name: string): string => join(root, 'node_modules', '.bin', name)

/**
 * Bundles the worker for `kind` as a user's build would: one ES module (a classic script for the
 * Edge runtime's `fetch` event), for the browser platform everywhere but Node, so that a static
 * `node:` import anywhere in the graph fails the build, as it fails `wrangler deploy` and `next build`.
 */
export async function bundle(kind: Kind, dir: string): Promise<string> {
  const outfile = join(dir, `${kind}.${kind === 'edge' ? 'js' : 'mjs'}`)
  await esbuild.build({
    entryPoints: [fileURLToPath(new URL(`./worker/${kind}.ts`, import.meta.url))],
    bundle: true,
    outfile,
    format: kind === 'edge' ? 'iife' : 'esm',
    platform: kind === 'node' ? 'node' : 'browser',
    // What wrangler and Next.js ask of packages on these runtimes.
    conditions: kind === 'workerd' ? ['workerd', 'worker'] : kind === 'edge' ? ['edge-light', 'worker'] : [],
    target: 'es2022',
    define: { RUNTIME_SECRET: JSON.stringify(SECRET) },
    logLevel: 'silent',
  })
  return outfile
}

export interface Running {
  readonly url: string
  close(): Promise<void>
}

/** Runs `command` and waits for the `listening <port>` line the worker prints; `close` kills it. */
export function startProcess(command: string, args: readonly string[], env: Record<string, string> = {}): Promise<Running> {
  const child: ChildProcess = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { void close(); reject(new Error(`${command} did not start in 20 s:\n${output}`)) }, 20_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const port = /listening (\d+)/.exec(output)?.[1]
      if (port === undefined) return
      clearTimeout(timer)
      child.stdout!.off('data', onData)
      resolve({ url: `http://127.0.0.1:${port}`, close })
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${command} exited ${code} before listening:\n${output}`)) })
  })
}

const body = fixture('actions-small')
const summary = fixture('summary')
const sessionOf = (bytes: Uint8Array) => (JSON.parse(new TextDecoder().decode(bytes)) as { session_id: string }).session_id

async function post(url: string, bytes: Uint8Array | string, signature: string | null): Promise<number> {
  const response = await fetch(url, {
    method: 'POST', body: bytes,
    headers: { 'content-type': 'application/json', ...(signature === null ? {} : { 'x-connector-signature': signature }) },
  })
  await response.arrayBuffer()
  return response.status
}

/**
 * The checks every runtime passes: deliveries answered and streamed as on Node, the synchronous
 * call refused by name where there is no node:crypto, and `connectorStream` against a local SSE server.
 */
export function describeRuntime(title: string, kind: Kind, start: (file: string, dir: string) => Promise<Running>, syncVerification: boolean): void {
  describe(title, function () {
    this.timeout(30_000)
    let dir: string
    let running: Running | undefined

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), `autoplay-rx-${kind}-`))
      running = await start(await bundle(kind, dir), dir)
    })

    after(async () => {
      await running?.close()
      rmSync(dir, { recursive: true, force: true })
    })

    afterEach(closeServers)

    it('answers signed deliveries 200 (either secret: rotation), forged 401, malformed 401/400, and streams only the verified ones', async () => {
      const events = `${running!.url}/events`
      const badJson = '{"type":'
      const badUtf8 = new Uint8Array([0x7b, 0xff, 0x7d])
      const statuses = [
        await post(events, body, sign(body, SECRET)),
        await post(events, summary, sign(summary, ROTATED_SECRET)),
        await post(events, body, sign(body, 'whsec_forged')),
        await post(events, body, `sha256=${'Z'.repeat(64)}`),
        await post(events, body, null),
        await post(events, badJson, sign(badJson, SECRET)),
        await post(events, badUtf8, sign(badUtf8, SECRET)),
      ]
      expect(statuses).to.deep.equal([200, 200, 401, 401, 401, 400, 400])
      const seen = await (await fetch(`${running!.url}/seen`)).json() as { payloads: string[]; rejected: string[]; verifiesSync: boolean }
      expect(seen).to.deep.equal({
        payloads: [`actions:${sessionOf(body)}`, `summary:${sessionOf(summary)}`],
        rejected: ['InvalidSignature:mismatch', 'InvalidSignature:malformed', 'InvalidSignature:missing', 'MalformedJson:syntax', 'MalformedJson:invalid-utf8'],
        verifiesSync: syncVerification,
      })
    })

    it(syncVerification
      ? 'verifies synchronously: ingest accepts a signed body'
      : 'refuses a synchronous ingest by name (SyncVerificationUnavailable, naming ingestAsync), never a fake verification', async () => {
      const signed = async (signature: string) => await (await fetch(`${running!.url}/sync`, {
        method: 'POST', body, headers: { 'x-connector-signature': signature },
      })).json() as { result: string; message: string }
      const good = await signed(sign(body, SECRET))
      const forged = await signed(sign(body, 'whsec_forged'))
      if (syncVerification) {
        expect([good.result, forged.result]).to.deep.equal(['actions', 'InvalidSignature'])
      } else {
        expect([good.result, forged.result]).to.deep.equal(['SyncVerificationUnavailable', 'SyncVerificationUnavailable'])
        expect(good.message).to.match(/no node:crypto/).and.to.match(/ingestAsync/)
      }
    })

    it('runs connectorStream against a local SSE server: two payloads, a bad frame between them skipped', async () => {
      const frames = (session: string) => `data: ${JSON.stringify({ type: 'summary', session_id: session, summary: `from ${session}` })}\n\n`
      let authorization: string | undefined
      const server = await startServer(async (req, res: ServerResponse) => {
        authorization = req.headers.authorization
        openSse(res)
        await write(res, `: hello\n\n${frames('ps_a')}`)
        await write(res, 'data: {"type":\n\n')
        await write(res, frames('ps_b'))
      })
      const response = await fetch(`${running!.url}/sse?n=2&url=${encodeURIComponent(server.url)}`)
      const got: unknown = await response.json()
      expect(got, JSON.stringify(got)).to.deep.equal(["summary:ps_a", "summary:ps_b"])
      expect(authorization).to.equal('Bearer tok_runtime')
    })
  })
}
