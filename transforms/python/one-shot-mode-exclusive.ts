// Concern: a one-shot mode of the entry point sharing run()'s construction (`if args.once: agent.flush();
// agent.shutdown(); return`). On the base, constructing the agent binds the base's ports and registers, so
// such a mode is a review item: it would clash with a serving agent and leave a registration behind.
// Neither is new when the legacy constructor already bound a listening port of its own (that mode never
// ran beside a serving agent either) and the mode ends with a teardown that now ends in the base's (which
// deregisters), written after the mode's calls or in the `finally:` of a `try` holding them: then it is
// said in a warning, not handed to a person.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { bindArgument, serverSubclasses } from '../../src/analysis/ports.js';
import { TEARDOWN } from './remove-teardown.js';

/** The teardown ending the mode and the legacy constructor's own bind, when the mode is no new clash; else null. */
export function oneShotStaysExclusive(ctx: PythonTransformContext, call: SyntaxNode): { teardown: string; bindLine: number } | null {
  const holder = call.childForFieldName('function')?.childForFieldName('object')?.text;
  const block = branchBlock(call);
  if (!holder || !block) return null;
  const baseTeardown = ctx.py.teardown ?? 'cleanup';
  let teardown: string | null = null;
  for (const st of modeStatements(block, call)) {
    const c = st.type === 'expression_statement' ? st.namedChild(0) : null;
    const fn = c?.type === 'call' ? c.childForFieldName('function') : null;
    if (fn?.type !== 'attribute' || fn.childForFieldName('object')?.text !== holder || st.startIndex < call.endIndex) continue;
    const m = fn.childForFieldName('attribute')!.text;
    if (!(TEARDOWN.test(m) || m === baseTeardown)) continue;
    const own = ctx.agent.methods.get(m);
    if (own ? endsInBaseTeardown(own.body) : ctx.base.methods.has(m)) teardown = m;
  }
  if (!teardown) return null;
  const bindLine = constructorBind(ctx, '__init__', new Set());
  return bindLine ? { teardown, bindLine } : null;
}

/**
 * The statements of the mode's branch, and those of the `finally:` of a `try` there holding the call
 * (`try: agent.run_cycle(); agent.drain()` / `finally: agent.cleanup()`): that teardown runs after the
 * mode's work as surely as one written after it, also when the work raises.
 */
function modeStatements(block: SyntaxNode, call: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (const st of statements(block)) {
    out.push(st);
    if (st.type !== 'try_statement' || call.startIndex < st.startIndex || call.endIndex > st.endIndex) continue;
    const fin = st.namedChildren.find((c) => c.type === 'finally_clause');
    const body = fin?.namedChildren.find((c) => c.type === 'block') ?? null;
    out.push(...statements(body));
  }
  return out;
}

/**
 * A kept teardown of the agent's own is ended with the base's teardown (teardown-super) unless its last
 * statement leaves it (`return`, `raise`); one calling super() already reaches the base.
 */
function endsInBaseTeardown(body: SyntaxNode): boolean {
  if (/\bsuper\(\s*[\w.,\s]*\)\s*\.\w+\(/.test(body.text)) return true;
  const last = statements(body).at(-1);
  return !!last && last.type !== 'return_statement' && last.type !== 'raise_statement';
}

/** The line of a listening bind the legacy constructor makes, itself or through the agent's methods it calls. */
function constructorBind(ctx: PythonTransformContext, method: string, seen: Set<string>): number | null {
  const fn = ctx.agent.methods.get(method);
  if (!fn || seen.has(method)) return null;
  seen.add(method);
  const servers = serverSubclasses(ctx.module.root);
  let line: number | null = null;
  walk(fn.body, (n) => {
    if (line !== null || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type !== 'call') return;
    if (bindArgument(n, servers)) line = n.startPosition.row + 1;
    else {
      const called = selfAttribute(n.childForFieldName('function')!);
      if (called) line = constructorBind(ctx, called, seen);
    }
  });
  return line;
}

/** The innermost `if`/`elif`/`else` block the call sits in (a mode's branch), within its function. */
export function branchBlock(call: SyntaxNode): SyntaxNode | null {
  for (let p = call.parent; p; p = p.parent) {
    if (p.type === 'function_definition' || p.type === 'module') return null;
    if (p.type === 'block' && /^(if_statement|elif_clause|else_clause)$/.test(p.parent?.type ?? '')) return p;
  }
  return null;
}
