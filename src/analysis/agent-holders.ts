// Helper classes of the agent's module that keep the agent itself (a reporter thread, a status server:
// `self.agent = agent` in their __init__, the agent building them with `self`) and read its members
// through that attribute, directly (`self.agent.queue_depth`) or through a local bound to it in the
// same method (`agent = self.agent; agent.queue_depth`). A rename of an agent member must follow them:
// left alone, such a read silently reaches the base's member of the old name.
import type { SyntaxNode } from '../lang/python/parser.js';
import type { PyClass, PyFunction } from '../lang/python/module-model.js';
import { callee, selfAttribute, walk } from '../lang/python/syntax.js';

/**
 * Per helper class of the module: the attributes holding the agent. An attribute counts when its
 * __init__ sets it from a parameter (`self.<attr> = <param>`), and every construction of the class in
 * the module hands the agent's `self` for that parameter from one of the agent's methods.
 */
export function agentHolders(classes: readonly PyClass[], agent: PyClass, root: SyntaxNode): Map<PyClass, Set<string>> {
  const out = new Map<PyClass, Set<string>>();
  for (const cls of classes) {
    if (cls === agent) continue;
    const init = cls.methods.get('__init__');
    if (!init) continue;
    const params = init.params.filter((p) => p.name !== 'self' && p.kind !== 'args' && p.kind !== 'kwargs' && p.kind !== 'separator').map((p) => p.name);
    const byParam = new Map<string, string[]>();
    walk(init.body, (n) => {
      if (n.type === 'class_definition' || n.type === 'function_definition' || n.type === 'lambda') return false;
      if (n.type !== 'assignment') return;
      const attr = selfAttribute(n.childForFieldName('left')!);
      const right = n.childForFieldName('right');
      if (attr && right?.type === 'identifier' && params.includes(right.text)) byParam.set(right.text, [...(byParam.get(right.text) ?? []), attr]);
    });
    if (!byParam.size) continue;
    const calls: SyntaxNode[] = [];
    walk(root, (n) => {
      if (n.type === 'call' && callee(n) === cls.name) calls.push(n);
    });
    if (!calls.length) continue;
    const held = new Set<string>();
    for (const [param, attrs] of byParam) {
      const index = params.indexOf(param);
      const givesSelf = calls.every((c) => {
        const method = enclosingMethod(c, agent);
        const args = c.childForFieldName('arguments')?.namedChildren ?? [];
        const kw = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === param);
        const arg = kw ? kw.childForFieldName('value') : args.filter((a) => a.type !== 'keyword_argument')[index];
        return !!method && arg?.type === 'identifier' && arg.text === (method.params[0]?.name ?? 'self');
      });
      if (givesSelf) attrs.forEach((a) => held.add(a));
    }
    // Reassigned anywhere else in the class: not always the agent.
    for (const attr of [...held]) {
      let reassigned = false;
      for (const m of cls.methods.values()) {
        walk(m.body, (n) => {
          if (n.type === 'assignment' && selfAttribute(n.childForFieldName('left')!) === attr && !(m === init && byParam.has(n.childForFieldName('right')?.text ?? ''))) reassigned = true;
        });
      }
      if (reassigned) held.delete(attr);
    }
    if (held.size) out.set(cls, held);
  }
  return out;
}

export interface HolderRead {
  /** The `name` node of `<holder>.name`: what a rename edits. */
  attribute: SyntaxNode;
  /** The local it was read through (`agent` of `agent = self.agent`), null for `self.agent.name`. */
  alias: string | null;
}

export interface UnprovenAlias {
  /** The local bound to the agent at `line` and bound again to something else in the same method. */
  alias: string;
  line: number;
  read: SyntaxNode;
}

/**
 * Reads of `name` on the agent in a holder class's methods: `self.<holder>.name`, and `<alias>.name` where
 * the method binds `<alias> = self.<holder>` and nothing else to that local. A local the method binds to
 * the agent and to something else too cannot be followed: its reads of `name` are returned as unproven.
 */
