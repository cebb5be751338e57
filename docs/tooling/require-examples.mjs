// A TypeDoc plugin: every exported function, class, interface, type alias,
// variable and entry module must carry an `@example`. TypeDoc's own
// validation only asks for a comment; a reference without examples is
// where users give up. It warns, so `--treatWarningsAsErrors` (docs:check)
// fails on a missing example while `npm run docs` still generates.
import { Application, ReflectionKind } from 'typedoc'

const KINDS = ReflectionKind.Module | ReflectionKind.Function | ReflectionKind.Class |
  ReflectionKind.Interface | ReflectionKind.TypeAlias | ReflectionKind.Variable

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    for (const reflection of project.getReflectionsByKind(KINDS)) {
      // Only what an entry exports: not members of classes, nor types nested in a declaration.
      if (!reflection.parent?.kindOf(ReflectionKind.Project | ReflectionKind.Module)) continue
      // A function's comment sits on its signatures (one is enough: overloads share their example).
      const comments = [reflection.comment, ...(reflection.signatures ?? []).map((signature) => signature.comment)]
      if (comments.some((comment) => comment?.getTag('@example'))) continue
      app.logger.warn(`${reflection.getFriendlyFullName()} (${ReflectionKind.singularString(reflection.kind)}) has no @example`)
    }
  })
}
