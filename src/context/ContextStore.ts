/**
 * The context store in memory: per session, the recent actions per product and the latest summary, read
 * synchronously at query time; bounded per bucket, in keys and in bytes, with summaries ordered by time.
 */
import { defer, distinctUntilChanged, filter, map, Observable, startWith, Subject } from 'rxjs'
import type { ActionsPayload } from '../codecs.js'
import { consoleLogger, log, type Logger } from '../logger.js'
import {
  batchTime, byCodePoint, keepCutoff, resolveDefaults, resolveGet, summaryTime, optionalCount,
  type ContextDefaults, type ContextGetOptions, type ContextReader, type ContextWriter, type ResolvedDefaults,
} from './options.js'
import {
  bucketKey, foreignIds, contextBatch, cutText, enrichText, fallbackWarning, sessionContext, UNKNOWN_SESSION, utf8Bytes,
  type ContextBatch,
} from './text.js'

/** Options of {@link ContextStore}: the defaults of `get`, and the store's bounds. */
export interface ContextStoreOptions extends ContextDefaults {
  /** Keep at most this many keys (buckets and summaries), the least recently written evicted first; default 100,000. */
  readonly maxSessions?: number | undefined
  /** Keep at most this many UTF-8 bytes of keys, summaries and actions, evicting as `maxSessions`; default 64 MiB. */
  readonly maxBytes?: number | undefined
  /** Where warnings go; default `consoleLogger`. */
  readonly logger?: Logger | undefined
}

interface Held extends ContextBatch { readonly bytes: number }

/** What one key holds: a bucket, a summary (under a session id), or both; `text`: the UTF-8 bytes of its lines. */
interface Entry {
  readonly session: string
  batches: Held[]
  actions: number
  text: number
  summary: string | undefined
  /** The newest summary time taken: an older summary is refused. */
  at: number | undefined
  /** The newest empty batch's time: it holds no action, yet keeps the key within the lookback. */
  empty: number
}

/**
 * Per-session memory for LLM apps: the recent actions per (product, session) bucket and the latest summary per
 * session, turned into the text a chatbot puts in front of a question. Synchronous, one process; for several
 * use `RedisContextStore` (`autoplay-rx/redis`), and `ContextReader` for code that takes either.
 *
 * @example
 * ```ts
 * import { ContextStore, intoContext } from 'autoplay-rx'
 *
 * const store = new ContextStore({ maxSessions: 10_000, maxActions: 30 })
 * receiver.payloads$.pipe(intoContext(store)).subscribe()
 * const text = store.enrich('ps_1', 'how do I export a report?')
 * // '[Session context]\nSummary: …\n\nRecent activity:\n1. [0] click: …\n\n[Query]\nhow do I export a report?'
 * ```
 */
export class ContextStore implements ContextWriter {
  private readonly defaults: ResolvedDefaults
  private readonly maxSessions: number
  private readonly maxBytes: number
  private bytes = 0
  private readonly logger: Logger
  /** Least recently written first. */
  private readonly entries = new Map<string, Entry>()
  /** Session id → its product-scoped bucket keys. */
  private readonly productKeys = new Map<string, Set<string>>()
  /** Sessions warned about (forgotten with the session). */
  private readonly warned = new Set<string>()
  private readonly changes = new Subject<string>()

  /** This store as a {@link ContextReader}, for code that takes either store. */
  readonly reader: ContextReader =
    { get: async (id, o) => this.get(id, o), enrich: async (id, q, o) => this.enrich(id, q, o) }

  /** @throws TypeError naming the option when one is invalid */
  constructor(options: ContextStoreOptions = {}) {
    this.defaults = resolveDefaults(options)
    this.maxSessions = optionalCount('maxSessions', options.maxSessions) ?? 100_000
    this.maxBytes = optionalCount('maxBytes', options.maxBytes) ?? 64 * 1024 * 1024
    this.logger = options.logger ?? consoleLogger
  }

