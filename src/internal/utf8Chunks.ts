/**
 * UTF-8 bytes that arrive in chunks (a response body) → text: the text one
 * streaming `TextDecoder` would give, decoded on the engine's fast path.
 *
 * Node's `TextDecoder` leaves its fast (simdutf) path for good once it is
 * called with `{ stream: true }`; the slow path cost 0.17 µs per 248-byte
 * SSE frame against 0.03 µs (docs/benchmarks.md, "SSE: where the time
 * went"). So each chunk is
 * decoded whole, and only a multi-byte sequence that the chunk cuts off is
 * held back and put in front of the next chunk.
 *
 * Why the text is the same: a chunk is only ever cut just before a byte that
 * is not a continuation byte (`10xxxxxx`). A decoder always starts afresh on
 * such a byte (a sequence still open before it ends there as one U+FFFD, at
 * the end of the input or at that byte alike), so decoding the two parts
 * apart gives what decoding them together gives. spec/internal/utf8Chunks
 * checks it against `TextDecoder` on random bytes cut at random places.
 */

/** The bytes of a UTF-8 sequence that starts with lead byte `b` (0xC2–0xF4). */
const sequenceLength = (b: number): number => (b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2)
/** Whether `b` can start a multi-byte sequence (C0, C1 and F5–FF never can: they are U+FFFD at once). */
const isLead = (b: number): boolean => b >= 0xc2 && b <= 0xf4

/**
 * Where a sequence that may go on in the next chunk starts, or
 * `bytes.length` when the chunk ends on a whole character (or on bytes that
 * are wrong whatever follows).
 */
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
 * A decoder for one stream of UTF-8 chunks: call it with each chunk in
 * order, it returns the text they complete. Malformed bytes become U+FFFD,
 * and one byte order mark at the very start is dropped, as the SSE standard
 * (and a default `TextDecoder`) decode a stream. The up to 3 bytes held
 * back come out with the next chunk (their U+FFFD too, when they are
 * already known to be malformed, as `E0 8F` is), and never when the stream
 * ends there; none of them is a newline, so an SSE parser sees no difference.
 *
 * @returns the decoder of one stream (a fresh one per stream)
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
