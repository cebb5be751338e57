import { describeRuntime } from './harness.js'

describeRuntime('runtime: Node (@hono/node-server)', 'node', true)
