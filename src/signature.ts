/**
 * The connector's signature scheme: `X-Connector-Signature: sha256=<hex>`,
 * HMAC-SHA256 over the raw body bytes. Verification compares digests in
 * constant time and accepts any one of several secrets (rotation).
 *
 * Two paths, one header grammar: synchronous with `node:crypto` where the
 * runtime has it (found at run time, never imported, so that this module
 * loads on Cloudflare Workers and the Edge runtime too), and asynchronous
 * with WebCrypto everywhere.
 */
import type { SignatureFailure } from './errors.js'
import { nodeBuiltin } from './internal/builtin.js'

const nodeCrypto = nodeBuiltin('node:crypto')
/** Whether this runtime verifies synchronously (`node:crypto` is there). */
export const SYNC_SIGNATURES = nodeCrypto !== undefined

/** Says which call works everywhere, for the refusal of a synchronous one where it cannot. */
export const SYNC_UNAVAILABLE = 'this runtime has no node:crypto (Cloudflare Workers without nodejs_compat, the Edge runtime), ' +
  'so signatures cannot be checked synchronously'

function needNodeCrypto(name: string, instead: string): NonNullable<typeof nodeCrypto> {
  if (nodeCrypto === undefined) throw new TypeError(`autoplay-rx: ${name}: ${SYNC_UNAVAILABLE}; use ${instead}`)
  return nodeCrypto
}

/**
 * The name of the header that carries the connector's signature, in lower
 * case as Node's `req.headers` and the Fetch API's `Headers` read it.
 *
 * @example
 * ```ts
 * import { SIGNATURE_HEADER } from 'autoplay-rx'
 *
 * receiver.ingest(rawBody, req.headers[SIGNATURE_HEADER] as string | undefined)  // node:http
 * receiver.ingest(await request.text(), request.headers.get(SIGNATURE_HEADER))   // Fetch API
 * ```
 */
export const SIGNATURE_HEADER = 'x-connector-signature'

const PREFIX = 'sha256='

/**
 * Signs a body as the connector does.
 *
 * @param body - the exact bytes that will be sent (a string is signed as its UTF-8 bytes)
 * @param secret - the shared secret
 * @returns the `X-Connector-Signature` header value, `sha256=<lower-case hex>`
 * @throws TypeError when `secret` is not a string or `body` neither bytes nor a string, or where the
 *   runtime has no `node:crypto` (use {@link signAsync} there)
 * @example
 * ```ts
 * const header = sign('{"type":"summary"}', 'whsec_test')
 * // 'sha256=…' (64 hex digits)
 * ```
 */
export function sign(body: Uint8Array | string, secret: string): string {
  return PREFIX + needNodeCrypto('sign', 'signAsync').createHmac('sha256', secret).update(body).digest('hex')
}

const encoder = new TextEncoder()
const HMAC = { name: 'HMAC', hash: 'SHA-256' } as const

// WebCrypto refuses a key of no bytes; HMAC pads a short key with zeros to its 64-byte block, so
// 64 zero bytes is the same key as '' (node:crypto takes '' as is: both paths agree).
const hmacKey = (secret: string, usage: 'sign' | 'verify') =>
  crypto.subtle.importKey('raw', secret === '' ? new Uint8Array(64) : encoder.encode(secret), HMAC, false, [usage])

/**
 * Signs a body as the connector does, with WebCrypto: {@link sign} for every
 * runtime, Cloudflare Workers and the Edge runtime included.
 *
 * @param body - the exact bytes that will be sent (a string is signed as its UTF-8 bytes)
 * @param secret - the shared secret
 * @returns the `X-Connector-Signature` header value, `sha256=<lower-case hex>`
 * @throws TypeError (as a rejection) when `secret` is not a string or `body` neither bytes nor a string
 * @example
 * ```ts
 * import { signAsync } from 'autoplay-rx'
 *
 * const body = '{"type":"summary","summary":"hi"}'
 * await fetch(url, { method: 'POST', body, headers: { 'x-connector-signature': await signAsync(body, secret) } })
 * ```
 */
export async function signAsync(body: Uint8Array | string, secret: string): Promise<string> {
  if (typeof secret !== 'string') throw new TypeError('autoplay-rx: signAsync: the secret must be a string')
  const key = await hmacKey(secret, 'sign')
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, typeof body === 'string' ? encoder.encode(body) : bytesOf(body)))
  let hex = PREFIX
  for (const byte of mac) hex += HEX[byte]!
  return hex
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

