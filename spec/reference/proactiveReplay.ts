/**
 * The proactive fixtures with the replay rule of replay.ts, and their named differences, each a row of
 * docs/proactive.md's parity table.
 * An untagged row answers as the reference did; a row tagged `differs: <id>, <id>…` answers exactly its `ours`.
 */
import * as E from 'fp-ts/lib/Either.js'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodeText } from '../../src/decode.js'
import type { ActionsPayload } from '../../src/index.js'
import { holds as replayHolds, type Row as ReplayRow } from './replay.js'

/** The named differences of generate_proactive.py, by id. */
export const differences: Record<string, string> = {
  'body-shortened': 'every match\'s body is stripped and cut to 150 characters; the reference cuts only its ' +
    'built-ins\' bodies',
  'bad-options-refused': 'a dwell threshold or max actions ≤ 0, or minCycles < 1, is refused with a TypeError ' +
    'where the trigger is made, and a breaker threshold < 1 or pause ≤ 0 where the operator is; the reference ' +
    'never fires, takes the default, fires on any three URLs, turns the breaker off or opens it for no time',
}

export interface Row extends ReplayRow {
  readonly answers: unknown[]
}

export function fixture<R extends Row>(name: string): R[] {
  return JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', `proactive-${name}.json`), 'utf8')).rows
}

/** A recorded wire batch as our codec decodes it. */
export function decoded(wire: unknown): ActionsPayload {
  const result = decodeText(JSON.stringify(wire))
  if (E.isLeft(result) || result.right.payload.type !== 'actions') throw new Error(`refused: ${JSON.stringify(wire)}`)
  return result.right.payload
}

/** Runs `answer`; a TypeError or RangeError (a refused option) answers `{ refused: true }`, as a ValueError did. */
export function refusedOr<A>(answer: () => A): A | { refused: true } {
  try {
    return answer()
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) return { refused: true }
    throw error
  }
}

/** Holds one row by the replay rule of replay.ts, against the proactive fixtures' named differences. */
export function holds(row: Row, ours: readonly unknown[]): void {
  replayHolds(row, row.answers, ours, differences)
}
