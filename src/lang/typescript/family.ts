// Agent families: an abstract parent in the repository that holds the loop, the health server or
// the signal handling, and concrete subclasses that only fill in the business hooks. The parent
// migrates onto the base like any agent; a subclass follows it by extending the parent's `_v2`
// (the same class, now on the base), so it keeps its own code and drops only its own ad-hoc
// infrastructure. A subclass is never moved off its parent onto the base directly.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Node, Project, SyntaxKind, type SourceFile } from 'ts-morph';
import { foreverLoops, intervalCalls, rearmingTimeouts, serverCreations, signalStatements } from './patterns.js';
import { fileClasses, type ClassLike } from './syntax.js';
import { importOf, resolveModule } from './old-base.js';

export interface FamilyParent {
  className: string;
  /** The string literal of the import/require that brings the parent in. */
  specifier: Node;
  /** That specifier pointed at the parent's `_v2` module. */
  v2Specifier: string;
  /** The parent's own file is a `_v2` already (the subclass followed it before). */
  followed: boolean;
  /**
   * The parent's migrated constructor takes the base's options and spreads them into its own
   * super() (`constructor(options = {}) { super({ name: ..., ...options }) }`, written for a parent
   * that had no constructor): a subclass can hand the base its port and loop period through it.
   */
  forwardsOptions: boolean;
  /**
   * The parent's migrated constructor, where it is read (its `_v2`): its parameters, and the base's
   * option each one it hands the base is (`super({ name, healthCheckPort: healthPort })` → 2 →
   * healthCheckPort). A subclass's positional argument there reaches the base as that option.
   */
  handed?: { params: string[]; options: Map<number, string> };
}

/** Loops, timers, servers or signal handlers: what makes a class the agent part of a family. */
export function hasAgentInfrastructure(cls: ClassLike): boolean {
  if (serverCreations(cls).length > 0 || signalStatements(cls).length > 0 || rearmingTimeouts(cls).length > 0) return true;
  for (const m of cls.getMembers()) {
    const body = Node.isMethodDeclaration(m) ? m.getBody() : undefined;
    if (body && (intervalCalls(body).length > 0 || foreverLoops(body).length > 0)) return true;
  }
  return false;
}

const V2_FILE = /_v2\.[cm]?[jt]sx?$/;

/** The in-repository parent a class can follow, or null (then it is refused with its name). */
export function findFamilyParent(file: string, expr: Node, baseClass: string): FamilyParent | null {
  if (!Node.isIdentifier(expr)) return null;
  const sf: SourceFile = expr.getSourceFile();
  const origin = importOf(sf, expr.getText());
  if (!origin || !origin.specifier.startsWith('.')) return null;
  const specifier = findSpecifier(sf, origin.specifier);
  if (!specifier) return null;
  const name = origin.imported === 'default' ? expr.getText() : origin.imported;
  // Already following (the parent's `_v2` may not be written yet while its batch is verified).
  const parentFile = resolveModule(path.dirname(file), origin.specifier);
  if (/_v2(\.[cm]?[jt]sx?)?$/.test(origin.specifier) || (parentFile && V2_FILE.test(parentFile))) {
    const v2 = parentFile ? classIn(parentFile, name, origin.imported === 'default') : undefined;
    return { className: name, specifier, v2Specifier: origin.specifier, followed: true, forwardsOptions: !!v2 && forwardsOptions(v2.cls), handed: v2 ? handedOptions(v2.cls) : undefined };
  }
  if (!parentFile) return null;
  const parent = classIn(parentFile, name, origin.imported === 'default');
  if (!parent || parent.name === baseClass) return null;
  const ext = parentFile.match(/\.[cm]?[jt]sx?$/)![0];
  const v2File = parentFile.slice(0, -ext.length) + '_v2' + ext;
  // It follows a parent that is (or will be, in this run) migrated: one with an agent's infrastructure.
  if (!existsSync(v2File) && !hasAgentInfrastructure(parent.cls)) return null;
  // Its migration gives a parent with no constructor (and no parent of its own) one that forwards options.
  const generated = !parent.cls.getConstructors().some((c) => c.hasBody()) && !parent.cls.getExtends();
  const v2 = existsSync(v2File) ? classIn(v2File, parent.name ?? name, origin.imported === 'default') : undefined;
  return { className: parent.name ?? name, specifier, v2Specifier: toV2(origin.specifier), followed: false, forwardsOptions: v2 ? forwardsOptions(v2.cls) : generated, handed: v2 ? handedOptions(v2.cls) : undefined };
}

