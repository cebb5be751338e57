/**
 * The context stores' options, checked in one place (both stores refuse the same values with the same words) and
 * resolved per call against a store's defaults; the reader and writer contracts both stores fulfil.
 */
import type { ActionsPayload } from '../codecs.js'
import { positiveInteger, positiveNumber } from '../internal/options.js'

/** Per-call options of `get` and `enrich`; each one left out takes the store's default. */
export interface ContextGetOptions {
  /** The product whose bucket to read; left out or `""`: the session's own bucket, or its only product-scoped one. */
  readonly productId?: string | undefined
  /** Whether the summary is part of the context. */
  readonly includeSummary?: boolean | undefined
  /** Whether the recent actions are part of the context. */
  readonly includeActions?: boolean | undefined
  /** Only batches sent within this many seconds (by `forwarded_at`). */
  readonly lookbackSeconds?: number | undefined
  /** At most this many actions, the newest. */
  readonly maxActions?: number | undefined
}

/** The defaults of a context store; a bad value is refused at construction with a `TypeError` naming it. */
export interface ContextDefaults {
  /** Whether `get` includes the summary; default `true`. */
  readonly includeSummary?: boolean | undefined
  /** Whether `get` includes the recent actions; default `true`. */
  readonly includeActions?: boolean | undefined
  /** Keep and show only batches sent within this many seconds; default none. */
  readonly lookbackSeconds?: number | undefined
  /** Show at most this many actions, the newest; default none. */
  readonly maxActions?: number | undefined
  /** Keep at most this many actions per bucket, the newest; default 200, `Infinity` for no cap (the reference). */
  readonly maxBucketActions?: number | undefined
  /** Cut one action's text line past this many UTF-8 bytes, with a marker; default 2,048. */
  readonly maxActionBytes?: number | undefined
  /** Keep per bucket, and per summary, and show in `get`, at most this many bytes of text; default 65,536. */
  readonly maxContextBytes?: number | undefined
  /** Keep a session's most recently written product buckets, at most this many; default 64. */
  readonly maxSessionProducts?: number | undefined
  /** The clock in milliseconds, lookback's "now"; default `Date.now`. */
  readonly now?: (() => number) | undefined
  /**
   * How far ahead of `now` a payload's time is believed, in seconds; default 300, `Infinity` for any (the
   * reference). A summary dated later is refused (`SummaryTimeAheadError`), a batch dated later counts as now.
   */
  readonly maxClockSkewSeconds?: number | undefined
}

/**
 * Thrown (an async store: rejected) by `onSummary` for a summary dated past the store's clock plus
 * `maxClockSkewSeconds`: it is not stored, so one wrong clock cannot outrank every later summary of the session.
 */
export class SummaryTimeAheadError extends Error {
  readonly _tag = 'SummaryTimeAhead' as const
  override readonly name = 'SummaryTimeAheadError'
  /**
   * @param sessionId the session (`"unknown"` for none)
   * @param at the summary's time, Unix seconds
   * @param limit the latest time the store believed: its clock plus `maxClockSkewSeconds`
   */
  constructor(readonly sessionId: string, readonly at: number, readonly limit: number) {
    super(`the summary of session ${sessionId} is dated ${at}, past this clock plus maxClockSkewSeconds (${limit}): ` +
      'not stored')
  }
}

/**
 * Reads a session's context with Promise results: what code that takes either store asks for. Both stores have
 * one as `reader`.
 *
 * @example
 * ```ts
 * async function answer(context: ContextReader, sessionId: string, question: string) {
 *   return retrieve(await context.enrich(sessionId, question))
 * }
 * answer(memoryStore.reader, 'ps_1', 'how do I export?')
 * ```
 */
export interface ContextReader {
  /** The session's context text; rejects on an invalid option or a failed read. */
  get(sessionId: string, options?: ContextGetOptions): Promise<string>
  /** The query with the session's context in front, or the query alone when there is none. */
  enrich(sessionId: string, query: string, options?: ContextGetOptions): Promise<string>
}

/**
 * Where actions and summaries are written: both stores are one. `intoContext` and `SessionSummarizer` write to
 * it and await the results that are promises.
 */
export interface ContextWriter {
  /** Stores an actions batch. */
  add(batch: ActionsPayload): void | PromiseLike<void>
  /**
   * Stores a session's summary (`null`: `"unknown"`) unless a newer one is there (`false`); `at` in Unix seconds.
   * A store throws or rejects when it refuses the summary for another reason (`SummaryTimeAheadError`).
   */
  onSummary(sessionId: string | null, text: string, at?: number): boolean | PromiseLike<boolean>
  /** The time of the session's stored summary (`undefined`: none, or none with a time); both stores have it. */
  summaryTime?(sessionId: string): number | undefined | PromiseLike<number | undefined>
}

