// Concern: the class statement. Add the base (keeping other bases and metaclass
// arguments), replace a bare `object` or an older home-made agent base, and never add
// it to a class that already reaches it.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { reportOldBaseMembers } from './old-base-members.js';
import { baseName } from '../../src/lang/python/module-model.js';

/** The old base's own import goes too when nothing else in the file names it. */
function dropOldBaseImport(ctx: PythonTransformContext, old: string, basePos: number): void {
  const imp = ctx.module.imports.get(old);
  if (!imp || imp.node.parent?.type !== 'module') return;
  const others = [...ctx.module.imports.values()].filter((i) => i.node.id === imp.node.id);
  if (others.length !== 1) return;
  const uses = ctx.refs.of(old).filter((r) => r.kind === 'identifier' && r.start !== basePos && !(imp.node.startIndex <= r.start && r.end <= imp.node.endIndex));
  if (uses.length === 0) ctx.deletions.push({ node: imp.node, symbol: `import ${old}` });
}

/** Older home-made agent bases that the target base replaces rather than joins. */
export const OLD_AGENT_BASE = /^(AgentBase|BaseAgentLegacy|LegacyBaseAgent|SimpleAgentBase|OldBaseAgent)$/;

export const inheritBase: PythonTransform = {
  name: 'inherit-base',
  phase: 'edit',
  run(ctx) {
    const cls = ctx.agent.cls;
    const target = ctx.profile.base_class;
    const names = cls.bases.map(baseName);
    if (names.includes(target)) return;
    const label = 'inherit-base';
    if (!cls.superclasses) {
      const nameNode = cls.node.childForFieldName('name')!;
      ctx.edits.insert(nameNode.endIndex, `(${target})`, label);
      return;
    }
    const replaceable = cls.bases.find((b) => b.text === 'object' || OLD_AGENT_BASE.test(baseName(b) ?? ''));
    if (replaceable) {
      if (replaceable.text !== 'object') {
        ctx.warnings.push(`${cls.name}: replaced base ${replaceable.text} with ${target}`);
        reportOldBaseMembers(ctx, replaceable.text);
        dropOldBaseImport(ctx, replaceable.text, replaceable.startIndex);
      }
      ctx.edits.replace(replaceable.startIndex, replaceable.endIndex, target, label);
      return;
    }
    if (cls.bases.length === 0) {
      // `class X():` or `class X(metaclass=M):`
      const open = cls.superclasses.startIndex + 1;
      ctx.edits.insert(open, cls.keywords.length ? `${target}, ` : target, label);
      return;
    }
    // Mixins first, the base last among positional bases (keywords stay after it).
    const last = cls.bases[cls.bases.length - 1]!;
    ctx.edits.insert(last.endIndex, `, ${target}`, label);
  },
};
