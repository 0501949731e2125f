// Small helpers over tree-sitter-python nodes, shared by analysis and transforms.
import type { SyntaxNode } from './parser.js';
import type { FlatTree } from './flat-tree.js';
import { countByCaller, counting } from '../../core/counters.js';

/** Literal tables that hold no names are not descended into (a 2 MB lookup dict is all literals). */
const LITERAL_CONTAINERS = new Set(['dictionary', 'list', 'set', 'tuple', 'concatenated_string']);
const BIG_LITERAL = 16_384;
const opaque = new WeakMap<FlatTree, Map<number, boolean>>();

/** Is node i a big literal table without a single identifier inside (its inside is never walked)? */
function opaqueLiteral(tree: FlatTree, i: number): boolean {
  if (tree.end[i]! - tree.start[i]! <= BIG_LITERAL || !LITERAL_CONTAINERS.has(tree.typeName(i))) return false;
  let known = opaque.get(tree);
  if (!known) opaque.set(tree, (known = new Map()));
  let answer = known.get(i);
  if (answer === undefined) {
    answer = true;
    for (let d = i + 1, stop = tree.subtreeEnd[i]!; d < stop && answer; d++) if (tree.typeName(d) === 'identifier') answer = false;
    known.set(i, answer);
  }
  return answer;
}

/**
 * Visit node and its descendants depth-first (pre-order); return false from fn to skip a
 * subtree. A loop over the flat tree's arrays; passes over big literal tables (a 2 MB
 * lookup dict) that hold no names at all.
 */
export function walk(node: SyntaxNode, fn: (n: SyntaxNode) => boolean | void): void {
  const tree = node.tree;
  const { subtreeEnd } = tree;
  const stop = subtreeEnd[node.index]!;
  if (counting) {
    let shown = 0;
    const counted = (n: SyntaxNode) => (shown++, fn(n));
    for (let i = node.index; i < stop; ) i = counted(tree.node(i)) === false || opaqueLiteral(tree, i) ? subtreeEnd[i]! : i + 1;
    countByCaller('walk: walks', 'syntax.js');
    countByCaller('walk: nodes shown', 'syntax.js', shown);
    return;
  }
  for (let i = node.index; i < stop; ) i = fn(tree.node(i)) === false || opaqueLiteral(tree, i) ? subtreeEnd[i]! : i + 1;
}

/** Per tree: the pre-order positions of each node type (by name), and of its big literal tables. */
interface TypeIndex {
  byType: Map<string, Int32Array>;
  /** Literal containers past BIG_LITERAL characters: walks skip the ones opaqueLiteral says hold no name. */
  bigLiterals: Int32Array;
}
const typeIndexes = new WeakMap<FlatTree, TypeIndex>();
const NONE = new Int32Array(0);

/** The tree's positions by type, read from its arrays once (on its first typed walk). */
function typeIndex(tree: FlatTree): TypeIndex {
  let index = typeIndexes.get(tree);
  if (index) return index;
  const { typeId, start, end, count: n } = tree;
  const { typeNames } = tree.vocabulary;
  const perId = new Map<number, number[]>();
  const big: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = typeId[i]!;
    let list = perId.get(t);
    if (!list) perId.set(t, (list = []));
    list.push(i);
    if (end[i]! - start[i]! > BIG_LITERAL && LITERAL_CONTAINERS.has(typeNames[t]!)) big.push(i);
  }
  const byType = new Map<string, Int32Array>();
  for (const [t, list] of perId) {
    const name = typeNames[t]!;
    const had = byType.get(name);
    // Two ids of one name (a keyword and a named node both called `print`): one list, in order.
    byType.set(name, had ? Int32Array.from([...had, ...list]).sort() : Int32Array.from(list));
  }
  typeIndexes.set(tree, (index = { byType, bigLiterals: big.length ? Int32Array.from(big) : NONE }));
  return index;
}

