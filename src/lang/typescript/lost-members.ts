// A member the legacy agent class had and its output no longer has (nor the base) is dangling
// wherever a read still reaches it. The type check refuses most such reads, but not those it
// cannot type: `(this as any).x`, an alias typed `any`, every read in a JavaScript file other
// than `this.x` (whose 2339 is the only one verify trusts there: the rest is inference noise),
// a field kept as `declare x: T` / `x!: T` whose only writer went, and another file of the
// repository that imports the agent's module (it imports the legacy file, which the `_v2`
// replaces once promoted).
import path from 'node:path';
import { Node, Project, SyntaxKind, ts, type ClassDeclaration, type ClassExpression, type SourceFile } from 'ts-morph';
import { agentImporters } from './references.js';
import { descendantsOfKind, descendantsOfKinds, fileClasses, kindTest, memberName, thisIsInstance } from './syntax.js';

type ClassLike = ClassDeclaration | ClassExpression;

/** The names a class answers, on its instances and on itself. */
interface Members {
  instance: Set<string>;
  statics: Set<string>;
}

/** A read of a lost member: where, and how it reaches the class. */
interface LostRead {
  name: string;
  line: number;
  route: string;
  /** The subclass whose override of the lost member this is. */
  overrides?: string;
}

/**
 * The verify stage's message for the first read of a member the legacy agent class had and the
 * output lost (the base answering none), in the output or in another file of the repository
 * importing the agent's module; for a field kept without initializer whose every writer went, the
 * first read of it; else null. `rel` names the output.
 */
export function lostMemberError(root: string, legacy: SourceFile, output: SourceFile, className: string, rel: string): string | null {
  const legacyCls = classNamed(legacy, className);
  const outCls = classNamed(output, className);
  if (!legacyCls || !outCls) return null;
  const answered = answeredBy(outCls);
  if (!answered) return null;
  const had = declaredMembers(legacy, legacyCls, className);
  const lost: Members = {
    instance: new Set([...had.instance].filter((n) => !answered.instance.has(n))),
    statics: new Set([...had.statics].filter((n) => !answered.statics.has(n))),
  };
  const gone = (r: LostRead) => `${className}.${r.name} left the class (the base has none)`;
  if (lost.instance.size || lost.statics.size) {
    const read = readsThrough(output, outCls, className, (name, isStatic) => (isStatic ? lost.statics : lost.instance).has(name))[0];
    if (read) return `${rel}:${read.line}: ${gone(read)} but this line still reads it as ${read.route}`;
  }
  const unwritten = unwrittenField(legacy, legacyCls, output, outCls, className);
  if (unwritten) return `${rel}:${unwritten.line}: ${className}.${unwritten.name} is declared without a value and nothing assigns it any more (the legacy's writer went), but this line still reads it as ${unwritten.route}`;
  const outExports = exportNames(output);
  const lostExports = new Set([...had.exports].filter((n) => n !== 'default' && n !== 'export=' && !outExports.has(n)));
  if (lost.instance.size || lost.statics.size || lostExports.size) {
    const outside = importerRead(root, legacy, className, lost, lostExports);
    if (outside) {
      const what = outside.export ? `the export ${outside.name} left the module` : gone(outside);
      const how = outside.overrides ? `overrides it in ${outside.overrides} (which nothing calls any more)` : `reads it as ${outside.route}`;
      return `${rel}:1: ${what} but ${outside.file}:${outside.line} still ${how} (it imports ${outside.imports}, which the _v2 replaces once promoted)`;
    }
  }
  return null;
}

function classNamed(sf: SourceFile, name: string): ClassLike | null {
  return (fileClasses(sf).find((c) => c.name === name)?.cls as ClassLike | undefined) ?? null;
}

/** What the output class answers through the type checker (its own members and every base's); null when it answers any name. */
function answeredBy(cls: ClassLike): Members | null {
  try {
    // The class's symbol: a class expression's node types as its constructor, not its instances.
    const symbol = cls.getSymbol();
    const instance = symbol?.getDeclaredType();
    if (!symbol || !instance || instance.isAny() || instance.getStringIndexType() || instance.getNumberIndexType()) return null;
    const ctor = symbol.getTypeAtLocation(cls);
    if (ctor.isAny() || ctor.getStringIndexType()) return null;
    return { instance: new Set(instance.getProperties().map((p) => p.getName())), statics: new Set(ctor.getProperties().map((p) => p.getName())) };
  } catch {
    return null;
  }
}

