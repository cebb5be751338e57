import type { UsertourTriggerPayload } from '../codecs.js'
import { log, type LogContext, type Logger } from '../logger.js'

/** Where a source hands its `usertour_trigger` events: the user's function, if given. */
export type TriggerSink = ((trigger: UsertourTriggerPayload) => void) | undefined

/**
 * The one way a source passes its triggers on: a throw of the user's function is logged and stops nothing;
 * with no function the triggers are dropped, said once at `level`.
 */
export function triggerPasser(sink: TriggerSink, logger: Logger, level: 'debug' | 'info', dropped: string,
  context?: LogContext): (trigger: UsertourTriggerPayload, id?: string) => void {
  let told = false
  return (trigger, id) => {
    if (sink === undefined) {
      if (!told) log(logger, level, dropped, context)
      told = true
      return
    }
    try {
      sink(trigger)
    } catch (error) {
      log(logger, 'error', 'usertourTriggers threw; the stream goes on', { ...context, ...(id ? { id } : {}), error })
    }
  }
}
