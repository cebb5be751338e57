import { expect } from 'chai'
import fc from 'fast-check'
import { createHmac } from 'node:crypto'
import { sign, signAsync } from '../src/index.js'
import { signatureCheck } from '../src/signature.js'
import { fixture, SECRET } from './helpers/fixtures.js'

// Both checks, whatever this runtime would pick (node:crypto here).
const nodeCheck = (secrets: ReadonlyArray<string>) => signatureCheck(secrets, false)
const webCheck = (secrets: ReadonlyArray<string>) => signatureCheck(secrets, true)
const failureOf = (body: Uint8Array, signature: string | null | undefined, secrets: ReadonlyArray<string>) =>
  nodeCheck(secrets)(body, signature)

describe('signature', () => {
  const body = fixture('actions-small')

  it('sign gives sha256= and the lower-case hex HMAC of the exact bytes', () => {
    const expected = createHmac('sha256', SECRET).update(body).digest('hex')
    expect(sign(body, SECRET)).to.equal(`sha256=${expected}`)
    expect(sign(body.toString('utf8'), SECRET)).to.equal(`sha256=${expected}`)
  })

  it('accepts a valid signature', () => {
    expect(failureOf(body, sign(body, SECRET), [SECRET])).to.equal(null)
  })

  it('names why a signature is refused', () => {
    const good = sign(body, SECRET)
    expect(failureOf(body, undefined, [SECRET])).to.equal('missing')
    expect(failureOf(body, null, [SECRET])).to.equal('missing')
    expect(failureOf(body, '', [SECRET])).to.equal('missing')
    expect(failureOf(body, good.replace('sha256=', 'sha1=xx'), [SECRET])).to.equal('malformed')
    expect(failureOf(body, good.slice('sha256='.length), [SECRET])).to.equal('malformed')
    expect(failureOf(body, good.slice(0, -1), [SECRET])).to.equal('malformed')
    expect(failureOf(body, good.toUpperCase().replace('SHA256=', 'sha256='), [SECRET])).to.equal('malformed')
    expect(failureOf(body, good.slice(0, -1) + 'g', [SECRET])).to.equal('malformed')
    expect(failureOf(body, sign(body, 'another-secret'), [SECRET])).to.equal('mismatch')
    const changed = Buffer.from(body)
    changed[10] = changed[10]! ^ 1
    expect(failureOf(changed, good, [SECRET])).to.equal('mismatch')
  })

  it('refuses a digest written with characters beyond Latin-1, even when their low bytes spell the right digest', () => {
    // A framework that decodes header bytes as UTF-8 can hand over such a string; "ı" (U+0131) has the low byte of "1".
    const good = sign(body, SECRET)
    const lookalike = 'sha256=' + [...good.slice(7)].map((c) => String.fromCharCode(0x100 + c.charCodeAt(0))).join('')
    expect(lookalike).to.have.length(good.length)
    expect(Buffer.from(lookalike.slice(7), 'latin1').toString()).to.equal(good.slice(7))
    expect(failureOf(body, lookalike, [SECRET])).to.equal('malformed')
    const oneChar = good.slice(0, 7) + String.fromCharCode(0x4100 + good.charCodeAt(7)) + good.slice(8)
    expect(failureOf(body, oneChar, [SECRET])).to.equal('malformed')
  })

  it('accepts any one of several secrets (rotation)', () => {
    const check = nodeCheck(['new-secret', SECRET])
    expect(check(body, sign(body, SECRET))).to.equal(null)
    expect(check(body, sign(body, 'new-secret'))).to.equal(null)
    expect(check(body, sign(body, 'retired'))).to.equal('mismatch')
  })

  it('verifies multi-byte UTF-8 bodies over their bytes', () => {
    const text = '{"type":"summary","summary":"😀 导出 CSV — ok"}'
    const bytes = Buffer.from(text, 'utf8')
    expect(failureOf(bytes, sign(text, SECRET), [SECRET])).to.equal(null)
    // Signing the latin1 reading of the text gives another digest: raw bytes are what count.
    expect(failureOf(bytes, sign(Buffer.from(text, 'latin1'), SECRET), [SECRET])).to.equal('mismatch')
  })

  it('a signature made with a configured secret verifies, one made with any other does not, over any bytes (property)', () => {
    fc.assert(fc.property(
      fc.uint8Array({ maxLength: 200 }),
      fc.uniqueArray(fc.string({ maxLength: 12 }), { minLength: 1, maxLength: 3 }),
      fc.string({ maxLength: 12 }),
      fc.nat(),
      (bytes, secrets, other, pick) => {
        const check = nodeCheck(secrets)
        const configured = secrets[pick % secrets.length]!
        expect(check(bytes, sign(bytes, configured))).to.equal(null)
        expect(failureOf(bytes, sign(bytes, configured), secrets)).to.equal(null)
        const expected = secrets.includes(other) ? null : 'mismatch'
        expect(check(bytes, sign(bytes, other))).to.equal(expected)
        expect(failureOf(bytes, sign(bytes, other), secrets)).to.equal(expected)
      }), { numRuns: 300 })
  })

  it('an empty list of secrets verifies nothing, "" is a key like any other', () => {
    expect(failureOf(body, sign(body, SECRET), [])).to.equal('mismatch')
    expect(failureOf(body, sign(body, ''), [''])).to.equal(null)
    expect(failureOf(body, sign(body, SECRET), [''])).to.equal('mismatch')
  })

  describe('with WebCrypto (every runtime)', () => {
    it('signAsync writes what sign writes, for bytes and text', async () => {
      expect(await signAsync(body, SECRET)).to.equal(sign(body, SECRET))
      const text = '{"type":"summary","summary":"😀 导出 CSV — ok"}'
      expect(await signAsync(text, SECRET)).to.equal(sign(text, SECRET))
      expect(await signAsync(new Uint8Array(0), '')).to.equal(sign(new Uint8Array(0), ''))
    })

    it('gives the synchronous check\'s answer for every header: missing, malformed, mismatch, valid (property)', async () => {
      const good = sign(body, SECRET)
      const headers = [undefined, null, '', good, good.slice(0, -1), good + '0', good.toUpperCase().replace('SHA256=', 'sha256='),
        good.slice(0, -1) + 'g', 'sha1=' + good.slice(7), sign(body, 'another-secret'),
        'sha256=' + [...good.slice(7)].map((c) => String.fromCharCode(0x100 + c.charCodeAt(0))).join('')]
      const sync = nodeCheck([SECRET])
      const async = webCheck([SECRET])
      for (const header of headers) expect(await async(body, header), String(header)).to.equal(sync(body, header))
      await fc.assert(fc.asyncProperty(
        fc.uint8Array({ maxLength: 200 }),
        fc.uniqueArray(fc.string({ maxLength: 12 }), { minLength: 1, maxLength: 3 }),
        fc.oneof(fc.string({ maxLength: 12 }).map((secret) => ({ secret })), fc.string({ maxLength: 72 }),
          fc.stringMatching(/^sha256=[0-9a-f]{64}$/), fc.nat().map((pick) => ({ pick }))),
        async (bytes, secrets, header) => {
          const signature = typeof header === 'string' ? header
            : 'secret' in header ? sign(bytes, header.secret) : sign(bytes, secrets[header.pick % secrets.length]!)
          const expected = nodeCheck(secrets)(bytes, signature)
          expect(await webCheck(secrets)(bytes, signature)).to.equal(expected)
        }), { numRuns: 200 })
    })

    it('tries every secret (rotation), and a body changed by one bit is a mismatch', async () => {
      const check = webCheck(['new-secret', SECRET])
      expect(await check(body, sign(body, SECRET))).to.equal(null)
      expect(await check(body, sign(body, 'new-secret'))).to.equal(null)
      expect(await check(body, sign(body, 'retired'))).to.equal('mismatch')
      const changed = Uint8Array.from(body)
      changed[10] = changed[10]! ^ 1
      expect(await check(changed, sign(body, SECRET))).to.equal('mismatch')
      expect(await webCheck([])(body, sign(body, SECRET))).to.equal('mismatch')
    })

    it('imports the keys once, at the first check that reads a digest, and verifies every key each time', async () => {
      const subtle = crypto.subtle
      type Call = (...args: unknown[]) => unknown
      const importKey = subtle.importKey.bind(subtle) as Call
      const verify = subtle.verify.bind(subtle) as Call
      let imports = 0
      let verifies = 0
      const countingImport: Call = (...args) => { imports++; return importKey(...args) }
      const countingVerify: Call = (...args) => { verifies++; return verify(...args) }
      Object.defineProperty(subtle, 'importKey', { value: countingImport, configurable: true, writable: true })
      Object.defineProperty(subtle, 'verify', { value: countingVerify, configurable: true, writable: true })
      try {
        const check = webCheck(['new-secret', SECRET])
        expect(await check(body, 'sha256=zz')).to.equal('malformed')
        expect(imports).to.equal(0)
        for (let i = 0; i < 3; i++) expect(await check(body, sign(body, SECRET))).to.equal(null)
        expect(imports).to.equal(2)
        expect(verifies).to.equal(6)
      } finally {
        delete (subtle as { importKey?: unknown }).importKey
        delete (subtle as { verify?: unknown }).verify
      }
      expect(subtle.importKey).to.equal(Object.getPrototypeOf(subtle).importKey)
    })
  })
})
