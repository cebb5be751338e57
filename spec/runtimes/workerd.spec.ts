import { describeRuntime } from './harness.js'

describeRuntime('runtime: Cloudflare workerd (miniflare, no nodejs_compat)', 'workerd', false)
