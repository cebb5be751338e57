import { join } from 'node:path'
import { binary, describeRuntime, startProcess } from './harness.js'

// Deno's cache goes to the spec's own temporary folder; the bundle needs the network only.
describeRuntime('runtime: Deno (Deno.serve)', 'deno', (file, dir) =>
  startProcess(binary('deno'), ['run', '--allow-net', '--no-prompt', file], { DENO_DIR: join(dir, 'deno'), DENO_NO_UPDATE_CHECK: '1' }), true)
