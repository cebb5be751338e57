/**
 * The options of the context stores, checked in one place (so that both
 * stores refuse the same values with the same words) and resolved per call
 * against the store's defaults.
 */
import type { ActionsPayload } from '../codecs.js'
import { positiveInteger, positiveNumber } from '../internal/options.js'

/**
 * Per-call options of `get` and `enrich`: each one left out takes the
 * store's default.
 *
 * @example
 * ```ts
 * store.get('ps_1', { productId: 'prod_abc', maxActions: 20, includeSummary: false })
 * ```
 */
export interface ContextGetOptions {
  /** The product whose bucket to read; left out or `""`: the session's own bucket, or its only product-scoped one. */
  readonly productId?: string | undefined
  /** Whether the summary is part of the context. */
  readonly includeSummary?: boolean | undefined
  /** Whether the recent actions are part of the context. */
  readonly includeActions?: boolean | undefined
  /** Only batches sent within this many seconds (by `forwarded_at`); a number > 0. */
  readonly lookbackSeconds?: number | undefined
  /** At most this many actions, the newest; a positive integer. */
  readonly maxActions?: number | undefined
}

/**
 * The defaults of a context store (memory or Redis); both refuse a bad value
 * at construction with a `TypeError` naming it.
 *
 * @example
 * ```ts
 * const defaults: ContextDefaults = { lookbackSeconds: 3600, maxActions: 50 }
 * ```
 */
export interface ContextDefaults {
  /** Whether `get` includes the summary; default `true`. */
  readonly includeSummary?: boolean | undefined
  /** Whether `get` includes the recent actions; default `true`. */
  readonly includeActions?: boolean | undefined
  /** Keep and show only batches sent within this many seconds; > 0; default none. Also drops older batches from a bucket at each `add`. */
  readonly lookbackSeconds?: number | undefined
  /** Show at most this many actions, the newest; a positive integer; default none. */
  readonly maxActions?: number | undefined
  /**
   * Keep at most this many actions per bucket, the newest (the oldest batch
   * is trimmed from the front); a positive integer, or `Infinity` for no cap
   * (the reference's behaviour). Default 200: bounded even without
   * `lookbackSeconds` or `maxActions` (200 lines are some 20,000 characters,
   * more than a prompt wants).
   */
  readonly maxBucketActions?: number | undefined
  /** The clock, in milliseconds (lookback's "now"); default `Date.now`. */
  readonly now?: (() => number) | undefined
}

/**
 * Reads a session's context, with Promise results: what code that takes
 * either store (memory or Redis) asks for. Both stores have one as `reader`.
 *
 * @example
 * ```ts
 * async function answer(context: ContextReader, sessionId: string, question: string) {
 *   return retrieve(await context.enrich(sessionId, question))
 * }
 * answer(memoryStore.reader, 'ps_1', 'how do I export?')
 * answer(redisStore.reader, 'ps_1', 'how do I export?')
 * ```
 */
export interface ContextReader {
  /**
   * The session's context text (see `ContextStore.get`).
   *
   * @param sessionId - the session
   * @param options - per-call overrides of the store's defaults
   * @returns the text; rejects on an invalid option or a failed read
   */
  get(sessionId: string, options?: ContextGetOptions): Promise<string>
  /**
   * The query with the session's context in front, or the query unchanged
   * when there is no context (see `ContextStore.enrich`).
   *
   * @param sessionId - the session
   * @param query - the user's question
   * @param options - per-call overrides of the store's defaults
   * @returns the text; rejects on an invalid option or a failed read
   */
  enrich(sessionId: string, query: string, options?: ContextGetOptions): Promise<string>
}

/**
 * Where actions and summaries are written: both context stores are one.
 * {@link intoContext} and {@link SessionSummarizer} write to it, and await
 * the results that are promises.
 *
 * @example
 * ```ts
 * const log: ContextWriter = {
 *   add: (batch) => console.log('actions', batch.session_id),
 *   onSummary: (sessionId, text) => (console.log('summary', sessionId, text), true),
 * }
 * ```
 */
export interface ContextWriter {
  /**
   * Stores an actions batch.
   *
   * @param batch - the batch
   */
  add(batch: ActionsPayload): void | PromiseLike<void>
  /**
   * Stores a session's summary unless a newer one is there.
   *
   * @param sessionId - the session (`null`: `"unknown"`)
   * @param text - the summary
   * @param at - its time (Unix seconds); left out: no order known
   * @returns whether it was stored
   */
  onSummary(sessionId: string | null, text: string, at?: number): boolean | PromiseLike<boolean>
}

