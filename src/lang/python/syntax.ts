// Small helpers over tree-sitter-python nodes, shared by analysis and transforms.
import type { SyntaxNode } from './parser.js';
import type { FlatTree } from './flat-tree.js';
import { countByCaller, counting } from '../../core/counters.js';
import { lowerBound } from '../../core/sorted.js';

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

/** The tree's positions by type, read from its arrays once (on its first typed walk of a big subtree). */
function typeIndex(tree: FlatTree): TypeIndex {
  let index = typeIndexes.get(tree);
  if (index) return index;
  const { typeId, start, end, count: n } = tree;
  const { typeNames } = tree.vocabulary;
  // A counting sort of the positions by type id: one array, a slice of it per type.
  let maxId = 0;
  for (let i = 0; i < n; i++) if (typeId[i]! > maxId) maxId = typeId[i]!;
  const from = new Int32Array(maxId + 2);
  for (let i = 0; i < n; i++) from[typeId[i]! + 1]!++;
  for (let t = 1; t <= maxId + 1; t++) from[t]! += from[t - 1]!;
  const fill = from.slice(0, maxId + 1);
  const all = new Int32Array(n);
  for (let i = 0; i < n; i++) all[fill[typeId[i]!]!++] = i;
  const byType = new Map<string, Int32Array>();
  const big: number[] = [];
  for (let t = 0; t <= maxId; t++) {
    if (from[t] === from[t + 1]) continue;
    const list = all.subarray(from[t]!, from[t + 1]!);
    const name = typeNames[t]!;
    const had = byType.get(name);
    // Two ids of one name (a keyword and a named node both called `print`): one list, in order.
    byType.set(name, had ? Int32Array.from([...had, ...list]).sort() : list);
    if (LITERAL_CONTAINERS.has(name)) for (const i of list) if (end[i]! - start[i]! > BIG_LITERAL) big.push(i);
  }
  big.sort((x, y) => x - y);
  typeIndexes.set(tree, (index = { byType, bigLiterals: big.length ? Int32Array.from(big) : NONE }));
  return index;
}


/** walkTypes' type sets the rules share: calls, assignments, class definitions. */
export const CALL_TYPE: ReadonlySet<string> = new Set(['call']);
export const ASSIGNMENT_TYPE: ReadonlySet<string> = new Set(['assignment']);
export const CLASS_DEFINITION_TYPE: ReadonlySet<string> = new Set(['class_definition']);

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
  // A small subtree (a statement, an expression) costs less to step through than to look up.
  if (subtreeEnd[node.index]! - node.index <= SMALL_SUBTREE) return walkTypesLinear(node, types, fn);
  const index = typeIndex(tree);
  // One cursor per list (the wanted types', then the big literals'), merged in position order.
  const lists: Int32Array[] = [];
  for (const t of types) {
    const list = index.byType.get(t);
    if (list) lists.push(list);
  }
  const wanted = lists.length;
  if (!wanted) return;
  const from = node.index;
  const stop = subtreeEnd[from]!;
  // One type and no big literal table in the tree (most walks): its list alone, with no merge.
  if (wanted === 1 && !index.bigLiterals.length) return walkList(tree, lists[0]!, from, stop, fn);
  if (index.bigLiterals.length) lists.push(index.bigLiterals);
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

/** walkTypes over the one sorted list of positions of its type, from `from` to `stop` (no literal to pass over). */
function walkList(tree: FlatTree, list: Int32Array, from: number, stop: number, fn: (n: SyntaxNode) => boolean | void): void {
  const { subtreeEnd } = tree;
  let steps = 0;
  for (let k = lowerBound(list, from); k < list.length; ) {
    const i = list[k]!;
    if (i >= stop) break;
    steps++;
    k++;
    if (fn(tree.node(i)) === false) k = lowerBound(list, subtreeEnd[i]!);
  }
  if (counting) {
    countByCaller('walkTypes: walks', 'syntax.js');
    countByCaller('walkTypes: positions passed', 'syntax.js', steps);
  }
}

const SMALL_SUBTREE = 128;
const wantedByVocabulary = new WeakMap<object, Map<ReadonlySet<string>, Uint8Array>>();

/** Per type id of the tree's language: 1 when its name is in `types`, 0 when not, 2 not known yet. */
function wantedTypes(tree: FlatTree, types: ReadonlySet<string>): Uint8Array {
  let bySet = wantedByVocabulary.get(tree.vocabulary);
  if (!bySet) wantedByVocabulary.set(tree.vocabulary, (bySet = new Map()));
  let wanted = bySet.get(types);
  if (!wanted) bySet.set(types, (wanted = new Uint8Array(0x10000).fill(2)));
  return wanted;
}

