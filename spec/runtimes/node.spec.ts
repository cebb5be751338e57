import { describeRuntime, startProcess } from './harness.js'

describeRuntime('runtime: Node (@hono/node-server)', 'node', (file) => startProcess(process.execPath, [file]), true)
