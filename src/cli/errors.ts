/**
 * The CLI's one error type: a failure the user can fix (a flag, a file, a
 * port, a server that is not there), printed as one line without a stack.
 * Anything else that reaches main is a bug of ours and keeps its stack.
 */

/**
 * A failure the user can fix, with the exit code it ends the command with:
 * 2 for bad usage (main adds a pointer to the help), 1 for the rest.
 *
 * @example
 * ```ts
 * throw new CliError('--port must be a whole number from 0 to 65535, got "x"')
 * throw new CliError('port 8787 on 127.0.0.1 is already in use: …', 1)
 * ```
 */
export class CliError extends Error {
  /**
   * @param message - what went wrong and what to do about it, in one line
   * @param exitCode - 2 (bad usage, the default) or 1
   */
  constructor(message: string, readonly exitCode: 1 | 2 = 2) {
    super(message)
  }
}
