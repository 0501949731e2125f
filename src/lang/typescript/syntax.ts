// Small ts-morph helpers shared by the scan, the transforms and the removal plan.
import { Node, SyntaxKind, ts, type KindToNodeMappings, type ClassDeclaration, type ClassExpression, type SourceFile, type Statement, type CallExpression, type ForOfStatement, type PropertyAccessExpression, type Identifier } from 'ts-morph';

// ts-morph wraps every node a walk is shown (a wrapper, a cache entry, closures per step): a
// whole-file forEachDescendant costs far more than the compiler's own walk. The helpers below
// walk the compiler's nodes and wrap only the ones asked for. Wrappers are cached by ts-morph,
// so a node wrapped here is the same object a ts-morph walk would give (=== holds).

/** The ts-morph wrapper of a compiler node in the same file as `near`. */
export function wrap(near: Node, n: ts.Node): Node {
  return (near as unknown as { _getNodeFromCompilerNode(c: ts.Node): Node })._getNodeFromCompilerNode(n);
}

/**
 * Which compiler nodes a walk shows its visitor: a set of kinds, or a test on the compiler node
 * (a cheap pre-filter: it must accept every node the visitor could act on).
 */
export type NodeFilter = ReadonlySet<SyntaxKind> | ((n: ts.Node) => boolean) | KindTest;

/** A test on compiler nodes that can only accept nodes of `kinds`: a walk asks only those (see kindTest). */
export type KindTest = ((n: ts.Node) => boolean) & { readonly kinds: ReadonlySet<SyntaxKind> };

/**
 * A node test that accepts nodes of `kinds` only, and says so: the walks below then look up
 * those kinds in the file's index of nodes by kind instead of testing every node of the subtree.
 */
export function kindTest(kinds: readonly SyntaxKind[], test: (n: ts.Node) => boolean): KindTest {
  return Object.assign((n: ts.Node) => test(n), { kinds: new Set(kinds) as ReadonlySet<SyntaxKind> });
}

function accepts(filter: NodeFilter, n: ts.Node): boolean {
  return typeof filter === 'function' ? filter(n) : filter.has(n.kind);
}

/** The kinds a filter can accept, or null when it does not say (a bare test: every node is asked). */
function kindsOf(filter: NodeFilter): ReadonlySet<SyntaxKind> | null {
  if (typeof filter !== 'function') return filter;
  return (filter as Partial<KindTest>).kinds ?? null;
}

/** `f`, `a.b.f` → "f" (the name a callee or constructor ends with), as the compiler reads it. */
export function lastName(e: ts.Expression): string | undefined {
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) return e.name.text;
  return undefined;
}

/**
 * A file's compiler nodes in forEachChild's pre-order, each with the position one past its
 * subtree: a subtree is a range of the array. The scan and the rewrite ask the same file for
 * calls, accesses and statements of one method after another (dozens of walks per file, each a
 * closure per node through forEachChild); one walk per file now serves them all. Keyed by the
 * compiler's source file, which a text change replaces.
 */
interface PreorderIndex {
  nodes: ts.Node[];
  end: Int32Array;
  /** Each node's `pos`, ascending in pre-order: a node is found by binary search (see positionOf). */
  pos: Int32Array;
  /** Positions by node, only when `pos` is not ascending (never seen: kept as the safe way). */
  at?: Map<ts.Node, number>;
  /** Positions of the nodes of each kind, ascending: kind k's are byKind[first[k]] up to byKind[first[k + 1]] (built on first use). */
  byKind?: { positions: Int32Array; first: Int32Array };
}

/**
 * The file's positions of nodes of `kinds` in [from, to), ascending: a few binary searches in the
 * index by kind instead of a test of every node in the range (the scan's findings and scoring
 * ask each class and method for a handful of kinds, dozens of times per file).
 */
function positionsOfKinds(index: PreorderIndex, kinds: ReadonlySet<SyntaxKind>, from: number, to: number): number[] {
  const byKind = (index.byKind ??= indexByKind(index.nodes));
  const out: number[] = [];
  let lists = 0;
  for (const k of kinds) {
    if (k < 0 || k + 1 >= byKind.first.length) continue;
    let lo = byKind.first[k]!;
    let hi = byKind.first[k + 1]!;
    if (lo === hi) continue;
    const stop = hi;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (byKind.positions[mid]! < from) lo = mid + 1;
      else hi = mid;
    }
    const before = out.length;
    for (let j = lo; j < stop && byKind.positions[j]! < to; j++) out.push(byKind.positions[j]!);
    if (out.length > before) lists++;
  }
  if (lists > 1) out.sort((a, b) => a - b);
  return out;
}

function indexByKind(nodes: ts.Node[]): { positions: Int32Array; first: Int32Array } {
  let top = 0;
  for (const n of nodes) if (n.kind > top) top = n.kind;
  const first = new Int32Array(top + 2);
  for (const n of nodes) first[n.kind + 1]!++;
  for (let k = 1; k < first.length; k++) first[k]! += first[k - 1]!;
  const fill = first.slice(0, top + 1);
  const positions = new Int32Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) positions[fill[nodes[i]!.kind]!++] = i;
  return { positions, first };
}
const preorders = new WeakMap<ts.SourceFile, PreorderIndex>();

function preorderOf(sf: ts.SourceFile): PreorderIndex {
  let index = preorders.get(sf);
  if (index) return index;
  const nodes: ts.Node[] = [sf];
  const ends: number[] = [0];
  const visit = (n: ts.Node): void => {
    const i = nodes.length;
    nodes.push(n);
    ends.push(0);
    ts.forEachChild(n, visit);
    ends[i] = nodes.length;
  };
  ts.forEachChild(sf, visit);
  ends[0] = nodes.length;
  // A map from node to position cost more than the walk (and a fifth of the scan's garbage):
  // in pre-order, `pos` never decreases, so a node's position is found by its `pos` instead.
  const pos = new Int32Array(nodes.length);
  let ascending = true;
  for (let i = 0; i < nodes.length; i++) {
    pos[i] = nodes[i]!.pos;
    if (i > 0 && pos[i]! < pos[i - 1]!) ascending = false;
  }
  let at: Map<ts.Node, number> | undefined;
  if (!ascending) {
    at = new Map();
    for (let i = 0; i < nodes.length; i++) at.set(nodes[i]!, i);
  }
  preorders.set(sf, (index = { nodes, end: Int32Array.from(ends), pos, at }));
  return index;
}

/** A node's position in the index, or undefined when the index does not hold it. */
function positionOf(index: PreorderIndex, c: ts.Node): number | undefined {
  if (index.at) return index.at.get(c);
  const { pos, nodes } = index;
  let lo = 0;
  let hi = pos.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (pos[mid]! < c.pos) lo = mid + 1;
    else hi = mid;
  }
  // Nodes sharing a `pos` (a node and its first descendants) are few: each is compared.
  for (let i = lo; i < pos.length && pos[i] === c.pos; i++) if (nodes[i] === c) return i;
  return undefined;
}

/** A node's subtree in its file's pre-order index, or null when the index does not hold it (then walk it). */
function subtreeOf(c: ts.Node): { index: PreorderIndex; i: number } | null {
  const sf = c.getSourceFile();
  if (!sf) return null;
  const index = preorderOf(sf);
  const i = positionOf(index, c);
  return i === undefined ? null : { index, i };
}

