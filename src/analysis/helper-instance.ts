// `x.<member>` whose receiver can only hold instances of other classes of the file: collection
// delegated to helper objects (`for collector in self.collectors: findings.extend(collector.collect())`,
// each collector a ProcessCollector or SocketCollector of the module). Their collect() is theirs,
// not the agent's, so a rewrite of the agent's own collect() leaves those calls alone.
import type { SyntaxNode } from '../lang/python/parser.js';
import type { PyClass } from '../lang/python/module-model.js';
import { selfAttribute, walk } from '../lang/python/syntax.js';
import { buildAgentModel } from './agent-model.js';

/** Statements that may bind a name other than `name = ...` and `for name in ...`. */
const BINDS = new Set(['global_statement', 'nonlocal_statement', 'augmented_assignment', 'named_expression', 'with_item', 'as_pattern', 'except_clause', 'import_statement', 'import_from_statement']);

/** Calls that add to a collection in place: what they add would have to be read too. */
const GROWS = new Set(['append', 'extend', 'insert', 'add', 'update', 'setdefault', '__setitem__']);

/**
 * Does `name` (a class of the file) derive from the agent by the bases this module writes? A base this
 * module cannot read (nested, dynamic) counts as possibly the agent at the first level.
 */
export function derivesFromAgent(name: string | undefined, agent: PyClass, classes: readonly PyClass[], depth = 0): boolean {
  if (!name || depth > 10) return false;
  if (name === agent.name) return true;
  const c = classes.find((k) => k.name === name);
  if (!c) return depth > 0 ? false : true;
  return c.bases.some((b) => derivesFromAgent(b.text.replace(/\s+/g, '').split('.').pop(), agent, classes, depth + 1));
}

/**
 * `ref` is the `<member>` of `<receiver>.<member>` in a function of the module, and every value the
 * receiver can hold is an instance built there from a module-level class of the file that is not the
 * agent, derives not from it and defines `<member>` itself. The receiver is read from its bindings:
 * `x = Helper(...)`, `for x in <collection>:`, `self.<attr>` (every assignment of the agent, the
 * attribute never grown in place), a list or tuple of such values. Anything else (a parameter, a
 * call of a factory, a global) may be the agent: false.
 */
