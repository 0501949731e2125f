// Concern (part of where super().__init__() goes): ports read from a settings attribute that the base
// owns too (`self.config = dict(DEFAULT_CONFIG)`, overridden from a file, then `self.port =
// self.config["port"]`). The call cannot go after those statements as it does for an attribute of the
// agent's own (the base's __init__ sets its own self.config and would replace the agent's), nor before
// them (the base would bind a port the agent does not listen on). When the base never reads that
// attribute after its __init__ (the agent's value replaced the base's there already), the leading
// statements build it as a local of __init__ instead, the call goes after them and is given the ports
// read from that local, and the agent's attribute is set from it right after the call: what a careful
// human migration does ("computes constructor arguments as locals before the super().__init__ call").
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { selfAttribute, walk } from '../../src/lang/python/syntax.js';
import { heldSettingsPorts } from '../../src/analysis/settings-ports.js';

export interface OwnedPortSource {
  /** The last of the leading statements; the call goes right after it, before the first port read. */
  last: SyntaxNode;
  /** The base-owned attribute the ports are read from. */
  attr: string;
  /** The local of __init__ that builds it until the call. */
  local: string;
  /** `self.<attr>` nodes of the leading statements, read as the local. */
  uses: SyntaxNode[];
}

/**
 * The leading statements of __init__ (from the first that touches self) that build one base-owned
 * attribute and touch self only through it, when a port the base is given is read from it right after
 * them. Null when the shape differs in any way.
 */
export function ownedPortSource(
  ctx: PythonTransformContext,
  init: PyFunction,
  body: SyntaxNode[],
  firstSelf: SyntaxNode | undefined,
  portReadable: (value: SyntaxNode, attr: string, before: SyntaxNode) => boolean,
  taken: Set<string>,
): OwnedPortSource | null {
  if (!firstSelf || firstSelf.parent?.id !== init.body.id) return null;
  const first = firstSelf.type === 'expression_statement' ? firstSelf.namedChild(0) : null;
  const attr = first?.type === 'assignment' ? selfAttribute(first.childForFieldName('left')!) : null;
  if (!attr || !first?.childForFieldName('right')) return null;
  if (!ctx.baseOwned.has(attr) || !ownable(ctx, attr)) return null;
  // The ports the base is given, read from it in statements of __init__'s own block.
  const ports = Object.values(ctx.py.super_call.pass_through ?? {}).flat()
    .map((name) => ctx.agent.assignments.find((a) => a.method === '__init__' && a.attr === name && a.value))
    .filter((a): a is NonNullable<typeof a> => !!a && !!a.value && reads(a.value, attr) && a.stmt.parent?.id === init.body.id);
  // Or no port is copied from it, and one is read from it only where it is bound (`self.config["health_port"]`
  // in the health server's address, heldSettingsPorts): the leading statements are those touching self only
  // through it, and that read must be computable right after them.
  const held = ports.length ? [] : [...heldSettingsPorts(ctx.agent, ctx.py.super_call.pass_through ?? {}).values()].filter((h) => h.holder === attr);
  if (!ports.length && !held.length) return null;
  const start = body.indexOf(firstSelf);
  const end = ports.length ? body.indexOf(ports.map((p) => p.stmt).sort((a, b) => a.startIndex - b.startIndex)[0]!) : throughOnly(body, start, attr);
  if (start < 0 || end <= start || end >= body.length) return null;
  const firstRead = body[end]!;
  const leading = body.slice(start, end);
  // Every `self` of the leading statements is `self.<attr>`, outside nested scopes.
  const uses: SyntaxNode[] = [];
  let ok = true;
  for (const st of leading) {
    walk(st, (n) => {
      if (!ok) return false;
      if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') {
        if (mentionsSelf(n)) ok = false;
        return false;
      }
      if (selfAttribute(n) === attr) {
        uses.push(n);
        return false;
      }
      if (n.type === 'identifier' && n.text === 'self') ok = false;
      if (n.type === 'return_statement' || n.type === 'yield' || n.type === 'await') ok = false;
    });
    if (!ok) return null;
  }
  const last = leading[leading.length - 1]!;
  if (!ports.every((p) => portReadable(p.value!, attr, firstRead)) || !held.every((h) => portReadable(h.read, attr, firstRead))) return null;
  const names = bareNames(init.node);
  const local = [attr, `_${attr}`, `agent_${attr}`].find((n) => !taken.has(n) && !names.has(n));
  if (!local) return null;
  return { last, attr, local, uses };
}

/**
 * The base owns it, sets it in its own __init__ and never reads it again: the agent's value replaced the
 * base's before too; the agent sets it once, there. So it can be built as a local until the base's call.
 */
export function ownable(ctx: PythonTransformContext, attr: string): boolean {
  return baseDoneAfterInit(ctx, attr) && ctx.agent.assignments.filter((a) => a.attr === attr).length === 1 && !ctx.agent.methods.has(attr);
}

/**
 * An attribute of the base (not a method) that the base sets in its __init__ and never again, and never
 * reads after it, nor does a thread of its own: what the agent sets after super().__init__() is what stays
 * (ownable; interval-from-init's settledAfterBase).
 */
export function baseDoneAfterInit(ctx: PythonTransformContext, attr: string): boolean {
  if (ctx.base.methods.has(attr) || !ctx.base.attributes.has(attr) || ctx.base.readsAfterInit.has(attr) || ctx.base.threadDriven.has(attr)) return false;
  return ![...ctx.base.assignedIn].some(([m, attrs]) => m !== '__init__' && attrs.has(attr));
}

/** The index of the first statement from `start` on that touches self other than as `self.<attr>`. */
function throughOnly(body: SyntaxNode[], start: number, attr: string): number {
  let i = start;
  for (; i < body.length; i++) {
    let other = false;
    walk(body[i]!, (n) => {
      if (other || selfAttribute(n) === attr) return false;
      if (n.type === 'identifier' && n.text === 'self') other = true;
    });
    if (other) break;
  }
  return i;
}

/** Every name the function mentions bare (bound or read), not as `.attr` or `keyword=`. */
export function bareNames(fn: SyntaxNode): Set<string> {
  const out = new Set<string>();
  walk(fn, (n) => {
    if (n.type !== 'identifier') return;
    const p = n.parent;
    if (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) return;
    if (p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === n.id) return;
    out.add(n.text);
  });
  return out;
}

function reads(expr: SyntaxNode, attr: string): boolean {
  let found = false;
  walk(expr, (n) => {
    if (selfAttribute(n) === attr) found = true;
  });
  return found;
}

function mentionsSelf(n: SyntaxNode): boolean {
  let found = false;
  walk(n, (x) => {
    if (x.type === 'identifier' && x.text === 'self') found = true;
  });
  return found;
}
