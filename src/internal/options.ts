/** The option checks every component shares, so that a bad number fails with the same words everywhere. */

/** Throws `autoplay-rx: ${name} must be ${what}` unless `ok`. */
export function must(ok: boolean, name: string, what: string): void {
  if (!ok) throw new TypeError(`autoplay-rx: ${name} must be ${what}`)
}

export function positiveInteger(name: string, value: unknown): number {
  must(Number.isSafeInteger(value) && (value as number) > 0, name, 'a positive integer')
  return value as number
}

/** An integer from `min` to `max`. */
export function integer(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const what = max === Number.MAX_SAFE_INTEGER ? `an integer, ${min} or more` : `an integer from ${min} to ${max}`
  must(Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max, name, what)
  return value as number
}

export function positiveNumber(name: string, value: unknown): number {
  must(Number.isFinite(value) && (value as number) > 0, name, 'a positive number')
  return value as number
}

export function nonEmpty(name: string, value: unknown): string {
  must(typeof value === 'string' && value !== '', name, 'a non-empty string')
  return value as string
}
