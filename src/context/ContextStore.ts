/**
 * The context store in memory: the reference's per-session memory of recent
 * actions and the latest summary, read synchronously at query time, with
 * three limits lifted: a per-bucket cap by default, summaries ordered by
 * their time, and `context$` for code that reacts to changes.
 */
import { defer, distinctUntilChanged, filter, map, Observable, startWith, Subject } from 'rxjs'
import type { ActionsPayload } from '../codecs.js'
import { consoleLogger, log, type Logger } from '../logger.js'
import {
  byCodePoint, keepCutoff, resolveDefaults, resolveGet, summaryTime, optionalCount,
  type ContextDefaults, type ContextGetOptions, type ContextReader, type ContextWriter, type ResolvedDefaults,
} from './options.js'
import { bucketKey, contextBatch, contextText, enrichText, fallbackWarning, keptLines, numberedLines, UNKNOWN_SESSION, type ContextBatch } from './text.js'

/**
 * Options of {@link ContextStore}: the defaults of `get` (see
 * {@link ContextDefaults}), plus the memory store's own.
 *
 * @example
 * ```ts
 * const options: ContextStoreOptions = { maxSessions: 50_000, lookbackSeconds: 3600, maxActions: 50 }
 * ```
 */
export interface ContextStoreOptions extends ContextDefaults {
  /** Keep at most this many keys (buckets and summaries), the least recently written evicted first; a positive integer; default none. */
  readonly maxSessions?: number | undefined
  /** Where the product-bucket fallback warnings go; default {@link consoleLogger}. */
  readonly logger?: Logger | undefined
}

/** What one key holds: a bucket, a summary (under a session id), or both. */
interface Entry {
  readonly session: string
  batches: ContextBatch[]
  actions: number
  summary: string | undefined
  /** The newest time among the summaries taken (a high-water mark): an older one is refused. */
  at: number | undefined
}

/**
 * Per-session memory for LLM apps: recent actions per (product, session)
 * bucket and the latest summary per session, turned into the text a
 * chatbot puts in front of a user's question. Synchronous; one process.
 * For several processes use `RedisContextStore` (`autoplay-rx/redis`); code
 * that takes either reads through {@link ContextReader} (`store.reader`).
 *
 * Every rule of the reference is kept (see docs/context.md): product-scoped
 * buckets with the single-bucket fallback, lookback by `forwarded_at`,
 * `maxActions` across batches newest first, LRU `maxSessions`, the exact
 * text of `get` and `enrich`.
 *
 * @example
 * ```ts
 * import { ContextStore, intoContext, WebhookReceiver } from 'autoplay-rx'
 *
 * const store = new ContextStore({ maxSessions: 10_000, maxActions: 30 })
 * receiver.payloads$.pipe(intoContext(store)).subscribe()
 * // at query time:
 * const text = store.enrich('ps_1', 'how do I export a report?')
 * // '[Session context]\nSummary: …\n\nRecent activity:\n1. [0] click: …\n\n[Query]\nhow do I export a report?'
 * ```
 */
export class ContextStore implements ContextWriter {
  private readonly defaults: ResolvedDefaults
  private readonly maxSessions: number | undefined
  private readonly logger: Logger
  /** Every key, least recently written first. */
  private readonly entries = new Map<string, Entry>()
  /** Session id → its product-scoped bucket keys, for the fallback. */
  private readonly productKeys = new Map<string, Set<string>>()
  /** Sessions already warned about a fallback (forgotten with the session). */
  private readonly warned = new Set<string>()
  private readonly changes = new Subject<string>()

  /**
   * This store as a {@link ContextReader}: `get` and `enrich` with Promise
   * results, for code that takes either store.
   */
  readonly reader: ContextReader = {
    get: async (sessionId, options) => this.get(sessionId, options),
    enrich: async (sessionId, query, options) => this.enrich(sessionId, query, options),
  }

  /**
   * @param options - the defaults of `get` and the bounds
   * @throws TypeError naming the option when one is invalid (e.g.
   *   `autoplay-rx: maxActions must be a positive integer`)
   */
  constructor(options: ContextStoreOptions = {}) {
    this.defaults = resolveDefaults(options)
    this.maxSessions = optionalCount('maxSessions', options.maxSessions)
    this.logger = options.logger ?? consoleLogger
  }

