// The fetch handler as a user deploys it, from the built package: what the runtime bench times.
import { silentLogger, WebhookReceiver } from '../../dist/esm/index.js'
import { createFetchHandler } from '../../dist/esm/adapters/web.js'

declare const RUNTIME_SECRET: string

export const app = createFetchHandler(new WebhookReceiver({ secret: RUNTIME_SECRET, logger: silentLogger }))
