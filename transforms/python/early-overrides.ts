// Concern: methods the base's __init__ calls. Once the class inherits the base, a method
// of the same name would run inside super().__init__(), before the agent has set anything
// up. Decided from the base's code: a method the base calls only on an error path (cleanup
// when its sockets fail to bind), or an override that extends the base's own (it calls
// super()), is kept. Any other is renamed, with every caller in the file, so the agent calls
// it where it meant to; only a caller the file cannot prove to be the agent is reported.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { keep } from '../../src/lang/python/transform-context.js';
import { walk } from '../../src/lang/python/syntax.js';
import { freshName, renameMember, reportExternalCallers } from '../../src/lang/python/rename.js';

export const earlyOverrides: PythonTransform = {
  name: 'early-overrides',
  phase: 'edit',
  run(ctx) {
    const { agent } = ctx;
    for (const [name, fn] of agent.methods) {
      if (name === '__init__' || !ctx.base.initCalls.has(name) || ctx.resolved?.members.has(name)) continue;
      // An override that extends the base's own (it calls super().<name>()) is written for the base.
      if (callsSuper(fn.body, name)) continue;
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

export function callsSuper(body: import('../../src/lang/python/parser.js').SyntaxNode, name: string): boolean {
  let found = false;
  walk(body, (n) => {
    if (n.type === 'call' && new RegExp(`^super\\(.*\\)\\.${name}$`, 's').test(n.childForFieldName('function')?.text ?? '')) found = true;
  });
  return found;
}
