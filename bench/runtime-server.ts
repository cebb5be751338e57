/**
 * One runtime server for bench/runtimes.ts, in a process of its own (pinned like the HTTP bench's
 * servers; workerd, Bun and Deno inherit the pinning): `node --import tsx bench/runtime-server.ts
 * <kind> <bundle> <scratch>` prints `listening <port>` and serves until killed.
 */
import { start, type Kind } from '../spec/runtimes/launch.js'

const [kind, file, scratch] = process.argv.slice(2) as [Kind, string, string]
const running = await start(kind, file, scratch)
console.log(`listening ${new URL(running.url).port}`)
process.once('SIGTERM', () => { void running.close().then(() => process.exit(0)) })
