/**
 * `autoplay-rx/proactive`: decide when to reach out to a user before they ask. A session's recent batches become a
 * {@link ProactiveContext}; triggers (the reference SDK's built-ins, or your own rule) are evaluated on it in
 * order at a moment, and a match says what to offer and for how long. Everything here is pure, so it gives the
 * same answer on any worker at any time, and answers as the reference's recorded answers do (docs/proactive.md).
 *
 * @example
 * ```ts
 * import {
 *   matchTriggers, pageDwellTrigger, pingPongTrigger, predicateTrigger, proactiveContext,
 * } from 'autoplay-rx/proactive'
 *
 * const triggers = [
 *   predicateTrigger({ id: 'checkout_hesitation', body: 'Stuck at checkout? I can walk you through it.',
 *     when: (context) => context.canonicalUrls.at(-1)?.includes('/checkout') === true && context.actions.length < 3 }),
 *   pingPongTrigger(),
 *   pageDwellTrigger({ thresholdSeconds: 90 }),
 * ]
 * const [match] = matchTriggers(triggers, proactiveContext(batchesOfSession, Date.now() / 1000), Date.now() / 1000)
 * if (match) chat.offer(match.offerId, match.body, match.replyLabels)
 * ```
 *
 * @module autoplay-rx/proactive
 */
export { proactiveContext, type ProactiveContext } from './context.js'
export { matchTriggers, predicateTrigger, type ProactiveTrigger, type TriggerMatch } from './triggers.js'
export { pageDwellTrigger, pingPongTrigger, sectionPlaybookTrigger } from './builtins.js'
export { sessionTransition, type SessionState } from './session.js'
export { proactive, type ProactiveOffer } from './proactive.js'
export { redisProactiveState } from './store.js'
