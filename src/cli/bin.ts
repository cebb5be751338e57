#!/usr/bin/env node
// The `autoplay-rx` executable: runs the CLI and sets the exit code.
import { main } from './main.js'

main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (error: unknown) => {
  process.stderr.write(`autoplay-rx: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exitCode = 1
})