/** Descendants of root the filter accepts, in forEachDescendant's order; only those are wrapped. */
export function descendantsOfKinds(root: Node, kinds: NodeFilter): Node[] {
  const raw: ts.Node[] = [];
  const sub = subtreeOf(root.compilerNode);
  const only = kindsOf(kinds);
  if (sub && only) {
    const { nodes, end } = sub.index;
    const test = typeof kinds === 'function' ? kinds : null;
    for (const k of positionsOfKinds(sub.index, only, sub.i + 1, end[sub.i]!)) if (!test || test(nodes[k]!)) raw.push(nodes[k]!);
  } else if (sub) {
    const { nodes, end } = sub.index;
    for (let k = sub.i + 1, stop = end[sub.i]!; k < stop; k++) if (accepts(kinds, nodes[k]!)) raw.push(nodes[k]!);
  } else {
    const visit = (c: ts.Node): void => {
      if (accepts(kinds, c)) raw.push(c);
      ts.forEachChild(c, visit);
    };
    ts.forEachChild(root.compilerNode, visit);
  }
  return raw.map((c) => wrap(root, c));
}

const singleKinds = new Map<SyntaxKind, ReadonlySet<SyntaxKind>>();

/**
 * `node.getDescendantsOfKind(kind)`, the same nodes in the same order, read from the file's index
 * of nodes by kind: ts-morph's own walks every descendant through a generator per node (the
 * rewrite asks classes and method bodies for their calls, statements and returns dozens of times
 * per file). Only where ts-morph itself walks the parse tree (forEachChild): a node kind, asked
 * of a node that is no SyntaxList. Tokens and keywords (identifiers, `this`, `super`, literals)
 * are searched by ts-morph over every child, JSDoc included, so those are still asked of it.
 */
export function descendantsOfKind<K extends SyntaxKind>(node: Node, kind: K): Array<KindToNodeMappings[K]> {
  if (kind < SyntaxKind.FirstNode || kind >= SyntaxKind.FirstJSDocNode || node.getKind() === SyntaxKind.SyntaxList) return node.getDescendantsOfKind(kind);
  let kinds = singleKinds.get(kind);
  if (!kinds) singleKinds.set(kind, (kinds = new Set([kind])));
  return descendantsOfKinds(node, kinds) as Array<KindToNodeMappings[K]>;
}

const NAME_KINDS = new Set([SyntaxKind.Identifier, SyntaxKind.PrivateIdentifier, SyntaxKind.StringLiteral, SyntaxKind.NoSubstitutionTemplateLiteral]);
const nameIndexes = new WeakMap<ts.SourceFile, Map<string, ts.Node[]>>();

/**
 * Identifiers and private identifiers whose text is name, and string literals (plain or
 * template without substitutions) whose value is name, anywhere in the file, in
 * forEachDescendant's order. One walk per file builds the index every later question reads.
 */
export function fileNameNodes(sf: SourceFile, name: string): Node[] {
  const c = sf.compilerNode;
  let index = nameIndexes.get(c);
  if (!index) {
    const built = new Map<string, ts.Node[]>();
    const visit = (n: ts.Node): void => {
      if (NAME_KINDS.has(n.kind)) {
        const key = n.kind === SyntaxKind.Identifier || n.kind === SyntaxKind.PrivateIdentifier ? n.getText(c) : (n as ts.StringLiteralLike).text;
        const list = built.get(key);
        if (list) list.push(n);
        else built.set(key, [n]);
      }
      ts.forEachChild(n, visit);
    };
    ts.forEachChild(c, visit);
    nameIndexes.set(c, (index = built));
  }
  return (index.get(name) ?? []).map((n) => wrap(sf, n));
}

export type ModuleKind = 'esm' | 'cjs';

/**
 * CommonJS when the file uses require/module.exports/`import x = require()`; ESM otherwise.
 * Node decides by the ending first: `.mjs`/`.mts` are ES modules and `.cjs`/`.cts` CommonJS
 * whatever they call. A `require` the file declares itself (`const require =
 * createRequire(import.meta.url)` in an ES module) is not CommonJS's.
 */
export function moduleKind(sf: SourceFile): ModuleKind {
  const ending = /\.([mc])[jt]s$/.exec(sf.getFilePath());
  if (ending) return ending[1] === 'm' ? 'esm' : 'cjs';
  const ownRequire = fileNameNodes(sf, 'require').some((n) => {
    const p = n.getParent();
    return (Node.isVariableDeclaration(p) || Node.isFunctionDeclaration(p) || Node.isParameterDeclaration(p)) && p.getNameNode() === n;
  });
  if (sf.getStatements().some((s) => Node.isImportEqualsDeclaration(s) && Node.isExternalModuleReference(s.getModuleReference()))) return 'cjs';
  for (const name of ['require', 'module', 'exports']) {
    for (const n of fileNameNodes(sf, name)) {
      if (!Node.isIdentifier(n)) continue;
      const p = n.getParent();
      if (Node.isCallExpression(p) && p.getExpression() === n && name === 'require' && !ownRequire) return 'cjs';
      if (Node.isPropertyAccessExpression(p) && p.getExpression() === n && /^(require\.main|module\.exports|exports\.\w+)$/.test(p.getText())) return 'cjs';
      if (name === 'module' && Node.isBinaryExpression(p) && /require\.main/.test(p.getText())) return 'cjs';
    }
  }
  return 'esm';
}

/** `this.x` or `this['x']` → "x"; also `self.x` where `const self = this` in the method (see thisAlias). */
export function thisMember(n: Node): string | null {
  if (Node.isPropertyAccessExpression(n) && isAgentRef(n.getExpression().compilerNode)) return n.getName();
  if (Node.isElementAccessExpression(n) && isAgentRef(n.getExpression().compilerNode)) {
    const arg = n.getArgumentExpression();
    if (arg && (Node.isStringLiteral(arg) || Node.isNoSubstitutionTemplateLiteral(arg))) return arg.getLiteralText();
  }
  return null;
}

/** `this` meaning the instance, or an alias of it. */
function isAgentRef(e: ts.Node): boolean {
  if (e.kind === SyntaxKind.ThisKeyword) return thisIsInstance(e);
  return ts.isIdentifier(e) && thisAlias(e) !== null;
}

/** A class member whose body's `this` is the instance. */
function isClassMember(n: ts.Node): boolean {
  return (
    (ts.isMethodDeclaration(n) || ts.isConstructorDeclaration(n) || ts.isGetAccessorDeclaration(n) || ts.isSetAccessorDeclaration(n) || ts.isPropertyDeclaration(n) || ts.isClassStaticBlockDeclaration(n)) &&
    !!n.parent &&
    ts.isClassLike(n.parent)
  );
}

/**
 * Does `this` at this node mean the class's instance: no `function` (whose `this` is its caller's:
 * a timer, an emitter, a request) between it and the class member holding it? Arrows keep `this`.
 */
export function thisIsInstance(n: ts.Node): boolean {
  for (let cur = n.parent; cur; cur = cur.parent) {
    if (isClassMember(cur)) return true;
    if (ts.isFunctionExpression(cur) || ts.isFunctionDeclaration(cur) || ts.isMethodDeclaration(cur) || ts.isAccessor(cur) || ts.isClassLike(cur) || ts.isSourceFile(cur)) return false;
  }
  return false;
}

const aliasesByMember = new WeakMap<ts.Node, Map<string, ts.VariableDeclaration>>();

/**
 * `var self = this` / `const that = this` in a method (where `this` is the instance), the only
 * declaration of that name in the method and never assigned again: old callback-style code reaches
 * the agent through it inside `function` callbacks. Returns the declaration an identifier resolves
 * to when it is such an alias (and the use is within its scope), else null.
 */
