// Concern: the class statement. Add the base (keeping other bases and metaclass
// arguments), replace a bare `object` or an older home-made agent base, and never add
// it to a class that already reaches it.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { reportOldBaseHooks, reportOldBaseMembers, reportOldBaseTeardown, reportOldBaseThreads } from './old-base-members.js';
import { baseName } from '../../src/lang/python/module-model.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import { mixinLeftovers, queueMixins } from './hardened-queue-mixin.js';
import { resolvedLoopMixin } from './inherited-loop-mixin.js';
import { parentOrphans } from './same-file-parent-orphans.js';
import { registryMixin } from './registry-mixin.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';

/** The old base's own import goes too when nothing else in the file names it. */
function dropOldBaseImport(ctx: PythonTransformContext, old: string, basePos: number): void {
  const imp = ctx.module.imports.get(old);
  if (!imp || imp.node.parent?.type !== 'module') return;
  const others = [...ctx.module.imports.values()].filter((i) => i.node.id === imp.node.id);
  if (others.length !== 1) return;
  const uses = ctx.refs.of(old).filter((r) => r.kind === 'identifier' && r.start !== basePos && !(imp.node.startIndex <= r.start && r.end <= imp.node.endIndex));
  if (uses.length === 0) ctx.deletions.push({ node: imp.node, symbol: `import ${old}` });
}

/**
 * The bases leaving the class statement go, each with the separator after it (before it, past the
 * last base that stays); the target base joins after the last positional base that stays (first,
 * before keywords, when none stays; alone when nothing stays).
 */
function dropBases(ctx: PythonTransformContext, leaving: SyntaxNode[], target: string | null): void {
  if (!leaving.length) return;
  const cls = ctx.agent.cls;
  const label = 'inherit-base';
  const goes = (n: SyntaxNode) => leaving.some((l) => l.id === n.id);
  const kept = cls.bases.filter((b) => !goes(b));
  const args = cls.superclasses!.namedChildren.filter((a) => a.type !== 'comment');
  if (!kept.length && !cls.keywords.length) {
    if (target) ctx.edits.replace(args[0]!.startIndex, args[args.length - 1]!.endIndex, target, label);
    else ctx.edits.delete(args[0]!.startIndex, args[args.length - 1]!.endIndex, label);
    return;
  }
  const lastKept = Math.max(...args.map((a, i) => (goes(a) ? -1 : i)));
  args.forEach((a, i) => {
    if (!goes(a)) return;
    if (i < lastKept) ctx.edits.delete(a.startIndex, args[i + 1]!.startIndex, label);
    else ctx.edits.delete(args[i - 1]!.endIndex, a.endIndex, label);
  });
  if (!target) return;
  if (!kept.length) ctx.edits.insert(cls.superclasses!.startIndex + 1, `${target}, `, label);
  else ctx.edits.insert(kept[kept.length - 1]!.endIndex, `, ${target}`, label);
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
    const label = 'inherit-base';
    // A parent of the agent's own file that goes whole (its members lost their last caller) leaves the bases.
    const orphans = parentOrphans(ctx).filter((o) => o.whole).map((o) => o.base);
    if (names.includes(target)) {
      dropBases(ctx, orphans, null);
      return;
    }
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
    // A registration mixin whose calls go onto the base (registry-mixin), nothing else of it used: it leaves the bases.
    const registry = registryMixin(ctx);
    if (registry && !registry.keepsBase) dropOldBaseImport(ctx, registry.base.text, registry.base.startIndex);
    const leaving = [...dropped.map((q) => q.base), ...orphans, ...(registry && !registry.keepsBase ? [registry.base] : [])];
    if (leaving.length) {
      dropBases(ctx, leaving, target);
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
        reportOldBaseHooks(ctx, replaceable.text);
        reportOldBaseThreads(ctx, replaceable.text);
        reportOldBaseTeardown(ctx, replaceable.text);
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
    // A loop mixin whose loop is the base's own: the base before it, so that the base's run() is the agent's.
    const loopMixin = resolvedLoopMixin(ctx);
    if (loopMixin) {
      ctx.edits.insert(loopMixin.base.startIndex, `${target}, `, label);
      return;
    }
    // Mixins first, the base last among positional bases (keywords stay after it).
    const last = cls.bases[cls.bases.length - 1]!;
    ctx.edits.insert(last.endIndex, `, ${target}`, label);
  },
};
