// `class X` → `class X extends BaseAgent`. A class that already extends something else is not
// rewritten (it reaches the base through its parent, or needs its parent migrated first).
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';

/** Returns an error (one line) when the class cannot be made to extend the base. */
export function extendBase(ctx: TsRewriteContext): string | null {
  const cls = ctx.cls;
  const ext = cls.getExtends();
  if (ext) {
    if (ext.getExpression().getText() === ctx.baseClass) return null;
    return `${ctx.className} extends ${ext.getExpression().getText()}, not ${ctx.baseClass}: migrate its parent class (or change the parent) first`;
  }
  const nameNode = cls.getNameNode();
  if (!nameNode) return `an anonymous class cannot be migrated: give the default-exported class a name`;
  const typeParams = cls.getTypeParameters();
  let pos = typeParams.length > 0 ? typeParams[typeParams.length - 1]!.getEnd() : nameNode.getEnd();
  if (typeParams.length > 0) {
    // Step over the closing `>`.
    const close = ctx.text.indexOf('>', pos);
    pos = close + 1;
  }
  ctx.edits.insert(pos, ` extends ${ctx.baseClass}`);
  return null;
}
