/**
 * Why the Redis bridge's reader refuses an entry: a tagged union, its
 * guard and its fold (as sse/errors.ts is for the SSE source).
 */
import type { DecodeError } from '../decode.js'
import { matchTag } from '../internal/match.js'
import { PAYLOAD_FIELD } from './append.js'

/**
 * A stream entry without a {@link PAYLOAD_FIELD} field (written by something
 * other than {@link redisAppender}): refused, acknowledged and reported.
 *
 * @example
 * ```ts
 * const rejected = ({ id, error }: RedisEntryRejection) => {
 *   if (isMissingPayloadField(error)) console.warn(`entry ${id} was not written by autoplay-rx`)
 * }
 * ```
 */
export interface MissingPayloadField {
  /** Tells this error apart: `'MissingPayloadField'`. */
  readonly _tag: 'MissingPayloadField'
  /** `Entry has no "payload" field`. */
  readonly message: string
}

/**
 * Why {@link fromRedisStream} refused an entry: the {@link DecodeError} the
 * receiver would give for its payload text, or no payload field at all.
 * Tell them apart with {@link isMissingPayloadField} or `_tag`.
 *
 * @example
 * ```ts
 * const reason = (error: RedisEntryError) => (isMissingPayloadField(error) ? 'foreign entry' : error._tag)
 * ```
 */
export type RedisEntryError = DecodeError | MissingPayloadField

/**
 * Whether a value is a {@link MissingPayloadField} (on a
 * {@link RedisEntryError}, narrows it to that variant; the rest is a
 * {@link DecodeError}). Never throws.
 *
 * @param value - a rejection's `error`, or anything
 * @returns `true` for a {@link MissingPayloadField}
 * @example
 * ```ts
 * import { isMissingPayloadField } from 'autoplay-rx/redis'
 *
 * fromRedisStream(redis, { stream, group, consumer, rejected: ({ error }) => {
 *   if (!isMissingPayloadField(error)) metrics.increment(`refused.${error._tag}`) // a DecodeError here
 * } })
 * ```
 */
export function isMissingPayloadField(value: unknown): value is MissingPayloadField {
  return typeof value === 'object' && value !== null && (value as { readonly _tag?: unknown })._tag === 'MissingPayloadField'
}

/**
 * Folds a {@link RedisEntryError} by its `_tag`: one handler per refusal,
 * each given its own type; a missing one is a compile error.
 *
 * @param handlers - one function per tag: the three of a {@link DecodeError} and `MissingPayloadField`
 * @returns a function from a refusal to what its handler returns
 * @example
 * ```ts
 * import { fromRedisStream, matchRedisEntryError } from 'autoplay-rx/redis'
 *
 * const why = matchRedisEntryError({
 *   MalformedJson: (e) => `not JSON (${e.reason})`,
 *   InvalidPayload: (e) => `not a payload: ${e.message}`,
 *   UnknownEventType: (e) => `a newer event type: ${e.eventType}`,
 *   MissingPayloadField: () => 'written by something else',
 * })
 * fromRedisStream(redis, { stream, group, consumer, rejected: ({ id, error }) => console.warn(id, why(error)) })
 * ```
 */
export const matchRedisEntryError: <R>(handlers: RedisEntryErrorHandlers<R>) => (error: RedisEntryError) => R = matchTag

/**
 * A handler per {@link RedisEntryError} tag, for {@link matchRedisEntryError}.
 *
 * @typeParam R - what every handler returns
 * @example
 * ```ts
 * const tally: RedisEntryErrorHandlers<string> = {
 *   MalformedJson: () => 'json', InvalidPayload: () => 'shape', UnknownEventType: () => 'type', MissingPayloadField: () => 'foreign',
 * }
 * ```
 */
export type RedisEntryErrorHandlers<R> = { readonly [K in RedisEntryError['_tag']]: (error: Extract<RedisEntryError, { _tag: K }>) => R }

/** The one {@link MissingPayloadField} value (it carries nothing of the entry). */
export const missingPayloadField: MissingPayloadField = {
  _tag: 'MissingPayloadField', message: `Entry has no "${PAYLOAD_FIELD}" field`,
}

/**
 * An entry that could not be decoded: acknowledged (so it is not claimed for ever) and reported.
 *
 * @example
 * ```ts
 * const rejected = (rejection: RedisEntryRejection) =>
 *   void redis.sendCommand(['XADD', 'autoplay:dead', '*', 'id', rejection.id, 'text', rejection.text, 'why', rejection.error.message])
 * fromRedisStream(redis, { stream: 'autoplay:events', group: 'indexers', consumer: 'indexer-1', rejected })
 * ```
 */
export interface RedisEntryRejection {
  /** The entry's id (already acknowledged). */
  readonly id: string
  /** The entry's `payload` field as stored; empty when it had none. */
  readonly text: string
  /** Why it was refused: the decode error push mode would give, or {@link MissingPayloadField} for an entry without a `payload` field. */
  readonly error: RedisEntryError
}

