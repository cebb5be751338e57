/**
 * The named differences from the reference's recorded answers, each written in generate.py as a change to the
 * reference's own class: a tagged row records what the changed class answers, and ours must answer exactly that.
 * Each id is a row of docs/context.md's parity table, and each is used by at least one fixture row.
 */
export const differences: Record<string, string> = {
  'not-an-event-refused': 'a body that is no JSON object (not UTF-8, too deeply nested, another JSON value): null and a typed refusal where the reference raises',
  'deep-nesting-read': 'JSON nested past Python\'s recursion limit (about 1,000 levels) is read, as the JavaScript engine reads it; the reference raises',
  'utf8-only': 'JSON in UTF-16 or UTF-32 is refused; the reference detects and reads it',
  'finite-numbers-only': 'NaN and numbers past a double refuse the event; the reference keeps nan and inf',
  'wrong-type-refused': 'a field of the wrong JSON type refuses the event; the reference keeps the value as sent',
  'control-characters-refused': 'an id holding a control character refuses the event, so no id can name another session\'s key',
  'prompt-needs-actions': 'a prompt template without {actions} is refused (PromptWithoutActions, the history kept); the reference sends it',
  'prompt-literal': 'only {actions} is replaced, as written; the reference\'s str.format turns {{ into { and refuses other {names}',
  'sessions-sorted': 'activeSessions is sorted, as the reference\'s async class sorts; its sync class lists least recently used first',
  'empty-buckets-not-read': 'without a productId, a bucket holding only empty batches is passed over, so an empty batch never hides a session\'s actions',
  'empty-bucket-removed': 'a bucket left with no batch in the lookback is removed: activeSessions does not list it, maxSessions does not count it',
}