export type ResolvedDefaults = ReturnType<typeof resolveDefaults>

const got = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value) : String(value))

const optional = <T>(check: (name: string, value: unknown) => T) => (name: string, value: unknown): T | undefined =>
  value === undefined ? undefined : check(name, value)

export const optionalCount = optional(positiveInteger)

export const optionalPositive = optional(positiveNumber)

/** `undefined`, or a value of `type`; else a TypeError naming the option in the same words everywhere. */
const ofType = <T>(type: string, expected: string, shown = true) => (name: string, value: unknown): T | undefined => {
  if (value === undefined || typeof value === type) return value as T | undefined
  throw new TypeError(`autoplay-rx: ${name} must be ${expected}${shown ? ` (got ${got(value)})` : ''}`)
}

const flag = ofType<boolean>('boolean', 'true or false')

export const optionalString = ofType<string>('string', 'a string', false)

const productIdOf = ofType<string>('string', 'a string')

export function optionalFunction<F>(name: string, value: F | undefined): F | undefined {
  if (value === undefined || typeof value === 'function') return value
  throw new TypeError(`autoplay-rx: ${name} must be a function (got ${got(value)})`)
}

/** The clock and the skew allowance, as the stores and the summarizer check them. */
export function resolveClock(options: Pick<ContextDefaults, 'now' | 'maxClockSkewSeconds'>) {
  const skew = options.maxClockSkewSeconds
  return {
    now: optionalFunction('now', options.now) ?? Date.now,
    // Five minutes: far past what NTP leaves between hosts, short enough that a wrong clock outranks nothing for long.
    maxClockSkewSeconds: skew === Infinity ? Infinity : optionalPositive('maxClockSkewSeconds', skew) ?? 300,
  }
}

type Clock = ReturnType<typeof resolveClock>

/** A batch's time, or now when it is past the allowance or not finite: its actions are genuine, its clock is not. */
export function batchTime(at: number, clock: Clock): number {
  const now = clock.now() / 1000
  return Number.isFinite(at) && at <= now + clock.maxClockSkewSeconds ? at : now
}

export function resolveDefaults(options: ContextDefaults) {
  const cap = options.maxBucketActions
  return {
    ...resolveClock(options),
    includeSummary: flag('includeSummary', options.includeSummary) ?? true,
    includeActions: flag('includeActions', options.includeActions) ?? true,
    lookbackSeconds: optionalPositive('lookbackSeconds', options.lookbackSeconds),
    maxActions: optionalCount('maxActions', options.maxActions),
    // Bounded by default: without lookback or maxActions a bucket would grow for the session's life.
    maxBucketActions: cap === Infinity ? Infinity : optionalCount('maxBucketActions', cap) ?? 200,
    maxActionBytes: optionalCount('maxActionBytes', options.maxActionBytes) ?? 2048,
    maxContextBytes: optionalCount('maxContextBytes', options.maxContextBytes) ?? 65_536,
    maxSessionProducts: optionalCount('maxSessionProducts', options.maxSessionProducts) ?? 64,
  }
}

/** One call's options over the defaults, checked; `cutoff` is the oldest `forwarded_at` shown. */
export function resolveGet(defaults: ResolvedDefaults, options: ContextGetOptions | undefined) {
  const lookback = optionalPositive('lookbackSeconds', options?.lookbackSeconds) ?? defaults.lookbackSeconds
  const productId = productIdOf('productId', options?.productId)
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

/**
 * Checks `onSummary`'s arguments (both stores): the text, and the time when there is one, which must not be past
 * `limit`, the latest time believed now. A stored time past `limit` does not count either.
 */
export function summaryTime(session: string, text: unknown, at: unknown, clock: Clock) {
  if (typeof text !== 'string') throw new TypeError(`autoplay-rx: a summary must be a string (got ${typeof text})`)
  if (at !== undefined && !(typeof at === 'number' && Number.isFinite(at))) {
    throw new TypeError(`autoplay-rx: a summary's time must be a finite number of Unix seconds (got ${got(at)})`)
  }
  const limit = clock.now() / 1000 + clock.maxClockSkewSeconds
  if (at !== undefined && at > limit) throw new SummaryTimeAheadError(session, at, limit)
  return { time: at, limit }
}

/** Sorts as Python sorts strings, by code point (UTF-16 order differs past U+D7FF). */
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
