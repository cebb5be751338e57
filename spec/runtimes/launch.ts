/**
 * Bundles a worker for a runtime as a user's build would, and starts it there: the runtime specs
 * and the runtime benchmark (bench/runtimes.ts) share this. Every runtime comes from node_modules,
 * where `npm ci` put it: miniflare (workerd) and edge-runtime run in this process, Bun, Deno and
 * Node as children on a free loopback port.
 */
import * as esbuild from 'esbuild'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export type Kind = 'workerd' | 'edge' | 'bun' | 'deno' | 'node'
export const KINDS: readonly Kind[] = ['workerd', 'edge', 'bun', 'deno', 'node']

const root = fileURLToPath(new URL('../../', import.meta.url))

/** A binary that `npm ci` installed (the package's own bin link). */
const binary = (name: string): string => join(root, 'node_modules', '.bin', name)

export interface Running {
  readonly url: string
  close(): Promise<void>
}

/**
 * Bundles the worker of `kind` (spec/runtimes/worker/<kind>.ts) around `app` (a module exporting
 * `app(request)`, default the spec's worker/app.ts) into `dir`: one ES module (a classic script for
 * the Edge runtime's `fetch` event), for the browser platform everywhere but Node, so that a static
 * `node:` import anywhere in the graph fails the build, as it fails `wrangler deploy` and `next build`.
 */
export async function bundle(kind: Kind, dir: string, define: Record<string, string>, app?: string): Promise<string> {
  const outfile = join(dir, `${kind}${app === undefined ? '' : `-${basename(app, '.ts')}`}.${kind === 'edge' ? 'js' : 'mjs'}`)
  await esbuild.build({
    entryPoints: [fileURLToPath(new URL(`./worker/${kind}.ts`, import.meta.url))],
    bundle: true,
    outfile,
    format: kind === 'edge' ? 'iife' : 'esm',
    platform: kind === 'node' ? 'node' : 'browser',
    // What wrangler and Next.js ask of packages on these runtimes.
    conditions: kind === 'workerd' ? ['workerd', 'worker'] : kind === 'edge' ? ['edge-light', 'worker'] : [],
    target: 'es2022',
    define: Object.fromEntries(Object.entries(define).map(([k, v]) => [k, JSON.stringify(v)])),
    logLevel: 'silent',
    plugins: app === undefined ? [] : [{
      name: 'app',
      setup: (build) => { build.onResolve({ filter: /^\.\/app\.js$/ }, () => ({ path: app })) },
    }],
  })
  return outfile
}

/** Starts a bundle on its runtime; `scratch` is a folder of the caller's for the runtime's own files. */
export async function start(kind: Kind, file: string, scratch: string): Promise<Running> {
  switch (kind) {
    case 'workerd': {
      // Cloudflare's workerd, WITHOUT nodejs_compat: no node:crypto, no Buffer, no process.
      const { Miniflare } = await import('miniflare')
      const worker = new Miniflare({ modules: true, script: readFileSync(file, 'utf8'), compatibilityDate: '2025-09-01', host: '127.0.0.1', port: 0 })
      const url = await worker.ready
      return { url: url.origin, close: () => worker.dispose() }
    }
    case 'edge': {
      // Vercel's Edge runtime: the edge-runtime package that `next dev` and Vercel's CLI run functions in.
      const { EdgeRuntime, runServer } = await import('edge-runtime')
      const server = await runServer({ runtime: new EdgeRuntime({ initialCode: readFileSync(file, 'utf8') }), host: '127.0.0.1', port: 0 })
      return { url: server.url.replace(/\/$/, ''), close: () => server.close() }
    }
    case 'bun': return startProcess(binary('bun'), ['run', file])
    // Deno's cache goes to the caller's folder; the bundle needs the network only.
    case 'deno': return startProcess(binary('deno'), ['run', '--allow-net', '--no-prompt', file], { DENO_DIR: join(scratch, 'deno'), DENO_NO_UPDATE_CHECK: '1' })
    case 'node': return startProcess(process.execPath, [file])
  }
}

/** Runs `command` and waits for the `listening <port>` line the worker prints; `close` kills it. */
function startProcess(command: string, args: readonly string[], env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
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
      child.stdout.off('data', onData)
      resolve({ url: `http://127.0.0.1:${port}`, close })
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${command} exited ${code} before listening:\n${output}`)) })
  })
}
