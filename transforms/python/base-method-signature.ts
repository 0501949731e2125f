// Concern: a kept legacy method with the name of a method the base runs itself but parameters of another
// shape (`_deregister(self, client_id, reason)` where BaseAgent.stop() calls `self._deregister()`). Once the
// class inherits the base, the base would call the agent's method with arguments it does not take (a
// TypeError in the middle of the base's teardown) and lose what its own did. The two only share a name,
// so the agent's takes a name of its own with every caller the file holds: the agent's callers run it as
// before, the base runs its own. A caller the file cannot wire (another file, module code) is reported
// with both signatures. Runs before the transforms that copy kept code into new methods (run_once(), the
// request hook), which follow the renames made so far. Same-shaped clashes are base-method-clash's.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved, keep } from '../../src/lang/python/transform-context.js';
import { selfAttribute, walk } from '../../src/lang/python/syntax.js';
import { parameterList } from '../../src/analysis/base-model.js';
import { freshName, renameMember, reportExternalCallers } from '../../src/lang/python/rename.js';
import { baseRunMethods } from './base-method-clash.js';
import { keptForOlderBase } from './early-overrides.js';

export const baseMethodSignature: PythonTransform = {
  name: 'base-method-signature',
  phase: 'edit',
  run(ctx) {
    for (const { name, fn, where } of baseRunMethods(ctx)) {
      // The handler the base installs (`_on_signal`) is base-method-clash's, whatever its parameters.
      if (ctx.base.signalCalls.handlers.has(name) || keptForOlderBase(ctx, name)) continue;
      const theirs = ctx.base.signatures?.get(name);
      const own = parameterList(fn.params);
      if (!theirs || theirs.shape === own.shape) continue;
      if ([...(ctx.resolved?.kept ?? []), ...ctx.kept].some((k) => k.symbol === name)) continue;
      const renamed = freshName(ctx, name, '_agent_');
      const wired = renameInSubclasses(ctx, name, renamed);
      const outside = renameMember(ctx, name, renamed, 'base-method-signature').filter((r) => !wired.has(r.start));
      const signatures = `${ctx.agent.cls.name}.${name}(${own.text}) (line ${fn.line}) is not ${ctx.profile.base_class}.${name}(${theirs.text}), which ${where}`;
      ctx.warnings.push(`${name}() renamed to ${renamed}(): ${signatures}; its callers in this file${wired.size ? ' (its subclasses here too)' : ''} now call ${renamed}()`);
      reportExternalCallers(ctx, name, renamed, signatures);
      for (const r of outside) {
        keep(ctx, name, r.line, `called from outside the class after ${name}() was renamed to ${renamed}() (${signatures}); point this caller at ${renamed}() if it is the agent`);
      }
    }
  },
};

/**
 * The agent's subclasses in this file (through other classes of the file) reach the method as theirs: their
 * overrides of it and their `self.<name>` / `super().<name>` get the new name too. Returns where it edited.
 */
function renameInSubclasses(ctx: PythonTransformContext, name: string, renamed: string): Set<number> {
  const family = new Set([ctx.agent.cls.name]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const c of ctx.module.classes) {
      if (!family.has(c.name) && c.bases.some((b) => family.has(b.text))) family.add(c.name), (grew = true);
    }
  }
  const edited = new Set<number>();
  for (const c of ctx.module.classes) {
    if (c === ctx.agent.cls || !family.has(c.name)) continue;
    for (const m of c.methods.values()) {
      const selfName = m.params[0]?.name ?? 'self';
      if (m.name === name) edit(m.node.childForFieldName('name')!);
      walk(m.body, (n) => {
        const obj = n.type === 'attribute' ? n.childForFieldName('object')! : null;
        if (!obj || n.childForFieldName('attribute')?.text !== name) return;
        if (selfAttribute(n, selfName) === name || /^super\(.*\)$/s.test(obj.text)) edit(n.childForFieldName('attribute')!);
      });
    }
  }
  return edited;

  function edit(node: import('../../src/lang/python/parser.js').SyntaxNode) {
    if (edited.has(node.startIndex) || isRemoved(ctx, node)) return;
    edited.add(node.startIndex);
    ctx.edits.replace(node.startIndex, node.endIndex, renamed, 'base-method-signature');
  }
}
