// Whether a decorator of the file hands back the wrapped function's answer unchanged, so that a
// decorated module-level publish function answers yes/no exactly as the function itself does
// (read from the decorator's own source, never from its name).
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { functionModel, type PyFunction } from '../../src/lang/python/module-model.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isDocstring, statements, walk } from '../../src/lang/python/syntax.js';
import { alwaysReturns, reboundAnywhere } from './hardened-shapes.js';
import { excerpt } from '../../src/core/excerpt.js';

const line = (n: SyntaxNode) => n.startPosition.row + 1;
const head = (n: SyntaxNode) => excerpt(n.text, 60);

/** The nested def a function returns as its last statement (`def deco(fn): ... return deco`), and nothing else runs. */
function returnedInner(fn: PyFunction): PyFunction | string {
  const body = statements(fn.body).filter((s) => !isDocstring(s));
  const last = body[body.length - 1];
  const name = last?.type === 'return_statement' && last.namedChild(0)?.type === 'identifier' ? last.namedChild(0)!.text : null;
  if (!name) return `${fn.name}() (line ${fn.line}) does not end by returning a function it defines`;
  let inner: PyFunction | null = null;
  for (const s of body.slice(0, -1)) {
    const def = s.type === 'decorated_definition' ? s.childForFieldName('definition') : s;
    // Anything else would run at decoration time (a registration, a counter): not read.
    if (def?.type !== 'function_definition') return `${fn.name}() runs \`${head(s)}\` (line ${line(s)}) when it decorates`;
    const m = functionModel(def);
    if (m.name === name) inner = m;
  }
  return inner ?? `${fn.name}() returns ${name}, which it does not define`;
}

/**
 * Null when `@<text>` is a decorator function of this file whose wrapper returns the wrapped
 * function's own answer on every path (`try: return fn(*args, **kwargs) finally: log`, or
 * `result = fn(*args, **kwargs)` ... `return result`, or `return False`), so the wrapped function's
 * yes/no answer is what its callers see; otherwise why that is not proven.
 */
export function answerPassingDecorator(ctx: PythonTransformContext, text: string): string | null {
  const m = /^([A-Za-z_]\w*)\s*(\([\s\S]*\))?$/.exec(text);
  const fn = m ? ctx.module.functions.get(m[1]!) : undefined;
  if (!m || !fn) return 'is not a decorator function of this file';
  if (fn.isAsync || fn.outer.parent?.id !== ctx.module.root.id || fn.decorators.length) return `${fn.name}() (line ${fn.line}) is not a plain top-level function`;
  const rebound = reboundAnywhere(ctx, fn);
  if (rebound) return `${fn.name} is bound again at line ${line(rebound)}`;
  // `@deco(...)`: deco(...) returns the decorator proper; `@deco`: deco is it.
  let deco: PyFunction | string = fn;
  if (m[2]) deco = returnedInner(fn);
  if (typeof deco === 'string') return deco;
  const own = deco.params.filter((p) => p.kind !== 'separator');
  if (own.length !== 1 || own[0]!.kind !== 'plain') return `${deco.name}() (line ${deco.line}) takes ${deco.parameters.text}, not the function alone`;
  const wrapped = own[0]!.name;
  const wrapper = returnedInner(deco);
  if (typeof wrapper === 'string') return wrapper;
  if (wrapper.isAsync) return `its wrapper ${wrapper.name}() (line ${wrapper.line}) is async`;
  const other = wrapper.decorators.find((d) => !new RegExp(`^(functools\\.)?wraps\\(\\s*${wrapped}\\s*\\)$`).test(d));
  if (other) return `its wrapper ${wrapper.name}() is decorated (@${other})`;
  // The wrapped function is called with the wrapper's own arguments, as received.
  const forwarded = wrapper.params
    .filter((p) => p.kind !== 'separator')
    .map((p) => (p.kind === 'args' ? `*${p.name}` : p.kind === 'kwargs' ? `**${p.name}` : p.kind === 'plain' ? p.name : null));
  if (forwarded.includes(null)) return `its wrapper ${wrapper.name}() takes ${wrapper.parameters.text}`;
  const callsWrapped = (n: SyntaxNode | null): boolean => {
    if (n?.type !== 'call' || n.childForFieldName('function')?.text !== wrapped) return false;
    const args = n.childForFieldName('arguments')?.namedChildren.filter((a) => a.type !== 'comment').map((a) => a.text.replace(/\s+/g, '')) ?? [];
    return args.join(',') === forwarded.join(',');
  };
  // Names the wrapper assigns: each must only ever hold the wrapped call's answer.
  const held = new Map<string, boolean>();
  let bad: SyntaxNode | null = null;
  const returns: SyntaxNode[] = [];
  walk(wrapper.body, (n) => {
    if (bad) return false;
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'yield' || n.type === 'await' || n.type === 'global_statement' || n.type === 'nonlocal_statement') bad = n;
    if (n.type === 'assignment' || n.type === 'augmented_assignment') {
      const left = n.childForFieldName('left');
      if (left?.type === 'identifier') held.set(left.text, (held.get(left.text) ?? true) && n.type === 'assignment' && callsWrapped(n.childForFieldName('right')));
    }
    if (n.type === 'return_statement') returns.push(n);
  });
  if (bad) return `its wrapper ${wrapper.name}() has \`${head(bad)}\` (line ${line(bad)})`;
  if (!callsWrapped(findCall(wrapper.body, wrapped))) return `its wrapper ${wrapper.name}() does not call ${wrapped}() with its own arguments`;
  for (const r of returns) {
    const v = r.namedChild(0);
    if (callsWrapped(v) || v?.type === 'false') continue;
    if (v?.type === 'identifier' && held.get(v.text) === true) continue;
    return `its wrapper ${wrapper.name}() ends with \`${head(r)}\` (line ${line(r)}), not the answer of ${wrapped}()`;
  }
  if (!returns.length || !alwaysReturns(wrapper.body)) return `its wrapper ${wrapper.name}() can end without a return (None instead of the answer)`;
  return null;
}

/** The first call of `name` in the block (outside nested scopes). */
function findCall(block: SyntaxNode, name: string): SyntaxNode | null {
  let found: SyntaxNode | null = null;
  walk(block, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'call' && n.childForFieldName('function')?.text === name) found = n;
  });
  return found;
}
