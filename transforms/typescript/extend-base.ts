// `class X` → `class X extends BaseAgent`. A class that already extends something else is not
// rewritten (it reaches the base through its parent, or needs its parent migrated first).
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { heritageInsertPos } from '../../src/lang/typescript/syntax.js';

/** Returns an error (one line) when the class cannot be made to extend the base. */
export function extendBase(ctx: TsRewriteContext): string | null {
  const cls = ctx.cls;
  const ext = cls.getExtends();
  if (ext) {
    if (ext.getExpression().getText() === ctx.baseClass) return null;
    return `${ctx.className} extends ${ext.getExpression().getText()}, not ${ctx.baseClass}: migrate its parent class (or change the parent) first`;
  }
  ctx.edits.insert(heritageInsertPos(cls), ` extends ${ctx.baseClass}`);
  return null;
}
