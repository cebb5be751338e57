/**
 * The text forms of session context, as pure functions over plain data:
 * both context stores (memory and Redis) and the summarizer build their
 * strings here, so that they say the same thing for the same inputs by
 * construction, whatever each keeps its state in.
 */
import type { SlimAction } from '../codecs.js'
import { toText } from '../payloads.js'

/**
 * What a context store keeps of an actions batch: its time, and the text
 * line of each action (`toText(action)`), made once when it is added. Lines
 * rather than actions: a parsed action holds a dozen fields (about 1 KB of
 * heap each, measured), its line one string; `get` only ever shows the line.
 *
 * @example
 * ```ts
 * const kept: ContextBatch = contextBatch(batch) // { forwarded_at: 1700000010.5, lines: ['[0] click: …', …] }
 * ```
 */
export interface ContextBatch {
  /** When the connector sent the batch (Unix seconds): what lookback filters by. */
  readonly forwarded_at: number
  /** The text line of each action, oldest first. */
  readonly lines: readonly string[]
}

/**
 * What a store keeps of a batch: its `forwarded_at` and each action's
 * `toText` line.
 *
 * @param batch - an actions batch
 * @returns a new {@link ContextBatch}
 * @example
 * ```ts
 * contextBatch(batch).lines[0] // '[0] submit: User did a submit on the team/members page (step 0) — https://app.example.com/team/members'
 * ```
 */
export function contextBatch(batch: { readonly forwarded_at: number; readonly actions: readonly SlimAction[] }): ContextBatch {
  return { forwarded_at: batch.forwarded_at, lines: batch.actions.map((action) => toText(action)) }
}

/**
 * The session id stored for a batch or summary without one (the reference's choice).
 *
 * @example
 * ```ts
 * store.add({ ...batch, session_id: null })
 * store.get(UNKNOWN_SESSION) // that batch's actions
 * ```
 */
export const UNKNOWN_SESSION = 'unknown'

/** Separates the product id from the session id in a product-scoped bucket key. */
const BUCKET_SEPARATOR = '\x1f'

/**
 * The key of the bucket a batch goes to: `product_id + "\x1f" + session_id`
 * when the product id is not empty, else the session id alone.
 *
 * @param productId - the batch's `product_id` (`""` or absent: no product)
 * @param sessionId - the session id (already `"unknown"` where there was none)
 * @returns the bucket key
 * @example
 * ```ts
 * bucketKey('prod_abc', 'ps_1') // 'prod_abc\x1fps_1'
 * bucketKey('', 'ps_1')         // 'ps_1'
 * ```
 */
export function bucketKey(productId: string | undefined, sessionId: string): string {
  return productId ? productId + BUCKET_SEPARATOR + sessionId : sessionId
}

/** The warning of `get` without a product id for a session with several product-scoped buckets and none of its own. */
export function fallbackWarning(sessionId: string, buckets: number): string {
  return `context of session ${JSON.stringify(sessionId)}: no productId given and ${buckets} product-scoped buckets; ` +
    'no actions used (pass productId)'
}

/**
 * The action lines a context shows, oldest first: batches sent before
 * `cutoff` (Unix seconds) left out, then at most the newest `maxActions`
 * actions, counted across batches newest first (a batch that straddles the
 * cut keeps only its last actions).
 *
 * @param batches - a bucket, oldest first
 * @param cutoff - the oldest `forwarded_at` kept; `undefined`: no lookback
 * @param maxActions - how many actions at most; `undefined`: all
 * @returns the kept lines, in order
 * @example
 * ```ts
 * keptLines([{ forwarded_at: 10, lines: ['a', 'b'] }, { forwarded_at: 20, lines: ['c'] }], undefined, 2) // ['b', 'c']
 * ```
 */
