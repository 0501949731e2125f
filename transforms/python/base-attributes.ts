// Concern: attributes the base owns that the agent assigns too. In __init__ (now after
// super().__init__) an assignment that only repeats what the base set is removed; one
// that overrides it is kept and reported, saying when the type differs.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isRemoved, keep } from '../../src/lang/python/transform-context.js';
import { valueType } from '../../src/analysis/value-type.js';

export const baseAttributes: PythonTransform = {
  name: 'base-attributes',
  phase: 'edit',
  run(ctx) {
    const seen = new Set<string>();
    for (const a of ctx.agent.assignments) {
      if (!ctx.base.attributes.has(a.attr) || isRemoved(ctx, a.stmt)) continue;
      if (ctx.resolved?.members.has(a.attr)) continue;
      const baseType = ctx.base.attributes.get(a.attr) ?? null;
      const mine = valueType(a.value);
      const typeDiffers = baseType !== null && mine !== null && mine !== 'None' && mine !== baseType && !(baseType === 'int' && mine === 'int()');
      if (a.method === '__init__') {
        const passed = ctx.passThrough.get(a.attr);
        // The base's __init__ value only stands if nothing it runs during __init__ changes it again.
        const changedLater = [...ctx.base.initCalls].some((m) => ctx.base.assignedIn.get(m)?.has(a.attr));
        const baseValue = changedLater ? undefined : ctx.base.initValues.get(a.attr);
        const redundant =
          a.value !== null &&
          a.stmt.type === 'expression_statement' &&
          a.stmt.namedChild(0)?.type === 'assignment' &&
          ((passed !== undefined && norm(passed) === norm(a.value.text)) ||
            (baseValue !== undefined && norm(baseValue) === norm(a.value.text) && isConstantLike(a.value.text)));
        if (redundant) {
          ctx.deletions.push({ node: a.stmt, symbol: a.attr });
          continue;
        }
        if (seen.has(a.attr)) continue;
        seen.add(a.attr);
        keep(
          ctx,
          a.attr,
          a.line,
          typeDiffers
            ? `self.${a.attr} is owned by the base (${baseType}) but assigned a ${mine} here; type differs, so base code using it may break`
            : `self.${a.attr} is owned by the base and re-assigned after super().__init__(), overriding the base's value`,
        );
      } else if (ctx.base.assignedIn.get(a.method)?.has(a.attr) && ctx.base.initCalls.has(a.method) && !seen.has(a.attr)) {
        // e.g. the agent's _perform_initialization sets initialized=True when its work is done, but the
        // base's own _perform_initialization (run inside super().__init__) sets it first.
        seen.add(a.attr);
        keep(ctx, a.attr, a.line,
          `self.${a.attr} is also set by ${ctx.profile.base_class}.${a.method}(), which runs inside super().__init__(); the base reports its own value before ${a.method}() here has run`);
      } else if (typeDiffers && !seen.has(a.attr)) {
        seen.add(a.attr);
        keep(ctx, a.attr, a.line, `self.${a.attr} is owned by the base (${baseType}) but assigned a ${mine} in ${a.method}(); type differs`);
      }
    }
  },
};

function norm(s: string): string {
  return s.replace(/\s+/g, '').replace(/'/g, '"');
}

/** Values whose repetition is truly redundant: literals and time.time(), not calls with effects. */
function isConstantLike(text: string): boolean {
  return /^(True|False|None|-?\d+(\.\d+)?|['"][^'"]*['"]|time\.time\(\)|\{\}|\[\])$/.test(text.trim());
}
