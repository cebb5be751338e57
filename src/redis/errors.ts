/**
 * Why the Redis reader refuses an entry. Fold it with the main entry's `match`, like every tagged union of the
 * package.
 */
import type { DecodeError } from '../decode.js'
import { BODY_FIELD, PAYLOAD_FIELD } from './append.js'

/** A stream entry with neither a `body` nor a `payload` field (written by something other than `redisAppender`). */
interface MissingPayloadField {
  readonly _tag: 'MissingPayloadField'
  /** `Entry has no "body" or "payload" field`. */
  readonly message: string
}

/** Handed out `maxDeliveries` times without an ack: moved to the dead-letter stream (`<stream>:dead`). */
interface DeliveryLimit {
  readonly _tag: 'DeliveryLimit'
  readonly message: string
  /** How many times it was handed out. */
  readonly deliveries: number
}

/** Trimmed from the stream (MAXLEN) while still pending: its payload is gone. */
interface EntryTrimmed {
  readonly _tag: 'EntryTrimmed'
  readonly message: string
}

/**
 * Why {@link fromRedisStream} refused an entry: the `DecodeError` the receiver would give for its payload text, no
 * payload field at all (`_tag: 'MissingPayloadField'`), too many deliveries (`'DeliveryLimit'`, dead-lettered), or
 * trimmed while pending (`'EntryTrimmed'`, lost).
 */
export type RedisEntryError = DecodeError | MissingPayloadField | DeliveryLimit | EntryTrimmed

export const missingPayloadField: MissingPayloadField =
  { _tag: 'MissingPayloadField', message: `Entry has no "${BODY_FIELD}" or "${PAYLOAD_FIELD}" field` }

export const deliveryLimit = (deliveries: number, dead: string): DeliveryLimit =>
  ({ _tag: 'DeliveryLimit', message: `Handed out ${deliveries} times without an ack: moved to ${dead}`, deliveries })
export const entryTrimmed: EntryTrimmed =
  { _tag: 'EntryTrimmed', message: 'Trimmed from the stream while pending: lost (raise maxLen)' }

/** An entry not handed out (see {@link RedisEntryError}): acknowledged (so it is not claimed for ever) and reported. */
export interface RedisEntryRejection {
  /** The entry's id (already acknowledged). */
  readonly id: string
  /** The stream it was in (with `partitions`, its partition's). */
  readonly stream: string
  /** The entry's `body` (else `payload`) field as stored; empty when it had none or is not at hand (dead, trimmed). */
  readonly text: string
  readonly error: RedisEntryError
}