export function thisAlias(id: ts.Identifier): ts.VariableDeclaration | null {
  let member: ts.Node | undefined = id.parent;
  while (member && !isClassMember(member)) member = member.parent;
  if (!member) return null;
  let aliases = aliasesByMember.get(member);
  if (!aliases) {
    const decls = new Map<string, ts.Node[]>();
    const assigned = new Set<string>();
    const add = (name: ts.Node | undefined, d: ts.Node) => {
      if (name && ts.isIdentifier(name)) decls.set(name.text, [...(decls.get(name.text) ?? []), d]);
    };
    const visit = (n: ts.Node): void => {
      if (ts.isVariableDeclaration(n) || ts.isParameter(n) || ts.isFunctionDeclaration(n) || ts.isFunctionExpression(n) || ts.isClassLike(n)) add(n.name, n);
      if (ts.isBinaryExpression(n) && n.operatorToken.kind >= SyntaxKind.FirstAssignment && n.operatorToken.kind <= SyntaxKind.LastAssignment && ts.isIdentifier(n.left)) assigned.add(n.left.text);
      ts.forEachChild(n, visit);
    };
    ts.forEachChild(member, visit);
    aliases = new Map();
    for (const [name, list] of decls) {
      const d = list[0]!;
      if (list.length !== 1 || assigned.has(name) || !ts.isVariableDeclaration(d) || !d.initializer) continue;
      let init: ts.Expression = d.initializer;
      while (ts.isParenthesizedExpression(init)) init = init.expression;
      if (init.kind === SyntaxKind.ThisKeyword && thisIsInstance(init)) aliases.set(name, d);
    }
    aliasesByMember.set(member, aliases);
  }
  const d = aliases.get(id.text);
  if (!d || d.name === id) return null;
  // Within the declaration's scope: the function body (var) or block (let/const) holding it.
  let scope: ts.Node | undefined = d.parent?.parent; // VariableDeclarationList → VariableStatement
  while (scope && !ts.isBlock(scope) && !ts.isSourceFile(scope)) scope = scope.parent;
  return scope && scope.pos <= id.pos && id.end <= scope.end ? d : null;
}

/** `const self = this;` statements (every declaration an alias of the instance). */
export function isThisAliasStatement(stmt: Node): boolean {
  if (!Node.isVariableStatement(stmt)) return false;
  return stmt.getDeclarations().every((d) => {
    const name = d.getNameNode().compilerNode;
    if (!ts.isIdentifier(name)) return false;
    // Only a declaration initialised with `this` can be an alias: any other is answered without
    // reading the member's declarations (asked of every variable statement of the class).
    let init = d.compilerNode.initializer;
    while (init && ts.isParenthesizedExpression(init)) init = init.expression;
    if (init?.kind !== SyntaxKind.ThisKeyword) return false;
    // Resolving the declaration's own name fills the member's aliases.
    thisAlias(name);
    let member: ts.Node | undefined = d.compilerNode.parent;
    while (member && !isClassMember(member)) member = member.parent;
    return !!member && aliasesByMember.get(member)?.get(name.text) === d.compilerNode;
  });
}

/**
 * `const self = this;` lines declaring the aliases of the instance that code moved out of its
 * method (into a new hook) still uses, so it keeps meaning the agent there.
 */
export function aliasPrelude(code: Node[], indent: string): string {
  const names = new Set<string>();
  for (const c of code) {
    for (const id of descendantsOfKinds(c, new Set([SyntaxKind.Identifier]))) {
      const p = id.getParent();
      if (p && Node.isPropertyAccessExpression(p) && p.getNameNode() === id) continue;
      if (thisAlias(id.compilerNode as ts.Identifier)) names.add(id.getText());
    }
  }
  return [...names].map((n) => `${indent}const ${n} = this;\n`).join('');
}

const NOT_AGENT_CODE = new Set([SyntaxKind.ClassDeclaration, SyntaxKind.ClassExpression]);

/**
 * Visit the agent's own code (root included): skip nested classes. `function` bodies are
 * visited (an alias of the instance reaches the agent from them), but their own `this` is not
 * the agent (thisMember tells). With kinds, only nodes of those kinds are visited (and wrapped);
 * returning false from visit skips the node's children.
 */
export function walkAgentCode(root: Node, visit: (n: Node) => boolean | void, kinds?: NodeFilter): void {
  const sub = subtreeOf(root.compilerNode);
  const only = kinds ? kindsOf(kinds) : null;
  if (sub && only) {
    // The same visits in the same order as the walk below, over the nodes of the kinds asked
    // for: a node is left out when it lies in a nested class (below root) or under a node
    // whose visit returned false, i.e. before the furthest end of those met so far.
    const { nodes, end } = sub.index;
    const stop = end[sub.i]!;
    const test = typeof kinds === 'function' ? kinds : null;
    const classes = positionsOfKinds(sub.index, NOT_AGENT_CODE, sub.i + 1, stop);
    let c = 0;
    let skipTo = -1;
    for (const k of positionsOfKinds(sub.index, only, sub.i, stop)) {
      for (; c < classes.length && classes[c]! <= k; c++) if (end[classes[c]!]! > skipTo) skipTo = end[classes[c]!]!;
      if (k < skipTo) continue;
      const n = nodes[k]!;
      if ((!test || test(n)) && visit(wrap(root, n)) === false && end[k]! > skipTo) skipTo = end[k]!;
    }
    return;
  }
  if (sub) {
    // The same visits in the same order as the recursion below, over the file's pre-order index.
    const { nodes, end } = sub.index;
    for (let k = sub.i, stop = end[sub.i]!; k < stop; ) {
      const c = nodes[k]!;
      if (k !== sub.i && NOT_AGENT_CODE.has(c.kind)) k = end[k]!;
      else if ((!kinds || accepts(kinds, c)) && visit(wrap(root, c)) === false) k = end[k]!;
      else k++;
    }
    return;
  }
  const go = (c: ts.Node): void => {
    if ((!kinds || accepts(kinds, c)) && visit(wrap(root, c)) === false) return;
    ts.forEachChild(c, (k) => {
      if (!NOT_AGENT_CODE.has(k.kind)) go(k);
    });
  };
  go(root.compilerNode);
}

export const CALLS: ReadonlySet<SyntaxKind> = new Set([SyntaxKind.CallExpression]);
export const THIS_ACCESS_KINDS: ReadonlySet<SyntaxKind> = new Set([SyntaxKind.PropertyAccessExpression, SyntaxKind.ElementAccessExpression]);

/** Agent members a piece of code mentions through `this`. */
export function thisMembers(root: Node): Set<string> {
  const out = new Set<string>();
  walkAgentCode(
    root,
    (n) => {
      const m = thisMember(n);
      if (m) out.add(m);
    },
    THIS_ACCESS_KINDS,
  );
  return out;
}

/** `this.a.b.c(...)`, `this.a?.b()`, `await this.a()` → "a": the agent member an expression starts from. */
export function thisRoot(n: Node | undefined): string | null {
  let cur: Node | undefined = n;
  while (cur) {
    const m = thisMember(cur);
    if (m) return m;
    if (Node.isCallExpression(cur) || Node.isPropertyAccessExpression(cur) || Node.isElementAccessExpression(cur) || Node.isNonNullExpression(cur)) {
      cur = cur.getExpression();
    } else if (Node.isAwaitExpression(cur) || Node.isVoidExpression(cur) || Node.isParenthesizedExpression(cur)) {
      cur = cur.getExpression();
    } else return null;
  }
  return null;
}

