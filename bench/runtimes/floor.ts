/**
 * The floor of one delivery on a runtime, written by hand: the body's bytes, HMAC-SHA256 checked in
 * constant time with the runtime's fastest API (node:crypto where the runtime has it, a synchronous
 * call; WebCrypto's verify elsewhere), the text decoded and JSON.parse'd, a 200. No limits, no
 * validation, no streams: what any receiver must at least do.
 */
import type * as NodeCrypto from 'node:crypto'

declare const RUNTIME_SECRET: string

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const node = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:crypto') as typeof NodeCrypto | undefined

const digestOf = (header: string | null): Uint8Array => {
  const bytes = new Uint8Array(32)
  if (header === null || header.length !== 71) return bytes
  for (let i = 0; i < 32; i++) bytes[i] = parseInt(header.slice(7 + 2 * i, 9 + 2 * i), 16)
  return bytes
}

const verify: (bytes: Uint8Array, header: string | null) => boolean | Promise<boolean> = node !== undefined
  ? ((key) => (bytes, header) => node.timingSafeEqual(node.createHmac('sha256', key).update(bytes).digest(), digestOf(header)))(node.createSecretKey(encoder.encode(RUNTIME_SECRET)))
  : ((key) => async (bytes, header) => crypto.subtle.verify('HMAC', await key, digestOf(header), bytes))(
    crypto.subtle.importKey('raw', encoder.encode(RUNTIME_SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']))

export async function app(request: Request): Promise<Response> {
  const bytes = new Uint8Array(await request.arrayBuffer())
  if (!(await verify(bytes, request.headers.get('x-connector-signature')))) return new Response('{"status":"error"}', { status: 401 })
  JSON.parse(decoder.decode(bytes))
  return new Response('{"status":"ok"}', { headers: { 'content-type': 'application/json; charset=utf-8' } })
}
