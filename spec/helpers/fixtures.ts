/**
 * Fixture bodies and the test secret from spec/fixtures (copies of the connector's sample bodies, and unknown-type.json:
 * a type no connector sends yet), signed here (never a hand-written digest).
 */
import { readFileSync } from 'node:fs'
import { sign } from '../../src/index.js'
import type { Logger } from '../../src/index.js'

const dir = new URL('../fixtures/', import.meta.url)

export const SECRET = readFileSync(new URL('SECRET.txt', dir), 'utf8').trim()

export type FixtureName = 'actions-small' | 'actions-medium' | 'actions-large' | 'summary' | 'usertour-trigger' | 'unknown-type'

export function fixture(name: FixtureName): Buffer {
  return readFileSync(new URL(`${name}.json`, dir))
}

export function signed(body: Buffer | string, secret = SECRET): { body: Buffer; signature: string } {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  return { body: bytes, signature: sign(bytes, secret) }
}

/** A logger that records every line, for assertions. */
export function recordingLogger(): Logger & { lines: Array<{ level: string; message: string; context?: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; context?: Record<string, unknown> }> = []
  const at = (level: string) => (message: string, context?: Record<string, unknown>) => { lines.push({ level, message, context }) }
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}
