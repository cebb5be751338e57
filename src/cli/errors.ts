/**
 * The CLI's one error type: a failure the user can fix, printed as one line without a stack.
 * Anything else that reaches main is a bug of ours and keeps its stack.
 */

/** A failure the user can fix: exit code 2 for bad usage (main points at the help), 1 for a runtime failure. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: 1 | 2 = 2) {
    super(message)
  }
}
