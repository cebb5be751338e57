/** `autoplay-rx sign`: prints the X-Connector-Signature value of a body, for curl and other tools. */
import { sign } from '../signature.js'
import { readInput, writeLine } from './io.js'

/** Prints `sha256=<hex>` of the exact bytes of `file` (`-` for standard input). */
export function signCommand(options: { readonly secret: string; readonly file: string }): number {
  writeLine(sign(readInput(options.file), options.secret))
  return 0
}
