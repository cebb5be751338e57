import type { UsertourTriggerPayload } from '../codecs.js'
import { isThenable } from '../thenable.js'
import { bounded } from './within.js'

/**
 * Runs the user's function on one `usertour_trigger`: resolves true once it returned, or its promise fulfilled
 * (within `timeoutMs`, when given); a throw, a rejection or the time running out goes to `fail` and resolves
 * false. Never rejects, so an async function that fails can neither stop a stream nor the process.
 */
export function passTrigger<X>(
  sink: (trigger: UsertourTriggerPayload, extra: X) => unknown, trigger: UsertourTriggerPayload, extra: X,
  fail: (error: unknown) => void, timeoutMs?: number,
): Promise<boolean> {
  const failed = (error: unknown) => (fail(error), false)
  try {
    const result = sink(trigger, extra)
    if (!isThenable(result)) return Promise.resolve(true)
    const done = timeoutMs === undefined ? Promise.resolve(result) : bounded(result, timeoutMs, 'usertourTriggers')
    return done.then(() => true, failed)
  } catch (error) {
    return Promise.resolve(failed(error))
  }
}
