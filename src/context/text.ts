/**
 * The text forms of session context, as pure functions over plain data: both stores and the summarizer build
 * their strings here, so the memory and Redis stores say the same thing for the same writes by construction.
 */
import type { SlimAction } from '../codecs.js'
import { toText } from '../payloads.js'

/**
 * What a store keeps of a batch: its time and each action's text line, made once at `add`; a line is far
 * smaller than a parsed action, and `get` shows nothing else.
 */
export interface ContextBatch {
  readonly forwarded_at: number
  readonly lines: readonly string[]
}

type Actions = { readonly actions: readonly SlimAction[] }

export function contextBatch(batch: Actions & { readonly forwarded_at: number }): ContextBatch {
  return { forwarded_at: batch.forwarded_at, lines: batch.actions.map((action) => toText(action)) }
}

/** The session id of a batch or summary without one (the reference's choice). */
export const UNKNOWN_SESSION = 'unknown'

const BUCKET_SEPARATOR = '\x1f'

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
 * counted across batches newest first (a batch that straddles the cut keeps its last actions).
 */
export function keptLines(batches: readonly ContextBatch[], cutoff?: number, maxActions?: number): string[] {
  const kept: string[] = []
  let room = maxActions ?? Infinity
  for (let i = batches.length - 1; i >= 0 && room > 0; i--) {
    const batch = batches[i]!
    if (cutoff !== undefined && !(batch.forwarded_at >= cutoff)) continue
    const lines = batch.lines
    const from = Math.max(0, lines.length - room)
    for (let j = lines.length - 1; j >= from; j--) kept.push(lines[j]!)
    room -= lines.length - from
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

/** A session's context from its summary and bucket, after lookback (`cutoff`) and `maxActions`. */
export function sessionContext(
  summary: string, batches: readonly ContextBatch[], cutoff?: number, maxActions?: number,
): string {
  return contextText(summary, numberedLines(keptLines(batches, cutoff, maxActions)))
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

