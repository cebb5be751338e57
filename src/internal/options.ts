/** The option checks every component shares, so that a bad number fails with the same words everywhere. */

export function positiveInteger(name: string, value: unknown): number {
  if (!(Number.isSafeInteger(value) && (value as number) > 0)) {
    throw new TypeError(`autoplay-rx: ${name} must be a positive integer`)
  }
  return value as number
}

export function positiveNumber(name: string, value: unknown): number {
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
    throw new TypeError(`autoplay-rx: ${name} must be a positive number`)
  }
  return value
}

export function nonEmpty(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`autoplay-rx: ${name} must be a non-empty string`)
  return value
}
