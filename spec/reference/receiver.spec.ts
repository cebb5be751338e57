/**
 * The reference's WebhookReceiver answers (fixtures/receiver.json: 215 bodies — generated events, odd JSON,
 * wrong types, bad bytes, and `usertour_trigger` events made by the reference's own builders — each under
 * valid, forged, missing and misshapen signatures, with and without a secret) replayed on ours: verify, parse
 * (the payload's fields and its text form), handleSync, handle and which callbacks ran; a trigger is also
 * ingested, and must come out on `usertourTrigger$` as docs/protocol.md reads it.
 */
import { Buffer } from 'node:buffer'
import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import { sign, silentLogger, toText, WebhookReceiver, type Payload, type UsertourTriggerPayload } from '../../src/index.js'
import { fixture, holds, type Row } from './replay.js'

interface Case { secret: string; signature: string; verify: boolean; handle_sync: Answer; handle: Answer; called: string[] }
type Answer = { returns: unknown } | { raises: string }
interface ReceiverRow extends Row {
  kind: string
  body?: string
  body_b64?: string
  headers: Record<string, string | null>
  /** parse, the payload's text, then one answer per case (secret × signature). */
  answers: [Answer, string | null, ...Case[]]
}

const { rows } = fixture<ReceiverRow>('receiver')

const ACTION_FIELDS = ['title', 'description', 'canonical_url', 'index', 'type', 'timestamp_start', 'timestamp_end',
  'raw_url', 'session_id', 'user_id', 'email', 'conversation_id'] as const
const FIELDS = {
  actions: ['product_id', 'session_id', 'user_id', 'email', 'actions', 'count', 'forwarded_at', 'conversation_id'],
  summary: ['product_id', 'session_id', 'summary', 'replaces', 'forwarded_at'],
} as const

/** A payload as the reference's dataclasses show it: every field, the `type` left out. */
function fields(payload: Payload): Record<string, unknown> {
  const record = payload as unknown as Record<string, unknown>
  return Object.fromEntries(FIELDS[payload.type].map((name) => [name, name === 'actions'
    ? (record.actions as Array<Record<string, unknown>>).map((a) => Object.fromEntries(ACTION_FIELDS.map((f) => [f, a[f] ?? null])))
    : record[name] ?? null]))
}

async function answer(run: () => Payload | null | Promise<Payload | null>): Promise<Answer> {
  try {
    const payload = await run()
    return { returns: payload === null ? null : fields(payload) }
  } catch (error) {
    // The reference raises ValueError on a bad signature; ours throws InvalidSignatureError for the same refusal.
    return { raises: (error as Error).name === 'InvalidSignatureError' ? 'ValueError' : (error as Error).name }
  }
}

describe('the reference\'s recorded WebhookReceiver answers', () => {
  for (const row of rows) {
    it(row.id, async () => {
      const body = row.body !== undefined ? Buffer.from(row.body, 'utf8') : Buffer.from(row.body_b64!, 'base64')
      const [, , ...cases] = row.answers
      const ours: unknown[] = []
      const parser = new WebhookReceiver({ secret: 'unused', logger: silentLogger })
      ours.push(await answer(() => parser.parse(body)))
      const parsed = parser.parse(body)
      ours.push(parsed === null ? null : toText(parsed))
      for (const c of cases) {
        const called: string[] = []
        const receiver = new WebhookReceiver({
          secret: c.secret, logger: silentLogger,
          onActions: () => { called.push('actions') }, onSummary: () => { called.push('summary') },
        })
        const header = row.headers[c.signature]
        const handleSync = await answer(() => receiver.handleSync(body, header))
        const handle = await answer(() => receiver.handle(body, header))
        ours.push({ ...c, verify: receiver.verify(body, header), handle_sync: handleSync, handle, called })
      }
      holds(row, row.answers, ours)
      if (row.kind === 'usertour') {
        const built = JSON.parse(body.toString('utf8')) as Record<string, string | undefined>
        const expected: UsertourTriggerPayload = { type: 'usertour_trigger', product_id: built.product_id!,
          flow_id: built.flow_id!, session_id: built.session_id || null, reason: built.reason ?? '', user_id: built.user_id || null }
        const receiver = new WebhookReceiver({ secret: 'k', logger: silentLogger })
        const seen: UsertourTriggerPayload[] = []
        receiver.usertourTrigger$.subscribe((t) => seen.push(t))
        expect(receiver.ingest(body, sign(body, 'k'))).to.deep.equal(E.right(expected))
        expect(seen).to.deep.equal([expected])
      }
    })
  }
})
