/**
 * The reference's recorded proactive answers (fixtures/proactive-*.json, written by generate_proactive.py from the
 * vendor's own classes) replayed on autoplay-rx/proactive: context building, each built-in trigger, predicate
 * triggers and the ordered registry (first match and all matches), the session state machine and the delivery
 * breaker.
 */
import { expect } from 'chai'
import {
  matchTriggers, pageDwellTrigger, pingPongTrigger, predicateTrigger, proactiveContext, sectionPlaybookTrigger,
  sessionTransition, type ProactiveContext, type ProactiveTrigger, type SessionState, type TriggerMatch,
} from '../../src/proactive/index.js'
import { breakerStep, CLOSED } from '../../src/proactive/gates.js'
import { decoded, differences, fixture, holds, refusedOr, type Row } from './proactiveReplay.js'

type Options = Readonly<Record<string, unknown>>
interface ContextRow extends Row { payloads: unknown[]; queries: { options: Options; now: number }[] }
interface TriggerRow extends Row { triggers: Spec[]; payloads: unknown[]; now: number }
interface SessionRow extends Row {
  options: { interaction_timeout_s?: number; cooldown_period_s?: number }
  tours: Record<string, [number, number]> | null
  steps: { advance: number; event: Parameters<typeof sessionTransition>[1]['type']; tour_id?: string | null }[]
}
interface BreakerRow extends Row {
  config: { failure_threshold?: number; pause_s?: number; disabled?: boolean }
  steps: { advance: number; event: 'check' | 'failure' | 'success' }[]
}
interface Spec {
  kind: 'ping_pong' | 'dwell' | 'section' | 'predicate'
  [key: string]: any
}

/** The reference's `None` (no limit) is our `Infinity`. */
const limit = (value: unknown) => (value === null ? Infinity : value as number | undefined)

function contextAnswer(row: ContextRow, query: ContextRow['queries'][number]) {
  return refusedOr(() => {
    const context = proactiveContext(row.payloads.map(decoded), query.now, {
      lookbackSeconds: limit(query.options.lookback_seconds), maxActions: limit(query.options.max_actions),
    })
    return { actions: context.actions.map((action) => action.index), canonical_urls: context.canonicalUrls }
  })
}

/** The reference's test predicates and metadata functions, by the names the generator gives them. */
function when(name: string): (context: ProactiveContext) => boolean {
  const [kind, arg = ''] = name.split(':') as [string, string?]
  switch (kind) {
    case 'always': return () => true
    case 'never': return () => false
    case 'min_actions': return (c) => c.actions.length >= Number(arg)
    case 'url_contains': return (c) => c.canonicalUrls.some((url) => (url ?? '').includes(arg))
    case 'last_type': return (c) => c.actions.at(-1)?.type === arg
  }
  throw new Error(`no predicate ${name}`)
}
const metadataFns: Record<string, (c: ProactiveContext) => Record<string, unknown>> = {
  count: (c) => ({ actions: c.actions.length }),
  last_url: (c) => ({ last_url: c.canonicalUrls.at(-1) ?? null }),
}

/** Our trigger for a recorded spec: the reference's constructor arguments and context_extra keys as our options. */
function build(spec: Spec): ProactiveTrigger {
  const timings = spec.timings === undefined ? {}
    : { interactionTimeoutSeconds: spec.timings.interaction_timeout_s, cooldownSeconds: spec.timings.cooldown_s }
  switch (spec.kind) {
    case 'ping_pong': return pingPongTrigger({ ...timings, minCycles: spec.min_cycles, urlContains: spec.url_contains })
    case 'dwell':
      return pageDwellTrigger({
        ...timings, thresholdSeconds: spec.threshold, maxActions: spec.max_actions, body: spec.body,
      })
    case 'section':
      return sectionPlaybookTrigger({
        ...timings, fallbackSection: spec.fallback, currentSection: () => spec.current,
        rules: spec.rules.map((rule: { prefix: string; section_id: string }) =>
          ({ prefix: rule.prefix, sectionId: rule.section_id })),
        playbook: Object.fromEntries(Object.entries(spec.playbook).map(([id, row]: [string, any]) =>
          [id, row === null || typeof row === 'string' ? row
            : { body: row.body, replyLabels: row.reply_option_labels }])),
      })
    case 'predicate':
      return predicateTrigger({
        ...timings, id: spec.id, body: spec.body, when: when(spec.when), replyLabels: spec.labels,
        metadata: spec.metadata_fn !== undefined ? metadataFns[spec.metadata_fn] : spec.metadata,
      })
  }
}

