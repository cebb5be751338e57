/**
 * Triggers and matchTriggers beyond the recorded reference answers (spec/reference/proactive.spec.ts): the offer
 * id, the defaults, option checks, time alone making a rule true, custom triggers.
 */
import { expect } from 'chai'
import {
  matchTriggers, pageDwellTrigger, pingPongTrigger, predicateTrigger, proactiveContext, sectionPlaybookTrigger,
  type ProactiveTrigger,
} from '../../src/proactive/index.js'
import { T0, action, batch } from './helpers.js'

const pingPong = proactiveContext([batch(T0, [action(0, '/a'), action(1, '/b'), action(2, '/a')])], T0)
const always = (id: string): ProactiveTrigger => predicateTrigger({ id, body: 'Need a hand?', when: () => true })

describe('matchTriggers', () => {
  it('answers the first match by default, every match with Infinity, in the order given', () => {
    const never = predicateTrigger({ id: 'never', body: 'x', when: () => false })
    const triggers = [never, pingPongTrigger(), always('busy')]
    expect(matchTriggers(triggers, pingPong, T0).map((m) => m.triggerId)).to.deep.equal(['canonical_url_ping_pong'])
    expect(matchTriggers(triggers, pingPong, T0, Infinity).map((m) => m.triggerId))
      .to.deep.equal(['canonical_url_ping_pong', 'busy'])
    expect(matchTriggers([], pingPong, T0)).to.deep.equal([])
  })

  it('gives a match the reference\'s body, its default timings (10 s, 30 s) and an offer id', () => {
    const [match] = matchTriggers([pingPongTrigger()], pingPong, T0)
    expect(match).to.deep.equal({
      triggerId: 'canonical_url_ping_pong', body: 'Need my expert help?', replyLabels: [], metadata: { min_cycles: 1 },
      interactionTimeoutSeconds: 10, cooldownSeconds: 30, offerId: match!.offerId,
    })
  })

  it('gives the same offer id for the same trigger on the same window, at any time, and another otherwise', () => {
    const id = (trigger: ProactiveTrigger, context = pingPong, now = T0) =>
      matchTriggers([trigger], context, now)[0]!.offerId
    const first = id(always('busy'))
    expect(first).to.match(/^[0-9a-f]{16}$/)
    const aba = [action(0, '/a'), action(1, '/b'), action(2, '/a')]
    expect(id(always('busy'), proactiveContext([batch(T0, aba)], T0 + 9), T0 + 9)).to.equal(first)
    const more = proactiveContext([batch(T0, [...aba, action(3, '/c')])], T0)
    const other = proactiveContext([batch(T0, aba, { session_id: 'ps_2' })], T0)
    expect(new Set([first, id(always('other')), id(always('busy'), more), id(always('busy'), other)]).size).to.equal(4)
  })

  it('shortens any trigger\'s body to 150 characters, and fills what a custom trigger leaves out', () => {
    const custom: ProactiveTrigger = { id: 'custom', evaluate: () => ({ body: `  ${'🙂'.repeat(151)}` }) }
    const [match] = matchTriggers([custom], pingPong, T0)
    expect(match).to.deep.include({ body: '🙂'.repeat(150), replyLabels: [], metadata: {}, cooldownSeconds: 30 })
  })

  it('throws what a trigger throws (the operator fences user code)', () => {
    const broken = predicateTrigger({ id: 'broken', body: 'x', when: () => { throw new RangeError('boom') } })
    expect(() => matchTriggers([broken], pingPong, T0)).to.throw(RangeError, 'boom')
  })
})

describe('the triggers', () => {
  it('refuse a bad option with a TypeError naming it, where they are made', () => {
    expect(() => pingPongTrigger({ minCycles: 0 })).to.throw(TypeError, /minCycles/)
    expect(() => pageDwellTrigger({ thresholdSeconds: 0 })).to.throw(TypeError, /thresholdSeconds/)
    expect(() => pageDwellTrigger({ maxActions: -1 })).to.throw(TypeError, /maxActions/)
    expect(() => predicateTrigger({ id: '', body: 'x', when: () => true })).to.throw(TypeError, /id/)
    expect(() => pingPongTrigger({ cooldownSeconds: Number.NaN })).to.throw(TypeError, /cooldownSeconds/)
  })

  it('carry their timings onto the match', () => {
    const timed = pingPongTrigger({ interactionTimeoutSeconds: 15, cooldownSeconds: 60 })
    const [match] = matchTriggers([timed], pingPong, T0)
    expect(match).to.deep.include({ interactionTimeoutSeconds: 15, cooldownSeconds: 60 })
  })

  it('user_page_dwell: one action with no span dwells until now, so time alone makes it fire', () => {
    const context = proactiveContext([batch(T0, [action(0, '/a', T0 - 100), action(1, '/b', T0 - 30)])], T0)
    const dwell = [pageDwellTrigger()]
    expect(matchTriggers(dwell, context, T0 + 29)).to.deep.equal([])
    expect(matchTriggers(dwell, context, T0 + 30)[0]?.metadata).to.deep.include({
      user_page_dwell_seconds: 60, user_page_dwell_action_count: 1, user_page_dwell_canonical_url: '/b',
    })
  })

  it('section_playbook_match: the app\'s current section wins; only the playbook\'s own keys are sections', () => {
    const actions = [action(0, '/projects/1', T0 - 60, T0), action(1, '/billing', T0)]
    const context = proactiveContext([batch(T0, actions)], T0)
    const rules = [{ prefix: '/projects', sectionId: 'projects' }, { prefix: '/billing', sectionId: 'billing' }]
    const playbook = { projects: 'Projects help', billing: { body: 'Billing help', replyLabels: ['Invoices', ' '] } }
    const busiest = sectionPlaybookTrigger({ rules, playbook })
    expect(matchTriggers([busiest], context, T0)[0])
      .to.deep.include({ body: 'Projects help', metadata: { section_id: 'projects' } })
    const current = sectionPlaybookTrigger({ rules, playbook, currentSection: () => ' billing ' })
    expect(matchTriggers([current], context, T0)[0])
      .to.deep.include({ body: 'Billing help', replyLabels: ['Invoices'] })
    const inherited = sectionPlaybookTrigger({ rules: [{ prefix: '/', sectionId: 'constructor' }], playbook: {} })
    expect(matchTriggers([inherited], context, T0)).to.deep.equal([])
  })
})