/** A store's defaults, checked. */
export interface ResolvedDefaults {
  readonly includeSummary: boolean
  readonly includeActions: boolean
  readonly lookbackSeconds: number | undefined
  readonly maxActions: number | undefined
  readonly maxBucketActions: number
  readonly now: () => number
}

/** One call's options, resolved: what the text functions need. */
interface ResolvedGet {
  readonly productId: string | undefined
  readonly includeSummary: boolean
  readonly includeActions: boolean
  /** The oldest `forwarded_at` shown (Unix seconds), or `undefined`. */
  readonly cutoff: number | undefined
  readonly maxActions: number | undefined
}

const got = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value) : String(value))

/** `undefined`, or `value` checked by the project's shared number check (the same words everywhere). */
const optional = <T>(check: (name: string, value: unknown) => T) => (name: string, value: unknown): T | undefined =>
  value === undefined ? undefined : check(name, value)

/** `undefined` or a positive integer, else a TypeError naming the option. */
export const optionalCount = optional(positiveInteger)

/** `undefined` or a finite number > 0, else a TypeError naming the option. */
const optionalSeconds = optional(positiveNumber)

/** `value` when it is `undefined` or a boolean; else a TypeError naming the option. */
function flag(name: string, value: unknown): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value
  throw new TypeError(`autoplay-rx: ${name} must be true or false (got ${got(value)})`)
}

/** `value` when it is `undefined` or a function; else a TypeError naming the option. */
export function optionalFunction<F>(name: string, value: F | undefined): F | undefined {
  if (value === undefined || typeof value === 'function') return value
  throw new TypeError(`autoplay-rx: ${name} must be a function (got ${got(value)})`)
}

/** The default per-bucket cap, in actions. */
const DEFAULT_MAX_BUCKET_ACTIONS = 200

/** Checks a store's defaults and fills them in. @throws TypeError naming the first bad option */
export function resolveDefaults(options: ContextDefaults): ResolvedDefaults {
  return {
    includeSummary: flag('includeSummary', options.includeSummary) ?? true,
    includeActions: flag('includeActions', options.includeActions) ?? true,
    lookbackSeconds: optionalSeconds('lookbackSeconds', options.lookbackSeconds),
    maxActions: optionalCount('maxActions', options.maxActions),
    // Infinity opts out of the cap: the reference's unbounded buckets.
    maxBucketActions: options.maxBucketActions === Infinity ? Infinity : optionalCount('maxBucketActions', options.maxBucketActions) ?? DEFAULT_MAX_BUCKET_ACTIONS,
    now: optionalFunction('now', options.now) ?? Date.now,
  }
}

/** One call's options over the defaults, checked. @throws TypeError naming the first bad option */
export function resolveGet(defaults: ResolvedDefaults, options: ContextGetOptions | undefined): ResolvedGet {
  const lookback = optionalSeconds('lookbackSeconds', options?.lookbackSeconds) ?? defaults.lookbackSeconds
  const productId = options?.productId
  if (productId !== undefined && typeof productId !== 'string') throw new TypeError(`autoplay-rx: productId must be a string (got ${got(productId)})`)
  return {
    productId: productId || undefined,
    includeSummary: flag('includeSummary', options?.includeSummary) ?? defaults.includeSummary,
    includeActions: flag('includeActions', options?.includeActions) ?? defaults.includeActions,
    cutoff: lookback === undefined ? undefined : defaults.now() / 1000 - lookback,
    maxActions: optionalCount('maxActions', options?.maxActions) ?? defaults.maxActions,
  }
}

/** The oldest `forwarded_at` a store keeps at an `add`, or `undefined` without lookback. */
export function keepCutoff(defaults: ResolvedDefaults): number | undefined {
  return defaults.lookbackSeconds === undefined ? undefined : defaults.now() / 1000 - defaults.lookbackSeconds
}

/** `at` when it is `undefined` or a finite number; else a TypeError. */
export function summaryTime(at: unknown): number | undefined {
  if (at === undefined || (typeof at === 'number' && Number.isFinite(at))) return at
  throw new TypeError(`autoplay-rx: a summary's time must be a finite number of Unix seconds (got ${got(at)})`)
}

/** Sorts as Python sorts strings: by code point (UTF-16 order differs past U+D7FF). */
export function byCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!
    const y = b.codePointAt(i)!
    if (x !== y) return x - y
    if (x > 0xffff) i++
  }
  return a.length - b.length
}
