import { readFileSync } from 'node:fs'
import { EdgeRuntime, runServer } from 'edge-runtime'
import { describeRuntime } from './harness.js'

// Vercel's Edge runtime (the edge-runtime package that `next dev` and Vercel's CLI run functions in).
describeRuntime('runtime: Vercel Edge (edge-runtime)', 'edge', async (file) => {
  const runtime = new EdgeRuntime({ initialCode: readFileSync(file, 'utf8') })
  const server = await runServer({ runtime, host: '127.0.0.1', port: 0 })
  return { url: server.url.replace(/\/$/, ''), close: () => server.close() }
}, false)