export function helperInstanceMember(ref: SyntaxNode, member: string, agent: PyClass, classes: readonly PyClass[]): boolean {
  const attr = ref.parent;
  const obj = attr?.type === 'attribute' && attr.childForFieldName('attribute')?.id === ref.id ? attr.childForFieldName('object') : null;
  if (!obj || obj.text === 'self') return false;
  let fn: SyntaxNode | null = attr!.parent;
  while (fn && fn.type !== 'function_definition' && fn.type !== 'lambda') fn = fn.parent;
  if (fn?.type !== 'function_definition') return false;
  const inAgent = agent.node.startIndex <= fn.startIndex && fn.endIndex <= agent.node.endIndex;
  const model = inAgent ? buildAgentModel(agent) : null;
  const topLevel = (n: string) => classes.find((c) => c.name === n && c.node.startPosition.column === 0);
  const seen = new Set<string>();

  // The classes `expr` can be an instance of (null: unknown, maybe the agent).
  const instances = (expr: SyntaxNode | null, depth: number): Set<PyClass> | null => {
    if (!expr || depth > 6) return null;
    if (expr.type === 'parenthesized_expression') return instances(expr.namedChild(0), depth + 1);
    if (expr.type === 'call') {
      const f = expr.childForFieldName('function');
      const cls = f?.type === 'identifier' ? topLevel(f.text) : undefined;
      return cls ? new Set([cls]) : null;
    }
    const own = selfAttribute(expr);
    if (own) return attribute(own, (v) => instances(v, depth + 1));
    if (expr.type === 'identifier') return local(expr.text, depth);
    return null;
  };
  // The classes the elements of a collection `expr` can be instances of.
  const elements = (expr: SyntaxNode | null, depth: number): Set<PyClass> | null => {
    if (!expr || depth > 6) return null;
    if (expr.type === 'parenthesized_expression') return elements(expr.namedChild(0), depth + 1);
    if (expr.type === 'list' || expr.type === 'tuple') {
      const all = new Set<PyClass>();
      for (const e of expr.namedChildren) {
        if (e.type === 'comment') continue;
        const one = instances(e, depth + 1);
        if (!one) return null;
        one.forEach((c) => all.add(c));
      }
      return all;
    }
    const own = selfAttribute(expr);
    if (own) return attribute(own, (v) => elements(v, depth + 1));
    return null;
  };
  const attribute = (name: string, of: (v: SyntaxNode | null) => Set<PyClass> | null): Set<PyClass> | null => {
    if (!model || seen.has(`self.${name}`)) return null;
    seen.add(`self.${name}`);
    const sets = model.assignments.filter((a) => a.attr === name);
    if (!sets.length || grownInPlace(agent.node, name)) return null;
    const all = new Set<PyClass>();
    for (const a of sets) {
      const one = a.value && a.stmt.namedChild(0)?.type === 'assignment' ? of(a.value) : null;
      if (!one) return null;
      one.forEach((c) => all.add(c));
    }
    return all;
  };
  // A local of the function: bound only by `name = <value>` and `for name in <collection>:`.
  const local = (name: string, depth: number): Set<PyClass> | null => {
    if (seen.has(name)) return null;
    seen.add(name);
    const params = fn!.childForFieldName('parameters')!;
    if (params.namedChildren.some((p) => (p.childForFieldName('name') ?? p).text.replace(/^\*+/, '') === name)) return null;
    const all = new Set<PyClass>();
    let unknown = false;
    let bound = 0;
    walk(fn!.childForFieldName('body')!, (n) => {
      if (unknown) return false;
      if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
      let one: Set<PyClass> | null | undefined;
      if (n.type === 'for_statement' || n.type === 'for_in_clause') {
        const left = n.childForFieldName('left');
        if (left?.type === 'identifier' && left.text === name) one = elements(n.childForFieldName('right'), depth + 1);
        else if (left && new RegExp(`\\b${name}\\b`).test(left.text)) unknown = true;
      } else if (n.type === 'assignment') {
        const left = n.childForFieldName('left');
        if (left?.type === 'identifier' && left.text === name) one = instances(n.childForFieldName('right'), depth + 1);
        else if (left && left.type !== 'identifier' && new RegExp(`\\b${name}\\b`).test(left.text) && !/^[\w.]+$/.test(left.text)) unknown = true;
      } else if (BINDS.has(n.type)) {
        // Only what the statement binds: an except clause's body may well read the name.
        const block = n.namedChildren.find((c) => c.type === 'block');
        const head = n.type === 'augmented_assignment' ? n.childForFieldName('left')!.text : block ? n.text.slice(0, block.startIndex - n.startIndex) : n.text;
        if (new RegExp(`\\b${name}\\b`).test(head)) unknown = true;
      }
      if (one === undefined) return;
      if (!one) unknown = true;
      else {
        bound++;
        one.forEach((c) => all.add(c));
      }
    });
    return unknown || !bound ? null : all;
  };

  const held = instances(obj, 0);
  return !!held && held.size > 0 &&
    [...held].every((c) => c.node.id !== agent.node.id && !derivesFromAgent(c.name, agent, classes) && c.methods.has(member));
}

/** `self.<name>.append(...)` (or another in-place growth, `self.<name> += ...`, `self.<name>[k] = ...`) anywhere in the class. */
function grownInPlace(cls: SyntaxNode, name: string): boolean {
  let grown = false;
  walk(cls, (n) => {
    if (grown) return false;
    if (n.type === 'attribute' && selfAttribute(n) === name) {
      const p = n.parent;
      if (p?.type === 'attribute' && p.childForFieldName('object')?.id === n.id && GROWS.has(p.childForFieldName('attribute')!.text)) grown = true;
      if (p?.type === 'augmented_assignment' && p.childForFieldName('left')?.id === n.id) grown = true;
      if (p?.type === 'subscript' && p.childForFieldName('value')?.id === n.id && p.parent?.type === 'assignment' && p.parent.childForFieldName('left')?.id === p.id) grown = true;
    }
  });
  return grown;
}