export function keptLines(batches: readonly ContextBatch[], cutoff: number | undefined, maxActions: number | undefined): string[] {
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

/**
 * The numbered list: `"{n}. {line}"` from 1, one per line (`\n`, no
 * trailing newline); `""` for none.
 *
 * @param lines - the action lines, in order
 * @returns the list as text
 * @example
 * ```ts
 * numberedLines(['[0] click: Export — /reports', '[1] click: Share — /reports']) // '1. [0] click: Export — /reports\n2. [1] click: Share — /reports'
 * ```
 */
export function numberedLines(lines: readonly string[]): string {
  let text = ''
  for (let i = 0; i < lines.length; i++) text += (i === 0 ? '' : '\n') + `${i + 1}. ${lines[i]!}`
  return text
}

/**
 * The summarizer's default `formatActions`: every action of the batches,
 * `"{n}. {toText(action)}"`, numbered from 1 across batches (the same list
 * a context shows).
 *
 * @param batches - a session's history, oldest first
 * @returns the numbered list
 * @example
 * ```ts
 * formatActions([first, second]) // '1. [0] submit: …\n2. …'
 * ```
 */
export function formatActions(batches: readonly { readonly actions: readonly SlimAction[] }[]): string {
  return numberedLines(batches.flatMap((batch) => batch.actions.map((action) => toText(action))))
}

/**
 * A session's context: the non-empty parts among `"Summary: {summary}"` and
 * `"Recent activity:\n{actions}"`, joined by a blank line; `""` when both
 * are empty.
 *
 * @param summary - the summary text (`""`: none or left out)
 * @param actions - the numbered list of actions (`""`: none or left out)
 * @returns the context text
 * @example
 * ```ts
 * contextText('Exported a CSV.', '1. [0] click: Export — /reports')
 * // 'Summary: Exported a CSV.\n\nRecent activity:\n1. [0] click: Export — /reports'
 * ```
 */
export function contextText(summary: string, actions: string): string {
  if (summary === '') return actions === '' ? '' : `Recent activity:\n${actions}`
  return actions === '' ? `Summary: ${summary}` : `Summary: ${summary}\n\nRecent activity:\n${actions}`
}

/**
 * A query with its session's context in front:
 * `"[Session context]\n{context}\n\n[Query]\n{query}"`, or the query
 * unchanged when the context is `""`.
 *
 * @param context - what {@link contextText} gave
 * @param query - the user's question
 * @returns the text to retrieve with
 * @example
 * ```ts
 * enrichText('Summary: Exported a CSV.', 'how do I share it?')
 * // '[Session context]\nSummary: Exported a CSV.\n\n[Query]\nhow do I share it?'
 * ```
 */
export function enrichText(context: string, query: string): string {
  return context === '' ? query : `[Session context]\n${context}\n\n[Query]\n${query}`
}

/**
 * The summarizer's default prompt, word for word the reference's;
 * `{actions}` stands for the formatted history.
 *
 * @example
 * ```ts
 * const prompt = DEFAULT_SUMMARY_PROMPT.split('{actions}').join(formatActions(history))
 * ```
 */
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

/** What a prompt template must contain for the history to go into it. */
const ACTIONS_PLACEHOLDER = '{actions}'

/**
 * A prompt from a template: every `{actions}` replaced by `actions`
 * (literally: `$` in either is not special).
 *
 * @param template - the prompt template
 * @param actions - the formatted history
 * @returns the prompt, or `undefined` when the template has no `{actions}`
 * @example
 * ```ts
 * renderPrompt('Summarise:\n{actions}', '1. [0] click: …') // 'Summarise:\n1. [0] click: …'
 * renderPrompt('Summarise the session.', '1. …')            // undefined
 * ```
 */
export function renderPrompt(template: string, actions: string): string | undefined {
  const parts = template.split(ACTIONS_PLACEHOLDER)
  return parts.length === 1 ? undefined : parts.join(actions)
}

/** What a log line says of a failure: its message, not its stack (an outage is expected, not a bug of ours). */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
