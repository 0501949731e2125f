// A call on a client the module holds at its top level, not on self: `registry.register(...)` with
// `from common.net.registry_client import registry` (an instance one process shares, or a module), or
// `catalog_registry = CatalogRegistry(url)` in the agent's own file. The scan's findings read only the
// agent's methods and self attributes by name, so such a registration was listed nowhere (probe-py56).
import type { SyntaxNode } from '../lang/python/parser.js';
import type { ModuleModel } from '../lang/python/module-model.js';
import { boundNames } from '../lang/python/syntax.js';

/**
 * `receiver.method` of a call whose receiver is a module-level import or constructed instance (not bound in `fn`); null otherwise.
 * `locals`: `fn`'s bindings when the caller has them (the scan asks once per call of a method: walking the
 * method's body for each of its calls was half of the scan's findings).
 */
export function moduleClientCall(call: SyntaxNode, fn: SyntaxNode, module: ModuleModel, locals: () => ReadonlySet<string> = () => boundNames(fn)): { receiver: string; method: string } | null {
  const f = call.childForFieldName('function');
  const object = f?.type === 'attribute' ? f.childForFieldName('object') : null;
  if (object?.type !== 'identifier') return null;
  const receiver = object.text;
  // The module's names first: the method's local bindings (a walk of its body) only for a receiver the module holds.
  if (receiver === 'self' || (!module.imports.has(receiver) && !constructedAtTop(module).has(receiver))) return null;
  if (locals().has(receiver)) return null;
  return { receiver, method: f!.childForFieldName('attribute')!.text };
}

/** Per module, its names bound by `name = Something(...)` at the top (read once, not once per call asked about). */
const topConstructions = new WeakMap<ModuleModel, Set<string>>();

/** The names of `name = Something(...)` at the top of the module (also inside a top-level if/try, as classes are read). */
function constructedAtTop(module: ModuleModel): ReadonlySet<string> {
  const known = topConstructions.get(module);
  if (known) return known;
  const found = new Set<string>();
  const visit = (block: SyntaxNode) => {
    for (const st of block.namedChildren) {
      if (st.type === 'expression_statement') {
        const a = st.namedChild(0);
        const left = a?.type === 'assignment' ? a.childForFieldName('left') : null;
        if (left && a!.childForFieldName('right')?.type === 'call') found.add(left.text);
      } else if (st.type === 'if_statement' || st.type === 'try_statement') {
        for (const b of st.namedChildren) {
          const body = b.type === 'block' ? b : b.childForFieldName('body') ?? b.namedChildren.find((c) => c.type === 'block');
          if (body?.type === 'block') visit(body);
        }
      }
    }
  };
  visit(module.root);
  topConstructions.set(module, found);
  return found;
}