/** The call an expression statement makes (through await / void / `.catch()` chains). */
export function statementCall(stmt: Node): CallExpression | null {
  if (!Node.isExpressionStatement(stmt)) return null;
  let e: Node = stmt.getExpression();
  for (;;) {
    if (Node.isAwaitExpression(e) || Node.isVoidExpression(e) || Node.isParenthesizedExpression(e)) e = e.getExpression();
    else break;
  }
  return Node.isCallExpression(e) ? e : null;
}

/** The names of a method that starts an agent (`agent.start()`, `await cache.listen()`): the entry point's start call the rewrite reads. */
export const START_NAMES = /^(start|run|listen|serve|boot|main|launch|begin|init|connect|startService|runForever|run_forever)$/;

/**
 * A call that sends an HTTP request, in code text: fetch(), http.request / https.request (or the
 * module under another name, `mod.request`), http.get / https.get, a bare request() (imported from
 * http). Global: the first group of each match names what sends (`[...text.matchAll(SENDS_REQUEST)]`).
 */
const SENDS_REQUEST = /\b((?:[A-Za-z_$][\w$]*\.)?request|https?\.get|fetch)\s*\(/g;

/** Whether code text sends an HTTP request (SENDS_REQUEST), and through what: 'http.request', 'fetch'... */
export function requestsIn(text: string): string[] {
  return [...new Set([...text.matchAll(SENDS_REQUEST)].map((m) => m[1]!))];
}

/**
 * A module's own functions by name: its function declarations and its variables holding an arrow or
 * function expression (`const send = async (...) => ...`, inside a function too: a starter's main()).
 */
export function moduleFunctions(sf: SourceFile): Map<string, Node> {
  const out = new Map<string, Node>();
  for (const f of sf.getFunctions()) if (f.getName()) out.set(f.getName()!, f);
  for (const v of sf.getDescendantsOfKind(SyntaxKind.VariableDeclaration)) {
    const init = v.getInitializer();
    if (init && (Node.isArrowFunction(init) || Node.isFunctionExpression(init))) out.set(v.getName(), init);
  }
  return out;
}

/**
 * What a file takes by name from the relative modules of the repository: `import { a, b as c } from
 * './x'` (type-only imports aside) and CommonJS `const { a, b: c } = require('./x')` at its top level.
 * Each with its local name, the exported name and the module specifier.
 */
export function relativeNamedImports(sf: SourceFile): Array<{ local: string; name: string; spec: string }> {
  const out: Array<{ local: string; name: string; spec: string }> = [];
  for (const d of sf.getImportDeclarations()) {
    const spec = d.getModuleSpecifierValue();
    if (!spec.startsWith('.') || d.isTypeOnly()) continue;
    for (const n of d.getNamedImports()) if (!n.isTypeOnly()) out.push({ local: n.getAliasNode()?.getText() ?? n.getName(), name: n.getName(), spec });
  }
  for (const st of sf.getVariableStatements()) {
    for (const v of st.getDeclarations()) {
      const init = v.getInitializer();
      const pattern = v.getNameNode();
      if (!init || !Node.isCallExpression(init) || init.getExpression().getText() !== 'require' || !Node.isObjectBindingPattern(pattern)) continue;
      const arg = init.getArguments()[0];
      if (!arg || !Node.isStringLiteral(arg) || !arg.getLiteralText().startsWith('.')) continue;
      for (const el of pattern.getElements()) {
        if (el.getDotDotDotToken() || !Node.isIdentifier(el.getNameNode())) continue;
        out.push({ local: el.getName(), name: el.getPropertyNameNode()?.getText() ?? el.getName(), spec: arg.getLiteralText() });
      }
    }
  }
  return out;
}

/** Text of a call's callee without `?.`: `this.server?.close` → "this.server.close". */
export function calleeText(call: CallExpression): string {
  return call.getExpression().getText().replace(/\?\./g, '.').replace(/\s+/g, '');
}

/** `process.on('SIGTERM', ...)` and friends: the signal names, or null. */
export function signalHandlerCall(stmt: Node, readsLoopVariable = false): { call: CallExpression; signals: string[] } | null {
  if (Node.isForOfStatement(stmt)) return signalLoop(stmt, readsLoopVariable);
  const call = statementCall(stmt);
  if (!call) return null;
  if (!/^process\.(on|once|addListener|prependListener)$/.test(calleeText(call))) return null;
  const first = call.getArguments()[0];
  if (!first || !Node.isStringLiteral(first)) return null;
  const sig = first.getLiteralText();
  if (!/^SIG(TERM|INT|HUP|QUIT|BREAK)$/.test(sig)) return null;
  return { call, signals: [sig] };
}

/**
 * `for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, handler);`: one handler installed for
 * each signal of a literal list, the loop's one statement. Not when an inline handler reads the
 * loop variable (its statements could not move into onStop() without it).
 */
function signalLoop(loop: ForOfStatement, readsLoopVariable = false): { call: CallExpression; signals: string[] } | null {
  const init = loop.getInitializer();
  const decl = Node.isVariableDeclarationList(init) && init.getDeclarations().length === 1 ? init.getDeclarations()[0]! : null;
  // `['SIGTERM', 'SIGINT'] as const` in TypeScript is the same literal list.
  let list: Node = loop.getExpression();
  while (Node.isAsExpression(list) || Node.isSatisfiesExpression(list) || Node.isParenthesizedExpression(list)) list = list.getExpression();
  if (!decl || !Node.isIdentifier(decl.getNameNode()) || !Node.isArrayLiteralExpression(list)) return null;
  const signals = list.getElements().map((e) => (Node.isStringLiteral(e) || Node.isNoSubstitutionTemplateLiteral(e) ? e.getLiteralText() : ''));
  if (signals.length === 0 || !signals.every((s) => /^SIG(TERM|INT|HUP|QUIT|BREAK)$/.test(s))) return null;
  const body = loop.getStatement();
  const inner = Node.isBlock(body) ? (body.getStatements().length === 1 ? body.getStatements()[0]! : null) : body;
  const call = inner ? statementCall(inner) : null;
  if (!call || !/^process\.(on|once|addListener|prependListener)$/.test(calleeText(call))) return null;
  const [first, handler] = call.getArguments();
  const name = decl.getName();
  if (!first || first.getText() !== name || !handler) return null;
  // (Asked for by the signal concern, which keeps a log line naming the signal where it is.)
  if (!readsLoopVariable && (Node.isArrowFunction(handler) || Node.isFunctionExpression(handler)) && handler.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => id.getText() === name)) return null;
  return { call, signals };
}

const LOG = /^(console\.(log|info|warn|error|debug)|(this\.)?(logger|log|_logger|_log)\.(debug|info|warn|warning|error|trace|fatal))$/;

/**
 * `this.log(`started (health on ${this.healthPort})`)`: a call of the agent's own log helper, a
 * method (of the class, a parent or a mixin it extends) whose body only writes log lines.
 * `declarationsOf` finds a method the type checker cannot (a mixin of another module).
 */
