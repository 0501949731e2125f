// Concern: methods the base's __init__ calls. Once the class inherits the base, a method
// of the same name would run inside super().__init__(), before the agent has set anything
// up. It is renamed, with every use through self, so the agent calls it when it meant to.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isRemoved, keep } from '../../src/lang/python/transform-context.js';
import { walkAgentCode } from '../../src/analysis/agent-model.js';
import { selfAttribute, stringValue, walk } from '../../src/lang/python/syntax.js';

export const earlyOverrides: PythonTransform = {
  name: 'early-overrides',
  phase: 'edit',
  run(ctx) {
    const { agent } = ctx;
    for (const [name, fn] of agent.methods) {
      if (name === '__init__' || !ctx.base.initCalls.has(name) || ctx.resolved?.members.has(name)) continue;
      // An override that extends the base's own (it calls super().<name>()) is written for the base.
      if (callsSuper(fn.body, name)) continue;
      let renamed = `_agent${name.startsWith('_') ? name : `_${name}`}`;
      while (agent.methods.has(renamed) || agent.attributes.has(renamed)) renamed = `_${renamed}`;
      const label = 'early-overrides';
      const nameNode = fn.node.childForFieldName('name')!;
      ctx.edits.replace(nameNode.startIndex, nameNode.endIndex, renamed, label);
      for (const m of agent.methods.values()) {
        walkAgentCode(m, (n) => {
          if (isRemoved(ctx, n)) return false;
          if (selfAttribute(n, m.params[0]?.name ?? 'self') === name) {
            const attr = n.childForFieldName('attribute')!;
            ctx.edits.replace(attr.startIndex, attr.endIndex, renamed, label);
          } else if (n.type === 'string' && stringValue(n) === name && n.parent?.parent?.type === 'call') {
            const content = n.namedChildren.find((c) => c.type === 'string_content')!;
            ctx.edits.replace(content.startIndex, content.endIndex, renamed, label);
          }
        });
      }
      // Uses from outside the class (another object) cannot be proven to be the agent.
      const outside = ctx.refs
        .of(name)
        .filter((r) => r.kind === 'attribute' && !(agent.cls.node.startIndex <= r.start && r.end <= agent.cls.node.endIndex) && !isRemoved(ctx, r.node));
      ctx.warnings.push(
        `${agent.cls.name}.${name}() renamed to ${renamed}(): ${ctx.profile.base_class}.__init__ calls ${name}() before the agent is set up`,
      );
      keep(ctx, name, fn.line,
        `renamed to ${renamed}(): ${ctx.profile.base_class}.__init__ calls ${name}() before the agent is set up; check that the agent still runs it where it meant to`);
      for (const r of outside) keep(ctx, name, r.line, `called from outside the class after ${name}() was renamed to ${renamed}(); check which object it is`);
    }
  },
};

function callsSuper(body: import('../../src/lang/python/parser.js').SyntaxNode, name: string): boolean {
  let found = false;
  walk(body, (n) => {
    if (n.type === 'call' && new RegExp(`^super\\(.*\\)\\.${name}$`, 's').test(n.childForFieldName('function')?.text ?? '')) found = true;
  });
  return found;
}