  /**
   * Appends a batch to its bucket (marked most recently used; an empty batch only marks it), then drops the
   * bucket's batches older than the lookback and its oldest actions past `maxBucketActions` or `maxContextBytes`;
   * past `maxSessionProducts`, `maxSessions` or `maxBytes` the least recently used bucket or key goes.
   */
  add(batch: ActionsPayload): void {
    if (foreignIds(batch.session_id, batch.product_id)) return
    const session = batch.session_id ?? UNKNOWN_SESSION
    const key = bucketKey(batch.product_id, session)
    const entry = this.touch(key, session)
    const before = entry.text
    if (batch.actions.length > 0) {
      const { lines } = contextBatch(batch, this.defaults.maxActionBytes)
      const added = { forwarded_at: batchTime(batch.forwarded_at, this.defaults), lines, bytes: 0 }
      for (const line of lines) added.bytes += utf8Bytes(line)
      entry.batches.push(added)
      entry.actions += added.lines.length
      entry.text += added.bytes
    } else entry.empty = Math.max(entry.empty, batchTime(batch.forwarded_at, this.defaults))
    const cutoff = keepCutoff(this.defaults)
    if (cutoff !== undefined && entry.batches.some((b) => !(b.forwarded_at >= cutoff))) {
      entry.batches = entry.batches.filter((b) => b.forwarded_at >= cutoff)
      entry.actions = entry.batches.reduce((n, b) => n + b.lines.length, 0)
      entry.text = entry.batches.reduce((n, b) => n + b.bytes, 0)
    }
    // A key left with no batch in the lookback goes (the reference keeps it, listed and counted under maxSessions).
    if (cutoff !== undefined && entry.actions === 0 && entry.summary === undefined && !(entry.empty >= cutoff)) {
      this.bytes += entry.text - before
      this.remove(key)
      return this.changed(session)
    }
    this.cap(entry)
    this.bytes += entry.text - before
    if (key !== session) {
      const keys = this.productKeys.get(session) ?? new Set()
      keys.delete(key)
      this.productKeys.set(session, keys.add(key))
      const oldest = keys.values().next().value!
      if (keys.size > this.defaults.maxSessionProducts && keys.delete(oldest)) this.remove(oldest)
    }
    this.evict()
    this.changed(session)
  }

  /**
   * Stores a session's summary unless the stored one has a later time (`at`, Unix seconds). An equal time
   * replaces (the later arrival wins); no time always replaces and keeps the stored time.
   *
   * @returns `true` when stored, `false` when a newer summary was there
   * @throws SummaryTimeAheadError when `at` is past now plus `maxClockSkewSeconds`
   */
  onSummary(sessionId: string | null, text: string, at?: number): boolean {
    if (foreignIds(sessionId)) return false
    const session = sessionId ?? UNKNOWN_SESSION
    const { time, limit } = summaryTime(session, text, at, this.defaults)
    const stored = this.entries.get(session)?.at
    if (time !== undefined && stored !== undefined && stored <= limit && time < stored) return false
    const entry = this.touch(session, session)
    const summary = cutText(text, this.defaults.maxContextBytes)
    this.bytes += utf8Bytes(summary) - utf8Bytes(entry.summary ?? '')
    entry.summary = summary
    if (time !== undefined) entry.at = time
    this.evict()
    this.changed(session)
    return true
  }

  /** The time (`at`) of the session's stored summary; `undefined` when it has none, or none with a time. */
  summaryTime(sessionId: string): number | undefined {
    return this.entries.get(sessionId)?.at
  }

  /**
   * The session's context: `Summary: …` and `Recent activity:` with the numbered actions of the `(productId,
   * sessionId)` bucket (without `productId`: the session's own, or its only product-scoped one), after lookback
   * and `maxActions`; `""` when there is neither.
   */
  get(sessionId: string, options?: ContextGetOptions): string {
    const o = resolveGet(this.defaults, options)
    if (foreignIds(sessionId, o.productId)) return ''
    const summary = o.includeSummary ? (this.entries.get(sessionId)?.summary ?? '') : ''
    const batches = o.includeActions ? this.bucket(sessionId, o.productId) : []
    return sessionContext(summary, batches, o.cutoff, o.maxActions, this.defaults.maxContextBytes)
  }

  /** The query with the session's context in front (`[Session context]…[Query]`), or the query alone. */
  enrich(sessionId: string, query: string, options?: ContextGetOptions): string {
    return enrichText(this.get(sessionId, options), query)
  }

  /** Forgets the session's summary and its own bucket, and with `productId` that product's bucket too. */
  reset(sessionId: string, options: { readonly productId?: string | undefined } = {}): void {
    if (foreignIds(sessionId, options.productId)) return
    this.remove(sessionId)
    if (options.productId) this.remove(bucketKey(options.productId, sessionId))
    this.changed(sessionId)
  }

