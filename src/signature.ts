/**
 * The connector's signature scheme: `X-Connector-Signature: sha256=<hex>`,
 * HMAC-SHA256 over the raw body bytes. Verification compares digests in
 * constant time and accepts any one of several secrets (rotation).
 */
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto'
import type { SignatureFailure } from './errors.js'

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
const HEX_DIGEST = /^[0-9a-f]{64}$/

/**
 * Signs a body as the connector does.
 *
 * @param body - the exact bytes that will be sent (a string is signed as its UTF-8 bytes)
 * @param secret - the shared secret
 * @returns the `X-Connector-Signature` header value, `sha256=<lower-case hex>`
 * @throws TypeError when `secret` is not a string or `body` neither bytes nor a string
 * @example
 * ```ts
 * const header = sign('{"type":"summary"}', 'whsec_test')
 * // 'sha256=…' (64 hex digits)
 * ```
 */
export function sign(body: Uint8Array | string, secret: string): string {
  return PREFIX + createHmac('sha256', secret).update(body).digest('hex')
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
 * @throws TypeError when a secret is not a string
 * @example
 * ```ts
 * import { prepareSignatureCheck } from 'autoplay-rx'
 *
 * const check = prepareSignatureCheck([nextSecret, currentSecret]) // rotation: either one verifies
 * if (check(rawBody, req.headers['x-connector-signature'] as string | undefined) !== null) res.writeHead(401).end()
 * ```
 */
export function prepareSignatureCheck(secrets: ReadonlyArray<string>): SignatureCheck {
  const keys = secrets.map((secret) => createSecretKey(Buffer.from(secret, 'utf8')))
  return (body, signature) => {
    if (typeof signature !== 'string' || signature === '') return 'missing'
    if (signature.length !== PREFIX.length + 64 || !signature.startsWith(PREFIX)) return 'malformed'
    const hex = signature.slice(PREFIX.length)
    // The shape is checked before the bytes are taken: 'latin1' keeps only the low byte of each
    // character, so "İ" (U+0130) would otherwise compare equal to "0". The test reads the
    // caller's header alone, never the expected digest, so it tells an attacker nothing.
    if (!HEX_DIGEST.test(hex)) return 'malformed'
    const given = Buffer.from(hex, 'latin1')
    let ok = false
    for (const key of keys) {
      const expected = Buffer.from(createHmac('sha256', key).update(body).digest('hex'), 'latin1')
      // The comparison sits left of `||`: every secret is checked all the same.
      ok = timingSafeEqual(expected, given) || ok
    }
    return ok ? null : 'mismatch'
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
 * @throws TypeError when a secret is not a string
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