export function isLogHelperCall(call: CallExpression | null, declarationsOf: (name: string) => Node[] = () => []): boolean {
  const callee = call?.getExpression();
  if (!callee || !Node.isPropertyAccessExpression(callee) || callee.getExpression().getKind() !== SyntaxKind.ThisKeyword) return false;
  // (A mixin read from another module is not in this file's program: its declarations come from `declarationsOf`.)
  const symbol = callee.getNameNode().getSymbol()?.getDeclarations() ?? [];
  const decls = symbol.length > 0 ? symbol : declarationsOf(callee.getName());
  return decls.length > 0 && decls.every((d) => {
    const body = Node.isMethodDeclaration(d) ? d.getBody() : undefined;
    return !!body && Node.isBlock(body) && body.getStatements().length > 0 && body.getStatements().every((st) => isLogCall(statementCall(st)));
  });
}

/**
 * Files that are the only file their program can hold besides the lib declarations (the rewrite's
 * in-memory one-file project, see parseTs): no other file's global can answer a name there.
 */
const aloneInProgram = new WeakSet<ts.SourceFile>();

/** Mark `sf` as alone in its program: its project holds no other file and never will. */
export function markAloneInProgram(sf: SourceFile): void {
  aloneInProgram.add(sf.compilerNode);
}

/** The names a top-level function declaration or variable statement of the file declares. */
function topLevelNames(file: ts.SourceFile): ReadonlySet<string> {
  let names = topLevelNamesByFile.get(file);
  if (!names) {
    const found = new Set<string>();
    for (const st of file.statements) {
      if (ts.isFunctionDeclaration(st) && st.name) found.add(st.name.text);
      else if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) found.add(d.name.text);
    }
    topLevelNamesByFile.set(file, (names = found));
  }
  return names;
}
const topLevelNamesByFile = new WeakMap<ts.SourceFile, ReadonlySet<string>>();

/**
 * False when `id` cannot name a top-level function or variable of a file (its file is alone in its
 * program and none of its top-level statements declares that name), so that getSymbol() need not
 * be asked (a rewrite's first one builds its checker); true when it may (then ask the checker).
 */
export function mayBeTopLevel(id: Identifier): boolean {
  const file = id.getSourceFile().compilerNode;
  return !aloneInProgram.has(file) || topLevelNames(file).has(id.compilerNode.text);
}

/** False when `id` cannot name a variable declaration of its file (alone in its program, the file declares no variable of that name anywhere; the lib's have no initializer): see mayBeTopLevel. */
export function mayBeVariable(id: Identifier): boolean {
  const file = id.getSourceFile().compilerNode;
  if (!aloneInProgram.has(file)) return true;
  let names = variableNamesByFile.get(file);
  if (!names) {
    const found = new Set<string>();
    const visit = (n: ts.Node): void => {
      if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name)) found.add(n.name.text);
      ts.forEachChild(n, visit);
    };
    visit(file);
    variableNamesByFile.set(file, (names = found));
  }
  return names.has(id.compilerNode.text);
}
const variableNamesByFile = new WeakMap<ts.SourceFile, ReadonlySet<string>>();

/**
 * The top-level variable declaration `id` reads, told from the syntax where it cannot be
 * otherwise, so that the checker (a rewrite's first getSymbol() builds it: about 0.3 CPU-s) is
 * not asked: its file is alone in its program and a module (its top level is its own scope,
 * above the lib's globals), declares that name exactly once in all (that top-level variable:
 * no parameter, local, import, class, function, member or type of the name anywhere), and `id`
 * stands where an expression reads a value (a call's callee or argument, an operand, `id.x`'s
 * object, an initializer...). What getSymbol() would answer there is that declaration's symbol,
 * whose only declaration it is. Null when the syntax does not settle it: ask the checker.
 */
export function topLevelVariableRead(id: Identifier): ts.VariableDeclaration | null {
  const file = id.getSourceFile().compilerNode;
  if (!aloneInProgram.has(file) || !ts.isExternalModule(file)) return null;
  // (A JSDoc type of the same name, `@typedef`, would be a second declaration the walk below does not see.)
  if (/@(typedef|callback|template)\b/.test(file.text)) return null;
  const node = id.compilerNode;
  if (!readsValue(node)) return null;
  const named = declarationNamesOf(file).get(node.text);
  if (!named || named.length !== 1) return null;
  const d = named[0]!.parent;
  return ts.isVariableDeclaration(d) && ts.isVariableDeclarationList(d.parent) && ts.isVariableStatement(d.parent.parent) && d.parent.parent.parent === file ? d : null;
}

/** `id` where an expression reads its value: positions whose identifier can only be a reference. */
function readsValue(id: ts.Identifier): boolean {
  const p = id.parent;
  if (!p) return false;
  switch (p.kind) {
    case ts.SyntaxKind.CallExpression:
    case ts.SyntaxKind.NewExpression:
    case ts.SyntaxKind.BinaryExpression:
    case ts.SyntaxKind.TemplateSpan:
    case ts.SyntaxKind.ArrayLiteralExpression:
    case ts.SyntaxKind.ParenthesizedExpression:
    case ts.SyntaxKind.ConditionalExpression:
    case ts.SyntaxKind.PrefixUnaryExpression:
    case ts.SyntaxKind.PostfixUnaryExpression:
    case ts.SyntaxKind.AwaitExpression:
    case ts.SyntaxKind.SpreadElement:
    case ts.SyntaxKind.ReturnStatement:
    case ts.SyntaxKind.ExpressionStatement:
    case ts.SyntaxKind.IfStatement:
    case ts.SyntaxKind.NonNullExpression:
    case ts.SyntaxKind.AsExpression:
    case ts.SyntaxKind.SatisfiesExpression:
      // (a call's type arguments are types, not identifiers: its callee and arguments are expressions)
      return true;
    case ts.SyntaxKind.PropertyAccessExpression:
      return (p as ts.PropertyAccessExpression).expression === id;
    case ts.SyntaxKind.ElementAccessExpression:
      return true;
    case ts.SyntaxKind.VariableDeclaration:
      return (p as ts.VariableDeclaration).initializer === id;
    case ts.SyntaxKind.PropertyAssignment:
      return (p as ts.PropertyAssignment).initializer === id;
    default:
      return false;
  }
}

/** Kinds whose `name` declares it (bindings, members, types, imports and exports): any one makes a name's reading uncertain. */
const DECLARES_NAME = new Set<ts.SyntaxKind>([
  ts.SyntaxKind.VariableDeclaration,
  ts.SyntaxKind.Parameter,
  ts.SyntaxKind.BindingElement,
  ts.SyntaxKind.FunctionDeclaration,
  ts.SyntaxKind.FunctionExpression,
  ts.SyntaxKind.ClassDeclaration,
  ts.SyntaxKind.ClassExpression,
  ts.SyntaxKind.InterfaceDeclaration,
  ts.SyntaxKind.TypeAliasDeclaration,
  ts.SyntaxKind.EnumDeclaration,
  ts.SyntaxKind.EnumMember,
  ts.SyntaxKind.ModuleDeclaration,
  ts.SyntaxKind.ImportClause,
  ts.SyntaxKind.NamespaceImport,
  ts.SyntaxKind.ImportSpecifier,
  ts.SyntaxKind.ImportEqualsDeclaration,
  ts.SyntaxKind.NamespaceExport,
  ts.SyntaxKind.NamespaceExportDeclaration,
  ts.SyntaxKind.ExportSpecifier,
  ts.SyntaxKind.TypeParameter,
  ts.SyntaxKind.PropertyDeclaration,
  ts.SyntaxKind.MethodDeclaration,
  ts.SyntaxKind.GetAccessor,
  ts.SyntaxKind.SetAccessor,
  ts.SyntaxKind.PropertySignature,
  ts.SyntaxKind.MethodSignature,
]);