/**
 * A parent imported from another file of the repository that is no agent itself but a subclass in
 * turn (`QueueWorker<P> extends AbstractWorker<Job<P>>`, the middle of a chain): its file and its own
 * parent's name. Null for any other parent.
 */
export function chainedParent(file: string, expr: Node): { file: string; extends: string } | null {
  if (!Node.isIdentifier(expr)) return null;
  const origin = importOf(expr.getSourceFile(), expr.getText());
  if (!origin || !origin.specifier.startsWith('.')) return null;
  const parentFile = resolveModule(path.dirname(file), origin.specifier);
  const parent = parentFile ? classIn(parentFile, origin.imported === 'default' ? expr.getText() : origin.imported, origin.imported === 'default') : undefined;
  const grand = parent?.cls.getExtends()?.getExpression().getText();
  return parentFile && grand ? { file: parentFile, extends: grand } : null;
}

export function classIn(file: string, name: string, isDefault: boolean): { cls: ClassLike; name: string | null } | undefined {
  const project = new Project({ useInMemoryFileSystem: true, compilerOptions: { allowJs: true } });
  const sf = project.createSourceFile(`/parent${path.extname(file)}`, readFileSync(file, 'utf8'));
  const classes = fileClasses(sf);
  return classes.find((c) => c.name === name) ?? (isDefault && classes.length === 1 ? classes[0] : undefined);
}

/** `constructor(options = {}) { super({ ..., ...options }); }`: the options reach the base. */
export function forwardsOptions(cls: ClassLike): boolean {
  const ctor = cls.getConstructors().find((c) => c.hasBody());
  const param = ctor?.getParameters();
  if (!ctor || param?.length !== 1) return false;
  const name = param[0]!.getName();
  const first = ctor.getBody() && Node.isBlock(ctor.getBody()!) ? (ctor.getBody() as import('ts-morph').Block).getStatements()[0] : undefined;
  return !!first && new RegExp(`^super\\(\\{[^]*\\.\\.\\.${name}\\s*\\}\\);?$`).test(first.getText());
}

/** The migrated constructor's parameters and the base's options it hands them as (see FamilyParent.handed). */
export function handedOptions(cls: ClassLike): { params: string[]; options: Map<number, string> } | undefined {
  const ctor = cls.getConstructors().find((c) => c.hasBody());
  const body = ctor?.getBody();
  if (!ctor || !body || !Node.isBlock(body)) return undefined;
  const params = ctor.getParameters().map((p) => p.getName());
  const options = new Map<number, string>();
  const call = body.getStatements().map((st) => (Node.isExpressionStatement(st) ? st.getExpression() : undefined)).find((e) => !!e && Node.isCallExpression(e) && e.getExpression().getKind() === SyntaxKind.SuperKeyword);
  const arg = call && Node.isCallExpression(call) ? call.getArguments()[0] : undefined;
  if (!arg || !Node.isObjectLiteralExpression(arg)) return undefined;
  for (const p of arg.getProperties()) {
    const value = Node.isPropertyAssignment(p) ? p.getInitializer()?.getText() : Node.isShorthandPropertyAssignment(p) ? p.getName() : undefined;
    const i = value === undefined ? -1 : params.indexOf(value);
    if (i >= 0) options.set(i, (p as import('ts-morph').PropertyAssignment).getName());
  }
  return { params, options };
}

/** `../lib/polling-worker.js` → `../lib/polling-worker_v2.js`; `./worker` → `./worker_v2`. */
function toV2(spec: string): string {
  const m = /^(.*?)(\.[cm]?[jt]sx?)?$/.exec(spec)!;
  return `${m[1]}_v2${m[2] ?? ''}`;
}

function findSpecifier(sf: SourceFile, spec: string): Node | null {
  for (const d of sf.getImportDeclarations()) if (d.getModuleSpecifierValue() === spec) return d.getModuleSpecifier();
  let found: Node | null = null;
  sf.forEachDescendant((n) => {
    if (found || !Node.isCallExpression(n) || n.getExpression().getText() !== 'require') return;
    const a = n.getArguments()[0];
    if (a && Node.isStringLiteral(a) && a.getLiteralText() === spec) found = a;
  });
  if (found) return found;
  for (const s of sf.getStatements()) {
    if (Node.isImportEqualsDeclaration(s)) {
      const lit = s.getModuleReference().getFirstDescendant((x) => Node.isStringLiteral(x));
      if (lit && Node.isStringLiteral(lit) && lit.getLiteralText() === spec) return lit;
    }
  }
  return null;
}