// WebCrypto takes a BufferSource; a Uint8Array over a SharedArrayBuffer, or anything else, is refused as `sign` refuses it.
function bytesOf(body: unknown): Uint8Array<ArrayBuffer> {
  if (body instanceof Uint8Array && body.buffer instanceof ArrayBuffer) return body as Uint8Array<ArrayBuffer>
  if (body instanceof Uint8Array) return new Uint8Array(body)
  throw new TypeError('autoplay-rx: the body to sign must be a Uint8Array or a string')
}

/**
 * Checks a signature header against a body: `null` when valid, otherwise
 * why not. Made by {@link prepareSignatureCheck}; never throws.
 *
 * @example
 * ```ts
 * const check: SignatureCheck = prepareSignatureCheck([secret])
 * check(body, header) // null | 'missing' | 'malformed' | 'mismatch'
 * ```
 */
export type SignatureCheck = (body: Uint8Array, signature: string | null | undefined) => SignatureFailure | null

/**
 * Prepares a check of `X-Connector-Signature` values against any one of
 * `secrets` (rotation): returns a {@link SignatureCheck}, to call once per
 * delivery. The keys are imported once.
 *
 * Every secret is tried (no early exit) and each comparison is constant
 * time over the full digest; the only things a caller can time are the
 * header's own length and shape, which are the caller's own input.
 *
 * Like {@link findSignatureFailure}, a pure HMAC check: `''` is a key like any
 * other, and an empty list matches nothing.
 *
 * @param secrets - the shared secrets; a signature made with any one of them is valid
 * @returns the check, to call once per delivery
 * @throws TypeError when a secret is not a string, or where the runtime has
 *   no `node:crypto` (Cloudflare Workers, the Edge runtime): the message names
 *   {@link prepareSignatureCheckAsync}, which works there
 * @example
 * ```ts
 * import { prepareSignatureCheck } from 'autoplay-rx'
 *
 * const check = prepareSignatureCheck([nextSecret, currentSecret]) // rotation: either one verifies
 * if (check(rawBody, req.headers['x-connector-signature'] as string | undefined) !== null) res.writeHead(401).end()
 * ```
 */
export function prepareSignatureCheck(secrets: ReadonlyArray<string>): SignatureCheck {
  const { createHmac, createSecretKey } = needNodeCrypto('prepareSignatureCheck', 'prepareSignatureCheckAsync')
  checkSecrets(secrets)
  const keys = secrets.map((secret) => createSecretKey(encoder.encode(secret)))
  return (body, signature) => {
    if (typeof signature !== 'string' || signature === '') return 'missing'
    if (signature.length !== PREFIX.length + 64 || !signature.startsWith(PREFIX)) return 'malformed'
    let ok = false
    for (const key of keys) {
      // The comparison sits left of `||`: every secret is checked all the same.
      ok = sameHex(createHmac('sha256', key).update(body).digest('hex'), signature) || ok
    }
    if (ok) return null
    // Only a refusal is told apart: a header that is not 64 lower-case hex digits is malformed.
    const shape = digestOf(signature)
    return typeof shape === 'string' ? shape : 'mismatch'
  }
}

/**
 * Whether the header's 64 digest characters are `expected`'s, in constant
 * time: every character is compared, and the result is only read at the
 * end, so the time does not depend on where they differ. Whole UTF-16
 * code units are compared, so a lookalike such as "İ" (U+0130) never
 * matches a "0". Text, not bytes: no Buffer is made per delivery (on Node
 * this measured 1.8 µs per check against 2.1 µs for hex text compared as
 * Buffers with `timingSafeEqual`, and 2.6–5.4 µs for raw digests).
 */
function sameHex(expected: string, signature: string): boolean {
  let diff = 0
  for (let i = 0; i < 64; i++) diff |= expected.charCodeAt(i) ^ signature.charCodeAt(PREFIX.length + i)
  return diff === 0
}

/**
 * The digest a header carries, as its 32 bytes, or why there is none. Both paths read the header
 * here, so that they refuse the same headers with the same reasons. One pass decodes and checks the
 * 64 characters (lower-case hex only: "İ" must not pass for a "0"), with no regular expression on
 * the way of a genuine signature; it reads the caller's header alone, never the expected digest.
 */
function digestOf(signature: string | null | undefined): SignatureFailure | Uint8Array {
  if (typeof signature !== 'string' || signature === '') return 'missing'
  if (signature.length !== PREFIX.length + 64 || !signature.startsWith(PREFIX)) return 'malformed'
  const digest = new Uint8Array(32)
  let invalid = 0
  for (let i = 0, at = PREFIX.length; i < 32; i++, at += 2) {
    const high = NIBBLE[signature.charCodeAt(at)] ?? NOT_HEX
    const low = NIBBLE[signature.charCodeAt(at + 1)] ?? NOT_HEX
    invalid |= high | low
    digest[i] = (high << 4) | low
  }
  return (invalid & NOT_HEX) === 0 ? digest : 'malformed'
}

