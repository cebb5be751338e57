import { describeRuntime } from './harness.js'

describeRuntime('runtime: Bun (Bun.serve)', 'bun', true)