  /** The keys that hold actions or a summary, sorted by code point (as the reference sorts). */
  get activeSessions(): string[] {
    return [...this.entries.keys()].sort(byCodePoint)
  }

  /**
   * The session's context text now and after every change to the session that changes it. Lookback applies when
   * a change comes: time passing alone emits nothing. Completes with {@link ContextStore.complete}.
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

  /** Completes every `context$` stream; the data stays readable. */
  complete(): void {
    this.changes.complete()
  }

  private touch(key: string, session: string): Entry {
    let entry = this.entries.get(key)
    if (entry !== undefined) {
      this.entries.delete(key)
      this.entries.set(key, entry)
      return entry
    }
    entry = { session, batches: [], actions: 0, text: 0, summary: undefined, at: undefined, empty: -Infinity }
    this.entries.set(key, entry)
    this.bytes += utf8Bytes(key)
    return entry
  }

  /** Evicts the least recently written keys while past `maxSessions` or `maxBytes`, never the one just written. */
  private evict(): void {
    while (this.entries.size > 1 && (this.entries.size > this.maxSessions || this.bytes > this.maxBytes)) {
      const oldest = this.entries.keys().next().value!
      const evicted = this.entries.get(oldest)!.session
      this.remove(oldest)
      this.changed(evicted)
    }
  }

  /** Drops the oldest actions past `maxBucketActions` or `maxContextBytes`: whole batches, then the front of one. */
  private cap(entry: Entry): void {
    const { maxBucketActions, maxContextBytes } = this.defaults
    let [drop, cut, gone] = [0, 0, 0] // whole batches, then lines and their bytes of the next
    while (entry.actions > maxBucketActions || entry.text > maxContextBytes) {
      const { lines, bytes } = entry.batches[drop]!
      // When the count alone takes the whole batch, no line is measured.
      const whole = cut === 0 && entry.actions - lines.length >= maxBucketActions
      const taken = whole ? bytes : utf8Bytes(lines[cut]!)
      entry.actions -= whole ? lines.length : 1
      entry.text -= taken
      gone += taken
      if (whole || ++cut === lines.length) [drop, cut, gone] = [drop + 1, 0, 0]
    }
    if (drop > 0) entry.batches.splice(0, drop)
    if (cut > 0) {
      const first = entry.batches[0]!
      entry.batches[0] = { forwarded_at: first.forwarded_at, lines: first.lines.slice(cut), bytes: first.bytes - gone }
    }
  }

  private remove(key: string): void {
    const entry = this.entries.get(key)
    if (entry === undefined) return
    this.bytes -= utf8Bytes(key) + utf8Bytes(entry.summary ?? '') + entry.text
    this.entries.delete(key)
    this.warned.delete(entry.session)
    const keys = this.productKeys.get(entry.session)
    if (keys?.delete(key) && keys.size === 0) this.productKeys.delete(entry.session)
  }

  private bucket(sessionId: string, productId: string | undefined): readonly ContextBatch[] {
    const own = this.entries.get(bucketKey(productId, sessionId))?.batches ?? []
    if (own.length > 0 || productId !== undefined) return own
    const keys = this.productKeys.get(sessionId)
    if (keys === undefined) return []
    // Only live keys count, as in the Redis store: a key shared with a session id holding the separator (add()
    // takes what it is given; the codec refuses such ids) may have been removed under that other session.
    for (const key of keys) if (!this.entries.has(key)) keys.delete(key)
    if (keys.size === 0) {
      this.productKeys.delete(sessionId)
      return []
    }
    // Buckets with actions count, as the Redis store sees them.
    const live = [...keys].map((key) => this.entries.get(key)!.batches).filter((batches) => batches.length > 0)
    // One product per session is what the connector sends: read it, silently.
    if (live.length === 1) return live[0]!
    if (live.length > 1 && !this.warned.has(sessionId)) {
      this.warned.add(sessionId)
      log(this.logger, 'warn', fallbackWarning(sessionId, live.length), { session_id: sessionId })
    }
    return []
  }

  private changed(session: string): void {
    if (this.changes.observed) this.changes.next(session)
  }
}
