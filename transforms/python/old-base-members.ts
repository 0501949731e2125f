// Shared by the transforms that swap an older base for the target (inherit-base,
// hardened-old-base): members the agent uses through self that neither it nor the new
// base defines — only the old base had them — are reported with their line.
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { keep } from '../../src/lang/python/transform-context.js';
import { walkAgentCode } from '../../src/analysis/agent-model.js';
import { selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';

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

/**
 * The other way round: methods of the agent that only the old base called on it (`self.tick()` in its run
 * loop, `self.health_info()` in its health loop). The new base does not define them, so nothing calls the
 * agent's override any more and its work silently stops: each is reported with the old base's caller.
 */
export function reportOldBaseHooks(ctx: PythonTransformContext, oldBase: string): void {
  const name = oldBase.split('.').pop()!;
  const parent = ctx.inherited().find((p) => p.cls.name === name);
  if (!parent) return;
  const seen = new Set<string>();
  for (const [caller, fn] of parent.cls.methods) {
    walk(fn.body, (n) => {
      const hook = selfAttribute(n, fn.params[0]?.name ?? 'self');
      if (!hook || seen.has(hook) || !ctx.agent.methods.has(hook)) return;
      // (an agent override of the caller replaced the old base's call already)
      if (ctx.base.methods.has(hook) || ctx.agent.methods.has(caller)) return;
      // Still called by the agent's own code (outside its definition): it runs as before.
      const own = ctx.agent.methods.get(hook)!;
      if (ctx.refs.of(hook).some((r) => r.kind === 'attribute' && !(own.outer.startIndex <= r.start && r.end <= own.outer.endIndex))) return;
      seen.add(hook);
      keep(ctx, hook, own.line,
        `${hook}() was called by the old base (${name}.${caller}(), ${parent.file}:${n.startPosition.row + 1}); ` +
          `${ctx.profile.base_class} never calls it, so it no longer runs: call it from the agent's own code (a hook of ${ctx.profile.base_class}'s) or drop it`);
    });
  }
}
