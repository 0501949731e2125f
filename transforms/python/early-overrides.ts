// Concern: methods the base's __init__ calls. Once the class inherits the base, a method
// of the same name would run inside super().__init__(), before the agent has set anything
// up. Decided from the base's code: a method the base calls only on an error path (cleanup
// when its sockets fail to bind), or an override that extends the base's own (it calls
// super()), is kept. So is a hook written for an older copy of the same base (the class already
// derived from a `BaseAgent` imported from another module, whose import now points at the
// profile's) that only the base calls: that base called it where the new one does, so it already
// ran there, and a rename would leave it with no caller. Any other is renamed, with every caller in the file, so
// the agent calls it where it meant to; only a caller the file cannot prove to be the agent is reported.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { keep } from '../../src/lang/python/transform-context.js';
import { walk } from '../../src/lang/python/syntax.js';
import { derivesFromBaseOfName } from '../../src/analysis/older-base.js';
import { freshName, renameMember, reportExternalCallers } from '../../src/lang/python/rename.js';
import { keptLoggingHook } from './old-base-logging-hook.js';

export const earlyOverrides: PythonTransform = {
  name: 'early-overrides',
  phase: 'edit',
  run(ctx) {
    const { agent } = ctx;
    for (const [name, fn] of agent.methods) {
      if (name === '__init__' || !ctx.base.initCalls.has(name) || ctx.resolved?.members.has(name)) continue;
      // An override that extends the base's own (it calls super().<name>()) is written for the base.
      if (callsSuper(fn.body, name)) continue;
      // (said by old-base-logging-hook, which moves what it reads above the base's call)
      if (keptLoggingHook(ctx, name)) continue;
      if (keptForOlderBase(ctx, name)) {
        ctx.warnings.push(
          `${agent.cls.name}.${name}() kept as an override: it was written for the older ${ctx.profile.base_class} the class derived from, which called it as ${ctx.profile.base_class}.__init__ now does`,
        );
        continue;
      }
      // Every caller in the file (self.<name>, getattr strings, thread targets, the entry point's
      // variable) is pointed at the new name, so the method runs exactly where it ran before.
      const renamed = freshName(ctx, name, '_agent_');
      const outside = renameMember(ctx, name, renamed, 'early-overrides');
      ctx.warnings.push(
        `${agent.cls.name}.${name}() renamed to ${renamed}(): ${ctx.profile.base_class}.__init__ calls ${name}() before the agent is set up; its callers in this file now call ${renamed}()`,
      );
      reportExternalCallers(ctx, name, renamed, `${ctx.profile.base_class}.__init__ calls ${name}() early`);
      for (const r of outside) {
        keep(ctx, name, r.line, `called from outside the class after ${name}() was renamed to ${renamed}() (${ctx.profile.base_class}.__init__ calls ${name}() early); point this caller at ${renamed}() if it is the agent`);
      }
    }
  },
};

/**
 * Was this override written as a hook of an older copy of the base, so it stays where the base calls
 * it? Only when the agent never calls it itself (no self.<name>, thread target or getattr string):
 * then the base was its only caller. One the agent also runs (its own thread's target under the name
 * of the base's health loop) is the agent's code under a clashing name: renamed with its callers.
 */
/**
 * The name early-overrides gives the agent's <name>() (a method the base's __init__ calls too early),
 * or null when it keeps its name. Read before early-overrides runs by code that writes a new call of it.
 */
export function earlyRenamed(ctx: PythonTransformContext, name: string): string | null {
  const fn = ctx.agent.methods.get(name);
  if (!fn || name === '__init__' || !ctx.base.initCalls.has(name) || ctx.resolved?.members.has(name)) return null;
  if (callsSuper(fn.body, name) || keptForOlderBase(ctx, name) || keptLoggingHook(ctx, name)) return null;
  return freshName(ctx, name, '_agent_');
}

export function keptForOlderBase(ctx: PythonTransformContext, name: string): boolean {
  if (!ctx.base.methods.has(name) || !derivesFromBaseOfName(ctx.module, ctx.agent.cls, ctx.profile.base_class)) return false;
  return !ctx.refs.of(name).some((r) => r.kind === 'attribute' || r.kind === 'string');
}

export function callsSuper(body: import('../../src/lang/python/parser.js').SyntaxNode, name: string): boolean {
  let found = false;
  walk(body, (n) => {
    if (n.type === 'call' && new RegExp(`^super\\(.*\\)\\.${name}$`, 's').test(n.childForFieldName('function')?.text ?? '')) found = true;
  });
  return found;
}
