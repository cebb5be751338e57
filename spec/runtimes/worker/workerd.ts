// A Cloudflare Worker (module syntax), as `wrangler deploy` would bundle it.
import { app } from './app.js'

export default { fetch: (request: Request): Promise<Response> => app(request) }
