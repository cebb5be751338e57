import { expect } from 'chai'
import { parseTraceparent } from '../../src/otel/traceparent.js'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const SPAN = '00f067aa0ba902b7'

describe('otel/traceparent', () => {
  it('reads a valid version-00 header: ids, flags, remote', () => {
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`)).to.deep.equal({ traceId: TRACE, spanId: SPAN, traceFlags: 1, isRemote: true })
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.traceFlags).to.equal(0)
    expect(parseTraceparent(`  00-${TRACE}-${SPAN}-01 `)?.spanId).to.equal(SPAN) // whitespace around a header value is not part of it
  })

  it('keeps a tracestate beside a valid traceparent', () => {
    const context = parseTraceparent(`00-${TRACE}-${SPAN}-01`, 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')
    expect(context?.traceState?.get('rojo')).to.equal('00f067aa0ba902b7')
    expect(context?.traceState?.get('congo')).to.equal('t61rcWkgMzE')
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`, '')).to.not.have.property('traceState')
  })

  it('accepts a higher version followed by more fields, as the spec asks of a version-00 reader', () => {
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-01-what-comes-next`)?.traceId).to.equal(TRACE)
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-01`)?.traceId).to.equal(TRACE)
  })

  it('refuses everything the spec calls invalid', () => {
    const invalid: Array<string | null | undefined> = [
      undefined, null, '', 'garbage',
      `ff-${TRACE}-${SPAN}-01`, // version ff is forbidden
      `00-${TRACE}-${SPAN}-01-extra`, // version 00 is exactly 55 characters
      `01-${TRACE}-${SPAN}-01extra`, // more fields must start with '-'
      `00-${TRACE.toUpperCase()}-${SPAN}-01`, // lower-case hex only
      `00-${TRACE}-${SPAN.toUpperCase()}-01`,
      `00-${'0'.repeat(32)}-${SPAN}-01`, // all-zero trace id
      `00-${TRACE}-${'0'.repeat(16)}-01`, // all-zero parent id
      `00-${TRACE.slice(1)}-${SPAN}-01`, `00-${TRACE}-${SPAN.slice(1)}-01`, `00-${TRACE}-${SPAN}-1`,
      `0-${TRACE}-${SPAN}-01`, `00_${TRACE}_${SPAN}_01`, `00-${TRACE}-${SPAN}-0g`, `zz-${TRACE}-${SPAN}-01`,
    ]
    for (const value of invalid) expect(parseTraceparent(value), String(value)).to.equal(undefined)
  })
})
