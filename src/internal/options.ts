/**
 * The option checks every component shares, so that a bad number fails the
 * same way, with the same words, wherever it is given.
 */

/**
 * Throws a TypeError naming `name` unless `value` is a positive safe integer.
 *
 * @returns `value`, typed as a number
 */
export function positiveInteger(name: string, value: unknown): number {
  if (!(Number.isSafeInteger(value) && (value as number) > 0)) throw new TypeError(`autoplay-rx: ${name} must be a positive integer`)
  return value as number
}

/**
 * Throws a TypeError naming `name` unless `value` is a finite number above 0.
 *
 * @returns `value`, typed as a number
 */
export function positiveNumber(name: string, value: unknown): number {
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) throw new TypeError(`autoplay-rx: ${name} must be a positive number`)
  return value
}

/**
 * Throws a TypeError naming `name` unless `value` is a non-empty string.
 *
 * @returns `value`, typed as a string
 */
export function nonEmpty(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`autoplay-rx: ${name} must be a non-empty string`)
  return value
}