/** A match as the reference's result reads (the offer id is ours alone: the reference has none). */
const asReference = (match: TriggerMatch | undefined) => match === undefined ? null : {
  trigger_id: match.triggerId, body: match.body, reply_option_labels: match.replyLabels, metadata: match.metadata,
  interaction_timeout_s: match.interactionTimeoutSeconds, cooldown_s: match.cooldownSeconds,
}

function triggerAnswers(row: TriggerRow): unknown[] {
  const triggers = refusedOr(() => row.triggers.map(build))
  if (!Array.isArray(triggers)) return [triggers, triggers]
  const context = proactiveContext(row.payloads.map(decoded), row.now)
  return [asReference(matchTriggers(triggers, context, row.now)[0]),
    matchTriggers(triggers, context, row.now, Infinity).map(asReference)]
}

/** Our modes as the reference's AgentStateV2 values. */
const MODES = { thinking: 'thinking', proactive: 'proactive_assistance', reactive: 'reactive_assistance' }

/** Plays a session's steps from a new session at the reference's clock (1,000 s); the state after each, as it reads. */
function sessionAnswers(row: SessionRow): unknown[] {
  const options = {
    interactionTimeoutSeconds: row.options.interaction_timeout_s, cooldownSeconds: row.options.cooldown_period_s,
    tours: row.tours === null ? undefined : Object.fromEntries(Object.entries(row.tours)
      .map(([id, [timeout, cooldown]]) => [id, { interactionTimeoutSeconds: timeout, cooldownSeconds: cooldown }])),
  }
  let now = 1000
  let state: SessionState = sessionTransition(undefined, { type: 'tick' }, now, options).state
  return row.steps.map((step) => {
    now += step.advance
    const event = step.event === 'tour-started' ? { type: step.event, tourId: step.tour_id } : { type: step.event }
    const next = sessionTransition(state, event as Parameters<typeof sessionTransition>[1], now, options)
    state = next.state
    return {
      refused: next.refused, state: MODES[state.mode], last_interaction_at: state.lastInteractionAt,
      cooldown_since: state.cooldownSince, cooldown_seconds: state.cooldownSeconds, guidance: state.guidance,
      tour_id: state.tourId, clicked_option: state.clickedOption,
    }
  })
}

/** Plays a breaker's steps from closed at the reference's clock (1,000 s): what each call returned, and the state. */
function breakerAnswers(row: BreakerRow): unknown[] {
  const options = row.config.disabled === true ? false as const
    : { failureThreshold: row.config.failure_threshold, pauseSeconds: row.config.pause_s }
  if ('refused' in refusedOr(() => breakerStep(CLOSED, 'check', 0, options))) {
    return row.steps.map(() => ({ refused: true }))
  }
  let [now, breaker] = [1000, CLOSED]
  return row.steps.map((step) => {
    now += step.advance
    const next = breakerStep(breaker, step.event, now, options)
    breaker = next.breaker
    return { returned: step.event === 'success' ? null : next.open, fail_streak: breaker.failures,
      open_until: breaker.openUntil }
  })
}

describe('the reference\'s recorded proactive answers', () => {
  describe('context building (lookback by forwarded_at, then the newest actions, batch-aware)', () => {
    for (const row of fixture<ContextRow>('context')) {
      it(row.id, () => holds(row, row.queries.map((query) => contextAnswer(row, query))))
    }
  })

  for (const name of ['ping-pong', 'dwell', 'section', 'predicate', 'registry']) {
    describe(`${name} triggers`, () => {
      for (const row of fixture<TriggerRow>(name)) it(row.id, () => holds(row, triggerAnswers(row)))
    })
  }

  describe('the session state machine (agent_state_v2: thinking, proactive, reactive; timeouts and cooldowns)', () => {
    for (const row of fixture<SessionRow>('session')) it(row.id, () => holds(row, sessionAnswers(row)))
  })

  describe('the delivery breaker (proactive_resilience\'s InMemoryProactiveCircuitBreaker)', () => {
    for (const row of fixture<BreakerRow>('breaker')) it(row.id, () => holds(row, breakerAnswers(row)))
  })

  it('uses every named difference in some row, and names no other', () => {
    const names = ['context', 'ping-pong', 'dwell', 'section', 'predicate', 'registry', 'session', 'breaker']
    const used = new Set(names.flatMap((name) =>
      fixture(name).flatMap((row) => /^differs: (.+)$/.exec(row.tag ?? '')?.[1]?.split(', ') ?? [])))
    expect([...used].sort()).to.deep.equal(Object.keys(differences).sort())
  })
})