/** A class's members as written: declarations, constructor parameter properties, `this.x = ...` and `Class.x = ...` writes; and the module's exports. */
function declaredMembers(sf: SourceFile, cls: ClassLike, className: string): Members & { exports: Set<string> } {
  const out = { instance: new Set<string>(), statics: new Set<string>(), exports: exportNames(sf) };
  for (const m of cls.getMembers()) {
    const name = memberName(m);
    if (!name || name === 'constructor' || name.startsWith('#')) continue;
    ((m as { isStatic?: () => boolean }).isStatic?.() ? out.statics : out.instance).add(name);
  }
  for (const ctor of cls.getConstructors()) for (const p of ctor.getParameters()) if (p.isParameterProperty() && Node.isIdentifier(p.getNameNode())) out.instance.add(p.getName());
  for (const w of writes(sf)) {
    const obj = strip(w.object);
    if (obj.getKind() === SyntaxKind.ThisKeyword && w.node.getFirstAncestor((a) => a === cls) && thisIsInstance(obj.compilerNode)) out.instance.add(w.name);
    else if (Node.isIdentifier(obj) && obj.getText() === className) out.statics.add(w.name);
  }
  return out;
}

/** A write of a member: `object.name = ...` or `object['name'] = ...` (any assignment operator). */
interface MemberWrite {
  name: string;
  object: Node;
  node: Node;
}

const ASSIGNMENTS = kindTest([SyntaxKind.BinaryExpression], (n) => isAssignment((n as ts.BinaryExpression).operatorToken.kind));

function writes(sf: SourceFile): MemberWrite[] {
  const out: MemberWrite[] = [];
  for (const n of descendantsOfKinds(sf, ASSIGNMENTS) as import('ts-morph').BinaryExpression[]) {
    const left = n.getLeft();
    if (Node.isPropertyAccessExpression(left)) out.push({ name: left.getName(), object: left.getExpression(), node: left });
    else if (Node.isElementAccessExpression(left)) {
      const arg = left.getArgumentExpression();
      if (arg && (Node.isStringLiteral(arg) || Node.isNoSubstitutionTemplateLiteral(arg))) out.push({ name: arg.getLiteralText(), object: left.getExpression(), node: left });
    }
  }
  return out;
}

function isAssignment(kind: SyntaxKind): boolean {
  return kind >= SyntaxKind.FirstAssignment && kind <= SyntaxKind.LastAssignment;
}

/** The names a module exports (ESM and CommonJS), through the checker when it has the module's symbol. */
function exportNames(sf: SourceFile): Set<string> {
  const out = new Set<string>();
  try {
    for (const s of sf.getSymbol()?.getExports() ?? []) out.add(s.getName());
  } catch {
    // no symbol: the syntax below
  }
  // CommonJS: `exports.x = ...`, `module.exports.x = ...`, `module.exports = { x, y }`.
  for (const n of descendantsOfKinds(sf, MODULE_EXPORTS) as import('ts-morph').BinaryExpression[]) {
    const target = n.getLeft().getText().replace(/\s+/g, '');
    const key = /^(?:module\.)?exports\.([A-Za-z_$][\w$]*)$/.exec(target)?.[1];
    if (key) out.add(key);
    const right = strip(n.getRight());
    if (target === 'module.exports' && Node.isObjectLiteralExpression(right)) {
      for (const p of right.getProperties()) if ((Node.isShorthandPropertyAssignment(p) || Node.isPropertyAssignment(p) || Node.isMethodDeclaration(p)) && Node.isIdentifier(p.getNameNode())) out.add(p.getName());
    }
  }
  return out;
}

const MODULE_EXPORTS = kindTest([SyntaxKind.BinaryExpression], (n) => {
  const b = n as ts.BinaryExpression;
  if (b.operatorToken.kind !== SyntaxKind.EqualsToken) return false;
  let left: ts.Node = b.left;
  while (ts.isPropertyAccessExpression(left)) left = left.expression;
  return ts.isIdentifier(left) && (left.text === 'module' || left.text === 'exports');
});

/** The expression under parentheses, casts (`as any`, `<any>`), `!` and `satisfies`: what the value is. */
function strip(e: Node): Node {
  for (;;) {
    if (Node.isParenthesizedExpression(e) || Node.isAsExpression(e) || Node.isTypeAssertion(e) || Node.isNonNullExpression(e) || Node.isSatisfiesExpression(e)) e = e.getExpression();
    else return e;
  }
}

/**
 * Reads in `sf` of the names `lost` accepts, through the receivers that reach the class `cls`:
 * `this` in its members (in a static member, the class), an alias of it (`const self: any = this`),
 * `this.constructor`, the class by name, a name bound to `new Class(...)`, `super` — as `r.x`,
 * `r['x']`, `r[k]` with `k` a string constant, and `const { x } = r`. Casts on the receiver
 * (`(this as any).x`) do not hide it.
 */
