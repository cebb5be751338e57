/**
 * Where the HTTP benchmark's processes run. On two cores or more, with
 * `taskset` (util-linux), the server under test gets core 0 and the load
 * generator core 1, so neither steals the other's time slices and the server
 * is the bottleneck being measured. Without it, both float, and the output
 * says so.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { cpus } from 'node:os'

/** Command prefixes for the server and for the load generator, and a sentence for the output. */
export interface Pinning {
  readonly server: readonly string[]
  readonly load: readonly string[]
  readonly note: string
}

export function pinning(): Pinning {
  if (cpus().length < 2) return { server: [], load: [], note: 'not pinned: one core only, server and load generator share it' }
  try {
    execFileSync('taskset', ['-c', '1', 'true'], { stdio: 'ignore' })
  } catch {
    return { server: [], load: [], note: 'not pinned: `taskset` is not available (util-linux), server and load generator float over the cores' }
  }
  return { server: ['taskset', '-c', '0'], load: ['taskset', '-c', '1'], note: 'server (and its redis-server) pinned to core 0, load generator to core 1 (`taskset -c`)' }
}

/** `command` with `args`, behind `prefix` when there is one. */
export function prefixed(prefix: readonly string[], command: string, args: readonly string[]): [string, string[]] {
  return prefix.length === 0 ? [command, [...args]] : [prefix[0]!, [...prefix.slice(1), command, ...args]]
}

/** Whether `command` can be run at all (it is on the PATH); its exit status does not matter (`wrk --version` exits 1). */
export function installed(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).error === undefined
}
