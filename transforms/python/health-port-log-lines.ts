// Concern: a log line naming the legacy's health port after the base took health over. `logger.info("spool on
// %d, health on %d", self.port, HEALTH_PORT)`: the legacy's own server listened on HEALTH_PORT; the _v2 gives
// that value to the base as health_check_port, but the base serves health on the port its deployment chooses
// (HEALTH_CHECK_PORT wins over what it is given), so the line would name a port nothing listens on. Per
// DESIGN.md the health port is the base's: a log argument that is exactly the value the base was given (a
// module constant bound once, or __init__'s parameter after the base's call) reads the base's attribute.
// (Log lines in the removed server go with it; `self.health_port` copies are base-attributes' portAliases.)
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import { isLogCall } from '../../src/analysis/infra.js';
import { bindingsOf, statements } from '../../src/lang/python/syntax.js';
import { moduleBinds } from './hardened-main-loop.js';

const label = 'health-port-log-lines';

export const healthPortLogLines: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    // The legacy's own health endpoint went: the base serves health now.
    if (![...(ctx.resolved?.members.values() ?? [])].some((m) => m.finding === 'health')) return;
    for (const keyword of ctx.passThrough.keys()) {
      if (!/health\w*port$/.test(keyword) || !ctx.base.binds.includes(keyword) || !ctx.base.attributes.has(keyword)) continue;
      const passed = ctx.passThrough.get(keyword)!.trim();
      if (!/^[A-Za-z_]\w*$/.test(passed)) continue;
      const lines: number[] = [];
      for (const r of ctx.refs.of(passed)) {
        if (r.kind !== 'identifier' || ctx.edits.covered(r.start, r.end) || isRemoved(ctx, r.node)) continue;
        const method = methodOf(ctx, r.node);
        if (!method || !sameValueThere(ctx, method, r.node, passed)) continue;
        if (!logArgument(r.node)) continue;
        ctx.edits.replace(r.start, r.end, `self.${keyword}`, label);
        lines.push(r.line);
      }
      if (lines.length) {
        ctx.warnings.push(
          `${ctx.file}:${lines.join(', ')}: the log line named ${passed}, where the legacy's own health server listened; ${ctx.profile.base_class} serves health on self.${keyword} ` +
            `(given ${passed}, the deployment may choose another), which the line now names`,
        );
      }
    }
  },
};

/** The agent's method whose own code (not a nested def, class or lambda) holds `n`. */
function methodOf(ctx: PythonTransformContext, n: SyntaxNode): { name: string; node: SyntaxNode; body: SyntaxNode } | null {
  let p: SyntaxNode | null = n.parent;
  while (p && p.type !== 'function_definition' && p.type !== 'class_definition' && p.type !== 'lambda') p = p.parent;
  if (p?.type !== 'function_definition') return null;
  for (const [name, m] of ctx.agent.methods) if (m.node.id === p.id) return { name, node: m.node, body: m.body };
  return null;
}

/**
 * `name` at `ref` is the value the base was given: a module name bound once at the top level (never
 * rebound by a method: no local or global of that name there), or __init__'s parameter never reassigned,
 * read after a statement of __init__'s that sets an attribute (the base's call comes before the first).
 */
function sameValueThere(ctx: PythonTransformContext, method: { name: string; node: SyntaxNode; body: SyntaxNode }, ref: SyntaxNode, name: string): boolean {
  const init = ctx.agent.methods.get('__init__');
  const params = init ? bindingsOf(init.node) : new Set<string>();
  const isParam = !!init && init.params.some((p) => p.name === name);
  if (isParam) {
    if (method.name !== '__init__' || bindingsOf(init!.node, false).has(name)) return false;
    const stmts = statements(method.body);
    const at = stmts.findIndex((s) => s.startIndex <= ref.startIndex && ref.endIndex <= s.endIndex);
    return at > 0 && stmts.slice(0, at).some((s) => /\bself\.\w+\s*=/.test(s.text) || /super\(/.test(s.text));
  }
  if (bindingsOf(method.node).has(name) || params.has(name)) return false;
  return moduleBinds(ctx, name);
}

/**
 * The name is a whole argument of a log call: `logger.info("... %d", HEALTH_PORT)`, `"..." % (a, HEALTH_PORT)`
 * as the message, `f"... {HEALTH_PORT}"` (not `HEALTH_PORT + 1`, another port).
 */
function logArgument(n: SyntaxNode): boolean {
  let x = n;
  let p = x.parent;
  if (p?.type === 'interpolation') {
    // f"... {HEALTH_PORT}": the string, maybe concatenated, is the argument.
    x = p.parent!;
    p = x.parent;
    if (p?.type === 'concatenated_string') {
      x = p;
      p = x.parent;
    }
  } else if (p?.type === 'tuple' || (p?.type === 'binary_operator' && p.childForFieldName('right')?.id === x.id)) {
    // "... %d" % (a, HEALTH_PORT)
    if (p.type === 'tuple') {
      x = p;
      p = x.parent;
    }
    if (p?.type !== 'binary_operator' || p.childForFieldName('right')?.id !== x.id || !/%/.test(p.childForFieldName('operator')?.text ?? p.text.slice(p.childForFieldName('left')!.endIndex - p.startIndex, x.startIndex - p.startIndex))) return false;
    x = p;
    p = x.parent;
  }
  return p?.type === 'argument_list' && isLogCall(p.parent);
}
