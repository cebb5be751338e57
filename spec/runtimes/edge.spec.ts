import { describeRuntime } from './harness.js'

describeRuntime('runtime: Vercel Edge (edge-runtime)', 'edge', false)
