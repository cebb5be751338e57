/**
 * Hostile deliveries for the property-based reliability spec: fast-check
 * arbitraries of bodies and headers, and an oracle, written from SPEC.md and
 * the README's status table rather than from src/, that says what each must give.
 */
import fc from 'fast-check'
import { createHmac } from 'node:crypto'
import { fixture, SECRET } from './fixtures.js'

/** The body limit every hostile target runs with: small enough to cross cheaply, large enough for deep nesting. */
export const LIMIT = 256 * 1024

/** One hostile request. The receiver target uses only `body` and the signature. */
export interface HostileCase {
  readonly category: string
  readonly method: string
  readonly body: Uint8Array
  /** `X-Connector-Signature` header lines: none, one, or several (repeated lines). */
  readonly signatures: ReadonlyArray<string>
  /** `Content-Type`, or undefined for none. */
  readonly contentType: string | undefined
  readonly extraHeaders: ReadonlyArray<readonly [string, string]>
  /** Sizes of the pieces the body is streamed in (chunked, no Content-Length), or null for one piece with a Content-Length. */
  readonly chunks: ReadonlyArray<number> | null
  /** How `ingest` is handed the body. */
  readonly form: 'buffer' | 'view' | 'arraybuffer' | 'string'
}

/** What a case must give. */
export type Outcome =
  | 'Accepted' | 'UnknownEventType' | 'InvalidSignature' | 'MalformedJson' | 'InvalidPayload' | 'BodyTooLarge'
  | 'UnsupportedMediaType' | 'MethodNotAllowed'

export interface Expected {
  readonly outcome: Outcome
  /** The HTTP status of the README's table. */
  readonly status: number
  /** The response body's `code` (absent for a plain 200 ok). */
  readonly code: string | undefined
  /** `reason` of an InvalidSignature or MalformedJson. */
  readonly reason?: string
  /** Whether the outcome is recorded on `rejected$` (405 and 415 are answered before the receiver is involved). */
  readonly onRejected: boolean
}

const utf8 = new TextEncoder()
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts))
/** The same signature the connector sends, computed here without src/. */
export const genuineSignature = (body: Uint8Array, secret = SECRET) => 'sha256=' + createHmac('sha256', secret).update(body).digest('hex')

// ---------------------------------------------------------------------------
// The oracle.

const STATUS: Record<Outcome, [number, string | undefined]> = {
  Accepted: [200, undefined],
  UnknownEventType: [200, 'ignored'],
  InvalidSignature: [401, 'invalid_signature'],
  MalformedJson: [400, 'malformed_json'],
  InvalidPayload: [400, 'invalid_payload'],
  BodyTooLarge: [413, 'body_too_large'],
  UnsupportedMediaType: [415, 'unsupported_media_type'],
  MethodNotAllowed: [405, 'method_not_allowed'],
}

const expected = (outcome: Outcome, reason?: string): Expected => ({
  outcome, status: STATUS[outcome][0], code: STATUS[outcome][1], reason,
  onRejected: outcome !== 'Accepted' && outcome !== 'UnsupportedMediaType' && outcome !== 'MethodNotAllowed',
})

/** JSON media types per RFC 6839 (`application/json`, `application/…+json`), with parameters. */
const isJsonMediaType = (value: string) => /^application\/([a-z0-9.+-]*\+)?json[ \t]*(;|$)/i.test(value)

/** HTTP strips optional whitespace around a header value, and joins repeated lines with ", ". */
export const headerAsReceived = (lines: ReadonlyArray<string>): string | undefined =>
  lines.length === 0 ? undefined : lines.map((l) => l.replace(/^[ \t]+|[ \t]+$/g, '')).join(', ')

/**
 * What `c` must give. `over` is `'ingest'` (body and signature only, the
 * header value exactly as generated) or `'http'` (method, content type and
 * the header as an HTTP server reads it).
 */