export function holderReads(cls: PyClass, holders: ReadonlySet<string>, name: string): { reads: HolderRead[]; unproven: UnprovenAlias[] } {
  const reads: HolderRead[] = [];
  const unproven: UnprovenAlias[] = [];
  for (const m of cls.methods.values()) {
    const bound = aliasBindings(m, holders);
    walk(m.body, (n) => {
      if (n.type === 'class_definition') return false;
      if (n.type !== 'attribute' || n.childForFieldName('attribute')?.text !== name) return;
      const obj = n.childForFieldName('object')!;
      const attribute = n.childForFieldName('attribute')!;
      if (obj.type === 'attribute' && holders.has(selfAttribute(obj) ?? '')) reads.push({ attribute, alias: null });
      else if (obj.type === 'identifier' && bound.has(obj.text)) {
        const b = bound.get(obj.text)!;
        if (b.only) reads.push({ attribute, alias: obj.text });
        else unproven.push({ alias: obj.text, line: b.line, read: n });
      }
    });
  }
  return { reads, unproven };
}

/** Locals a method binds to `self.<holder>`: the line of the first such binding, and whether it binds them to nothing else. */
function aliasBindings(m: PyFunction, holders: ReadonlySet<string>): Map<string, { line: number; only: boolean }> {
  const out = new Map<string, { line: number; only: boolean }>();
  walk(m.body, (n) => {
    if (n.type === 'class_definition') return false;
    const left = n.type === 'assignment' ? n.childForFieldName('left') : null;
    const right = left?.type === 'identifier' ? n.childForFieldName('right') : null;
    if (!right || out.has(left!.text)) return;
    if (holders.has(selfAttribute(right) ?? '')) out.set(left!.text, { line: n.startPosition.row + 1, only: true });
    // `agent = self.agent or standby`: maybe the agent, maybe not.
    else if (mentionsHolder(right, holders)) out.set(left!.text, { line: n.startPosition.row + 1, only: false });
  });
  if (!out.size) return out;
  // Any other binding of the same local: an assignment of another value, a loop or with target, a parameter, a walrus.
  const params = new Set(m.params.map((p) => p.name));
  walk(m.body, (n) => {
    if (n.type === 'class_definition') return false;
    if (n.type === 'function_definition' || n.type === 'lambda') {
      for (const p of n.childForFieldName('parameters')?.namedChildren ?? []) {
        const b = out.get(paramName(p));
        if (b) b.only = false;
      }
    }
    const target =
      n.type === 'assignment' || n.type === 'augmented_assignment' ? n.childForFieldName('left')
      : n.type === 'for_statement' || n.type === 'for_in_clause' ? n.childForFieldName('left')
      : n.type === 'as_pattern_target' || n.type === 'named_expression' ? (n.type === 'named_expression' ? n.childForFieldName('name') : n)
      : null;
    if (!target) return;
    const right = n.type === 'assignment' ? n.childForFieldName('right') : null;
    const plainHolder = n.type === 'assignment' && target.type === 'identifier' && right && holders.has(selfAttribute(right) ?? '');
    if (plainHolder) return;
    // `agent.count = 3` sets a member of the agent; only a bare name (or one in a tuple) is bound.
    walk(target, (t) => {
      if (t.type === 'attribute' || t.type === 'subscript') return false;
      if (t.type === 'identifier' && out.has(t.text)) out.get(t.text)!.only = false;
    });
  });
  for (const [alias, b] of out) if (params.has(alias)) b.only = false;
  return out;
}

function mentionsHolder(expr: SyntaxNode, holders: ReadonlySet<string>): boolean {
  let found = false;
  walk(expr, (n) => {
    if (found || n.type === 'lambda') return false;
    if (holders.has(selfAttribute(n) ?? '')) found = true;
  });
  return found;
}

function paramName(p: SyntaxNode): string {
  return p.type === 'identifier' ? p.text : (p.childForFieldName('name') ?? p.namedChildren.find((c) => c.type === 'identifier'))?.text ?? '';
}

function enclosingMethod(n: SyntaxNode, cls: PyClass): PyFunction | null {
  for (const m of cls.methods.values()) if (m.node.startIndex <= n.startIndex && n.endIndex <= m.node.endIndex) return m;
  return null;
}
