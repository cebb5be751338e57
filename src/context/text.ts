/**
 * The text forms of session context, as pure functions over plain data: both stores and the summarizer build
 * their strings here, so the memory and Redis stores say the same thing for the same writes by construction.
 */
import type { SlimAction } from '../codecs.js'
import { hasControlCharacter } from '../internal/fastCodec.js'
import { toText } from '../payloads.js'

/**
 * What a store keeps of a batch: its time and each action's text line, made once at `add`; a line is far
 * smaller than a parsed action, and `get` shows nothing else.
 */
export interface ContextBatch {
  readonly forwarded_at: number
  readonly lines: readonly string[]
  /** The lines' UTF-8 bytes when known: a batch that fits is shown without measuring a line. */
  readonly bytes?: number
}

type Actions = { readonly actions: readonly SlimAction[] }

/** Each line cut to `maxBytes` (see {@link cutText}). */
export function contextBatch(batch: Actions & { readonly forwarded_at: number }, maxBytes = Infinity): ContextBatch {
  return { forwarded_at: batch.forwarded_at, lines: batch.actions.map((action) => cutText(toText(action), maxBytes)) }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * `text` cut to its longest prefix of at most `maxBytes` UTF-8 bytes, then `…[{n} more characters]`. The prefix is
 * a fresh string: a slice would keep the whole text alive.
 */
export function cutText(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text
  const buffer = new Uint8Array(Math.min(maxBytes, text.length * 3))
  const { read, written } = encoder.encodeInto(text, buffer)
  if (read === text.length) return text
  return `${decoder.decode(buffer.subarray(0, written))}\u2026[${text.length - read} more characters]`
}

const scratch = new Uint8Array(16_384)

/** The UTF-8 length of `text` (what Redis counts), encoded natively into a scratch buffer when it fits. */
export function utf8Bytes(text: string): number {
  return text.length * 3 <= scratch.length ? encoder.encodeInto(text, scratch).written : encoder.encode(text).length
}

/** The session id of a batch or summary without one (the reference's choice). */
export const UNKNOWN_SESSION = 'unknown'

const BUCKET_SEPARATOR = '\x1f'

/**
 * Whether ids could name another session's key: the codec refuses them in payloads, and the stores treat a call
 * with one (an id from a chat widget, say) as naming no key: `get` answers "", writes and `reset` do nothing.
 */
export const foreignIds = (sessionId: string | null, productId?: string): boolean =>
  hasControlCharacter(sessionId ?? '') || (productId !== undefined && hasControlCharacter(productId))

/** `product_id + "\x1f" + session_id`, or the session id alone when the product id is empty. */
export function bucketKey(productId: string | undefined, sessionId: string): string {
  return productId ? productId + BUCKET_SEPARATOR + sessionId : sessionId
}

/** The warning of `get` without a product id for a session with several product-scoped buckets and none of its own. */
export function fallbackWarning(sessionId: string, buckets: number): string {
  return `context of session ${JSON.stringify(sessionId)}: no productId given and ${buckets} product-scoped buckets; ` +
    'no actions used (pass productId)'
}

/**
 * The lines a context shows, oldest first: batches sent before `cutoff` left out, then the newest `maxActions`
 * counted across batches newest first (a batch that straddles the cut keeps its last actions), and no older one
 * than the first that does not fit in `maxBytes`.
 */
export function keptLines(batches: readonly ContextBatch[], cutoff?: number, maxActions?: number, maxBytes = Infinity):
string[] {
  const kept: string[] = []
  let room = maxActions ?? Infinity
  for (let i = batches.length - 1; i >= 0 && room > 0; i--) {
    const { forwarded_at, lines, bytes } = batches[i]!
    if (cutoff !== undefined && !(forwarded_at >= cutoff)) continue
    const whole = bytes !== undefined && bytes <= maxBytes && lines.length <= room
    for (let j = lines.length - 1; j >= 0 && room > 0; j--, room--) {
      if (!whole && (maxBytes -= utf8Bytes(lines[j]!)) < 0) return kept.reverse()
      kept.push(lines[j]!)
    }
    if (whole) maxBytes -= bytes
  }
  return kept.reverse()
}

/** `"{n}. {line}"` from 1, one per line, no trailing newline; `""` for none. */
export function numberedLines(lines: readonly string[]): string {
  let text = ''
  for (let i = 0; i < lines.length; i++) text += (i === 0 ? '' : '\n') + `${i + 1}. ${lines[i]!}`
  return text
}

/** The summarizer's default `formatActions`: the numbered list a context shows, across batches. */
export function formatActions(batches: readonly Actions[]): string {
  return numberedLines(batches.flatMap((batch) => batch.actions.map((action) => toText(action))))
}

/** `Summary: {summary}` and `Recent activity:\n{actions}`, the non-empty ones, joined by a blank line. */
export function contextText(summary: string, actions: string): string {
  if (summary === '') return actions === '' ? '' : `Recent activity:\n${actions}`
  return actions === '' ? `Summary: ${summary}` : `Summary: ${summary}\n\nRecent activity:\n${actions}`
}

/** A session's context from its summary and bucket, after lookback (`cutoff`) and `maxActions`, in `maxBytes`. */
export function sessionContext(
  summary: string, batches: readonly ContextBatch[], cutoff?: number, maxActions?: number, maxBytes = Infinity,
): string {
  return contextText(summary, numberedLines(keptLines(batches, cutoff, maxActions, maxBytes - utf8Bytes(summary))))
}

/** `[Session context]\n{context}\n\n[Query]\n{query}`, or the query alone when the context is `""`. */
export function enrichText(context: string, query: string): string {
  return context === '' ? query : `[Session context]\n${context}\n\n[Query]\n${query}`
}

/** The reference's prompt, word for word. */
export const DEFAULT_SUMMARY_PROMPT = `You are summarising a user's in-app session for a RAG pipeline.
Your summary will be embedded and stored in a vector database to provide
context for a chatbot or AI assistant.

Write a concise 2-3 sentence summary of what the user did, focusing on:
- Which features or pages they visited
- What actions they performed
- Any clear intent or goal you can infer

Actions:
{actions}

Summary:`

/** Every `{actions}` replaced by `actions`, literally (`$` is not special); `undefined` when there is none. */
export function renderPrompt(template: string, actions: string): string | undefined {
  const parts = template.split('{actions}')
  return parts.length === 1 ? undefined : parts.join(actions)
}