export function oracle(c: HostileCase, over: 'ingest' | 'http'): Expected {
  const signature = over === 'http' ? headerAsReceived(c.signatures) : c.signatures.length === 0 ? undefined : c.signatures.join(', ')
  if (over === 'http') {
    if (c.method !== 'POST') return expected('MethodNotAllowed')
    const type = c.contentType?.trim()
    if (type && !isJsonMediaType(type)) return expected('UnsupportedMediaType')
  }
  if (c.body.byteLength > LIMIT) return expected('BodyTooLarge')
  if (signature !== genuineSignature(c.body)) {
    if (signature === undefined || signature === '') return expected('InvalidSignature', 'missing')
    return expected('InvalidSignature', /^sha256=[0-9a-f]{64}$/.test(signature) ? 'mismatch' : 'malformed')
  }
  let text: string
  try {
    // One leading BOM is dropped (RFC 8259 lets a parser ignore it; the reference does); a second is refused.
    text = new TextDecoder('utf-8', { fatal: true }).decode(c.body)
  } catch {
    return expected('MalformedJson', 'invalid-utf8')
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return expected('MalformedJson', 'syntax')
  }
  return expected(classify(value))
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)
/** Own properties only: an inherited value reads as missing. */
const own = (o: Record<string, unknown>, key: string): unknown => (Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined)
const optString = (u: unknown) => u == null || typeof u === 'string'
const optNumber = (u: unknown) => u == null || (typeof u === 'number' && Number.isFinite(u))
const optInteger = (u: unknown) => u == null || Number.isSafeInteger(u)
/** An id: a string of at most 1,024 UTF-16 units without a control character (C0, DEL, C1), or missing. */
const optId = (u: unknown) => u == null || (typeof u === 'string' && u.length <= 1024 && !/[\x00-\x1f\x7f-\x9f]/.test(u))

const validAction = (a: unknown) => isRecord(a) && optInteger(own(a, 'index')) &&
  ['type', 'title', 'description', 'canonical_url', 'raw_url'].every((k) => optString(own(a, k))) &&
  ['session_id', 'user_id', 'email', 'conversation_id'].every((k) => optId(own(a, k))) &&
  ['timestamp_start', 'timestamp_end'].every((k) => optNumber(own(a, k)))

/**
 * SPEC.md §1 as a predicate: missing or null fields take defaults, a value of
 * the wrong JSON type is an error, numbers are finite, integers are safe integers,
 * ids hold no control character and at most 1,024 characters.
 */
function classify(value: unknown): Outcome {
  if (!isRecord(value)) return 'InvalidPayload'
  const type = own(value, 'type')
  const common = optId(own(value, 'product_id')) && optId(own(value, 'session_id')) && optNumber(own(value, 'forwarded_at'))
  if (type === 'actions') {
    const actions = own(value, 'actions')
    const ok = common && ['user_id', 'email', 'conversation_id'].every((k) => optId(own(value, k))) &&
      optInteger(own(value, 'count')) && (actions == null || (Array.isArray(actions) && actions.every(validAction)))
    return ok ? 'Accepted' : 'InvalidPayload'
  }
  if (type === 'summary') {
    return common && optString(own(value, 'summary')) && optInteger(own(value, 'replaces')) ? 'Accepted' : 'InvalidPayload'
  }
  if (type === 'usertour_trigger') {
    // No forwarded_at; flow_id is the one field with no default.
    const flow = own(value, 'flow_id')
    const ok = ['product_id', 'session_id', 'user_id'].every((k) => optId(own(value, k))) && optString(own(value, 'reason')) &&
      flow != null && optId(flow)
    return ok ? 'Accepted' : 'InvalidPayload'
  }
  return typeof type === 'string' ? 'UnknownEventType' : 'InvalidPayload'
}

// ---------------------------------------------------------------------------
// Arbitraries: JSON text is written by hand so that it can hold what
// JSON.stringify never writes (1e999, -0, huge integers, duplicate keys).

