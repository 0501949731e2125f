// Concern: imports left unused by the removals (zmq, signal, http.server ...). Only a
// whole top-level import statement whose every name was used before and is used by
// nothing that remains goes; imports that were already unused are not ours to touch.
// A statement that only configures such a name for the removed code
// (`HTTPServer.allow_reuse_address = True` before a removed health server) goes with it.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';

export const pruneImports: PythonTransform = {
  name: 'prune-imports',
  phase: 'edit',
  run(ctx) {
    const byStatement = new Map<number, { node: SyntaxNode; names: string[] }>();
    for (const [local, imp] of ctx.module.imports) {
      if (imp.node.parent?.type !== 'module') continue;
      const entry = byStatement.get(imp.node.id) ?? { node: imp.node, names: [] };
      entry.names.push(local);
      byStatement.set(imp.node.id, entry);
    }
    // Code the transforms wrote (an expression moved into super().__init__, a hook) counts as
    // a use even when its original went with a removal: erring this way keeps an import, never a NameError.
    const written = ctx.edits.writtenTexts().join('\n');
    const writtenUse = (name: string) => new RegExp(`(?<![.\\w])${name}(?!\\w)`).test(written);
    for (const { node, names } of byStatement.values()) {
      if (isRemoved(ctx, node)) continue;
      const settings: SyntaxNode[] = [];
      const unused = names.every((name) => {
        if (ctx.introduced.has(name) || writtenUse(name)) return false;
        const uses = ctx.refs
          .of(name)
          .filter((r) => r.kind === 'identifier' && !(node.startIndex <= r.start && r.end <= node.endIndex));
        const live = uses.filter((r) => !isRemoved(ctx, r.node));
        const config = live.map((r) => configuration(r.node)).filter((s): s is SyntaxNode => s !== null);
        // Configuration alone does not keep a name alive, but only when some real use went.
        if (config.length === live.length && live.length < uses.length) {
          settings.push(...config);
          return true;
        }
        return uses.length > 0 && live.length === 0;
      });
      if (unused) {
        for (const s of settings) ctx.deletions.push({ node: s, symbol: `${s.text.split('=')[0]!.trim()} (set for the removed code)` });
        ctx.deletions.push({ node, symbol: `import ${names.join(', ')}` });
      }
    }
  },
};

/** `Name.attr = <literal>` as a whole statement: the statement, else null. */
function configuration(id: SyntaxNode): SyntaxNode | null {
  const attr = id.parent;
  if (attr?.type !== 'attribute' || attr.childForFieldName('object')?.id !== id.id) return null;
  const assign = attr.parent;
  if (assign?.type !== 'assignment' || assign.childForFieldName('left')?.id !== attr.id) return null;
  if (!/^(true|false|none|integer|float|string)$/.test(assign.childForFieldName('right')?.type ?? '')) return null;
  const stmt = assign.parent;
  return stmt?.type === 'expression_statement' ? stmt : null;
}
