/**
 * The app every runtime spec bundles and runs, as a user's would be: it imports the main entry and
 * `autoplay-rx/web` (here by their sources, which dist/ compiles one to one: `npm test` does not
 * build, and a self-import would type-check against dist/), answers the connector's deliveries with the fetch
 * handler, and reports what its streams saw. Routes:
 * - `POST /events`: the fetch handler (secrets: the test secret and a second one, rotation);
 *   `?lock=getReader|tee` locks the body by another reader first;
 * - `GET /seen`: what reached `payloads$` and `rejected$`, and whether this runtime verifies synchronously;
 * - `POST /sync`: a synchronous `ingest` of the body, on a receiver of its own (its tag or payload type);
 * - `GET /sse?url=…&n=…`: the first `n` payloads of `connectorStream` against `url`;
 * - `GET /broken?at=start|chunk`: a Request of declared length whose body stream fails before or after
 *   its first chunk, through the handler.
 */
import { connectorStream, silentLogger, WebhookReceiver, type IngestError } from '../../../src/index.js'
import { createFetchHandler } from '../../../src/adapters/web.js'
import * as E from 'fp-ts/lib/Either.js'
import { firstValueFrom, take, timeout, toArray } from 'rxjs'

import { ROTATED_SECRET } from './rotation.js'

declare const RUNTIME_SECRET: string

const secret = [ROTATED_SECRET, RUNTIME_SECRET]
const receiver = new WebhookReceiver({ secret, logger: silentLogger })
const handler = createFetchHandler(receiver, { path: '/events' })
const seen: { payloads: string[]; rejected: string[] } = { payloads: [], rejected: [] }
receiver.payloads$.subscribe((payload) => seen.payloads.push(`${payload.type}:${payload.session_id ?? ''}`))
receiver.rejected$.subscribe((error: IngestError) => seen.rejected.push('reason' in error ? `${error._tag}:${error.reason}` : error._tag))

const json = (value: unknown, status = 200) => new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } })

export async function app(request: Request): Promise<Response> {
  const url = new URL(request.url)
  try {
    if (url.pathname === '/events') {
      const lock = url.searchParams.get('lock')
      if (lock === 'tee') request.body!.tee()
      else if (lock === 'getReader') request.body!.getReader()
      return await handler(request)
    }
    if (url.pathname === '/seen') return json({ ...seen, verifiesSync: receiver.verifiesSync })
    if (url.pathname === '/sync') {
      const own = new WebhookReceiver({ secret, logger: silentLogger })
      const result = own.ingest(new Uint8Array(await request.arrayBuffer()), request.headers.get('x-connector-signature'))
      return json({ result: E.isRight(result) ? result.right.type : result.left._tag, message: E.isLeft(result) ? result.left.message : '' })
    }
    if (url.pathname === '/sse') {
      const stream = connectorStream({ url: url.searchParams.get('url')!, token: 'tok_runtime', maxRetries: 0, logger: silentLogger })
      const payloads = await firstValueFrom(stream.pipe(take(Number(url.searchParams.get('n'))), toArray(), timeout(10_000)))
      return json(payloads.map((p) => `${p.type}:${p.session_id ?? ''}`))
    }
    if (url.pathname === '/broken') {
      const chunk = url.searchParams.get('at') === 'chunk'
      const body = new ReadableStream<Uint8Array>({
        start: (c) => (chunk ? c.enqueue(new TextEncoder().encode('{"type":')) : c.error(new Error('connection reset'))),
        pull: (c) => c.error(new Error('connection reset')),
      })
      const broken = new Request(new URL('/events', url), {
        method: 'POST', body, headers: { 'content-type': 'application/json', 'content-length': '1000' }, duplex: 'half',
      } as RequestInit)
      const answer = await handler(broken)
      return json({ status: answer.status, code: ((await answer.json()) as { code: string }).code })
    }
    return json({ error: 'not found' }, 404)
  } catch (error) {
    return json({ error: String(error) }, 500)
  }
}