/** walkTypes through every position of the subtree. */
function walkTypesLinear(node: SyntaxNode, types: ReadonlySet<string>, fn: (n: SyntaxNode) => boolean | void): void {
  const tree = node.tree;
  const { subtreeEnd, typeId } = tree;
  const wanted = wantedTypes(tree, types);
  const stop = subtreeEnd[node.index]!;
  if (counting) {
    countByCaller('walkTypes: walks', 'syntax.js');
    countByCaller('walkTypes: positions passed', 'syntax.js', stop - node.index);
  }
  for (let i = node.index; i < stop; ) {
    const t = typeId[i]!;
    let w = wanted[t]!;
    if (w === 2) wanted[t] = w = types.has(tree.typeName(i)) ? 1 : 0;
    i = (w === 1 && fn(tree.node(i)) === false) || opaqueLiteral(tree, i) ? subtreeEnd[i]! : i + 1;
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
  // Asked about a dozen times per call node in a rewrite (each search of calls asks anew); a tree never
  // changes. Kept per tree by node position (a weak entry per node cost the collector more than it saved).
  const { tree } = call;
  let known = calleesByTree.get(tree);
  if (!known) calleesByTree.set(tree, (known = new Array(tree.count)));
  let name = known[call.index];
  if (name === undefined) {
    const fn = call.childForFieldName('function');
    known[call.index] = name = fn && (fn.type === 'identifier' || fn.type === 'attribute') ? fn.text.replace(/\s+/g, '') : null;
  }
  return name;
}
const calleesByTree = new WeakMap<FlatTree, Array<string | null | undefined>>();

/** `super().__init__(...)` or `super(Cls, self).__init__(...)`: a call of the parent's constructor through super(), read from the tree. */
export function isSuperInit(call: SyntaxNode): boolean {
  if (call.type !== 'call') return false;
  const fn = call.childForFieldName('function');
  if (fn?.type !== 'attribute' || fn.childForFieldName('attribute')?.text !== '__init__') return false;
  const obj = fn.childForFieldName('object');
  return obj?.type === 'call' && obj.childForFieldName('function')?.type === 'identifier' && obj.childForFieldName('function')!.text === 'super';
}

/** The first super().__init__(...) call (isSuperInit) of a function body's own code, not of a function or class nested in it; else null. */
export function superInitCall(body: SyntaxNode): SyntaxNode | null {
  let found: SyntaxNode | null = null;
  walk(body, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'class_definition') return false;
    if (isSuperInit(n)) found = n;
  });
  return found;
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

/**
 * The names a function binds in its own scope: its parameters (unless `withParams` is false), the
 * targets of assignments, `for`, walrus and `with ... as` / `except ... as`, what its imports bind
 * (`import os.path` binds os, `from x import a as b` binds b), its global/nonlocal declarations (the
 * function rebinds those) and the names of the functions and classes it defines. Only names:
 * `self.port = ...` binds none, `with open(PATH) as fh` binds fh (not open, not PATH), a default
 * value (`port=DEFAULT_PORT`) binds nothing. Nested functions, classes, lambdas and comprehensions
 * are scopes of their own: what they bind is not the function's. The one reader of a function's
 * bindings: every "does this line read a local?" check asks it (given a block of module code, what
 * that block binds).
 */
export function bindingsOf(fn: SyntaxNode, withParams = true): Set<string> {
  return new Set(boundNames(fn, withParams));
}

const boundNamesByTree = new WeakMap<FlatTree, Map<number, ReadonlySet<string>>>();

/**
 * bindingsOf, shared and read-only: kept per tree by node position (a tree never changes). Asked of
 * every enclosing function for each call a search meets (is `registry` in `registry.register()` a
 * local?), each asking re-walked the whole function: a third of all nodes a rewrite walked.
 */
export function boundNames(fn: SyntaxNode, withParams = true): ReadonlySet<string> {
  const { tree } = fn;
  let known = boundNamesByTree.get(tree);
  if (!known) boundNamesByTree.set(tree, (known = new Map()));
  const key = fn.index * 2 + (withParams ? 1 : 0);
  let names = known.get(key);
  if (!names) known.set(key, (names = collectBindings(fn, withParams)));
  return names;
}

/** The node types collectBindings acts on (the rest it passes through). */
const BINDING_SITES: ReadonlySet<string> = new Set([
  'function_definition', 'class_definition', 'lambda', 'assignment', 'augmented_assignment', 'for_statement', 'as_pattern',
  'named_expression', 'global_statement', 'nonlocal_statement', 'import_statement', 'import_from_statement',
]);

function collectBindings(fn: SyntaxNode, withParams: boolean): Set<string> {
  const out = new Set<string>();
  const targets = (t: SyntaxNode | null) => {
    if (t) walk(t, (x) => {
      if (x.type === 'attribute' || x.type === 'subscript') return false;
      if (x.type === 'identifier') out.add(x.text);
    });
  };
  const param = (p: SyntaxNode | null): void => {
    if (!p) return;
    if (p.type === 'identifier') out.add(p.text);
    else if (p.type === 'default_parameter' || p.type === 'typed_default_parameter') param(p.childForFieldName('name'));
    else if (p.type === 'typed_parameter' || p.type === 'list_splat_pattern' || p.type === 'dictionary_splat_pattern') param(p.namedChild(0));
  };
  if (withParams) for (const p of fn.childForFieldName('parameters')?.namedChildren ?? []) param(p);
  // A block of module code (an entry point's `if __name__ == "__main__":`) is read as a body of its own.
  const body = fn.type === 'function_definition' ? fn.childForFieldName('body') : fn;
  if (!body) return out;
  walkTypes(body, BINDING_SITES, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition') {
      out.add(n.childForFieldName('name')!.text);
      return false;
    }
    if (n.type === 'lambda') return false;
    if (n.type === 'assignment' || n.type === 'augmented_assignment' || n.type === 'for_statement') targets(n.childForFieldName('left'));
    else if (n.type === 'as_pattern') targets(n.childForFieldName('alias'));
    else if (n.type === 'named_expression') targets(n.childForFieldName('name'));
    else if (n.type === 'global_statement' || n.type === 'nonlocal_statement') targets(n);
    else if (n.type === 'import_statement' || n.type === 'import_from_statement') {
      for (const c of n.childrenForFieldName('name')) {
        const bound = c.type === 'aliased_import' ? c.childForFieldName('alias') : c.namedChild(0);
        if (bound?.type === 'identifier') out.add(bound.text);
      }
      return false;
    }
  });
  return out;
}