function readsThrough(sf: SourceFile, cls: ClassLike | null, className: string, lost: (name: string, isStatic: boolean) => boolean, isClassRef: (id: Node) => boolean = (id) => id.getText() === className): LostRead[] {
  const aliases = new Map<Node, boolean>(); // declaration → static
  const instances = new Set<Node>();
  const receiver = (e: Node): { isStatic: boolean } | null => {
    const r = strip(e);
    if (r.getKind() === SyntaxKind.ThisKeyword) return cls ? thisOf(r, cls) : null;
    if (r.getKind() === SyntaxKind.SuperKeyword) return cls && r.getFirstAncestor((a) => a === cls) ? { isStatic: false } : null;
    if (Node.isPropertyAccessExpression(r) && r.getName() === 'constructor') {
      const o = receiver(r.getExpression());
      return o && !o.isStatic ? { isStatic: true } : null;
    }
    if (Node.isIdentifier(r)) {
      const decl = r.getSymbol()?.getDeclarations()[0];
      if (decl && aliases.has(decl)) return { isStatic: aliases.get(decl)! };
      if (decl && instances.has(decl)) return { isStatic: false };
      if (isClassRef(r)) return { isStatic: true };
    }
    return null;
  };
  // Aliases (`const self = this`) and instances (`const agent = new Agent()`), in source order so an alias of an alias counts.
  for (const d of descendantsOfKind(sf, SyntaxKind.VariableDeclaration)) {
    const init = d.getInitializer();
    if (!init || !Node.isIdentifier(d.getNameNode())) continue;
    const v = strip(Node.isAwaitExpression(strip(init)) ? (strip(init) as import('ts-morph').AwaitExpression).getExpression() : init);
    if (Node.isNewExpression(v) && Node.isIdentifier(strip(v.getExpression())) && isClassRef(strip(v.getExpression()))) instances.add(d);
    else {
      const r = receiver(v);
      if (r) aliases.set(d, r.isStatic);
    }
  }
  const out: LostRead[] = [];
  const add = (name: string, at: Node, via: Node, text: string) => {
    const r = receiver(via);
    if (r && lost(name, r.isStatic)) out.push({ name, line: at.getStartLineNumber(), route: text });
  };
  // Only accesses that can name a lost member are wrapped (ts-morph wrapping every node of the file costs).
  const maybe = (name: string) => lost(name, false) || lost(name, true);
  const accesses = kindTest([SyntaxKind.PropertyAccessExpression, SyntaxKind.ElementAccessExpression, SyntaxKind.VariableDeclaration], (n) => {
    if (ts.isPropertyAccessExpression(n)) return maybe(n.name.text);
    if (ts.isElementAccessExpression(n)) return ts.isStringLiteralLike(n.argumentExpression) ? maybe(n.argumentExpression.text) : ts.isIdentifier(n.argumentExpression);
    return ts.isVariableDeclaration(n) && ts.isObjectBindingPattern(n.name) && !!n.initializer;
  });
  for (const n of descendantsOfKinds(sf, accesses)) {
    if (Node.isPropertyAccessExpression(n)) add(n.getName(), n, n.getExpression(), n.getText());
    else if (Node.isElementAccessExpression(n)) {
      for (const key of literalKeys(n.getArgumentExpression())) add(key, n, n.getExpression(), n.getText());
    } else if (Node.isVariableDeclaration(n) && Node.isObjectBindingPattern(n.getNameNode()) && n.getInitializer()) {
      for (const el of (n.getNameNode() as import('ts-morph').ObjectBindingPattern).getElements()) {
        const prop = el.getPropertyNameNode() ?? el.getNameNode();
        if (Node.isIdentifier(prop) || Node.isStringLiteral(prop)) add(Node.isStringLiteral(prop) ? prop.getLiteralText() : prop.getText(), n, n.getInitializer()!, `{ ${el.getText()} } = ${n.getInitializer()!.getText()}`);
      }
    }
  }
  return out;
}

/** `this` in a member of `cls`: the instance, or the class in a static member; null elsewhere (a `function`'s own `this`). */
function thisOf(t: Node, cls: ClassLike): { isStatic: boolean } | null {
  if (!thisIsInstance(t.compilerNode)) return null;
  for (let cur: Node | undefined = t.getParent(); cur; cur = cur.getParent()) {
    if (cur.getParent() === cls) return { isStatic: !!(cur as { isStatic?: () => boolean }).isStatic?.() };
    if (Node.isClassDeclaration(cur) || Node.isClassExpression(cur)) return null;
  }
  return null;
}