/** Per name, the identifiers that declare it anywhere in the file (see DECLARES_NAME; a binding element's property name too). */
function declarationNamesOf(file: ts.SourceFile): ReadonlyMap<string, ts.Identifier[]> {
  let names = declarationNamesByFile.get(file);
  if (!names) {
    const found = new Map<string, ts.Identifier[]>();
    const add = (n: ts.Node | undefined) => {
      if (n && ts.isIdentifier(n)) (found.get(n.text) ?? found.set(n.text, []).get(n.text)!).push(n);
    };
    const visit = (n: ts.Node): void => {
      if (DECLARES_NAME.has(n.kind)) {
        add((n as ts.Node & { name?: ts.Node }).name);
        if (ts.isBindingElement(n) || ts.isImportSpecifier(n) || ts.isExportSpecifier(n)) add(n.propertyName);
      }
      ts.forEachChild(n, visit);
    };
    visit(file);
    declarationNamesByFile.set(file, (names = found));
  }
  return names;
}
const declarationNamesByFile = new WeakMap<ts.SourceFile, ReadonlyMap<string, ts.Identifier[]>>();

/**
 * The function of the module a plain call names (`log(...)`, `stamp()`): a top-level function
 * declaration, or a top-level `const` arrow / function expression; undefined otherwise.
 */
export function moduleFunction(call: CallExpression): Node | undefined {
  const callee = call.getExpression();
  if (!Node.isIdentifier(callee)) return undefined;
  // Only a top-level function or variable of that name can be the answer: in a file alone in its
  // program (a rewrite's one-file project), a name declared by none of its top-level statements is
  // no such function, and the checker, which the first getSymbol() of a rewrite builds (program
  // and binding, ~70 ms a file), is not asked.
  if (!mayBeTopLevel(callee)) return undefined;
  const decl = callee.getSymbol()?.getDeclarations()[0];
  if (!decl) return undefined;
  if (Node.isFunctionDeclaration(decl)) return Node.isSourceFile(decl.getParent()) && decl.getBody() ? decl : undefined;
  if (!Node.isVariableDeclaration(decl)) return undefined;
  const st = decl.getVariableStatement();
  const init = decl.getInitializer();
  if (!st || !Node.isSourceFile(st.getParent()) || st.getDeclarationKind() !== 'const') return undefined;
  return init && (Node.isArrowFunction(init) || Node.isFunctionExpression(init)) ? init : undefined;
}

/**
 * `log('INFO', `${signal} received`)`: a call of a log helper of the module, a function whose
 * body only writes log lines (console.*, a logger's level methods, process.stderr.write, another
 * such helper).
 */
export function isModuleLogHelperCall(call: CallExpression | null, seen = new Set<Node>()): boolean {
  if (!call) return false;
  const fn = moduleFunction(call);
  if (!fn || seen.has(fn) || !(Node.isFunctionDeclaration(fn) || Node.isArrowFunction(fn) || Node.isFunctionExpression(fn)) || fn.isAsync()) return false;
  seen.add(fn);
  const body = fn.getBody();
  if (!body) return false;
  if (!Node.isBlock(body)) return Node.isCallExpression(body) && (isLogCall(body) || isStderrWrite(body) || isModuleLogHelperCall(body, seen));
  const stmts = body.getStatements();
  return stmts.length > 0 && stmts.every((st) => {
    const c = statementCall(st);
    return !!c && (isLogCall(c) || isStderrWrite(c) || isModuleLogHelperCall(c, seen));
  });
}

/**
 * `process.stderr.write(`${ts} ${level} relay: ${msg}\n`)` as a module helper's body: the
 * logger of a service with no logging library (stderr only: what goes to stdout may be the
 * service's output, records a parent process reads).
 */
function isStderrWrite(call: CallExpression): boolean {
  return /^process\.stderr\.write$/.test(calleeText(call));
}

/**
 * `stamp()` in `console.log(`${stamp()} stopping`)`: a function of the module that only computes
 * a value from its parameters, literals and fresh objects (`new Date().toISOString()`): one
 * returned expression that assigns, awaits, reads `this` and calls no other function by name.
 */
export function isModuleFormatterCall(call: CallExpression): boolean {
  const fn = moduleFunction(call);
  if (!fn || !(Node.isFunctionDeclaration(fn) || Node.isArrowFunction(fn) || Node.isFunctionExpression(fn)) || fn.isAsync()) return false;
  const body = fn.getBody();
  if (!body) return false;
  let expr: Node | undefined = body;
  if (Node.isBlock(body)) {
    const stmts = body.getStatements();
    expr = stmts.length === 1 && Node.isReturnStatement(stmts[0]!) ? stmts[0].getExpression() : undefined;
  }
  if (!expr) return false;
  const all = [expr, ...expr.getDescendants()];
  if (all.some((n) => Node.isBinaryExpression(n) && /=$/.test(n.getOperatorToken().getText()) && !/^(==|===|!=|!==|<=|>=)$/.test(n.getOperatorToken().getText()))) return false;
  if (all.some((n) => Node.isAwaitExpression(n) || n.getKind() === SyntaxKind.ThisKeyword || Node.isPrefixUnaryExpression(n) && /\+\+|--/.test(n.getText().slice(0, 2)) || Node.isPostfixUnaryExpression(n))) return false;
  // Method calls on values (`.toISOString()`, `.padStart(2)`), not calls of other functions.
  return all.every((n) => !Node.isCallExpression(n) || Node.isPropertyAccessExpression(n.getExpression()));
}

export function isLogCall(call: CallExpression | null): boolean {
  if (!call) return false;
  const callee = calleeText(call);
  return LOG.test(callee) || (LEVEL_CALL.test(callee) && moduleLogger(call));
}

// A logger method through an object of any name (`audit.info(...)`), and what makes one.
const LEVEL_CALL = /^[A-Za-z_$][\w$]*\.(debug|info|warn|warning|error|trace|fatal)$/;
const LOGGER_FACTORY = /(^|\.)(pino|winston|bunyan|log4js|consola|signale|createLogger|getLogger|makeLogger|[A-Za-z]*Logger|child)$/;

/**
 * `audit.info('stopping')` where `audit` is a const of the file holding a logger: made by a
 * logging library or a logger factory (`pino()`, `winston.createLogger(...)`, `makeLogger('x')`,
 * `new Logger('x')`, `base.child({...})`).
 */
function moduleLogger(call: CallExpression): boolean {
  const target = (call.getExpression() as PropertyAccessExpression).getExpression();
  if (!Node.isIdentifier(target)) return false;
  const name = target.getText();
  for (const st of call.getSourceFile().getStatements()) {
    if (!Node.isVariableStatement(st) || st.getDeclarationKind() !== 'const') continue;
    const d = st.getDeclarations().find((x) => x.getName() === name);
    let init: Node | undefined = d?.getInitializer();
    if (!init) continue;
    while (Node.isAwaitExpression(init) || Node.isParenthesizedExpression(init)) init = init.getExpression();
    return (Node.isCallExpression(init) || Node.isNewExpression(init)) && LOGGER_FACTORY.test(init.getExpression().getText().replace(/\s+/g, ''));
  }
  return false;
}

/** Statements of a block-like body (function body, if branch, try block). */
export function blockStatements(n: Node | undefined): Statement[] {
  if (!n) return [];
  if (Node.isBlock(n) || Node.isSourceFile(n) || Node.isModuleBlock(n)) return n.getStatements() as Statement[];
  if (Node.isStatement(n)) return [n];
  return [];
}

