/** sessionTransition beyond the recorded reference answers (spec/reference/proactive.spec.ts): a walk and options. */
import { expect } from 'chai'
import { sessionTransition, type SessionState } from '../../src/proactive/index.js'

type Event = Parameters<typeof sessionTransition>[1]

/** Plays events at the given times; the modes and refusals met on the way. */
function walk(steps: [number, Event][], options = {}) {
  let state: SessionState | undefined
  return steps.map(([now, event]) => {
    const next = sessionTransition(state, event, now, options)
    state = next.state
    return `${state.mode}${next.refused === null ? '' : `(${next.refused})`}`
  })
}

describe('sessionTransition', () => {
  it('offers from thinking, returns to thinking only by the timeout, then cools down (20 s, 60 s by default)', () => {
    expect(walk([
      [0, { type: 'offered' }], [5, { type: 'opened-chat' }], [20, { type: 'tick' }], [20.5, { type: 'tick' }],
      [30, { type: 'offered' }], [80.5, { type: 'offered' }], [81, { type: 'opened-chat' }],
    ])).to.deep.equal([
      'proactive', 'proactive(state)', 'proactive', 'thinking', 'thinking(cooldown)', 'proactive', 'proactive(state)',
    ])
  })

  it('restarts the timeout on every interaction, a running tour\'s own timings applying', () => {
    const tours = { tour_a: { interactionTimeoutSeconds: 3, cooldownSeconds: 1 } }
    expect(walk([
      [0, { type: 'opened-chat' }], [15, { type: 'wrote' }], [30, { type: 'tick' }],
      [31, { type: 'tour-started', tourId: 'tour_a' }],
      [33, { type: 'tick' }], [34.5, { type: 'tick' }], [35, { type: 'offered' }], [35.5, { type: 'offered' }],
    ], { tours })).to.deep.equal([
      'reactive', 'reactive', 'reactive', 'reactive', 'reactive', 'thinking', 'thinking(cooldown)', 'proactive',
    ])
  })

  it('does not change the state it is given, and refuses a bad option with a TypeError naming it', () => {
    const { state } = sessionTransition(undefined, { type: 'tick' }, 0)
    const before = JSON.stringify(state)
    expect(sessionTransition(state, { type: 'offered' }, 1).state.mode).to.equal('proactive')
    expect(JSON.stringify(state)).to.equal(before)
    expect(() => sessionTransition(state, { type: 'tick' }, 1, { cooldownSeconds: -1 }))
      .to.throw(TypeError, /cooldownSeconds/)
  })
})
