/**
 * What the runtime specs share: the worker of spec/runtimes/worker bundled with esbuild as a user's
 * build would, started once per spec file on its runtime (launch.ts), and the same checks run
 * against each.
 */
import { expect } from 'chai'
import { mkdtempSync, rmSync } from 'node:fs'
import type { ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sign } from '../../src/index.js'
import { fixture, SECRET } from '../helpers/fixtures.js'
import { closeServers, openSse, startServer, write } from '../sse/helpers.js'
import { bundle, start, type Kind, type Running } from './launch.js'
import { ROTATED_SECRET } from './worker/rotation.js'

const body = fixture('actions-small')
const summary = fixture('summary')
const sessionOf = (bytes: Uint8Array) => (JSON.parse(new TextDecoder().decode(bytes)) as { session_id: string }).session_id

async function post(url: string, bytes: Uint8Array | string, signature: string | null): Promise<number> {
  const response = await fetch(url, {
    method: 'POST', body: bytes,
    headers: { 'content-type': 'application/json', ...(signature === null ? {} : { 'x-connector-signature': signature }) },
  })
  await response.arrayBuffer()
  return response.status
}

/**
 * The checks every runtime passes: deliveries answered and streamed as on Node, the synchronous
 * call refused by name where there is no node:crypto, and `connectorStream` against a local SSE server.
 */
export function describeRuntime(title: string, kind: Kind, syncVerification: boolean): void {
  describe(title, function () {
    this.timeout(30_000)
    let dir: string
    let running: Running | undefined

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), `autoplay-rx-${kind}-`))
      running = await start(kind, await bundle(kind, dir, { RUNTIME_SECRET: SECRET }), dir)
    })

    after(async () => {
      await running?.close()
      rmSync(dir, { recursive: true, force: true })
    })

    afterEach(closeServers)

    it('answers signed deliveries 200 (either secret: rotation), forged 401, malformed 401/400, and streams only the verified ones', async () => {
      const events = `${running!.url}/events`
      const badJson = '{"type":'
      const badUtf8 = new Uint8Array([0x7b, 0xff, 0x7d])
      const statuses = [
        await post(events, body, sign(body, SECRET)),
        await post(events, summary, sign(summary, ROTATED_SECRET)),
        await post(events, body, sign(body, 'whsec_forged')),
        await post(events, body, `sha256=${'Z'.repeat(64)}`),
        await post(events, body, null),
        await post(events, badJson, sign(badJson, SECRET)),
        await post(events, badUtf8, sign(badUtf8, SECRET)),
      ]
      expect(statuses).to.deep.equal([200, 200, 401, 401, 401, 400, 400])
      const seen = await (await fetch(`${running!.url}/seen`)).json() as { payloads: string[]; rejected: string[]; verifiesSync: boolean }
      expect(seen).to.deep.equal({
        payloads: [`actions:${sessionOf(body)}`, `summary:${sessionOf(summary)}`],
        rejected: ['InvalidSignature:mismatch', 'InvalidSignature:malformed', 'InvalidSignature:missing', 'MalformedJson:syntax', 'MalformedJson:invalid-utf8'],
        verifiesSync: syncVerification,
      })
    })

    it(syncVerification
      ? 'verifies synchronously: ingest accepts a signed body'
      : 'refuses a synchronous ingest by name (SyncVerificationUnavailable, naming ingestAsync), never a fake verification', async () => {
      const signed = async (signature: string) => await (await fetch(`${running!.url}/sync`, {
        method: 'POST', body, headers: { 'x-connector-signature': signature },
      })).json() as { result: string; message: string }
      const good = await signed(sign(body, SECRET))
      const forged = await signed(sign(body, 'whsec_forged'))
      if (syncVerification) {
        expect([good.result, forged.result]).to.deep.equal(['actions', 'InvalidSignature'])
      } else {
        expect([good.result, forged.result]).to.deep.equal(['SyncVerificationUnavailable', 'SyncVerificationUnavailable'])
        expect(good.message).to.match(/no node:crypto/i).and.to.match(/ingestAsync/)
      }
    })

    it('a body another reader locked is 500 body_not_raw; a body that fails before or after its first chunk is a broken delivery (503), not body_not_raw', async () => {
      const locked = async (how: string) => {
        const answer = await fetch(`${running!.url}/events?lock=${how}`, {
          method: 'POST', body, headers: { 'content-type': 'application/json', 'x-connector-signature': sign(body, SECRET) },
        })
        return { status: answer.status, code: ((await answer.json()) as { code: string }).code }
      }
      const broken = async (at: string) => await (await fetch(`${running!.url}/broken?at=${at}`)).json() as { status: number; code: string }
      expect([await locked('getReader'), await locked('tee'), await broken('start'), await broken('chunk')]).to.deep.equal([
        { status: 500, code: 'body_not_raw' }, { status: 500, code: 'body_not_raw' },
        { status: 503, code: 'body_timeout' }, { status: 503, code: 'body_timeout' },
      ])
    })

    it('runs connectorStream against a local SSE server: two payloads, a bad frame between them skipped', async () => {
      const frames = (session: string) => `data: ${JSON.stringify({ type: 'summary', session_id: session, summary: `from ${session}` })}\n\n`
      let authorization: string | undefined
      const server = await startServer(async (req, res: ServerResponse) => {
        authorization = req.headers.authorization
        openSse(res)
        await write(res, `: hello\n\n${frames('ps_a')}`)
        await write(res, 'data: {"type":\n\n')
        await write(res, frames('ps_b'))
      })
      const response = await fetch(`${running!.url}/sse?n=2&url=${encodeURIComponent(server.url)}`)
      const got: unknown = await response.json()
      expect(got, JSON.stringify(got)).to.deep.equal(["summary:ps_a", "summary:ps_b"])
      expect(authorization).to.equal('Bearer tok_runtime')
    })
  })
}
