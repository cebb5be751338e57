import { describeRuntime } from './harness.js'

describeRuntime('runtime: Deno (Deno.serve)', 'deno', true)
