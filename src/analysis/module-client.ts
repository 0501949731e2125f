// A call on a client the module holds at its top level, not on self: `registry.register(...)` with
// `from common.net.registry_client import registry` (an instance one process shares, or a module), or
// `catalog_registry = CatalogRegistry(url)` in the agent's own file. The scan's findings read only the
// agent's methods and self attributes by name, so such a registration was listed nowhere (probe-py56).
import type { SyntaxNode } from '../lang/python/parser.js';
import type { ModuleModel } from '../lang/python/module-model.js';
import { boundNames } from '../lang/python/syntax.js';

/** `receiver.method` of a call whose receiver is a module-level import or constructed instance (not bound in `fn`); null otherwise. */
export function moduleClientCall(call: SyntaxNode, fn: SyntaxNode, module: ModuleModel): { receiver: string; method: string } | null {
  const f = call.childForFieldName('function');
  const object = f?.type === 'attribute' ? f.childForFieldName('object') : null;
  if (object?.type !== 'identifier') return null;
  const receiver = object.text;
  if (receiver === 'self' || boundNames(fn).has(receiver)) return null;
  if (!module.imports.has(receiver) && !constructedAtTop(module, receiver)) return null;
  return { receiver, method: f!.childForFieldName('attribute')!.text };
}

/** `name = Something(...)` at the top of the module (also inside a top-level if/try, as classes are read). */
function constructedAtTop(module: ModuleModel, name: string): boolean {
  let found = false;
  const visit = (block: SyntaxNode) => {
    for (const st of block.namedChildren) {
      if (st.type === 'expression_statement') {
        const a = st.namedChild(0);
        if (a?.type === 'assignment' && a.childForFieldName('left')?.text === name && a.childForFieldName('right')?.type === 'call') found = true;
      } else if (st.type === 'if_statement' || st.type === 'try_statement') {
        for (const b of st.namedChildren) {
          const body = b.type === 'block' ? b : b.childForFieldName('body') ?? b.namedChildren.find((c) => c.type === 'block');
          if (body?.type === 'block') visit(body);
        }
      }
    }
  };
  visit(module.root);
  return found;
}