  /**
   * Appends a batch to its bucket (`product_id + "\x1f" + session_id`, or the
   * session id alone without a product; a missing session is `"unknown"`)
   * and marks the bucket most recently used. Then drops the bucket's
   * batches older than the lookback, and its oldest actions past
   * `maxBucketActions`. With `maxSessions`, a new key past the cap evicts
   * the least recently used key, with its bucket and its summary.
   *
   * @param batch - an actions batch
   */
  add(batch: ActionsPayload): void {
    const session = batch.session_id ?? UNKNOWN_SESSION
    const key = bucketKey(batch.product_id, session)
    const entry = this.touch(key, session)
    entry.batches.push(contextBatch(batch))
    entry.actions += batch.actions.length
    const cutoff = keepCutoff(this.defaults)
    if (cutoff !== undefined && entry.batches.some((b) => !(b.forwarded_at >= cutoff))) {
      entry.batches = entry.batches.filter((b) => b.forwarded_at >= cutoff)
      entry.actions = entry.batches.reduce((n, b) => n + b.lines.length, 0)
    }
    this.cap(entry)
    if (key !== session) {
      const keys = this.productKeys.get(session)
      if (keys === undefined) this.productKeys.set(session, new Set([key]))
      else keys.add(key)
    }
    if (entry.actions === 0 && entry.summary === undefined) this.remove(key)
    this.changed(session)
  }

  /**
   * Stores a session's summary (and marks its key most recently used),
   * unless the stored one is newer: with `at` given and a stored summary
   * whose time is later, the call is refused. An equal time replaces (a
   * redelivery, or two summaries of one batch: the later arrival wins, as
   * in the reference); a summary without a time always replaces, and the
   * stored time stays (so a late, older summary is still refused after it).
   * Pending actions are kept.
   *
   * @param sessionId - the session (`null`: `"unknown"`)
   * @param text - the summary
   * @param at - its time in Unix seconds: a connector summary's
   *   `forwarded_at`, or the `forwarded_at` of the newest batch a
   *   summarizer summarised
   * @returns `true` when stored, `false` when a newer summary was there
   * @throws TypeError when `text` is not a string or `at` not a finite number
   */
  onSummary(sessionId: string | null, text: string, at?: number): boolean {
    if (typeof text !== 'string') throw new TypeError(`autoplay-rx: a summary must be a string (got ${typeof text})`)
    const time = summaryTime(at)
    const session = sessionId ?? UNKNOWN_SESSION
    const stored = this.entries.get(session)
    if (time !== undefined && stored?.at !== undefined && time < stored.at) return false
    const entry = this.touch(session, session)
    entry.summary = text
    if (time !== undefined) entry.at = time
    this.changed(session)
    return true
  }

  /**
   * The session's context: the non-empty parts among `"Summary: {summary}"`
   * and `"Recent activity:\n{n}. {action}…"`, joined by a blank line; `""`
   * when there is neither. Actions come from the `(productId, sessionId)`
   * bucket; without `productId`, when the session has no bucket of its own
   * and exactly one product-scoped bucket, from that one (a warning, once
   * per session; with several, none, and a warning). Then lookback by
   * `forwarded_at`, then the newest `maxActions`, numbered from 1 across
   * batches.
   *
   * @param sessionId - the session
   * @param options - per-call overrides of the defaults
   * @returns the context text
   * @throws TypeError on an invalid option
   */
  get(sessionId: string, options?: ContextGetOptions): string {
    const o = resolveGet(this.defaults, options)
    const summary = o.includeSummary ? (this.entries.get(sessionId)?.summary ?? '') : ''
    const actions = o.includeActions ? numberedLines(keptLines(this.bucket(sessionId, o.productId), o.cutoff, o.maxActions)) : ''
    return contextText(summary, actions)
  }

  /**
   * The query with the session's context in front:
   * `"[Session context]\n{context}\n\n[Query]\n{query}"`; the query
   * unchanged when the context is `""`.
   *
   * @param sessionId - the session
   * @param query - the user's question
   * @param options - per-call overrides of the defaults
   * @returns the text to retrieve with
   * @throws TypeError on an invalid option
   */
  enrich(sessionId: string, query: string, options?: ContextGetOptions): string {
    return enrichText(this.get(sessionId, options), query)
  }

