// `class InventorySync extends Counted(Loggable(EventEmitter))`: a chain of mixins (functions that
// take a class and return `class extends Base { ... }`) around Node's EventEmitter. When the base
// is an EventEmitter too, the base takes EventEmitter's place inside the chain
// (`Counted(Loggable(BaseAgent))`): every mixin keeps wrapping what it wrapped, and the options
// the agent passes to super() reach the base through the mixins' constructors. Taken only when
// each mixin's source is read (this file, or a relative import) and shows it safe: it returns a
// class expression extending its parameter, declares no member the base has (it would hide the
// base's), and has no constructor or one that hands all its arguments on (`super(...args)`).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Node, Project, type ClassExpression, type SourceFile } from 'ts-morph';
import { isEventEmitterHeritage, type BaseModel } from './base-model.js';
import { importOf, resolveModule } from './old-base.js';

export type MixinChain = { inner: Node; mixins: string[] } | { refuse: string } | { onBase: true };

/** The EventEmitter inside a mixin chain heritage (`A(B(EventEmitter))`), or why the chain cannot move; null when `expr` is no such chain. */
export function mixinChainOnEventEmitter(file: string, expr: Node, base: BaseModel, baseClass: string, baseNames: string[] = [baseClass]): MixinChain | null {
  const callees: Node[] = [];
  let e: Node = expr;
  while (Node.isCallExpression(e) && e.getArguments().length === 1 && Node.isIdentifier(e.getExpression())) {
    callees.push(e.getExpression());
    e = e.getArguments()[0]!;
  }
  if (callees.length === 0) return null;
  // (An output rewritten again: the chain already wraps the base.)
  if (Node.isIdentifier(e) && baseNames.includes(e.getText())) return { onBase: true };
  if (!isEventEmitterHeritage(e)) return null;
  const names = callees.map((c) => c.getText());
  const chain = `${expr.getText().replace(/\s+/g, '')}`;
  if (!base.eventEmitter) return { refuse: `extends ${chain}, mixins around EventEmitter, and ${baseClass} is not an EventEmitter: make the base extend EventEmitter (the reference base does)` };
  for (const callee of callees) {
    const name = callee.getText();
    const fn = mixinFunction(file, callee.getSourceFile(), name);
    if (!fn) return { refuse: `extends ${chain}: the mixin ${name}() could not be read (declared in this file or a relative import), so whether it hides a member of ${baseClass} is unknown; move ${baseClass} into the chain by hand` };
    const why = unsafeMixin(fn, base, baseClass);
    if (why) return { refuse: `extends ${chain}: the mixin ${name}() ${why}; move ${baseClass} into the chain by hand` };
  }
  return { inner: e, mixins: names };
}

/** The methods named `name` that the mixins of a chain heritage (`A(B(EventEmitter))`) declare, read from their source. */
export function mixinMethods(file: string, expr: Node, name: string): Node[] {
  const found: Node[] = [];
  for (let e: Node = expr; Node.isCallExpression(e) && e.getArguments().length === 1 && Node.isIdentifier(e.getExpression()); e = e.getArguments()[0]!) {
    const fn = mixinFunction(file, e.getSourceFile(), e.getExpression().getText());
    const cls = fn?.getFirstDescendant((n) => Node.isClassExpression(n)) as ClassExpression | undefined;
    const m = cls?.getMethod(name);
    if (m) found.push(m);
  }
  return found;
}

/** The function a mixin name stands for: `function Loggable(Base) {...}` or `const Loggable = (Base) => ...`, here or in a relative module. */
function mixinFunction(file: string, sf: SourceFile, name: string): Node | null {
  const local = functionIn(sf, name);
  if (local) return local;
  const origin = importOf(sf, name);
  if (!origin || !origin.specifier.startsWith('.') || origin.imported === 'default') return null;
  const source = resolveModule(path.dirname(file), origin.specifier);
  if (!source) return null;
  const project = new Project({ useInMemoryFileSystem: true, compilerOptions: { allowJs: true } });
  const other = project.createSourceFile(`/mixins${path.extname(source)}`, readFileSync(source, 'utf8'));
  return functionIn(other, origin.imported);
}

function functionIn(sf: SourceFile, name: string): Node | null {
  const f = sf.getFunction(name);
  if (f?.hasBody()) return f;
  const v = sf.getVariableDeclaration(name);
  const init = v?.getInitializer();
  if (init && (Node.isArrowFunction(init) || Node.isFunctionExpression(init))) return init;
  return null;
}

/** Why a mixin function is not safe to wrap the base in, or null when it is. */
function unsafeMixin(fn: Node, base: BaseModel, baseClass: string): string | null {
  if (!(Node.isFunctionDeclaration(fn) || Node.isArrowFunction(fn) || Node.isFunctionExpression(fn))) return 'is not a function';
  const params = fn.getParameters();
  if (params.length !== 1) return 'takes more than the class it wraps';
  const param = params[0]!.getName();
  const body = fn.getBody();
  const returned: Node[] = [];
  if (body && Node.isBlock(body)) {
    for (const st of body.getStatements()) if (Node.isReturnStatement(st) && st.getExpression()) returned.push(st.getExpression()!);
    if (body.getStatements().some((st) => !Node.isReturnStatement(st))) return 'does more than return a class';
  } else if (body) returned.push(body);
  const unwrap = (n: Node): Node => (Node.isParenthesizedExpression(n) || Node.isAsExpression(n) ? unwrap(n.getExpression()) : n);
  if (returned.length !== 1 || !Node.isClassExpression(unwrap(returned[0]!))) return 'does not return a class expression';
  const cls = unwrap(returned[0]!) as ClassExpression;
  if (cls.getExtends()?.getExpression().getText() !== param) return `returns a class that does not extend its parameter ${param}`;
  for (const m of cls.getMembers()) {
    if (Node.isConstructorDeclaration(m)) {
      if (!handsArgumentsOn(m)) return `has a constructor that does not hand all its arguments to super(), so ${baseClass}'s options would not reach it`;
      continue;
    }
    if (Node.isClassStaticBlockDeclaration(m)) continue;
    const name = (m as unknown as { getName?: () => string }).getName?.();
    if (name && base.members.has(name)) return `declares ${name}, which ${baseClass} has too (it would hide the base's)`;
  }
  return null;
}

/** `constructor(...args: any[]) { super(...args); ... }`. */
function handsArgumentsOn(ctor: import('ts-morph').ConstructorDeclaration): boolean {
  const params = ctor.getParameters();
  if (params.length !== 1 || !params[0]!.isRestParameter()) return false;
  const rest = params[0]!.getName();
  const first = ctor.getBody() && Node.isBlock(ctor.getBody()!) ? (ctor.getBody() as import('ts-morph').Block).getStatements()[0] : undefined;
  return !!first && first.getText().replace(/\s+/g, '') === `super(...${rest});`;
}
