// `class X` → `class X extends BaseAgent`; `extends EventEmitter` (when the base is an
// EventEmitter) and `extends OldBase` (when a base-to-base profile maps it) → `extends BaseAgent`.
// Any other parent is refused before the transforms run (see parentPlan in rewrite.ts).
import { Node } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { heritageInsertPos } from '../../src/lang/typescript/syntax.js';

/** Make the class extend the base: add the clause, or put the base in the parent's place. */
export function extendBase(ctx: TsRewriteContext): void {
  const cls = ctx.cls;
  const p = ctx.parent;
  if (p.kind === 'event-emitter' || p.kind === 'old-base') {
    // A removal plus an insertion, so the old parent's import counts as unused once this goes.
    const expr = p.expr;
    // `extends Counted(Loggable(EventEmitter))`: the base goes inside the mixin chain.
    const around = expr.getParentWhile((n) => Node.isCallExpression(n));
    if (around && around !== expr && Node.isCallExpression(around)) {
      ctx.warnings.push(`${ctx.className}'s mixins (${around.getText().replace(/\s+/g, '')}) now wrap ${ctx.baseClass} in EventEmitter's place: none of them declares a member the base has, and each hands its constructor arguments on, so super()'s options reach the base`);
    }
    ctx.edits.removeRange(expr.getStart(), expr.getEnd());
    ctx.edits.insert(expr.getStart(), ctx.baseClass);
    // `extends BaseService<Options>`: the type arguments belonged to the old base.
    const withArgs = expr.getParent();
    if (withArgs && Node.isExpressionWithTypeArguments(withArgs)) {
      const args = withArgs.getTypeArguments();
      if (args.length > 0) ctx.edits.removeRange(expr.getEnd(), withArgs.getEnd());
    }
    return;
  }
  if (p.kind === 'family') {
    // The subclass keeps its parent, now the parent's migrated `_v2`.
    if (!p.parent.followed) {
      const lit = p.parent.specifier;
      ctx.edits.replace(lit.getStart() + 1, lit.getEnd() - 1, p.parent.v2Specifier);
      ctx.warnings.push(`${ctx.className} follows its parent ${p.parent.className} onto ${ctx.baseClass}: it now extends the parent's migrated ${p.parent.v2Specifier}`);
    }
    return;
  }
  if (cls.getExtends()) return;
  ctx.edits.insert(heritageInsertPos(cls), ` extends ${ctx.baseClass}`);
}
