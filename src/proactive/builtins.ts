/**
 * The reference's built-in triggers with its ids, rules, bodies and metadata keys: URL ping-pong, page dwell,
 * section playbook. Their options are its `context_extra` keys, given once where the trigger is made.
 */
import type { SlimAction } from '../codecs.js'
import { byCodePoint } from '../context/options.js'
import { positiveInteger, positiveNumber } from '../internal/options.js'
import type { ProactiveContext } from './context.js'
import { codePoints, round3, strip } from './text.js'
import { trigger, type ProactiveTrigger, type TriggerTimings } from './triggers.js'

/** The canonical URLs that are not blank, stripped. */
const urls = (context: ProactiveContext) => context.canonicalUrls.flatMap((url) => strip(url ?? '') || [])

/** The options of {@link pingPongTrigger}. */
interface PingPongOptions extends TriggerTimings {
  /** A → B → A triples needed; default 1. */
  readonly minCycles?: number | undefined
  /** Fire only when a URL of the window contains this text; default: anywhere. */
  readonly urlContains?: string | undefined
}

/**
 * `canonical_url_ping_pong`: the user goes back and forth, A → B → A, at least `minCycles` times (overlapping
 * triples of the non-blank URLs). With `urlContains`, only when some URL contains it (the reference's scoped one).
 */
export function pingPongTrigger(options: PingPongOptions = {}): ProactiveTrigger {
  const minCycles = positiveInteger('minCycles', options.minCycles ?? 1)
  const scope = options.urlContains === undefined ? undefined : strip(options.urlContains)
  const metadata = scope === undefined ? { min_cycles: minCycles }
    : { min_cycles: minCycles, scoped_canonical_url_contains: scope }
  return trigger('canonical_url_ping_pong', options, (context) => {
    const seen = urls(context)
    if (scope && !seen.some((url) => url.includes(scope))) return undefined
    let cycles = 0
    for (let i = 0; i + 2 < seen.length; i++) if (seen[i] === seen[i + 2] && seen[i] !== seen[i + 1]) cycles++
    return cycles >= minCycles ? { body: 'Need my expert help?', metadata } : undefined
  })
}

/** The options of {@link pageDwellTrigger}: the reference's `context_extra` keys. */
interface PageDwellOptions extends TriggerTimings {
  /** Seconds the streak must last; default 60. */
  readonly thresholdSeconds?: number | undefined
  /** Most actions in the streak (more is exploring, not lingering); default 5. */
  readonly maxActions?: number | undefined
  /** The offer; default "Still on this page — want a quick tip?". */
  readonly body?: string | undefined
}

/**
 * `user_page_dwell`: the newest actions on one canonical URL (the trailing streak) span at least `thresholdSeconds`
 * with at most `maxActions` of them. A streak of one action with no span lasts until `now`.
 */
export function pageDwellTrigger(options: PageDwellOptions = {}): ProactiveTrigger {
  const threshold = positiveNumber('thresholdSeconds', options.thresholdSeconds ?? 60)
  const max = positiveInteger('maxActions', options.maxActions ?? 5)
  const body = strip(options.body ?? '') || 'Still on this page \u2014 want a quick tip?'
  // The trailing streak on the newest URL, walked back no further than max + 1: a longer one does not fire either.
  const streak = ({ actions }: ProactiveContext) => {
    const last = actions[actions.length - 1]
    const url = strip(last?.canonical_url ?? '')
    if (last === undefined || url === '') return undefined
    let first = actions.length - 1
    while (first > 0 && actions.length - first <= max && strip(actions[first - 1]!.canonical_url) === url) first--
    const count = actions.length - first
    const start = actions[first]!.timestamp_start
    return { last, count, start, span: last.timestamp_end - start, growing: count === 1 && last.timestamp_end <= start }
  }
  return trigger('user_page_dwell', options, (context, now) => {
    const found = streak(context)
    if (found === undefined) return undefined
    const { last, count, start, span, growing } = found
    const seconds = Math.max(0, growing ? now - start : span)
    if (count > max || seconds < threshold) return undefined
    return {
      body, metadata: {
        user_page_dwell_seconds: round3(seconds), user_page_dwell_action_count: count, user_page_dwell_max_actions: max,
        dwell_threshold_seconds: threshold, user_page_dwell_canonical_url: codePoints(last.canonical_url, 512),
      },
    }
  }, (context, now) => {
    // Only a one-action streak with no span grows with time alone.
    const found = streak(context)
    return found?.growing === true && found.start + threshold > now ? found.start + threshold : undefined
  })
}

