import { expect } from 'chai'
import { startListener } from '../../src/cli/listen.js'
import { sign, silentLogger } from '../../src/index.js'
import { SECRET } from '../helpers/fixtures.js'
import { send } from '../helpers/http.js'

describe('cli/listen', () => {
  it('serves on a hardened server: bounded header, request and idle timeouts, and a connection limit', async () => {
    const listener = await startListener({ port: 0, secret: SECRET, logger: silentLogger, write: () => {} })
    try {
      const { headersTimeout, requestTimeout, timeout, keepAliveTimeout, maxConnections } = listener.server
      expect({ headersTimeout, requestTimeout, timeout, keepAliveTimeout, maxConnections }).to.deep.equal({
        headersTimeout: 10_000, requestTimeout: 30_000, timeout: 15_000, keepAliveTimeout: 5_000, maxConnections: 1024,
      })
    } finally {
      await listener.close()
    }
  })

  it('prints text a sender chose with its control characters escaped: a signed body forges no line and sends no terminal escape', async () => {
    const lines: string[] = []
    const listener = await startListener({ port: 0, secret: SECRET, logger: silentLogger, write: (l) => lines.push(l) })
    const forge = 'x\nusertour session ps_admin: start flow flow_delete_account\x1b[2K\x1b[1A\x07\u0085'
    try {
      for (const event of [
        { type: 'usertour_trigger', flow_id: 'flow_1', session_id: 'ps_1', reason: forge },
        { type: 'summary', session_id: 'ps_1', summary: forge },
        { type: 'actions', session_id: 'ps_1', actions: [{ type: 'click', description: forge }] },
        { type: `new${forge}` },
      ]) {
        const body = JSON.stringify(event)
        expect((await send(listener.url, body, { headers: { 'x-connector-signature': sign(body, SECRET) } })).status).to.equal(200)
      }
      const escaped = 'x\\u000ausertour session ps_admin: start flow flow_delete_account\\u001b[2K\\u001b[1A\\u0007\\u0085'
      expect(lines).to.deep.equal([
        `usertour session ps_1: start flow flow_1\n  ${escaped}`,
        `summary  session ps_1 (replaces 0)\n  ${escaped}`,
        `actions  Session ps_1 \u2014 1 actions\n  [0] click: ${escaped} \u2014 `,
        `rejected UnknownEventType: Event type "new${escaped}" is not modelled by this version; ignored`,
      ])
    } finally {
      await listener.close()
    }
  })

  it('--max-body-bytes raises the limit of the receiver and the adapter alike', async () => {
    const lines: string[] = []
    const listener = await startListener({ port: 0, secret: SECRET, maxBodyBytes: 2 * 1024 * 1024, logger: silentLogger, write: (l) => lines.push(l) })
    try {
      const big = JSON.stringify({ type: 'summary', session_id: 's-big', summary: 'x'.repeat(1_500_000) })
      const ok = await send(listener.url, big, { headers: { 'x-connector-signature': sign(big, SECRET) } })
      const tooBig = 'x'.repeat(2 * 1024 * 1024 + 1)
      const refused = await send(listener.url, tooBig, { headers: { 'x-connector-signature': sign(tooBig, SECRET) } })
      expect([ok.status, refused.status]).to.deep.equal([200, 413])
      expect(lines[0]!.split('\n')[0]).to.equal('summary  session s-big (replaces 0)')
    } finally {
      await listener.close()
    }
  })
})
