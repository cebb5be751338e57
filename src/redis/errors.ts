/**
 * Why the Redis reader refuses an entry. Fold it with the main entry's `match`, like every tagged union of the
 * package.
 */
import type { DecodeError } from '../decode.js'
import { PAYLOAD_FIELD } from './append.js'

/** A stream entry without a `payload` field (written by something other than `redisAppender`). */
interface MissingPayloadField {
  readonly _tag: 'MissingPayloadField'
  /** `Entry has no "payload" field`. */
  readonly message: string
}

/**
 * Why {@link fromRedisStream} refused an entry: the `DecodeError` the receiver would give for its payload text, or
 * no payload field at all (`_tag: 'MissingPayloadField'`).
 */
export type RedisEntryError = DecodeError | MissingPayloadField

export const missingPayloadField: MissingPayloadField =
  { _tag: 'MissingPayloadField', message: `Entry has no "${PAYLOAD_FIELD}" field` }

/** An entry that could not be decoded: acknowledged (so it is not claimed for ever) and reported. */
export interface RedisEntryRejection {
  /** The entry's id (already acknowledged). */
  readonly id: string
  /** The entry's `payload` field as stored; empty when it had none. */
  readonly text: string
  readonly error: RedisEntryError
}