/** A key's string values: a literal, or a name whose type is string literals (`const key = 'x'`). */
function literalKeys(arg: Node | undefined): string[] {
  if (!arg) return [];
  if (Node.isStringLiteral(arg) || Node.isNoSubstitutionTemplateLiteral(arg)) return [arg.getLiteralText()];
  try {
    const t = arg.getType();
    const parts = t.isUnion() ? t.getUnionTypes() : [t];
    return parts.every((p) => p.isStringLiteral()) ? parts.map((p) => String(p.getLiteralValue())) : [];
  } catch {
    return [];
  }
}

/**
 * A field of the output class kept without a value (`declare x: T`, `x!: T`, a JavaScript `x;`)
 * that the legacy class wrote (`this.x = ...`) and nothing in the output writes any more, the
 * base declaring none: its first read through the class (an optional `this.x?.` read expects
 * nothing there and does not count).
 */
function unwrittenField(legacy: SourceFile, legacyCls: ClassLike, output: SourceFile, outCls: ClassLike, className: string): LostRead | null {
  const js = /\.[cm]?jsx?$/.test(output.getFilePath());
  const bare = outCls.getProperties().filter((p) => !p.isStatic() && !p.getInitializer() && !p.hasQuestionToken() && (p.hasDeclareKeyword() || p.hasExclamationToken() || js) && Node.isIdentifier(p.getNameNode()));
  if (bare.length === 0) return null;
  const legacyWritten = new Set(writes(legacy).filter((w) => w.node.getFirstAncestor((a) => a === legacyCls)).map((w) => w.name));
  const written = new Set(writes(output).map((w) => w.name));
  // Object.assign(this, ...) writes names nobody can list.
  if (/\bObject\.assign\(\s*this\b/.test(output.getFullText())) return null;
  const inherited = new Set<string>();
  try {
    for (const b of outCls.getSymbol()?.getDeclaredType().getBaseTypes() ?? []) for (const p of b.getProperties()) inherited.add(p.getName());
  } catch {
    return null;
  }
  const unwritten = new Set(bare.map((p) => p.getName()).filter((n) => legacyWritten.has(n) && !written.has(n) && !inherited.has(n)));
  if (unwritten.size === 0) return null;
  const reads = readsThrough(output, outCls, className, (name, isStatic) => !isStatic && unwritten.has(name)).filter((r) => !r.route.startsWith('{'));
  for (const r of reads) {
    const line = output.getFullText().split('\n')[r.line - 1] ?? '';
    if (!new RegExp(`\\b${r.name}\\s*\\?\\.`).test(line)) return r;
  }
  return null;
}

/** A read in another file of the repository of what the output lost, with the file it is in and the module it imports. */
interface ImporterRead extends LostRead {
  file: string;
  imports: string;
  export: boolean;
}

/**
 * Another file of the repository importing the agent's module (by path) that reads what the output
 * lost: a named import of an export the output no longer has, the class's lost statics, a lost
 * member on an instance it builds, or, in a subclass of the agent, `super.x`/`this.x` of one (its
 * own not counting) or an override of one (nothing calls it any more).
 */
function importerRead(root: string, legacy: SourceFile, className: string, lost: Members, lostExports: ReadonlySet<string>): ImporterRead | null {
  const legacyAbs = path.resolve(legacy.getFilePath());
  const rel = (f: string) => path.relative(root, f).split(path.sep).join('/');
  const names = [...lost.instance, ...lost.statics, ...lostExports];
  const mentions = new RegExp(`(?<![\\w$])(${names.map((n) => n.replace(/\$/g, '\\$')).join('|')})(?![\\w$])`);
  for (const { file, text } of agentImporters(root, legacyAbs, className)) {
    if (!mentions.test(text)) continue;
    // Parsed on its own (what it names resolves in that file): the verify program stays as checked.
    importerProject ??= new Project({ useInMemoryFileSystem: true, compilerOptions: { allowJs: true, noLib: true } });
    const sf = importerProject.createSourceFile(`/importer${path.extname(file)}`, text, { overwrite: true });
    try {
      const hit = readsOfImports(sf, path.resolve(file), legacyAbs, className, lostExports, lost);
      if (hit) return { ...hit, file: rel(file), imports: rel(legacyAbs) };
    } finally {
      importerProject.removeSourceFile(sf);
    }
  }
  return null;
}

let importerProject: Project | undefined;

/** Does `spec`, imported from `from`, name the module at `target`? */
function importsModule(spec: string, from: string, target: string): boolean {
  if (!spec.startsWith('.')) return false;
  const want = target.replace(/\.[cm]?[jt]sx?$/, '');
  const bare = path.resolve(path.dirname(from), spec).replace(/\.[cm]?[jt]sx?$/, '');
  return bare === want || `${bare}/index` === want;
}

function readsOfImports(sf: SourceFile, file: string, legacyAbs: string, className: string, lostExports: ReadonlySet<string>, lost: Members): (LostRead & { export: boolean }) | null {
  // Local names of the agent's class, and the lost exports imported by name.
  const classNames = new Set<string>();
  // Names of the module itself (`import * as m`, `const m = require(...)`): `m.x` reads its export x.
  const moduleNames = new Set<string>();
  for (const d of sf.getImportDeclarations()) {
    if (!importsModule(d.getModuleSpecifierValue(), file, legacyAbs)) continue;
    const ns = d.getNamespaceImport();
    if (ns) moduleNames.add(ns.getText());
    for (const n of d.getNamedImports()) {
      if (lostExports.has(n.getName())) return { name: n.getName(), line: n.getStartLineNumber(), route: `import { ${n.getText()} }`, export: true };
      if (n.getName() === className) classNames.add(n.getAliasNode()?.getText() ?? n.getName());
    }
    const def = d.getDefaultImport();
    if (def) classNames.add(def.getText());
  }
  for (const v of descendantsOfKind(sf, SyntaxKind.VariableDeclaration)) {
    const init = v.getInitializer();
    const call = init && Node.isPropertyAccessExpression(init) ? init.getExpression() : init;
    if (!call || !Node.isCallExpression(call) || call.getExpression().getText() !== 'require') continue;
    const spec = call.getArguments()[0];
    if (!spec || !Node.isStringLiteral(spec) || !importsModule(spec.getLiteralValue(), file, legacyAbs)) continue;
    const name = v.getNameNode();
    if (Node.isIdentifier(name)) {
      if (!Node.isPropertyAccessExpression(init)) moduleNames.add(name.getText());
      if (!Node.isPropertyAccessExpression(init) || init.getName() === className) classNames.add(name.getText());
      else if (lostExports.has(init.getName())) return { name: init.getName(), line: v.getStartLineNumber(), route: init.getText(), export: true };
    } else if (Node.isObjectBindingPattern(name)) {
      for (const el of name.getElements()) {
        const key = el.getPropertyNameNode()?.getText() ?? el.getName();
        if (lostExports.has(key)) return { name: key, line: el.getStartLineNumber(), route: `{ ${el.getText()} } = ${init!.getText()}`, export: true };
        if (key === className) classNames.add(el.getName());
      }
    }
  }
  for (const a of descendantsOfKind(sf, SyntaxKind.PropertyAccessExpression)) {
    const m = strip(a.getExpression());
    if (Node.isIdentifier(m) && moduleNames.has(m.getText()) && lostExports.has(a.getName())) return { name: a.getName(), line: a.getStartLineNumber(), route: a.getText(), export: true };
  }
  if (classNames.size === 0) return null;
  const isAgent = (id: Node) => Node.isIdentifier(id) && classNames.has(id.getText());
  // Subclasses: an override of a lost member, or super.x / this.x of one they do not define.
  for (const sub of [...descendantsOfKind(sf, SyntaxKind.ClassDeclaration), ...descendantsOfKind(sf, SyntaxKind.ClassExpression)]) {
    const ext = sub.getExtends()?.getExpression();
    if (!ext || !isAgent(strip(ext))) continue;
    const own = declaredMembers(sf, sub, sub.getName() ?? '');
    for (const m of sub.getMembers()) {
      // A method is an override the agent called; a field of the same name is the subclass's own.
      const name = Node.isMethodDeclaration(m) || Node.isGetAccessorDeclaration(m) || Node.isSetAccessorDeclaration(m) ? memberName(m) : null;
      if (name && lost.instance.has(name) && !(m as { isStatic(): boolean }).isStatic()) return { name, line: m.getStartLineNumber(), route: m.getText(), overrides: sub.getName() ?? 'a subclass', export: false };
    }
    const read = readsThrough(sf, sub, sub.getName() ?? '', (name, isStatic) => (isStatic ? lost.statics : lost.instance).has(name) && !(isStatic ? own.statics : own.instance).has(name))[0];
    if (read) return { ...read, export: false };
  }
  // The class by its local name and instances built from it, outside any subclass.
  const read = readsThrough(sf, null, '', (name, isStatic) => (isStatic ? lost.statics : lost.instance).has(name), isAgent)[0];
  return read ? { ...read, export: false } : null;
}