/** One section's guidance: its text, or its text and quick-reply labels. */
type PlaybookRow = string | { readonly body: string; readonly replyLabels?: readonly string[] | undefined }

/** A URL prefix rule: a URL that starts with `prefix` (after stripping) is in section `sectionId`. */
interface SectionRule {
  /** The start of the canonical URLs of the section, as sent (no slash normalised). */
  readonly prefix: string
  /** The section's id, a key of the playbook. */
  readonly sectionId: string
}

/** The options of {@link sectionPlaybookTrigger}: the reference's `context_extra` keys. */
interface SectionPlaybookOptions extends TriggerTimings {
  /** Ordered prefix rules (`section_url_rules`); a rule with a blank prefix or id is skipped. */
  readonly rules: readonly SectionRule[]
  /** The section of a URL no rule maps (`section_url_fallback_id`); default `other`. */
  readonly fallbackSection?: string | undefined
  /** Guidance by section id (`section_playbook`). */
  readonly playbook: Readonly<Record<string, PlaybookRow>>
  /** The app's own idea of the current section (`current_section_id`), which wins when the playbook has it. */
  readonly currentSection?: ((context: ProactiveContext) => string | null | undefined) | undefined
}

/**
 * `section_playbook_match`: guidance for a section of the product. URLs map to sections by the first rule whose
 * prefix starts the URL (else `fallbackSection`); the section offered is `currentSection`'s when the playbook has
 * it, else the playbook section with the most dwell (each action's end − start) in the window, then the most
 * visits, then the first id by code point.
 */
export function sectionPlaybookTrigger(options: SectionPlaybookOptions): ProactiveTrigger {
  const rules = options.rules.flatMap(({ prefix, sectionId }) =>
    strip(prefix) && strip(sectionId) ? [{ prefix: strip(prefix), id: strip(sectionId) }] : [])
  const fallback = strip(options.fallbackSection ?? '') || 'other'
  // The reference computes sections only when rules are given, even rules it then skips as blank.
  const sectioned = options.rules.length > 0
  const book = new Map(Object.entries(options.playbook))
  const sectionOf = (url: string) => {
    const stripped = strip(url)
    return (stripped && rules.find((rule) => stripped.startsWith(rule.prefix))?.id) || fallback
  }
  const busiest = (actions: readonly SlimAction[]) => {
    const visits = new Map<string, number[]>()
    let previous: string | undefined
    for (const action of actions) {
      const id = sectionOf(action.canonical_url)
      const dwell = Math.max(0, action.timestamp_end - action.timestamp_start)
      const seen = visits.get(id)
      if (seen === undefined) visits.set(id, [dwell])
      else if (id === previous) seen[seen.length - 1]! += dwell
      else seen.push(dwell)
      previous = id
    }
    let best: { id: string; dwell: number; visits: number } | undefined
    for (const [id, seen] of visits) {
      const dwell = seen.reduce((sum, d) => sum + d, 0)
      if (book.has(id) && (best === undefined || dwell > best.dwell || (dwell === best.dwell &&
        (seen.length > best.visits || (seen.length === best.visits && byCodePoint(id, best.id) < 0))))) {
        best = { id, dwell, visits: seen.length }
      }
    }
    return best?.id
  }
  return trigger('section_playbook_match', options, (context) => {
    const current = strip(options.currentSection?.(context) ?? '')
    const id = current !== '' && book.has(current) ? current : sectioned ? busiest(context.actions) : undefined
    const row = id === undefined ? undefined : book.get(id)
    const body = typeof row === 'string' ? row : typeof row === 'object' && row !== null ? row.body ?? '' : ''
    if (strip(body) === '') return undefined
    const labels = typeof row === 'object' ? row.replyLabels ?? [] : []
    return { body, replyLabels: labels.filter((label) => strip(label) !== ''), metadata: { section_id: id } }
  })
}
