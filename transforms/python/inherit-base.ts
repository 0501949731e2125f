// Concern: the class statement. Add the base (keeping other bases and metaclass
// arguments), replace a bare `object` or an older home-made agent base, and never add
// it to a class that already reaches it.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { reportOldBaseMembers } from './old-base-members.js';
import { baseName } from '../../src/lang/python/module-model.js';

/** Older home-made agent bases that the target base replaces rather than joins. */
const OLD_AGENT_BASE = /^(AgentBase|BaseAgentLegacy|LegacyBaseAgent|SimpleAgentBase|OldBaseAgent)$/;

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