// Each ASCII character's value as a lower-case hex digit, NOT_HEX (a bit no digit has) for any other.
const NOT_HEX = 16
const NIBBLE = ((table: Uint8Array) => {
  for (let i = 0; i < 16; i++) table['0123456789abcdef'.charCodeAt(i)] = i
  return table
})(new Uint8Array(128).fill(NOT_HEX))

function checkSecrets(secrets: ReadonlyArray<string>): void {
  for (const secret of secrets) {
    if (typeof secret !== 'string') throw new TypeError('autoplay-rx: every secret must be a string')
  }
}

/**
 * Checks a signature header against a body with WebCrypto: resolves to `null`
 * when valid, otherwise why not. Made by {@link prepareSignatureCheckAsync};
 * never rejects.
 *
 * @example
 * ```ts
 * const check: AsyncSignatureCheck = prepareSignatureCheckAsync([secret])
 * await check(body, header) // null | 'missing' | 'malformed' | 'mismatch'
 * ```
 */
export type AsyncSignatureCheck = (body: Uint8Array, signature: string | null | undefined) => Promise<SignatureFailure | null>

/**
 * Prepares a WebCrypto check of `X-Connector-Signature` values against any
 * one of `secrets` (rotation): {@link prepareSignatureCheck} for every
 * runtime, Cloudflare Workers and the Edge runtime included. The keys are
 * imported once, at the first check, and kept.
 *
 * Gives the same answers as the synchronous check: the header is read by
 * the same code (a malformed header is `'malformed'` before any key is
 * used), every secret is tried (no early exit), and `crypto.subtle.verify`
 * compares the whole digest in constant time.
 *
 * @param secrets - the shared secrets; a signature made with any one of them is valid
 * @returns the check, to call once per delivery; it never rejects (a runtime without WebCrypto answers `'mismatch'` and nothing verifies)
 * @throws TypeError when a secret is not a string
 * @example
 * ```ts
 * import { prepareSignatureCheckAsync } from 'autoplay-rx'
 *
 * const check = prepareSignatureCheckAsync([nextSecret, currentSecret])
 * const bytes = new Uint8Array(await request.arrayBuffer())
 * if ((await check(bytes, request.headers.get('x-connector-signature'))) !== null) return new Response(null, { status: 401 })
 * ```
 */
export function prepareSignatureCheckAsync(secrets: ReadonlyArray<string>): AsyncSignatureCheck {
  checkSecrets(secrets)
  let keys: Promise<ReadonlyArray<Awaited<ReturnType<typeof crypto.subtle.importKey>>>> | undefined
  const importKeys = () => Promise.all(secrets.map((secret) => hmacKey(secret, 'verify')))
  return async (body, signature) => {
    const given = digestOf(signature)
    if (typeof given === 'string') return given
    try {
      keys ??= importKeys()
      const data = bytesOf(body)
      // Every key is tried, all at once: no early exit that would tell which secret is in use.
      const verdicts = await Promise.all((await keys).map((key) => crypto.subtle.verify('HMAC', key, given, data)))
      return verdicts.includes(true) ? null : 'mismatch'
    } catch {
      // A failed import is kept as failed: retrying it on every delivery would only cost the same again.
      return 'mismatch'
    }
  }
}

/**
 * Finds why `signature` does not verify `body` for any of `secrets`: the
 * {@link SignatureFailure}, or `null` when it verifies (see
 * {@link prepareSignatureCheck}, which prepares the keys once for repeated use). A pure HMAC check: the
 * receiver's "an empty secret accepts everything" is the receiver's rule,
 * not this function's (here `''` is an HMAC key like any other, and no
 * secret at all matches nothing).
 *
 * Prepares the keys on every call: for many deliveries prefer
 * {@link prepareSignatureCheck}, or a {@link WebhookReceiver}.
 *
 * @param body - the raw body bytes exactly as received
 * @param signature - the `X-Connector-Signature` header value (missing: `null` or `undefined`)
 * @param secrets - the shared secrets; a signature made with any one of them is valid
 * @returns `null` when valid, otherwise why not
 * @throws TypeError when a secret is not a string, or where the runtime has no `node:crypto` (see {@link prepareSignatureCheckAsync})
 * @example
 * ```ts
 * findSignatureFailure(body, req.headers['x-connector-signature'], [secret]) // null | 'missing' | 'malformed' | 'mismatch'
 * ```
 */
export function findSignatureFailure(
  body: Uint8Array,
  signature: string | null | undefined,
  secrets: ReadonlyArray<string>,
): SignatureFailure | null {
  return prepareSignatureCheck(secrets)(body, signature)
}
