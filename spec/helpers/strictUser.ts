/**
 * A user's strict project (`exactOptionalPropertyTypes` on) compiled against the package's declarations,
 * emitted from src/ into a scratch folder as `types/` (what a user's compiler reads, without touching dist/).
 */
import { execFile } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { scratchDir } from './redis.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')

function run(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => execFile(process.execPath, [tsc, ...args], { cwd: root },
    (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), out: stdout + stderr })))
}

/** The compiler's output for `source` (imports from './types/…'), `''` when it compiles; with `lib` beyond es2022. */
export async function strictCompile(source: string, lib: readonly string[] = []): Promise<string> {
  const dir = scratchDir('strict-')
  try {
    const built = await run(['-p', 'tsconfig.build.json', '--emitDeclarationOnly', '--declarationMap', 'false',
      '--sourceMap', 'false', '--outDir', join(dir, 'types')])
    if (built.out !== '') return built.out
    // The flag is on: a property declared without `| undefined` refuses it (or the file fails on this line).
    writeFileSync(join(dir, 'user.ts'), `${source}
interface Strict { readonly x?: number }
// @ts-expect-error
const refused: Strict = { x: undefined }
void refused
`)
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'es2022', lib: ['es2022', ...lib], module: 'nodenext', moduleResolution: 'nodenext', types: ['node'],
        strict: true, exactOptionalPropertyTypes: true, skipLibCheck: true, noEmit: true,
      },
      files: ['user.ts'],
    }))
    const checked = await run(['-p', relative(root, join(dir, 'tsconfig.json'))])
    return checked.code === 0 ? checked.out : checked.out || `tsc exited ${checked.code}`
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
