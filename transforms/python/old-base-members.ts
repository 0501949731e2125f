// Shared by the transforms that swap an older base for the target (inherit-base,
// hardened-old-base): members the agent uses through self that neither it nor the new
// base defines — only the old base had them — are reported with their line.
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { keep } from '../../src/lang/python/transform-context.js';
import { walkAgentCode } from '../../src/analysis/agent-model.js';
import { selfAttribute, statements } from '../../src/lang/python/syntax.js';

/** Names the class body itself binds (`C2_PATTERNS = [...]`, `timeout: int = 5`): the class defines them. */
function classLevelNames(ctx: PythonTransformContext): Set<string> {
  const out = new Set<string>();
  for (const s of statements(ctx.agent.cls.body)) {
    const e = s.type === 'expression_statement' ? s.namedChild(0) : null;
    const left = e?.type === 'assignment' ? e.childForFieldName('left') : null;
    const targets = left?.type === 'pattern_list' || left?.type === 'tuple_pattern' ? left.namedChildren : left ? [left] : [];
    for (const t of targets) if (t.type === 'identifier') out.add(t.text);
  }
  return out;
}

export function reportOldBaseMembers(ctx: PythonTransformContext, oldBase: string): void {
  const seen = new Set<string>();
  const ownClassNames = classLevelNames(ctx);
  for (const m of ctx.agent.methods.values()) {
    walkAgentCode(m, (n) => {
      const attr = selfAttribute(n, m.params[0]?.name ?? 'self');
      if (!attr || seen.has(attr) || attr.startsWith('__')) return;
      if (ctx.agent.methods.has(attr) || ctx.agent.attributes.has(attr) || ctx.baseOwned.has(attr) || ownClassNames.has(attr)) return;
      if (ctx.resolved?.ranges.contains(n.startIndex, n.endIndex)) return;
      seen.add(attr);
      keep(ctx, attr, n.startPosition.row + 1,
        `used through self but defined by neither ${ctx.agent.cls.name} nor the new ${ctx.profile.base_class}: only the old base (${oldBase}) provided it`);
    });
  }
}
