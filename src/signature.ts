/**
 * The connector's signature: `X-Connector-Signature: sha256=<hex>`, HMAC-SHA256 over the raw body bytes,
 * compared in constant time against any one of several secrets (rotation). `node:crypto` answers at once where
 * the runtime has it (found at run time, never imported, so that this module loads on Workers and the Edge);
 * WebCrypto answers with a promise everywhere. Both read the header with the same code.
 */
import type { SignatureFailure } from './errors.js'
import { nodeBuiltin } from './internal/builtin.js'

const nodeCrypto = nodeBuiltin('node:crypto')
/** Whether this runtime verifies synchronously (`node:crypto` is there). */
export const SYNC_SIGNATURES = nodeCrypto !== undefined

/** The header that carries the connector's signature, in lower case as `req.headers` and `Headers` read it. */
export const SIGNATURE_HEADER = 'x-connector-signature'

const PREFIX = 'sha256='
const encoder = new TextEncoder()
const HMAC = { name: 'HMAC', hash: 'SHA-256' } as const

/**
 * Signs a body as the connector does: the `X-Connector-Signature` value, `sha256=<lower-case hex>`.
 * Throws a TypeError where the runtime has no `node:crypto`: use {@link signAsync} there.
 */
export function sign(body: Uint8Array | string, secret: string): string {
  if (nodeCrypto === undefined) {
    throw new TypeError('autoplay-rx: sign: this runtime has no node:crypto (Cloudflare Workers without ' +
      'nodejs_compat, the Edge runtime), so signatures cannot be made synchronously; use signAsync')
  }
  return PREFIX + nodeCrypto.createHmac('sha256', secret).update(body).digest('hex')
}

// WebCrypto refuses a key of no bytes; HMAC pads a short key with zeros to its 64-byte block, so
// 64 zero bytes is the same key as '' (node:crypto takes '' as is: both paths agree).
const hmacKey = (secret: string, usage: 'sign' | 'verify') =>
  crypto.subtle.importKey('raw', secret === '' ? new Uint8Array(64) : encoder.encode(secret), HMAC, false, [usage])

/** {@link sign} with WebCrypto, for every runtime (Cloudflare Workers and the Edge runtime included). */
export async function signAsync(body: Uint8Array | string, secret: string): Promise<string> {
  if (typeof secret !== 'string') throw new TypeError('autoplay-rx: signAsync: the secret must be a string')
  const key = await hmacKey(secret, 'sign')
  const data = typeof body === 'string' ? encoder.encode(body) : bufferSourceOf(body)
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, data))
  let hex = PREFIX
  for (const byte of mac) hex += HEX[byte]!
  return hex
}

// Pure: a bundle without signAsync drops the table.
const HEX = /* @__PURE__ */ Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

// WebCrypto takes a BufferSource; a Uint8Array over a SharedArrayBuffer is copied, anything else refused.
function bufferSourceOf(body: unknown): Uint8Array<ArrayBuffer> {
  if (body instanceof Uint8Array && body.buffer instanceof ArrayBuffer) return body as Uint8Array<ArrayBuffer>
  if (body instanceof Uint8Array) return new Uint8Array(body)
  throw new TypeError('autoplay-rx: the body to sign must be a Uint8Array or a string')
}

/** `null` when the header verifies the body, otherwise why not: at once with `node:crypto`, else a promise. */
export type SignatureCheck = (body: Uint8Array, signature: string | null | undefined) =>
  SignatureFailure | null | Promise<SignatureFailure | null>

/**
 * Prepares the check of headers against any one of `secrets` (strings, as the receiver has checked), a pure
 * HMAC check (`''` is a key like any other; no secret matches nothing). Every secret is tried, with no early
 * exit that would tell which one is in use. `webCrypto` defaults to whether the runtime lacks `node:crypto`.
 */
export function signatureCheck(secrets: ReadonlyArray<string>, webCrypto = nodeCrypto === undefined): SignatureCheck {
  return webCrypto || nodeCrypto === undefined ? webCryptoCheck(secrets) : nodeCryptoCheck(nodeCrypto, secrets)
}

function nodeCryptoCheck(node: NonNullable<typeof nodeCrypto>, secrets: ReadonlyArray<string>): SignatureCheck {
  const keys = secrets.map((secret) => node.createSecretKey(encoder.encode(secret)))
  return (body, signature) => {
    const shape = shapeOf(signature)
    if (shape !== null) return shape
    let ok = false
    for (const key of keys) {
      // The comparison sits left of `||`: every secret is checked all the same.
      ok = sameHex(node.createHmac('sha256', key).update(body).digest('hex'), signature!) || ok
    }
    if (ok) return null
    // Only a refusal is told apart: a header that is not 64 lower-case hex digits is malformed.
    return digestOf(signature!) === null ? 'malformed' : 'mismatch'
  }
}

function webCryptoCheck(secrets: ReadonlyArray<string>): SignatureCheck {
  // Imported at the first check that reads a digest, and kept (a failed import too: retrying costs the same).
  let keys: Promise<ReadonlyArray<Awaited<ReturnType<typeof crypto.subtle.importKey>>>> | undefined
  return async (body, signature) => {
    const shape = shapeOf(signature)
    const given = shape === null ? digestOf(signature!) : null
    if (given === null) return shape ?? 'malformed'
    try {
      keys ??= Promise.all(secrets.map((secret) => hmacKey(secret, 'verify')))
      const data = bufferSourceOf(body)
      // Every key is tried, all at once: no early exit. `verify` compares the whole digest in constant time.
      const verdicts = await Promise.all((await keys).map((key) => crypto.subtle.verify('HMAC', key, given, data)))
      return verdicts.includes(true) ? null : 'mismatch'
    } catch {
      return 'mismatch'
    }
  }
}

/** `missing`, `malformed` for a header not `sha256=` + 64 characters, or `null` to read on. */
function shapeOf(signature: string | null | undefined): SignatureFailure | null {
  if (typeof signature !== 'string' || signature === '') return 'missing'
  return signature.length === PREFIX.length + 64 && signature.startsWith(PREFIX) ? null : 'malformed'
}

// Every character is compared and the result read only at the end, so the time does not depend on where
// they differ; whole UTF-16 code units, so a lookalike such as "İ" (U+0130) never matches a "0". Text, not
// bytes: no Buffer is made per delivery.
function sameHex(expected: string, signature: string): boolean {
  let diff = 0
  for (let i = 0; i < 64; i++) diff |= expected.charCodeAt(i) ^ signature.charCodeAt(PREFIX.length + i)
  return diff === 0
}

// The 32 digest bytes of a well-shaped header, or null when its 64 characters are not all lower-case hex.
// One pass, no regular expression; it reads the caller's header alone, never the expected digest.
function digestOf(signature: string): Uint8Array<ArrayBuffer> | null {
  const digest = new Uint8Array(32)
  let invalid = 0
  for (let i = 0, at = PREFIX.length; i < 32; i++, at += 2) {
    const high = NIBBLE[signature.charCodeAt(at)] ?? NOT_HEX
    const low = NIBBLE[signature.charCodeAt(at + 1)] ?? NOT_HEX
    invalid |= high | low
    digest[i] = (high << 4) | low
  }
  return (invalid & NOT_HEX) === 0 ? digest : null
}

// Each ASCII character's value as a lower-case hex digit, NOT_HEX (a bit no digit has) for any other.
const NOT_HEX = 16
const NIBBLE = ((table: Uint8Array) => {
  for (let i = 0; i < 16; i++) table['0123456789abcdef'.charCodeAt(i)] = i
  return table
})(new Uint8Array(128).fill(NOT_HEX))
