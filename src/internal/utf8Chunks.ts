/**
 * UTF-8 chunks (a response body) → the text one streaming `TextDecoder` would give, on the engine's fast
 * path: Node's decoder leaves it for good once called with `{ stream: true }`. So each chunk is decoded
 * whole, and only a multi-byte sequence the chunk cuts off is held back for the next one. The text is the
 * same because a chunk is only cut before a byte that is not a continuation byte, where a decoder starts
 * afresh (spec/internal/utf8Chunks.spec.ts checks it on random cuts).
 */

/** The bytes of a UTF-8 sequence that starts with lead byte `b` (0xC2–0xF4). */
const sequenceLength = (b: number): number => (b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2)
/** Whether `b` can start a multi-byte sequence (C0, C1 and F5–FF never can: they are U+FFFD at once). */
const isLead = (b: number): boolean => b >= 0xc2 && b <= 0xf4

// Where a sequence that may go on in the next chunk starts, or `bytes.length` when the chunk ends on a whole
// character (or on bytes that are wrong whatever follows).
function heldBackFrom(bytes: Uint8Array): number {
  const end = bytes.length
  // A sequence is at most 4 bytes, so one cut off has its lead in the last 3.
  for (let i = end - 1; i >= 0 && i >= end - 3; i--) {
    const b = bytes[i]!
    if ((b & 0xc0) === 0x80) continue // a continuation byte: look further back
    return isLead(b) && i + sequenceLength(b) > end ? i : end
  }
  return end
}

/**
 * A decoder for one stream: give it each chunk in order, it returns the text they complete. Malformed bytes
 * become U+FFFD and one BOM at the very start is dropped, as the SSE standard decodes a stream; bytes held
 * back come out with the next chunk (never a newline, so an SSE parser sees no difference).
 */
export function utf8Chunks(): (chunk: Uint8Array) => string {
  // ignoreBOM: each `decode` call starts a new input, so the decoder must not strip a BOM at the
  // start of every chunk; the one at the start of the stream is dropped below.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true })
  let held: Uint8Array | null = null
  let atStart = true
  return (chunk) => {
    let bytes = chunk
    if (held !== null) {
      bytes = new Uint8Array(held.length + chunk.length)
      bytes.set(held)
      bytes.set(chunk, held.length)
      held = null
    }
    const cut = heldBackFrom(bytes)
    if (cut < bytes.length) {
      // A copy: a Buffer's own `slice` is a view, and a body may refill one buffer for every chunk.
      held = Uint8Array.prototype.slice.call(bytes, cut)
      bytes = bytes.subarray(0, cut)
    }
    const text = decoder.decode(bytes)
    if (!atStart || text === '') return text
    atStart = false
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  }
}
