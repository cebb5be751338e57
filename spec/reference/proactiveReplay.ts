/**
 * The replay rule of spec/reference (issue 23's replay.ts `holds`, copied until that branch lands; the integrator
 * unifies them) and the named differences of the proactive fixtures, each a row of docs/proactive.md's parity table.
 * An untagged row answers as the reference did; a row tagged `differs: <id>, <id>…` answers exactly its `ours`.
 */
import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodeText } from '../../src/decode.js'
import type { ActionsPayload } from '../../src/index.js'

/** The named differences of generate_proactive.py, by id. */
export const differences: Record<string, string> = {
  'body-shortened': 'every match\'s body is stripped and cut to 150 characters; the reference cuts only its ' +
    'built-ins\' bodies',
  'bad-options-refused': 'a dwell threshold or max actions ≤ 0, or minCycles < 1, is refused with a TypeError ' +
    'where the trigger is made; the reference never fires, takes the default, or fires on any three URLs',
}

export interface Row {
  readonly id: string
  readonly tag?: string
  readonly ours?: unknown
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

/** Holds one row: the answers compared item by item with the reference's; what differs is what the tag explains. */
export function holds(row: Row, ours: readonly unknown[]): void {
  const reference = row.answers
  const differing = ours.flatMap((answer, i) => (JSON.stringify(answer) === JSON.stringify(reference[i]) ? [] : [i]))
  const shown = Object.fromEntries(differing.map((i) => [i, { reference: reference[i], ours: ours[i] }]))
  if (row.tag === undefined) {
    expect(shown, `${row.id}: answers that differ from the reference's, with no named difference`).to.deep.equal({})
    return
  }
  const ids = /^differs: (.+)$/.exec(row.tag)?.[1]?.split(', ') ?? []
  expect(ids.length > 0 && ids.every((id) => id in differences), `${row.id}: tag "${row.tag}" names no difference`)
    .to.equal(true)
  expect(differing, `${row.id}: tagged ${row.tag}, yet every answer is the reference's`).to.not.deep.equal([])
  expect(shown, `${row.id}: tagged ${row.tag}, the answers recorded as ours`).to.deep.equal(row.ours)
}
