// A TypeDoc plugin for the project's documentation rule (STYLE.md, convention
// 3): every public declaration says what it is in a summary, and an `@example`
// sits where it teaches (an entry module, a class, a main function), not on
// constructors, option fields or error types. TypeDoc's own validation
// (notDocumented) only asks for some comment, which an `@param` alone
// satisfies. The plugin warns, so docs:check (`--treatWarningsAsErrors`)
// fails while `npm run docs` still generates. Members tagged `@internal` are
// left out by typedoc.json (excludeInternal).
import { resolve } from 'node:path'
import { Application, Context, ReflectionKind } from 'typedoc'
import ts from 'typescript'

// The declarations that must carry an `@example`, besides every entry module's
// own comment: the classes users build and the functions they start from.
const TEACHING = [
  // main: the receiver, the SSE source, the operators and context a pipeline is built of
  'WebhookReceiver', 'connectorStream', 'match',
  'dedupeDeliveries', 'bySession', 'mergeSessionBatches', 'EventBuffer',
  'ContextStore', 'intoContext', 'SessionSummarizer',
  // autoplay-rx/node, /web, /fastify: one way in per server
  'createNodeMiddleware', 'createHardenedServer', 'InFlightBudget', 'createFetchHandler', 'createFastifyPlugin',
  // autoplay-rx/redis: both ends of the stream, and the store
  'redisAppender', 'fromRedisStream', 'RedisContextStore',
  // autoplay-rx/otel
  'otelTelemetry',
  // autoplay-rx/proactive: the operator
  'proactive',
]

const DECLARATIONS = ReflectionKind.Function | ReflectionKind.Class | ReflectionKind.Interface |
  ReflectionKind.TypeAlias | ReflectionKind.Variable

/** The comments of a reflection: a function's sit on its signatures (overloads may share one). */
const commentsOf = (reflection) =>
  [reflection.comment, ...(reflection.signatures ?? []).map((signature) => signature.comment)].filter(Boolean)
const hasExample = (reflection) => commentsOf(reflection).some((comment) => comment.getTag('@example'))
const hasSummary = (reflection) => commentsOf(reflection).some((comment) =>
  comment.summary.some((part) => part.text.trim() !== ''))

/** @param {import('typedoc').Application} app */
export function load(app) {
  inlineInternalTypes(app)
  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    const warn = (reflection, problem) =>
      app.logger.warn(`${reflection.getFriendlyFullName()} (${ReflectionKind.singularString(reflection.kind)}) ${problem}`)
    const found = new Set()

    for (const module of project.getReflectionsByKind(ReflectionKind.Module)) {
      if (!hasSummary(module)) warn(module, 'has no summary: say what the entry is for')
      // An entry shows its first use on itself or on the function it is entered by (createNodeMiddleware…).
      if (!hasExample(module) && !(module.children ?? []).some(hasExample)) {
        warn(module, 'has no @example: an entry module shows its first use')
      }
    }
    for (const reflection of project.getReflectionsByKind(DECLARATIONS)) {
      // Only what an entry exports: not members, nor types nested in a declaration.
      if (!reflection.parent?.kindOf(ReflectionKind.Project | ReflectionKind.Module)) continue
      found.add(reflection.name)
      if (!hasSummary(reflection)) warn(reflection, 'has no summary: one or two sentences on what it is')
      if (TEACHING.includes(reflection.name)) {
        if (!hasExample(reflection)) warn(reflection, 'has no @example (require-examples.mjs names it a class or main function)')
      } else if (!reflection.kindOf(ReflectionKind.Function) && /(Error|Failure)$/.test(reflection.name) && hasExample(reflection)) {
        warn(reflection, 'has an @example: an error type is described, not demonstrated')
      }
    }
    // Constructors and the fields of an options type are told by their summary and type.
    for (const reflection of project.getReflectionsByKind(ReflectionKind.Constructor | ReflectionKind.Property)) {
      const inOptions = reflection.kindOf(ReflectionKind.Property) && reflection.parent?.kindOf(ReflectionKind.Interface) &&
        /Options$/.test(reflection.parent.name)
      if ((reflection.kindOf(ReflectionKind.Constructor) || inOptions) && hasExample(reflection)) {
        warn(reflection, 'has an @example: constructors and option fields need none')
      }
    }
    for (const name of TEACHING.filter((name) => !found.has(name))) {
      app.logger.warn(`require-examples.mjs names ${name}, which no entry exports: update the list`)
    }
  })
}

// A type that no entry exports but a public declaration names (an options
// interface, a member of an error union) is shown inline where it is named,
// so that the reader sees its shape and docs/api holds no internal name.
// TypeDoc's own hook for `@inline` tags, extended: typedoc is pinned (0.28.20).
function inlineInternalTypes(app) {
  const exportedOf = new WeakMap()
  const exported = (context) => {
    const program = context.program
    let symbols = exportedOf.get(program)
    if (!symbols) {
      const checker = program.getTypeChecker()
      const aliased = (symbol) => symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
      symbols = new Set(app.options.getValue('entryPoints').flatMap((file) => {
        const source = program.getSourceFile(resolve(file))
        const module = source && checker.getSymbolAtLocation(source)
        return module ? checker.getExportsOfModule(module).map(aliased) : []
      }))
      exportedOf.set(program, symbols)
    }
    return symbols
  }
  const shouldInline = Context.prototype.shouldInline
  Context.prototype.shouldInline = function (symbol, name) {
    if (shouldInline.call(this, symbol, name)) return true
    const target = symbol.flags & ts.SymbolFlags.Alias ? this.checker.getAliasedSymbol(symbol) : symbol
    if (!(target.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias))) return false
    const ours = target.declarations?.some((declaration) => !declaration.getSourceFile().fileName.includes('/node_modules/'))
    return Boolean(ours) && !exported(this).has(target)
  }
}
