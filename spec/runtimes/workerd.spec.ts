import { readFileSync } from 'node:fs'
import { Miniflare } from 'miniflare'
import { describeRuntime } from './harness.js'

// Cloudflare's workerd through miniflare, WITHOUT nodejs_compat: no node:crypto, no Buffer, no process.
describeRuntime('runtime: Cloudflare workerd (miniflare, no nodejs_compat)', 'workerd', async (file) => {
  const worker = new Miniflare({
    modules: true,
    script: readFileSync(file, 'utf8'),
    compatibilityDate: '2025-09-01',
    host: '127.0.0.1',
    port: 0,
  })
  const url = await worker.ready
  return { url: url.origin, close: () => worker.dispose() }
}, false)