/** The first k with list[k] >= at. */
function lowerBound(list: Int32Array, at: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * walk() that shows fn only the nodes whose type is in `types` (the same nodes in the same
 * order as `walk(node, (n) => types.has(n.type) ? fn(n) : undefined)`): it steps through the
 * tree's positions of those types (see typeIndex), never through the nodes between them. A
 * rewrite's searches look for a few types (calls, assignments, classes) over whole methods and
 * modules, each one again: stepping through every position of the subtree each time was 26
 * positions per node of every tree in a run.
 */
export function walkTypes(node: SyntaxNode, types: ReadonlySet<string>, fn: (n: SyntaxNode) => boolean | void): void {
  const tree = node.tree;
  const { subtreeEnd } = tree;
  const index = typeIndex(tree);
  // One cursor per list (the wanted types', then the big literals'), merged in position order.
  const lists: Int32Array[] = [];
  for (const t of types) {
    const list = index.byType.get(t);
    if (list) lists.push(list);
  }
  const wanted = lists.length;
  if (!wanted) return;
  if (index.bigLiterals.length) lists.push(index.bigLiterals);
  const from = node.index;
  const stop = subtreeEnd[from]!;
  const at = lists.map((l) => lowerBound(l, from));
  let steps = 0;
  for (;;) {
    let i = stop;
    for (let k = 0; k < lists.length; k++) if (at[k]! < lists[k]!.length && lists[k]![at[k]!]! < i) i = lists[k]![at[k]!]!;
    if (i >= stop) break;
    steps++;
    let shown = false;
    for (let k = 0; k < lists.length; k++) {
      if (lists[k]![at[k]!] !== i) continue;
      at[k]!++;
      if (k < wanted) shown = true;
    }
    if ((shown && fn(tree.node(i)) === false) || opaqueLiteral(tree, i)) {
      const next = subtreeEnd[i]!;
      for (let k = 0; k < lists.length; k++) if (at[k]! < lists[k]!.length && lists[k]![at[k]!]! < next) at[k] = lowerBound(lists[k]!, next);
    }
  }
  if (counting) {
    countByCaller('walkTypes: walks', 'syntax.js');
    countByCaller('walkTypes: positions passed', 'syntax.js', steps);
  }
}

/** `self.x` → "x" (only when the object is the plain name `self`). */
export function selfAttribute(node: SyntaxNode, selfName = 'self'): string | null {
  if (node.type !== 'attribute') return null;
  const obj = node.childForFieldName('object');
  const attr = node.childForFieldName('attribute');
  if (obj?.type === 'identifier' && obj.text === selfName && attr) return attr.text;
  return null;
}

/** The literal content of a plain string node (no interpolation), else null. */
export function stringValue(node: SyntaxNode): string | null {
  if (node.type !== 'string') return null;
  // One pass over the children's arrays (asked of every string the analysis meets).
  const { tree } = node;
  const { subtreeEnd, start, end, source } = tree;
  let text = '';
  for (let c = node.index + 1, stop = subtreeEnd[node.index]!; c < stop; c = subtreeEnd[c]!) {
    const type = tree.typeName(c);
    if (type === 'interpolation') return null;
    if (type === 'string_content') text += source.slice(start[c]!, end[c]!);
  }
  return text;
}

/** Dotted text of a call's function (`self.x.y`, `threading.Thread`), else null. */
export function callee(call: SyntaxNode): string | null {
  if (call.type !== 'call') return null;
  const fn = call.childForFieldName('function');
  if (!fn) return null;
  if (fn.type === 'identifier' || fn.type === 'attribute') return fn.text.replace(/\s+/g, '');
  return null;
}


/** `if __name__ == "__main__":` in either operand order and quote style. */
export function isMainGuard(node: SyntaxNode): boolean {
  if (node.type !== 'if_statement') return false;
  const cond = node.childForFieldName('condition');
  if (!cond || cond.type !== 'comparison_operator') return false;
  const parts = cond.namedChildren;
  if (parts.length !== 2 || !cond.text.includes('==')) return false;
  const [a, b] = parts;
  const isName = (n: SyntaxNode) => n.type === 'identifier' && n.text === '__name__';
  const isMain = (n: SyntaxNode) => stringValue(n) === '__main__';
  return (isName(a!) && isMain(b!)) || (isName(b!) && isMain(a!));
}

/** Statements of a block (comments excluded). */
export function statements(block: SyntaxNode | null): SyntaxNode[] {
  if (!block) return [];
  return block.namedChildren.filter((c) => c.type !== 'comment');
}

export function isDocstring(stmt: SyntaxNode): boolean {
  return stmt.type === 'expression_statement' && stmt.namedChildCount === 1 && stmt.namedChild(0)!.type === 'string';
}

/** Does the subtree mention the identifier `name` anywhere (as a bare identifier)? */
export function mentions(node: SyntaxNode, name: string): boolean {
  let found = false;
  walk(node, (n) => {
    if (found) return false;
    if (n.type === 'identifier' && n.text === name) found = true;
  });
  return found;
}

/** Unwrap `expression_statement` → its single child. */
export function expressionOf(stmt: SyntaxNode): SyntaxNode | null {
  if (stmt.type !== 'expression_statement') return null;
  return stmt.namedChildCount === 1 ? stmt.namedChild(0) : null;
}

export function lineOf(node: SyntaxNode): number {
  return node.startPosition.row + 1;
}

/**
 * An expression spanning lines as one line of the same meaning: inside brackets a line break and the
 * indentation after it are only whitespace, so they become one space. Null when that is not so (a comment
 * would swallow the rest, a string holds a line break, a backslash continuation).
 */
export function oneLine(expr: SyntaxNode): string | null {
  if (!expr.text.includes('\n')) return expr.text;
  let safe = !expr.text.includes('\\\n');
  walk(expr, (n) => {
    if (!safe) return false;
    if (n.type === 'comment' || (n.type === 'string' && n.text.includes('\n'))) safe = false;
  });
  return safe ? expr.text.replace(/([([{])\n\s*/g, '$1').replace(/\n\s*([)\]}])/g, '$1').replace(/\n\s*/g, ' ') : null;
}
