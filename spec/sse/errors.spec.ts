/**
 * How a connectorStream ends in error: the two failures, their fields and
 * messages, the guard and the fold, and that a real 401 arrives as one.
 */
import { expect } from 'chai'
import { firstValueFrom } from 'rxjs'
import { silentLogger } from '../../src/logger.js'
import { connectorStream } from '../../src/sse/connectorStream.js'
import { match } from '../../src/match.js'
import {
  ConnectorStreamError, FatalStatusError, isConnectorStreamFailure, RetriesExhaustedError, type ConnectorStreamFailure,
} from '../../src/sse/errors.js'
import { disconnectReason } from '../../src/sse/lifecycle.js'
import { closeServers, failure, startServer, TOKEN } from './helpers.js'

const URL_ = 'https://connector.example.com/stream/prod_abc'
// The main entry's `match` is the one fold over the failures.
const describeFailure = match<ConnectorStreamFailure, string>({
  FatalStatus: (e) => `fatal ${e.status} at retry ${e.retry}`,
  RetriesExhausted: (e) => `exhausted after ${e.retries}: ${e.lastReason._tag}`,
})

describe('sse/errors', () => {
  afterEach(closeServers)

  it('FatalStatusError carries the status, the retry, the URL and the body, and says what to check', () => {
    const error = new FatalStatusError(403, 2, URL_, 'no access')
    expect([error._tag, error.name, error.status, error.retry, error.url, error.body, error.message]).to.deep.equal([
      'FatalStatus', 'FatalStatusError', 403, 2, URL_, 'no access',
      `SSE stream ${URL_} refused with HTTP 403; not retried: check the token's rights: it is not allowed this product's stream; ` +
      'it said "no access"',
    ])
    expect([401, 404].map((status) => new FatalStatusError(status, 0, URL_).message)).to.deep.equal([
      `SSE stream ${URL_} refused with HTTP 401; not retried: check the token (missing, mistyped, expired or revoked)`,
      `SSE stream ${URL_} refused with HTTP 404; not retried: check the URL and the product id in it`,
    ])
    expect(error).to.be.instanceOf(ConnectorStreamError).and.instanceOf(Error)
  })

  it('RetriesExhaustedError carries the count and the last reason, and says so', () => {
    const reason = disconnectReason.connectTimeout(50)
    const one = new RetriesExhaustedError(1, reason, URL_)
    const many = new RetriesExhaustedError(3, reason, URL_)
    expect([one._tag, one.name, one.retries, one.lastReason, one.url]).to.deep.equal(['RetriesExhausted', 'RetriesExhaustedError', 1, reason, URL_])
    expect(one.message).to.equal(`SSE stream ${URL_}: gave up after 1 retry; last: No response within 50 ms`)
    expect(many.message).to.equal(`SSE stream ${URL_}: gave up after 3 retries; last: No response within 50 ms`)
  })

  it('isConnectorStreamFailure accepts the two failures and nothing else', () => {
    expect([new FatalStatusError(401, 0, URL_), new RetriesExhaustedError(0, disconnectReason.streamEnded(), URL_)].map(isConnectorStreamFailure))
      .to.deep.equal([true, true])
    const lookalike = Object.assign(new Error('x'), { _tag: 'FatalStatus', status: 401 })
    expect([new Error('x'), lookalike, { _tag: 'RetriesExhausted' }, null, undefined, 'FatalStatus'].map(isConnectorStreamFailure))
      .to.deep.equal([false, false, false, false, false, false])
  })

  it('isConnectorStreamFailure recognises the failures of another copy of the module (the ESM and CJS builds), where instanceof cannot', async () => {
    // A query string makes the loader evaluate the module a second time: new classes, as the other build's would be.
    const copy = await import(`${new URL('../../src/sse/errors.ts', import.meta.url).href}?copy`) as typeof import('../../src/sse/errors.js')
    const failures = [new copy.FatalStatusError(401, 0, URL_), new copy.RetriesExhaustedError(2, disconnectReason.stalled(9), URL_)]
    expect(failures.map((e) => e instanceof FatalStatusError || e instanceof RetriesExhaustedError)).to.deep.equal([false, false])
    expect(failures.map(isConnectorStreamFailure)).to.deep.equal([true, true])
    expect(failures.map((e) => isConnectorStreamFailure(e) && describeFailure(e))).to.deep.equal(['fatal 401 at retry 0', 'exhausted after 2: Stalled'])
    const throwing = new Proxy(new FatalStatusError(401, 0, URL_), { get: () => { throw new Error('trap') } })
    expect(isConnectorStreamFailure(throwing)).to.equal(false)
  })

  it('match (the main entry\'s fold) picks the handler of each tag', () => {
    expect(describeFailure(new FatalStatusError(404, 1, URL_))).to.equal('fatal 404 at retry 1')
    expect(describeFailure(new RetriesExhaustedError(5, disconnectReason.stalled(9), URL_))).to.equal('exhausted after 5: Stalled')
  })

  it('a real 401 ends the stream with a failure the guard and the fold recognise, after one request', async () => {
    const server = await startServer((_req, res) => void res.writeHead(401).end())
    const error = await failure(firstValueFrom(connectorStream({ url: server.url, token: TOKEN, logger: silentLogger })))
    expect(isConnectorStreamFailure(error) && describeFailure(error)).to.equal('fatal 401 at retry 0')
    expect(server.requests).to.have.length(1)
  })

  it('a dead URL with maxRetries ends with RetriesExhausted, its last reason a NetworkError', async () => {
    const server = await startServer(() => undefined)
    const url = server.url
    await server.close()
    const error = await failure(firstValueFrom(connectorStream({ url, token: TOKEN, maxRetries: 2, initialBackoffMs: 1, minBackoffMs: 1, logger: silentLogger })))
    expect(isConnectorStreamFailure(error) && describeFailure(error)).to.equal('exhausted after 2: NetworkError')
  })
})
