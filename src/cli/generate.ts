/**
 * Realistic connector events for `send`, the demo and the tests: sessions that browse a product, click, type and
 * submit, in the connector's wire format; the same seed gives the same events, so that runs can be compared.
 */

/** A small seeded generator (mulberry32): same seed, same events. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const PAGES = ['dashboard', 'reports', 'settings/billing', 'team/members', 'projects/:id', 'projects/:id/tasks',
  'integrations', 'onboarding']
const KINDS = ['pageview', 'click', 'click', 'type', 'focus', 'blur', 'submit']
const FLOWS = ['flow_onboarding', 'flow_export_csv', 'flow_invite_team', 'flow_billing']
const TARGETS = ['Export CSV', 'Save', 'Invite member', 'Upgrade plan', 'Search', 'New project', 'Filter',
  'Connect Slack']

/** Options of {@link generateEvents}. */
export interface GenerateOptions {
  readonly type: 'actions' | 'summary' | 'usertour_trigger'
  readonly count: number
  readonly sessions: number
  readonly productId?: string | undefined
  readonly actionsPerBatch?: number | undefined
  readonly seed?: number | undefined
  /** Unix seconds of the first event; default now. */
  readonly startAt?: number | undefined
}

/** `count` event bodies (JSON text) spread round-robin over `sessions` sessions. */
export function generateEvents(options: GenerateOptions): string[] {
  const { productId = 'prod_demo', actionsPerBatch: perBatch = 3, startAt: start = Date.now() / 1000 } = options
  const random = seededRandom(options.seed ?? 42)
  const pick = <A>(list: readonly A[]) => list[Math.floor(random() * list.length)]!
  const sessions = Array.from({ length: Math.max(1, options.sessions) }, (_, i) => ({
    id: `ps_${(i + 1).toString(36).padStart(4, '0')}${Math.floor(random() * 1e6).toString(36)}`,
    user: `user_${i + 1}`,
    email: `user${i + 1}@example.com`,
    next: 0,
  }))
  const out: string[] = []
  for (let n = 0; n < options.count; n++) {
    const session = sessions[n % sessions.length]!
    const forwardedAt = Math.round((start + n * 0.25) * 1000) / 1000
    if (options.type === 'usertour_trigger') {
      out.push(JSON.stringify({
        type: 'usertour_trigger', product_id: productId, flow_id: pick(FLOWS), session_id: session.id,
        reason: `The user went back and forth on the ${pick(PAGES)} page`, user_id: session.user,
      }))
      continue
    }
    if (options.type === 'summary') {
      out.push(JSON.stringify({
        type: 'summary', product_id: productId, session_id: session.id,
        summary: `The user opened the ${pick(PAGES)} page, used "${pick(TARGETS)}" and then went to ${pick(PAGES)}.`,
        replaces: session.next, forwarded_at: forwardedAt,
      }))
      continue
    }
    const actions = Array.from({ length: perBatch }, () => {
      const index = session.next++
      const kind = pick(KINDS)
      const page = pick(PAGES)
      const target = pick(TARGETS)
      const t0 = forwardedAt - perBatch + index * 0.001
      return {
        index, type: kind, title: `${kind} ${kind === 'pageview' ? page : target}`,
        description: kind === 'pageview'
          ? `User viewed the ${page} page`
          : `User did a ${kind} on "${target}" on the ${page} page`,
        canonical_url: `https://app.example.com/${page}`,
        raw_url: `https://app.example.com/${page.replace(/:id/g, String(100 + Math.floor(random() * 900)))}`,
        timestamp_start: t0, timestamp_end: t0 + 0.5,
        session_id: session.id, user_id: session.user, email: session.email,
      }
    })
    out.push(JSON.stringify({
      type: 'actions', product_id: productId, session_id: session.id, user_id: session.user, email: session.email,
      count: actions.length, forwarded_at: forwardedAt, actions,
    }))
  }
  return out
}
