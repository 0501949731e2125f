// Concern: imports left unused by the removals (zmq, signal, http.server ...). Only a
// whole top-level import statement whose every name was used before and is used by
// nothing that remains goes; imports that were already unused are not ours to touch.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';

export const pruneImports: PythonTransform = {
  name: 'prune-imports',
  phase: 'edit',
  run(ctx) {
    const byStatement = new Map<number, { node: import('../../src/lang/python/parser.js').SyntaxNode; names: string[] }>();
    for (const [local, imp] of ctx.module.imports) {
      if (imp.node.parent?.type !== 'module') continue;
      const entry = byStatement.get(imp.node.id) ?? { node: imp.node, names: [] };
      entry.names.push(local);
      byStatement.set(imp.node.id, entry);
    }
    for (const { node, names } of byStatement.values()) {
      if (isRemoved(ctx, node)) continue;
      const unused = names.every((name) => {
        if (ctx.introduced.has(name)) return false;
        const uses = ctx.refs
          .of(name)
          .filter((r) => r.kind === 'identifier' && !(node.startIndex <= r.start && r.end <= node.endIndex));
        return uses.length > 0 && uses.every((r) => isRemoved(ctx, r.node));
      });
      if (unused) {
        ctx.deletions.push({ node, symbol: `import ${names.join(', ')}` });
      }
    }
  },
};
