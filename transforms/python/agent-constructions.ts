// Concern: constructions of the agent outside its entry point (a decorator or a helper
// that builds the agent on every call). Once the class inherits the base, each such
// construction starts the base too: binds its ports, registers, installs handlers.
// Nothing is rewritten; every such place is reported for review.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isRemoved, keep } from '../../src/lang/python/transform-context.js';
import { entryScopes } from '../../src/lang/python/module-model.js';

export const agentConstructions: PythonTransform = {
  name: 'agent-constructions',
  phase: 'edit',
  run(ctx) {
    const cls = ctx.agent.cls;
    const entry = new Set(entryScopes(ctx.module).map((n) => n.id));
    for (const ref of ctx.refs.of(cls.name)) {
      if (ref.kind !== 'identifier' || ref.node.parent?.type !== 'call' || isRemoved(ctx, ref.node)) continue;
      let top: SyntaxNode = ref.node;
      let inEntry = false;
      for (let n: SyntaxNode | null = ref.node; n; n = n.parent) {
        if (entry.has(n.id)) inEntry = true;
        if (n.parent?.type === 'module') top = n;
      }
      if (inEntry || (cls.node.startIndex <= ref.start && ref.end <= cls.node.endIndex)) continue;
      const fn = top.type === 'decorated_definition' ? top.childForFieldName('definition') : top;
      const where = fn?.type === 'function_definition' || fn?.type === 'class_definition' ? fn.childForFieldName('name')!.text : 'module level';
      keep(ctx, where, ref.line,
        `constructs ${cls.name} outside the entry point; each construction now also starts ${ctx.profile.base_class} (binds its ports, registers, installs signal handlers)`);
    }
  },
};