/** Numbers at the edges, as JSON text. */
export const EDGE_NUMBERS = [
  '1e308', '-1e308', '1.7976931348623157e308', '5e-324', '-0', '-0.0', '0', '1e999', '-1e999', '0.1e-400', '-1e-400',
  '123456789012345678901234567890', '9007199254740991', '9007199254740992', '9007199254740993', '-9007199254740993',
  '1.0', '3.5', '1E2', '2e-1',
] as const

const edgeNumber = fc.constantFrom(...EDGE_NUMBERS)
const jsonString = fc.string({ maxLength: 20, unit: 'binary' }).map((s) => JSON.stringify(s))
const shortString = fc.oneof(jsonString, fc.constantFrom('""', '"ps_1"', '"s-😀"', '"\\u0000"', '"\\ud800"', '"導出"'))

/** A string of `n` copies of `unit` (cheap for large n), as JSON text. */
const repeated = (unit: string, n: number) => `"${unit.repeat(n)}"`
const hugeString = fc.tuple(fc.constantFrom('x', 'é', '€', '😀', '\\n', '\\u0000', '\\"'), fc.integer({ min: 1_000, max: 40_000 }))
  .map(([unit, n]) => repeated(unit, n))

/** Nesting `depth` levels deep, arrays or objects, as JSON text. */
const deep = fc.tuple(fc.constantFrom('array', 'object'), fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1_000, max: 120_000 })))
  .map(([kind, depth]) => kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth))

/** Keys that reach prototypes in careless code. */
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'] as const
const PROTO_VALUES = ['{"polluted":1}', '{"prototype":{"polluted":2}}', 'null', '"x"', '[1]', '{"type":"actions"}'] as const
const protoObject = fc.tuple(fc.constantFrom(...PROTO_KEYS), fc.constantFrom(...PROTO_VALUES))
  .map(([k, v]) => `{"${k}":${v}}`)

const anyJson = fc.json({ maxDepth: 3 })
const hostileValue = fc.oneof(edgeNumber, anyJson, protoObject, deep, hugeString, fc.constantFrom('[]', '{}', 'true', 'null', '""'))

const STRING_FIELDS = ['product_id', 'summary', 'type', 'title', 'description', 'canonical_url', 'raw_url', 'reason', 'flow_id'] as const
const IDENTITY_FIELDS = ['session_id', 'user_id', 'email', 'conversation_id'] as const
/** A trigger's own fields (`flow_id` required, an id; `reason` free text), generated with the other event fields. */
const TRIGGER_FIELDS = ['flow_id', 'reason'] as const
const INTEGER_FIELDS = ['index', 'count', 'replaces'] as const
const NUMBER_FIELDS = ['forwarded_at', 'timestamp_start', 'timestamp_end'] as const

/** A value for `key`: usually of the right kind (edges included), sometimes anything. */
function valueFor(key: string): fc.Arbitrary<string> {
  let valid: fc.Arbitrary<string>
  if ((STRING_FIELDS as readonly string[]).includes(key)) valid = fc.oneof({ arbitrary: shortString, weight: 6 }, { arbitrary: fc.constant('null'), weight: 1 }, { arbitrary: hugeString, weight: 1 })
  else if ((IDENTITY_FIELDS as readonly string[]).includes(key)) valid = fc.oneof(shortString, fc.constant('null'))
  else if ((INTEGER_FIELDS as readonly string[]).includes(key)) valid = fc.oneof(fc.integer().map(String), fc.constantFrom('null', '-0', '1.0', '9007199254740991', '0.1e-400'))
  else if ((NUMBER_FIELDS as readonly string[]).includes(key)) valid = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)), edgeNumber)
  else valid = hostileValue
  return fc.oneof({ arbitrary: valid, weight: 8 }, { arbitrary: hostileValue, weight: 1 })
}