/** Every nested block of a compound statement (if/else, try/catch/finally, loops). */
export function childBlocks(stmt: Node): Node[] {
  if (Node.isIfStatement(stmt)) {
    const out: Node[] = [stmt.getThenStatement()];
    const e = stmt.getElseStatement();
    if (e) out.push(e);
    return out;
  }
  if (Node.isTryStatement(stmt)) {
    const out: Node[] = [stmt.getTryBlock()];
    const c = stmt.getCatchClause();
    if (c) out.push(c.getBlock());
    const f = stmt.getFinallyBlock();
    if (f) out.push(f);
    return out;
  }
  if (Node.isBlock(stmt)) return [stmt];
  if (Node.isWhileStatement(stmt) || Node.isForStatement(stmt) || Node.isForOfStatement(stmt) || Node.isForInStatement(stmt) || Node.isDoStatement(stmt)) {
    return [stmt.getStatement()];
  }
  return [];
}

/**
 * A top-level `if` that runs only when the file is the program's entry point. A name in the test
 * bound at module level to the file's own path counts as that path (`const SELF =
 * fileURLToPath(import.meta.url); if (process.argv[1] === SELF)`).
 */
export function isMainGuard(stmt: Node): boolean {
  if (!Node.isIfStatement(stmt)) return false;
  let c = stmt.getExpression().getText().replace(/\s+/g, '');
  // `const isMain = <main test>; if (isMain)`: the flag stands for its module-level initializer.
  const test = stmt.getExpression();
  if (Node.isIdentifier(test)) {
    const decl = stmt.getSourceFile().getVariableDeclaration(test.getText());
    const vs = decl?.getVariableStatement();
    const init = vs?.getParent() === stmt.getSourceFile() && vs.getDeclarationKind() === 'const' ? decl!.getInitializer() : undefined;
    if (init) c = init.getText().replace(/\s+/g, '');
  }
  if (/require\.main===module|module===require\.main|^!module\.parent$/.test(c)) return true;
  if (/import\.meta\.main/.test(c)) return true;
  if (/process\.argv\[1\]/.test(c) && !/import\.meta\.url/.test(c)) {
    const sf = stmt.getSourceFile();
    for (const id of stmt.getExpression().getDescendantsOfKind(SyntaxKind.Identifier)) {
      const decl = sf.getVariableDeclaration(id.getText());
      const init = decl?.getVariableStatement()?.getParent() === sf ? decl.getInitializer() : undefined;
      if (init && /import\.meta\.(url|filename)/.test(init.getText())) c += `|${init.getText()}`;
    }
  }
  return /import\.meta\.(url|filename)/.test(c) && /process\.argv\[1\]/.test(c);
}

/**
 * The file's main guards: top-level `if`s that are one, and the branch of an `else if` chain
 * that is one (`if (argv.includes('--child')) runChild(); else if (<main guard>) ...`).
 */
export function mainGuards(sf: SourceFile): Node[] {
  const out: Node[] = [];
  for (const s of sf.getStatements()) {
    let cur: Node | undefined = s;
    while (cur && Node.isIfStatement(cur)) {
      if (isMainGuard(cur)) {
        out.push(cur);
        break;
      }
      cur = cur.getElseStatement();
    }
  }
  return out;
}

/** A class as agents are written: a declaration, or a class expression a module exports. */
export type ClassLike = ClassDeclaration | ClassExpression;

export interface FileClass {
  cls: ClassLike;
  /** The agent's name: the class's own name, else the name it is exported or bound under. */
  name: string | null;
  /** How module-level code reaches the class: `X`, `module.exports`, `exports.X`. */
  ref: string | null;
}

/**
 * Top-level classes of a file: declarations (including `export default class`) and class
 * expressions a CommonJS or ESM module exports or binds (`module.exports = class X`,
 * `exports.X = class`, `module.exports.X = class`, `const X = class`, `const X = module.exports = class`).
 */
export function fileClasses(sf: SourceFile): FileClass[] {
  const out: FileClass[] = [];
  const fromChain = (targets: string[], e: Node) => {
    if (!Node.isClassExpression(e)) return;
    // The name module code uses: a variable first, then an export key, then module.exports itself.
    const variable = targets.find((t) => /^[A-Za-z_$][\w$]*$/.test(t));
    const key = targets.map((t) => /^(?:module\.)?exports\.([A-Za-z_$][\w$]*)$/.exec(t)?.[1]).find(Boolean);
    const ref = variable ?? targets.find((t) => /^(module\.exports|(module\.)?exports\.[A-Za-z_$][\w$]*)$/.test(t)) ?? null;
    // `module.exports = class extends X {}` has no name at all: the file's stem names it (mqtt-bridge.js → MqttBridge).
    out.push({ cls: e, name: e.getName() ?? variable ?? key ?? (ref ? stemName(sf.getBaseNameWithoutExtension()) : null), ref });
  };
  const chain = (e: Node, targets: string[]) => {
    while (Node.isBinaryExpression(e) && e.getOperatorToken().getKind() === SyntaxKind.EqualsToken) {
      targets.push(e.getLeft().getText().replace(/\s+/g, ''));
      e = e.getRight();
    }
    while (Node.isParenthesizedExpression(e)) e = e.getExpression();
    fromChain(targets, e);
  };
  for (const s of sf.getStatements()) {
    if (Node.isClassDeclaration(s)) out.push({ cls: s, name: s.getName() ?? null, ref: s.getName() ?? null });
    else if (Node.isExpressionStatement(s)) chain(s.getExpression(), []);
    else if (Node.isVariableStatement(s)) {
      for (const d of s.getDeclarations()) {
        const init = d.getInitializer();
        if (init && Node.isIdentifier(d.getNameNode())) chain(init, [d.getName()]);
      }
    }
  }
  return out;
}

/** `mqtt-bridge` / `mqtt_bridge` → `MqttBridge`. */
function stemName(stem: string): string | null {
  const name = stem.split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  return /^[A-Za-z_]/.test(name) ? name : null;
}

/** The node after which `extends X` goes: the class name, its type parameters, or the `class` keyword. */
export function heritageInsertPos(cls: ClassLike): number {
  const typeParams = cls.getTypeParameters();
  if (typeParams.length > 0) return cls.getFirstChildByKindOrThrow(SyntaxKind.GreaterThanToken).getEnd();
  const name = cls.getNameNode();
  if (name) return name.getEnd();
  return cls.getFirstChildByKindOrThrow(SyntaxKind.ClassKeyword).getEnd();
}

/** Position of the `{` that opens the class body. */
export function classBodyStart(cls: ClassLike): number {
  return cls.getFirstChildByKindOrThrow(SyntaxKind.OpenBraceToken).getStart();
}

/** An arrow function or function expression (a method written as a property: `poll = async () => {}`). */
export function isFunctionValue(n: Node | undefined): boolean {
  return !!n && (Node.isArrowFunction(n) || Node.isFunctionExpression(n));
}

/** A JavaScript file (no types, no type check): .js, .cjs, .mjs, .jsx. */
export function isJsFile(file: string): boolean {
  return /\.(c|m)?jsx?$/.test(file);
}

