/**
 * The reference's recorded answers (spec/reference/fixtures, written by generate.py from the vendor's own code)
 * and the rule every replay holds them to: an untagged row answers as the reference did; a row tagged
 * `differs: <id>, <id>…` answers exactly what its `ours` records, which is not what the reference answered, and the
 * id is one of the named differences (differences.ts), each a row of docs/context.md's parity table.
 */
import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodeText } from '../../src/decode.js'
import type { Payload } from '../../src/index.js'
import { differences } from './differences.js'

export interface Row {
  readonly id: string
  readonly tag?: string
  readonly ours?: unknown
  readonly [field: string]: unknown
}

export function fixture<R extends Row>(name: string): { source: { commit: string }; rows: R[] } {
  return JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', `${name}.json`), 'utf8'))
}

/** A wire payload as our codec decodes it (the replays feed what a receiver would hand on). */
export function decoded(wire: unknown): Payload {
  const result = decodeText(JSON.stringify(wire))
  if (E.isLeft(result)) throw new Error(`the codec refused a recorded payload: ${JSON.stringify(result.left)}`)
  const { payload } = result.right
  if (payload.type === 'usertour_trigger') throw new Error('a recorded payload decoded as a usertour_trigger')
  return payload
}

/**
 * Holds one row: `ours` and `reference` are the two answer lists of the same length, compared item by item;
 * what differs is what the tag must explain.
 */
export function holds(row: Row, reference: readonly unknown[], ours: readonly unknown[], named = differences): void {
  const differing = ours.flatMap((answer, i) => (JSON.stringify(answer) === JSON.stringify(reference[i]) ? [] : [i]))
  const shown = Object.fromEntries(differing.map((i) => [i, { reference: reference[i], ours: ours[i] }]))
  if (row.tag === undefined) {
    expect(shown, `${row.id}: answers that differ from the reference's, with no named difference`).to.deep.equal({})
    return
  }
  const ids = /^differs: (.+)$/.exec(row.tag)?.[1]?.split(', ') ?? []
  expect(ids.length > 0 && ids.every((id) => id in named), `${row.id}: tag "${row.tag}" names no difference`)
    .to.equal(true)
  expect(differing, `${row.id}: tagged ${row.tag}, yet every answer is the reference's`).to.not.deep.equal([])
  expect(shown, `${row.id}: tagged ${row.tag}, the answers recorded as ours`).to.deep.equal(row.ours)
}
