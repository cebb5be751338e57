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