const field = (keys: readonly string[]) => fc.constantFrom(...keys).chain((k) => valueFor(k).map((v) => [k, v] as const))
const extraKey = fc.oneof(fc.constantFrom(...PROTO_KEYS), fc.string({ maxLength: 8 }))
const extraField = extraKey.chain((k) => hostileValue.map((v) => [k, v] as const))

/** An object as JSON text from key/value-text pairs: keys may repeat (JSON.parse keeps the last). */
const objectText = (pairs: ReadonlyArray<readonly [string, string]>) => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`

const actionText = fc.oneof(
  { weight: 8, arbitrary: fc.array(fc.oneof({ arbitrary: field(['index', 'type', 'title', 'description', 'canonical_url', 'raw_url', 'timestamp_start', 'timestamp_end', ...IDENTITY_FIELDS]), weight: 6 }, { arbitrary: extraField, weight: 1 }), { maxLength: 8 }).map(objectText) },
  { weight: 1, arbitrary: hostileValue },
)

const typeText = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('"actions"', '"summary"') },
  { weight: 2, arbitrary: fc.constantFrom('"usertour_trigger"', '"session_started"', '"Actions"', '"actions "', '""', 'null', '1', '["actions"]') },
  { weight: 1, arbitrary: jsonString },
)

/** An event as JSON text: a type, fields of both kinds, hostile extras, duplicates; the type line may be missing or repeated. */
export const eventText: fc.Arbitrary<string> = fc.record({
  types: fc.oneof({ weight: 10, arbitrary: fc.array(typeText, { minLength: 1, maxLength: 2 }) }, { weight: 1, arbitrary: fc.constant([]) }),
  fields: fc.array(fc.oneof({ weight: 6, arbitrary: field(['product_id', 'summary', 'count', 'replaces', 'forwarded_at', ...IDENTITY_FIELDS, ...TRIGGER_FIELDS]) }, { weight: 1, arbitrary: extraField }), { maxLength: 8 }),
  actions: fc.option(fc.array(actionText, { maxLength: 5 }).map((a) => `[${a.join(',')}]`), { nil: undefined }),
  at: fc.nat(),
}).map(({ types, fields, actions, at }) => {
  const pairs: Array<readonly [string, string]> = [...fields]
  if (actions !== undefined) pairs.push(['actions', actions])
  for (const t of types) pairs.splice(at % (pairs.length + 1), 0, ['type', t])
  return objectText(pairs)
})

/** Fixture bodies: real deliveries. */
const fixtures = ['actions-small', 'actions-medium', 'summary', 'usertour-trigger', 'unknown-type'] as const
const fixtureBody = fc.constantFrom(...fixtures).map((name) => new Uint8Array(fixture(name)))

// Built once: arbitraries made per body (in `chain`) would be rebuilt for every case.
const hex = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'))
/** Header text: printable ASCII and Latin-1 (what HTTP header values may carry). */
const headerText = fc.string({ maxLength: 90, unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)) })

/** The header lines sent for a body: genuine, or (`forgedPercent` % of the time) not. */
function signatureLines(body: Uint8Array, forgedPercent: number): fc.Arbitrary<ReadonlyArray<string>> {
  const good = genuineSignature(body)
  return fc.oneof(
    { weight: 100 - forgedPercent, arbitrary: fc.constant([good]) },
    {
      weight: forgedPercent,
      arbitrary: fc.oneof<fc.Arbitrary<ReadonlyArray<string>>[]>(
        fc.constant([]), fc.constant(['']),
        headerText.map((s) => [s]),
        hex.map((h) => [`sha256=${h}`]),
        fc.constant([genuineSignature(body, 'not-the-secret')]),
        fc.constant([good.toUpperCase()]), fc.constant(['SHA256=' + good.slice(7)]), fc.constant([good.slice(0, 70)]),
        fc.constant([good + '0']), fc.constant(['sha1=' + good.slice(7)]), fc.constant([good.slice(7)]),
        fc.constant([good, good]), hex.map((h) => [good, `sha256=${h}`]),
        fc.constantFrom(' ', '\t', '  ').map((ws) => [ws + good + ws]),
      ),
    },
  )
}

/** One byte changed, the end cut, or bytes added, under the original signature. */
const tampered = fc.oneof(fixtureBody, eventText.map((t) => utf8.encode(t))).chain((original) => {
  const signature = genuineSignature(original)
  const mutate = fc.oneof(
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([at, mask]) => (b: Uint8Array) => {
      if (b.length === 0) return Uint8Array.of(mask)
      const copy = Uint8Array.from(b)
      copy[at % b.length] = copy[at % b.length]! ^ mask
      return copy
    }),
    fc.nat().map((cut) => (b: Uint8Array) => b.subarray(0, b.length === 0 ? 0 : cut % b.length)),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((extra) => (b: Uint8Array) => concat(b, extra)),
    fc.constantFrom(' ', '\n', '0', '}').map((s) => (b: Uint8Array) => concat(b, utf8.encode(s))),
  )
  return mutate.map((m) => ({ body: m(original), signatures: [signature] }))
})

/** Invalid UTF-8 sequences: a lone continuation byte, an overlong slash, an encoded surrogate, a cut 4-byte sequence, 0xFF. */
const INVALID_UTF8 = [[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98], [0xff], [0xfe, 0xff], [0xf8, 0x88, 0x80, 0x80, 0x80]]

/** Valid events re-encoded badly: a BOM before (or inside), invalid UTF-8 inside a string, UTF-16. */
const encoded = fc.tuple(fc.oneof(fixtureBody, eventText.map((t) => utf8.encode(t))), fc.constantFrom('bom', 'bom-inside', 'invalid', 'utf16', 'bom-utf16'), fc.constantFrom(...INVALID_UTF8), fc.nat())
  .map(([body, how, bad, at]) => {
    const text = new TextDecoder().decode(body)
    switch (how) {
      case 'bom': return concat(Uint8Array.of(0xef, 0xbb, 0xbf), body)
      case 'bom-inside': return utf8.encode(text.replace(/"([^"\\]*)"/, '"\uFEFF$1"'))
      case 'invalid': {
        // Inside the first string literal, where a lenient decoder would silently put U+FFFD.
        const quote = body.indexOf(0x22)
        const i = quote === -1 ? at % (body.length + 1) : quote + 1
        return concat(body.subarray(0, i), Uint8Array.from(bad), body.subarray(i))
      }
      case 'utf16': return new Uint8Array(Buffer.from(text, 'utf16le'))
      case 'bom-utf16': return new Uint8Array(Buffer.from('\uFEFF' + text, 'utf16le'))
    }
  })

/** A summary whose size lands just under, at, or just over the limit, in 1- to 4-byte characters. */
const nearLimit = fc.tuple(fc.constantFrom(['x', 1], ['é', 2], ['€', 3], ['😀', 4], ['\\n', 2]), fc.integer({ min: -600, max: 600 }))
  .map(([[unit, bytes], offset]) => {
    const head = '{"type":"summary","session_id":"huge","summary":"'
    const tail = '"}'
    const n = Math.max(0, Math.floor((LIMIT + offset - head.length - tail.length) / (bytes as number)))
    return utf8.encode(head + (unit as string).repeat(n) + tail)
  })

/** Random bytes under a random header, or under their genuine signature. */
const randomBytes = fc.oneof(fc.uint8Array({ maxLength: 512 }), fc.string({ maxLength: 200, unit: 'binary' }).map((s) => utf8.encode(s)))

interface Draft { readonly category: string; readonly body: Uint8Array; readonly signatures: fc.Arbitrary<ReadonlyArray<string>> }

const drafts: fc.Arbitrary<Draft> = fc.oneof(
  { weight: 3, arbitrary: randomBytes.map((body) => ({ category: 'random bytes', body, signatures: signatureLines(body, 70) })) },
  { weight: 3, arbitrary: tampered.map(({ body, signatures }) => ({ category: 'tampered (signature kept)', body, signatures: fc.constant(signatures) })) },
  { weight: 6, arbitrary: eventText.map((t) => { const body = utf8.encode(t); return { category: 'hostile JSON event', body, signatures: signatureLines(body, 15) } }) },
  { weight: 2, arbitrary: anyJson.map((t) => { const body = utf8.encode(t); return { category: 'random JSON', body, signatures: signatureLines(body, 10) } }) },
  { weight: 2, arbitrary: encoded.map((body) => ({ category: 'BOM / invalid UTF-8 / UTF-16', body, signatures: signatureLines(body, 10) })) },
  { weight: 1, arbitrary: nearLimit.map((body) => ({ category: 'huge string at the limit', body, signatures: signatureLines(body, 10) })) },
  { weight: 1, arbitrary: fc.tuple(deep, fc.constantFrom('root', 'unknown field', 'summary field', 'actions')).map(([d, where]) => {
    const text = where === 'root' ? d : where === 'unknown field' ? `{"type":"summary","extra":${d}}`
      : where === 'summary field' ? `{"type":"summary","summary":${d}}` : `{"type":"actions","actions":[${d}]}`
    const body = utf8.encode(text)
    return { category: 'deep nesting', body, signatures: signatureLines(body, 10) }
  }) },
)

const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;charset=UTF-8',
  'application/vnd.autoplay+json', 'application/json-patch+json', 'application/problem+json ; q=1',
  'text/plain', 'text/html; charset=utf-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
  'application/octet-stream', 'application/jsonp', 'application/xml', 'application/json5',
] as const

const token = fc.string({ minLength: 1, maxLength: 10, unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789.+-') })
/** Mostly what the connector sends; about one case in ten is answered 415 before the body is read. */
const contentType = fc.oneof(
  { weight: 20, arbitrary: fc.constant('application/json') },
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.constantFrom<string | undefined>(...CONTENT_TYPES) },
  { weight: 1, arbitrary: fc.tuple(token, token).map(([a, b]) => `${a}/${b}`) },
)

/** Header names a server treats as plain data (framing and hop-by-hop headers are Node's business, not the adapter's). */
const extraHeaders = fc.array(fc.tuple(
  fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-') }).map((n) => `x-${n}`),
  fc.string({ maxLength: 40, unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)) }),
), { maxLength: 4 })

/** Cut `length` bytes into pieces (sizes), for a chunked body. */
const pieces = (length: number) => fc.array(fc.integer({ min: 1, max: Math.max(1, length) }), { minLength: 1, maxLength: 6 })
  .map((sizes) => {
    const out: number[] = []
    let left = length
    for (const s of sizes) { if (left <= 0) break; const n = Math.min(s, left); out.push(n); left -= n }
    if (left > 0) out.push(left)
    return out
  })

/** Every hostile case: body, signature lines, method, content type, extra headers, framing. */
export const hostileCase: fc.Arbitrary<HostileCase> = drafts.chain((draft) => fc.record({
  signatures: draft.signatures,
  method: fc.oneof({ weight: 30, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('PUT', 'PATCH', 'DELETE') }),
  contentType,
  extraHeaders,
  chunks: fc.option(pieces(draft.body.length), { nil: null, freq: 3 }),
  form: fc.constantFrom('buffer', 'view', 'arraybuffer', 'string'),
}).map((rest) => ({
  category: draft.category, body: draft.body, ...rest,
  // A string is only a faithful form of bytes that are valid UTF-8.
  form: rest.form === 'string' && !isValidUtf8(draft.body) ? 'buffer' : rest.form,
})))

function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
    return true
  } catch {
    return false
  }
}

/** The body in the form `ingest` is handed: a Buffer, a view at an offset into a larger buffer, an ArrayBuffer, or text. */
export function bodyForm(c: HostileCase): Uint8Array | ArrayBuffer | string {
  switch (c.form) {
    case 'buffer': return Buffer.from(c.body)
    case 'view': {
      const backing = new Uint8Array(c.body.byteLength + 16).fill(0x7b)
      backing.set(c.body, 7)
      return backing.subarray(7, 7 + c.body.byteLength)
    }
    case 'arraybuffer': return c.body.slice().buffer
    case 'string': return new TextDecoder('utf-8', { ignoreBOM: true }).decode(c.body)
  }
}

// ---------------------------------------------------------------------------
// Prototype pollution: a snapshot of the built-in prototypes and a diff against it.

const BUILTIN_PROTOTYPES: ReadonlyArray<readonly [string, object]> = [
  ['Object', Object.prototype], ['Array', Array.prototype], ['Function', Function.prototype], ['String', String.prototype],
  ['Number', Number.prototype], ['Boolean', Boolean.prototype], ['Promise', Promise.prototype], ['Error', Error.prototype],
]

/** Every own property of the built-in prototypes, descriptor and all. */
export type PrototypeSnapshot = ReadonlyArray<ReadonlyMap<string | symbol, PropertyDescriptor>>

/** Takes a {@link PrototypeSnapshot} of the built-in prototypes now. */
export const prototypeSnapshot = (): PrototypeSnapshot =>
  BUILTIN_PROTOTYPES.map(([, proto]) => new Map(Reflect.ownKeys(proto).map((key) => [key, Object.getOwnPropertyDescriptor(proto, key)!])))

/**
 * What changed since `before`: a built-in prototype's property added, removed
 * or replaced, or a fresh `{}` that inherits something enumerable or a
 * `polluted` property. Empty when nothing did.
 */
export function pollutionSince(before: PrototypeSnapshot): string[] {
  const changes: string[] = []
  prototypeSnapshot().forEach((now, i) => {
    const was = before[i]!
    for (const key of new Set([...was.keys(), ...now.keys()])) {
      const a = was.get(key)
      const b = now.get(key)
      if (a === undefined || b === undefined || a.value !== b.value || a.get !== b.get || a.set !== b.set) {
        changes.push(`${BUILTIN_PROTOTYPES[i]![0]}.prototype.${String(key)}`)
      }
    }
  })
  const fresh: Record<string, unknown> = {}
  for (const key in fresh) changes.push(`{} inherits ${key}`)
  if (fresh.polluted !== undefined) changes.push('{}.polluted')
  return changes
}

/**
 * Every key careless merging turns into a prototype write, with every value,
 * at the top of a summary, of a batch, and in an action: all modelled events
 * (the extra keys are ignored), so all accepted.
 */
export const PROTOTYPE_EVENTS: ReadonlyArray<string> = PROTO_KEYS.flatMap((key) => PROTO_VALUES.flatMap((value) => [
  `{"type":"summary","summary":"s",${JSON.stringify(key)}:${value}}`,
  `{"type":"actions",${JSON.stringify(key)}:${value},"actions":[]}`,
  `{"type":"actions","actions":[{"index":0,${JSON.stringify(key)}:${value}}]}`,
]))

/** Hand-written bodies with those keys at the top, in actions, nested, and in place of the type. */
export const PROTOTYPE_BODIES: ReadonlyArray<string> = [
  '{"type":"summary","session_id":"s","__proto__":{"polluted":1},"summary":"x"}',
  '{"type":"summary","constructor":{"prototype":{"polluted":2}},"summary":"x"}',
  '{"type":"actions","__proto__":{"polluted":3},"actions":[{"index":0,"__proto__":{"polluted":4},"constructor":{"prototype":{"polluted":5}}}]}',
  '{"type":"actions","actions":[{"index":0,"title":"t","prototype":{"polluted":6},"toString":"x","hasOwnProperty":1}],"valueOf":2}',
  '{"__proto__":{"type":"summary","polluted":7},"summary":"x"}',
  '{"type":"__proto__","polluted":8}',
  '{"type":"constructor","prototype":{"polluted":9}}',
]
