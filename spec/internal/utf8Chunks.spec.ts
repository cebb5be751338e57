import { expect } from 'chai'
import fc from 'fast-check'
import { utf8Chunks } from '../../src/internal/utf8Chunks.js'

const bytes = (...values: number[]) => new Uint8Array(values)
const utf8 = (text: string) => new TextEncoder().encode(text)

/** What one streaming TextDecoder (the standard's way, and this module's reference) makes of the chunks, joined. */
function reference(chunks: readonly Uint8Array[]): string {
  const decoder = new TextDecoder()
  return chunks.map((chunk) => decoder.decode(chunk, { stream: true })).join('')
}

/** `whole` cut at the given offsets (sorted, deduplicated, empty chunks kept: a body may yield one). */
function cut(whole: Uint8Array, at: readonly number[]): Uint8Array[] {
  const points = [...new Set(at.map((p) => p % (whole.length + 1)))].sort((a, b) => a - b)
  const chunks: Uint8Array[] = []
  let from = 0
  for (const p of points) {
    chunks.push(whole.subarray(from, p))
    from = p
  }
  chunks.push(whole.subarray(from))
  return chunks
}

describe('internal/utf8Chunks', () => {
  it('returns each chunk\'s text at once when the chunk ends on a whole character', () => {
    const decode = utf8Chunks()
    expect(decode(utf8('data: é'))).to.equal('data: é')
    expect(decode(utf8('☃\n'))).to.equal('☃\n')
  })

  it('holds back a character the chunk cuts off and gives it with the next chunk, for 2-, 3- and 4-byte characters', () => {
    for (const char of ['é', '☃', '😀']) {
      const encoded = utf8(char)
      for (let at = 1; at < encoded.length; at++) {
        const decode = utf8Chunks()
        expect(decode(new Uint8Array([0x61, ...encoded.subarray(0, at)])), `${char} cut after byte ${at}`).to.equal('a')
        expect(decode(new Uint8Array([...encoded.subarray(at), 0x62]))).to.equal(`${char}b`)
      }
    }
  })

  it('holds back across several chunks, one byte at a time', () => {
    const decode = utf8Chunks()
    expect([0xf0, 0x9f, 0x98].map((b) => decode(bytes(b)))).to.deep.equal(['', '', ''])
    expect(decode(bytes(0x80))).to.equal('😀')
  })

  it('keeps its own copy of held-back bytes: a body may refill one Buffer for every chunk', () => {
    const decode = utf8Chunks()
    const reused = Buffer.alloc(3)
    reused.set([0x61, 0xe2, 0x82])
    const first = decode(reused)
    reused.set([0xac, 0x0a, 0x0a])
    expect(first + decode(reused)).to.equal('a€\n\n')
  })

  it('drops one byte order mark at the start of the stream, even cut in two, and keeps any later one', () => {
    const decode = utf8Chunks()
    expect(decode(bytes(0xef, 0xbb))).to.equal('')
    expect(decode(bytes(0xbf, 0xef, 0xbb, 0xbf, 0x61))).to.equal('\ufeffa')
    expect(decode(bytes(0xef, 0xbb, 0xbf))).to.equal('\ufeff')
  })

  it('turns malformed bytes into U+FFFD as a TextDecoder does, a cut-off sequence followed by a new one included', () => {
    const decode = utf8Chunks()
    // Bytes that can never start a sequence are not held back, even last in a chunk.
    expect(decode(bytes(0x61, 0xff))).to.equal('a\ufffd')
    expect(decode(bytes(0xc0))).to.equal('\ufffd')
    // E2 82 is cut short by the next chunk's C3: one U+FFFD, then é.
    expect(decode(bytes(0x61, 0xe2, 0x82)) + decode(bytes(0xc3, 0xa9))).to.equal('a\ufffdé')
    expect(decode(bytes(0x80, 0xff, 0x62))).to.equal('\ufffd\ufffdb')
  })

  it('gives exactly the text of one streaming TextDecoder, for any bytes cut anywhere (once the stream goes on)', () => {
    // Mostly UTF-8 text (1- to 4-byte characters), with stray bytes of every kind mixed in.
    const piece = fc.oneof(
      { arbitrary: fc.string({ unit: 'binary', maxLength: 8 }).map(utf8), weight: 4 },
      { arbitrary: fc.uint8Array({ maxLength: 4 }), weight: 1 },
      { arbitrary: fc.constantFrom(bytes(0xef, 0xbb, 0xbf), bytes(0xf0, 0x9f), bytes(0xe2), bytes(0xc0, 0x80), bytes(0xed, 0xa0, 0x80)), weight: 1 },
    )
    const whole = fc.array(piece, { maxLength: 12 }).map((pieces) => new Uint8Array(pieces.flatMap((p) => [...p])))
    fc.assert(fc.property(whole, fc.array(fc.nat(), { maxLength: 6 }), (all, at) => {
      // A last ASCII chunk: a sequence the decoder may still hold at the very end is let out (and the reference's too).
      const chunks = [...cut(all, at), utf8('z')]
      const decode = utf8Chunks()
      expect(chunks.map(decode).join('')).to.equal(reference(chunks))
    }), { numRuns: 2000 })
  })
})
