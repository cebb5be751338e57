import { expect } from 'chai'
import fc from 'fast-check'
import { createHmac } from 'node:crypto'
import { findSignatureFailure, sign, prepareSignatureCheck } from '../src/index.js'
import { fixture, SECRET } from './helpers/fixtures.js'

describe('signature', () => {
  const body = fixture('actions-small')

  it('sign gives sha256= and the lower-case hex HMAC of the exact bytes', () => {
    const expected = createHmac('sha256', SECRET).update(body).digest('hex')
    expect(sign(body, SECRET)).to.equal(`sha256=${expected}`)
    expect(sign(body.toString('utf8'), SECRET)).to.equal(`sha256=${expected}`)
  })

  it('accepts a valid signature', () => {
    expect(findSignatureFailure(body, sign(body, SECRET), [SECRET])).to.equal(null)
  })

  it('names why a signature is refused', () => {
    const good = sign(body, SECRET)
    expect(findSignatureFailure(body, undefined, [SECRET])).to.equal('missing')
    expect(findSignatureFailure(body, null, [SECRET])).to.equal('missing')
    expect(findSignatureFailure(body, '', [SECRET])).to.equal('missing')
    expect(findSignatureFailure(body, good.replace('sha256=', 'sha1=xx'), [SECRET])).to.equal('malformed')
    expect(findSignatureFailure(body, good.slice('sha256='.length), [SECRET])).to.equal('malformed')
    expect(findSignatureFailure(body, good.slice(0, -1), [SECRET])).to.equal('malformed')
    expect(findSignatureFailure(body, good.toUpperCase().replace('SHA256=', 'sha256='), [SECRET])).to.equal('malformed')
    expect(findSignatureFailure(body, good.slice(0, -1) + 'g', [SECRET])).to.equal('malformed')
    expect(findSignatureFailure(body, sign(body, 'another-secret'), [SECRET])).to.equal('mismatch')
    const changed = Buffer.from(body)
    changed[10] = changed[10]! ^ 1
    expect(findSignatureFailure(changed, good, [SECRET])).to.equal('mismatch')
  })

  it('refuses a digest written with characters beyond Latin-1, even when their low bytes spell the right digest', () => {
    // A framework that decodes header bytes as UTF-8 can hand over such a string; "ı" (U+0131) has the low byte of "1".
    const good = sign(body, SECRET)
    const lookalike = 'sha256=' + [...good.slice(7)].map((c) => String.fromCharCode(0x100 + c.charCodeAt(0))).join('')
    expect(lookalike).to.have.length(good.length)
    expect(Buffer.from(lookalike.slice(7), 'latin1').toString()).to.equal(good.slice(7))
    expect(findSignatureFailure(body, lookalike, [SECRET])).to.equal('malformed')
    const oneChar = good.slice(0, 7) + String.fromCharCode(0x4100 + good.charCodeAt(7)) + good.slice(8)
    expect(findSignatureFailure(body, oneChar, [SECRET])).to.equal('malformed')
  })

  it('accepts any one of several secrets (rotation)', () => {
    const check = prepareSignatureCheck(['new-secret', SECRET])
    expect(check(body, sign(body, SECRET))).to.equal(null)
    expect(check(body, sign(body, 'new-secret'))).to.equal(null)
    expect(check(body, sign(body, 'retired'))).to.equal('mismatch')
  })

  it('verifies multi-byte UTF-8 bodies over their bytes', () => {
    const text = '{"type":"summary","summary":"😀 导出 CSV — ok"}'
    const bytes = Buffer.from(text, 'utf8')
    expect(findSignatureFailure(bytes, sign(text, SECRET), [SECRET])).to.equal(null)
    // Signing the latin1 reading of the text gives another digest: raw bytes are what count.
    expect(findSignatureFailure(bytes, sign(Buffer.from(text, 'latin1'), SECRET), [SECRET])).to.equal('mismatch')
  })

  it('a signature made with a configured secret verifies, one made with any other does not, over any bytes (property)', () => {
    fc.assert(fc.property(
      fc.uint8Array({ maxLength: 200 }),
      fc.uniqueArray(fc.string({ maxLength: 12 }), { minLength: 1, maxLength: 3 }),
      fc.string({ maxLength: 12 }),
      fc.nat(),
      (bytes, secrets, other, pick) => {
        const check = prepareSignatureCheck(secrets)
        const configured = secrets[pick % secrets.length]!
        expect(check(bytes, sign(bytes, configured))).to.equal(null)
        expect(findSignatureFailure(bytes, sign(bytes, configured), secrets)).to.equal(null)
        const expected = secrets.includes(other) ? null : 'mismatch'
        expect(check(bytes, sign(bytes, other))).to.equal(expected)
        expect(findSignatureFailure(bytes, sign(bytes, other), secrets)).to.equal(expected)
      }), { numRuns: 300 })
  })

  it('an empty list of secrets verifies nothing, "" is a key like any other', () => {
    expect(findSignatureFailure(body, sign(body, SECRET), [])).to.equal('mismatch')
    expect(findSignatureFailure(body, sign(body, ''), [''])).to.equal(null)
    expect(findSignatureFailure(body, sign(body, SECRET), [''])).to.equal('mismatch')
  })
})