  /**
   * Forgets the session's summary and its own bucket, and with `productId`
   * that product's bucket of the session too.
   *
   * @param sessionId - the session
   * @param options - `productId`: also its bucket
   */
  reset(sessionId: string, options: { readonly productId?: string | undefined } = {}): void {
    this.remove(sessionId)
    if (options.productId) this.remove(bucketKey(options.productId, sessionId))
    this.changed(sessionId)
  }

  /** The keys that hold actions or a summary, sorted (by code point, as the reference sorts). */
  get activeSessions(): string[] {
    return [...this.entries.keys()].sort(byCodePoint)
  }

  /**
   * The session's context text now and after every change to the session
   * (an add, a summary, a reset, an eviction) that changes it; per-call
   * options as in {@link ContextStore.get}. Lookback is applied when a
   * change comes: time passing alone emits nothing. Completes with
   * {@link ContextStore.complete}.
   *
   * @param sessionId - the session
   * @param options - as for `get`
   * @returns a cold stream of context texts, distinct in a row
   * @throws TypeError at the call on an invalid option
   */
  context$(sessionId: string, options?: ContextGetOptions): Observable<string> {
    resolveGet(this.defaults, options)
    return defer(() => this.changes.pipe(
      filter((session) => session === sessionId),
      startWith(sessionId),
      map(() => this.get(sessionId, options)),
      distinctUntilChanged(),
    ))
  }

  /** Completes every `context$` stream (the data stays readable). */
  complete(): void {
    this.changes.complete()
  }

  /** The key's entry, created if new (evicting past `maxSessions`), marked most recently used. */
  private touch(key: string, session: string): Entry {
    let entry = this.entries.get(key)
    if (entry !== undefined) {
      this.entries.delete(key)
      this.entries.set(key, entry)
      return entry
    }
    entry = { session, batches: [], actions: 0, summary: undefined, at: undefined }
    this.entries.set(key, entry)
    if (this.maxSessions !== undefined && this.entries.size > this.maxSessions) {
      const oldest = this.entries.keys().next().value!
      const evicted = this.entries.get(oldest)!.session
      this.remove(oldest)
      this.changed(evicted)
    }
    return entry
  }

  /** Drops the oldest actions past the per-bucket cap: whole batches, then the front of the one that straddles. */
  private cap(entry: Entry): void {
    let excess = entry.actions - this.defaults.maxBucketActions
    if (excess <= 0) return
    let drop = 0
    while (excess >= entry.batches[drop]!.lines.length) excess -= entry.batches[drop++]!.lines.length
    if (drop > 0) entry.batches.splice(0, drop)
    if (excess > 0) {
      const first = entry.batches[0]!
      entry.batches[0] = { forwarded_at: first.forwarded_at, lines: first.lines.slice(excess) }
    }
    entry.actions = this.defaults.maxBucketActions
  }

  private remove(key: string): void {
    const entry = this.entries.get(key)
    if (entry === undefined) return
    this.entries.delete(key)
    this.warned.delete(entry.session)
    const keys = this.productKeys.get(entry.session)
    if (keys?.delete(key) && keys.size === 0) this.productKeys.delete(entry.session)
  }

  /** The bucket `get` reads, with the reference's single-bucket fallback. */
  private bucket(sessionId: string, productId: string | undefined): readonly ContextBatch[] {
    const own = this.entries.get(bucketKey(productId, sessionId))?.batches
    if ((own !== undefined && own.length > 0) || productId !== undefined) return own ?? []
    const keys = this.productKeys.get(sessionId)
    if (keys === undefined) return []
    // One product per session is what the connector sends: read it, silently.
    if (keys.size === 1) return this.entries.get(keys.values().next().value!)!.batches
    if (!this.warned.has(sessionId)) {
      this.warned.add(sessionId)
      log(this.logger, 'warn', fallbackWarning(sessionId, keys.size), { session_id: sessionId })
    }
    return []
  }

  private changed(session: string): void {
    if (this.changes.observed) this.changes.next(session)
  }
}
