// Two bytes a UTF-16 code unit plus 16 a value: a cheap, deterministic stand-in for the heap a value holds,
// which the byte bounds of queues, buffers and stores count.
export const estimatedBytes = (value: unknown): number => typeof value === 'string' ? 16 + 2 * value.length
  : typeof value !== 'object' || value === null ? 16
  : Object.values(value).reduce((bytes: number, field: unknown) => bytes + estimatedBytes(field), 16)