/** A member name as written (identifier, private identifier or string literal). */
export function memberName(n: Node): string | null {
  if (Node.isConstructorDeclaration(n)) return 'constructor';
  if (Node.isMethodDeclaration(n) || Node.isPropertyDeclaration(n) || Node.isGetAccessorDeclaration(n) || Node.isSetAccessorDeclaration(n)) {
    const nameNode = n.getNameNode();
    if (Node.isIdentifier(nameNode) || Node.isPrivateIdentifier(nameNode)) return nameNode.getText();
    if (Node.isStringLiteral(nameNode)) return nameNode.getLiteralText();
    return null;
  }
  return null;
}

/** Node position → 1-based line. */
export function lineOf(n: Node): number {
  return n.getStartLineNumber(false);
}

/** Identifiers (and string literals used as keys) equal to name anywhere under root. */
export function nameOccurrences(root: Node, name: string): Node[] {
  const out: Node[] = [];
  root.forEachDescendant((n) => {
    if ((Node.isIdentifier(n) || Node.isPrivateIdentifier(n)) && n.getText() === name) out.push(n);
    else if ((Node.isStringLiteral(n) || Node.isNoSubstitutionTemplateLiteral(n)) && n.getLiteralText() === name) out.push(n);
  });
  return out;
}

/**
 * A pre-ES2015 service (`function Relay() {}` + `Relay.prototype.start = function ...`) is not a
 * class, so nothing can extend the base; say so, naming it, rather than calling it a helper module.
 */
export function prototypeService(sf: SourceFile): { name: string; line: number; reason: string } | null {
  const methods = new Map<string, string[]>();
  for (const st of sf.getStatements()) {
    if (!Node.isExpressionStatement(st)) continue;
    const e = st.getExpression();
    if (!Node.isBinaryExpression(e) || e.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) continue;
    const m = /^([A-Za-z_$][\w$]*)\.prototype\.([A-Za-z_$][\w$]*)$/.exec(e.getLeft().getText());
    if (!m) continue;
    methods.set(m[1]!, [...(methods.get(m[1]!) ?? []), m[2]!]);
  }
  for (const fn of sf.getFunctions()) {
    const name = fn.getName();
    const own = name ? methods.get(name) : undefined;
    if (!name || !own) continue;
    const line = fn.getStartLineNumber();
    return { name, line, reason: `prototype-style constructor function ${name} (line ${line}; ${own.join(', ')} on its prototype), not a class: rewrite it as a class to migrate it` };
  }
  return null;
}

const declaredNames = new WeakMap<ts.SourceFile, { inFunctions: Set<string>; anywhere: Set<string> }>();

/**
 * The names of the file's declarations (anything with a name: variables, parameters, binding
 * elements, functions, classes, members, properties, imports, type parameters, JSDoc tags):
 * all of them, and those with a function or a class among their ancestors. A symbol of the
 * file's only program whose declarations lie in this file (or in a function or class of it)
 * has such a declaration of the same name; one declared only in the lib has none. Supersets
 * (any function-like, class expressions too) are enough: a name in them just asks the checker
 * as before. Read on compiler nodes once per parse, without wrapping them (wrappers cost
 * again when the parse is dropped).
 */
function declaredNamesOf(sf: SourceFile): { inFunctions: Set<string>; anywhere: Set<string> } {
  const root = sf.compilerNode;
  let names = declaredNames.get(root);
  if (names) return names;
  const inFunctions = new Set<string>();
  const anywhere = new Set<string>();
  const visit = (node: ts.Node, inside: boolean): void => {
    const name = (node as { name?: ts.Node }).name;
    if (name && (ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name))) {
      anywhere.add(name.text);
      if (inside) inFunctions.add(name.text);
    }
    const below = inside || ts.isFunctionLike(node) || ts.isClassLike(node);
    for (const doc of (node as { jsDoc?: ts.Node[] }).jsDoc ?? []) visit(doc, below);
    ts.forEachChild(node, (c) => visit(c, below));
  };
  visit(root, false);
  declaredNames.set(root, (names = { inFunctions, anywhere }));
  return names;
}

/** Names declared in a function or class of the file (see declaredNamesOf). */
export function namesDeclaredInFunctions(sf: SourceFile): Set<string> {
  return declaredNamesOf(sf).inFunctions;
}

/** Names declared anywhere in the file (see declaredNamesOf). */
export function namesDeclaredInFile(sf: SourceFile): Set<string> {
  return declaredNamesOf(sf).anywhere;
}

/** Calls that only convert a value (a number or string read from the environment or options). */
const CONVERSIONS = /^(Number|parseInt|parseFloat|String|Boolean|Number\.parseInt|Number\.parseFloat)$/;

/** A value whose evaluation does nothing but compute it: no call but a conversion, no `new`, `await`, function, assignment or increment. */
export function pureValue(e: Node): boolean {
  let ok = true;
  const visit = (n: Node) => {
    if (!ok) return;
    if (Node.isCallExpression(n)) {
      if (!CONVERSIONS.test(n.getExpression().getText())) ok = false;
    } else if (Node.isNewExpression(n) || Node.isAwaitExpression(n) || Node.isYieldExpression(n) || Node.isArrowFunction(n) || Node.isFunctionExpression(n) || Node.isClassExpression(n) || Node.isTaggedTemplateExpression(n) || Node.isDeleteExpression(n)) ok = false;
    else if (Node.isPrefixUnaryExpression(n) || Node.isPostfixUnaryExpression(n)) {
      if ([SyntaxKind.PlusPlusToken, SyntaxKind.MinusMinusToken].includes(n.getOperatorToken())) ok = false;
    } else if (Node.isBinaryExpression(n)) {
      const k = n.getOperatorToken().getKind();
      if (k >= SyntaxKind.FirstAssignment && k <= SyntaxKind.LastAssignment) ok = false;
    }
    n.forEachChild(visit);
  };
  visit(e);
  return ok;
}

/**
 * The first `throw` a function runs itself (not in a nested function, not inside a `try` block
 * that catches it): in a plain function it throws to the caller, made async it rejects instead.
 */
export function ownThrow(fn: Node): Node | null {
  for (const t of descendantsOfKind(fn, SyntaxKind.ThrowStatement)) {
    const owner = t.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a));
    if (owner !== fn) continue;
    const caught = t.getAncestors().some((a) => {
      const p = a.getParent();
      return !!p && Node.isTryStatement(p) && p.getTryBlock() === a && !!p.getCatchClause();
    });
    if (!caught) return t;
  }
  return null;
}

/** What a warning adds when a function with its own `throw` becomes async. */
export function throwsBecomeRejections(fn: Node, name: string): string {
  const t = ownThrow(fn);
  return t
    ? `; its synchronous throw (line ${t.getStartLineNumber()}) now rejects the promise ${name}() returns instead of throwing where it is called, so a caller that relied on try/catch without await no longer catches it`
    : '';
}

/** `process.env.X` or `process.env['X']`. */
export function envName(n: Node): string | null {
  if (Node.isPropertyAccessExpression(n) && n.getExpression().getText() === 'process.env') return n.getName();
  if (Node.isElementAccessExpression(n) && n.getExpression().getText() === 'process.env') {
    const arg = n.getArgumentExpression();
    if (arg && (Node.isStringLiteral(arg) || Node.isNoSubstitutionTemplateLiteral(arg))) return arg.getLiteralText();
  }
  return null;
}

/** A literal argument's text (a string without escapes, a number, true, false, null): a value a call can be given again elsewhere. */
export const LITERAL_ARGUMENT = /^(?:'[^'\\\n]*'|"[^"\\\n]*"|-?\d+(?:\.\d+)?|true|false|null)$/;
