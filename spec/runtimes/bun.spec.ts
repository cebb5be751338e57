import { binary, describeRuntime, startProcess } from './harness.js'

describeRuntime('runtime: Bun (Bun.serve)', 'bun', (file) => startProcess(binary('bun'), ['run', file]), true)
