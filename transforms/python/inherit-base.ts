// Concern: the class statement. Add the base (keeping other bases and metaclass
// arguments), replace a bare `object` or an older home-made agent base, and never add
// it to a class that already reaches it.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { reportOldBaseMembers } from './old-base-members.js';
import { baseName } from '../../src/lang/python/module-model.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import { mixinLeftovers, queueMixins } from './hardened-queue-mixin.js';

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
    // A legacy queue mixin whose calls all went with the cycle's publish fallback and drain: it leaves
    // the bases (its methods call the publish that moved into EventBusPublisher).
    const dropped = queueMixins(ctx).filter((q) => [...q.fallbacks, ...q.drains].every((m) => ctx.refs.of(m).every((r) => isRemoved(ctx, r.node))));
    for (const q of dropped) {
      const leftovers = mixinLeftovers(ctx, q);
      ctx.warnings.push(
        `${cls.name}: ${q.name} (${q.file}) left the bases: its ${[...q.fallbacks, ...q.drains].map((m) => `${m}()`).join(', ')} were the legacy queue (the base queues what it could not publish and drains it first), and what that queue still holds from before the migration is not re-sent` +
          (leftovers.length ? `; ${leftovers.map((l) => `${cls.name}.${l}`).join(', ')}, read only by ${q.name}, stay${leftovers.length > 1 ? '' : 's'} unused` : ''),
      );
      dropOldBaseImport(ctx, q.name, q.base.startIndex);
    }
    if (dropped.length) {
      const kept = cls.bases.filter((b) => !dropped.some((q) => q.base.id === b.id));
      if (!kept.length && !cls.keywords.length) {
        ctx.edits.replace(cls.bases[0]!.startIndex, cls.bases[cls.bases.length - 1]!.endIndex, target, label);
        return;
      }
      // Each dropped base goes with the separator after it (before it, when it is the last one).
      const args = cls.superclasses!.namedChildren;
      for (const q of dropped) {
        const i = args.findIndex((a) => a.id === q.base.id);
        const next = args[i + 1];
        if (next) ctx.edits.delete(q.base.startIndex, next.startIndex, label);
        else ctx.edits.delete(args[i - 1]!.endIndex, q.base.endIndex, label);
      }
      if (!kept.length) {
        ctx.edits.insert(cls.superclasses!.startIndex + 1, `${target}, `, label);
        return;
      }
      ctx.edits.insert(kept[kept.length - 1]!.endIndex, `, ${target}`, label);
      return;
    }
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
