// A health server started through a helper of another module of the repository:
// `this.healthServer = startHealthServer(this.healthCheckPort, () => ({ status: 'ok', ... }))`,
// where lib/health.ts creates an http server that answers only GET /health with what the
// status function returns and listens on the port it is given. It is the agent's health
// server all the same: left running it binds the port the base now binds (EADDRINUSE at start).
// The helper may be a function declaration, a const arrow or function expression, the module's
// default export, or a class constructed with the port and the status function
// (`this.health = new HealthEndpoint(port, () => ({ ... }))`, started and closed through the member).
// The call (and the member holding the server) goes, and the status function's object literal
// becomes healthStatus(), served on the base's /health.
import path from 'node:path';
import { Node, SyntaxKind, ts, type CallExpression, type NewExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { importedText } from '../../src/lang/typescript/rewrite.js';
import { thisMember } from '../../src/lang/typescript/syntax.js';
import { addHealthStatus } from './remove-health-server.js';

interface HelperShape {
  /** Index of the parameter the server listens on. */
  port: number;
  /** Index of the parameter whose call result /health answers. */
  status: number;
  /** A class the agent constructs (`new HealthEndpoint(port, report)`), not a function it calls. */
  constructed: boolean;
}

type FunctionLike = ts.FunctionDeclaration | ts.ArrowFunction | ts.FunctionExpression;

/**
 * The exported helper `name` of a module (`default` for its default export): a function
 * declaration, a const holding an arrow or function expression, or a class.
 */
export function exportedHelper(sf: ts.SourceFile, name: string): FunctionLike | ts.ClassDeclaration | null {
  const isDefault = (s: ts.Statement) => ts.canHaveModifiers(s) && !!ts.getModifiers(s)?.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword);
  const byName = (id: string): FunctionLike | ts.ClassDeclaration | null => {
    for (const s of sf.statements) {
      if ((ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s)) && s.name?.text === id) return ts.isFunctionDeclaration(s) && !s.body ? null : s;
      if (ts.isVariableStatement(s) && s.declarationList.flags & ts.NodeFlags.Const) {
        for (const d of s.declarationList.declarations) {
          if (ts.isIdentifier(d.name) && d.name.text === id && d.initializer && (ts.isArrowFunction(d.initializer) || ts.isFunctionExpression(d.initializer))) return d.initializer;
        }
      }
    }
    return null;
  };
  if (name !== 'default') return byName(name);
  for (const s of sf.statements) {
    if ((ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s)) && isDefault(s)) return ts.isFunctionDeclaration(s) && !s.body ? null : s;
    // `export default serveHealth;`
    if (ts.isExportAssignment(s) && !s.isExportEquals && ts.isIdentifier(s.expression)) return byName(s.expression.text);
  }
  return null;
}

/**
 * Is class `name` of `text` a health-only server helper (`new HealthEndpoint(port, () => status)`)?
 * Such a class is a part of the agents that construct it, not an agent: the scan skips it.
 */
export function isHealthHelperClass(text: string, name: string): boolean {
  return helperShape(text, name)?.constructed === true;
}

/** What exported helper `name` of `text` is, when it is a health-only server helper. */
function helperShape(text: string, name: string): HelperShape | null {
  const sf = ts.createSourceFile('h.ts', text, ts.ScriptTarget.ES2022, true);
  const helper = exportedHelper(sf, name);
  if (!helper) return null;
  if (ts.isClassDeclaration(helper)) return classShape(sf, helper);
  if (!helper.body) return null;
  const params = helper.parameters.map((p) => (ts.isIdentifier(p.name) ? p.name.text : ''));
  const shape = serverShape(sf, helper.body, (e) => (ts.isIdentifier(e) ? params.indexOf(e.text) : -1));
  return shape && { ...shape, constructed: false };
}

const PARAMETER_PROPERTY = new Set([ts.SyntaxKind.PublicKeyword, ts.SyntaxKind.PrivateKeyword, ts.SyntaxKind.ProtectedKeyword, ts.SyntaxKind.ReadonlyKeyword]);

/**
 * `class HealthEndpoint { constructor(private readonly port: number, private readonly report: ...)
 * start() { createServer(...).listen(this.port) } }`: the constructor's parameters stored on the
 * instance are what the server listens on and answers with.
 */
function classShape(sf: ts.SourceFile, cls: ts.ClassDeclaration): HelperShape | null {
  const ctor = cls.members.find((m): m is ts.ConstructorDeclaration => ts.isConstructorDeclaration(m));
  if (!ctor) return null;
  const params = ctor.parameters.map((p) => (ts.isIdentifier(p.name) ? p.name.text : ''));
  // this.x → the parameter stored in it (a parameter property, or `this.x = param` in the constructor).
  const stored = new Map<string, number>();
  ctor.parameters.forEach((p, i) => {
    if (ts.isIdentifier(p.name) && ts.getModifiers(p)?.some((m) => PARAMETER_PROPERTY.has(m.kind))) stored.set(p.name.text, i);
  });
  for (const st of ctor.body?.statements ?? []) {
    if (!ts.isExpressionStatement(st) || !ts.isBinaryExpression(st.expression) || st.expression.operatorToken.kind !== ts.SyntaxKind.EqualsToken) continue;
    const { left, right } = st.expression;
    if (ts.isPropertyAccessExpression(left) && left.expression.kind === ts.SyntaxKind.ThisKeyword && ts.isIdentifier(right) && params.includes(right.text)) stored.set(left.name.text, params.indexOf(right.text));
  }
  const shape = serverShape(sf, cls, (e) => (ts.isPropertyAccessExpression(e) && e.expression.kind === ts.SyntaxKind.ThisKeyword ? (stored.get(e.name.text) ?? -1) : -1));
  return shape && { ...shape, constructed: true };
}

/** A server created under `root` that listens on param(port) and answers only /health with JSON.stringify(param(status)()). */
function serverShape(sf: ts.SourceFile, root: ts.Node, param: (e: ts.Expression) => number): { port: number; status: number } | null {
  let creates = false;
  let port = -1;
  let status = -1;
  const routes = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n)) {
      const callee = n.expression;
      if ((ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isIdentifier(callee) ? callee.text : '') === 'createServer') creates = true;
      if (ts.isPropertyAccessExpression(callee) && callee.name.text === 'listen' && n.arguments[0]) port = param(n.arguments[0]);
      // `JSON.stringify(statusFn())`: the answer is what the status parameter returns.
      if (callee.getText(sf) === 'JSON.stringify' && n.arguments[0] && ts.isCallExpression(n.arguments[0])) status = param(n.arguments[0].expression);
    }
    if (ts.isStringLiteral(n) && n.text.startsWith('/')) routes.add(n.text);
    ts.forEachChild(n, visit);
  };
  visit(root);
  if (!creates || port < 0 || status < 0 || routes.size !== 1 || !routes.has('/health')) return null;
  return { port, status };
}

export function removeHealthHelperServers(ctx: TsRewriteContext): void {
  if (ctx.members.has('healthStatus') || ctx.newMembers.some((m) => m.name === 'healthStatus')) return;
  const calls = [...ctx.cls.getDescendantsOfKind(SyntaxKind.CallExpression), ...ctx.cls.getDescendantsOfKind(SyntaxKind.NewExpression)];
  for (const call of calls) {
    const callee = call.getExpression();
    if (!Node.isIdentifier(callee)) continue;
    const local = callee.getText();
    const imp = ctx.sf.getImportDeclarations().find((d) => !d.isTypeOnly() && (d.getDefaultImport()?.getText() === local || d.getNamedImports().some((n) => (n.getAliasNode()?.getText() ?? n.getName()) === local)));
    const spec = imp?.getModuleSpecifierValue();
    if (!spec || !spec.startsWith('.')) continue;
    const named = imp!.getDefaultImport()?.getText() === local ? 'default' : imp!.getNamedImports().find((n) => (n.getAliasNode()?.getText() ?? n.getName()) === local)!.getName();
    const text = importedText(path.resolve(ctx.root, path.dirname(ctx.file), spec));
    const shape = text === null ? null : helperShape(text, named);
    if (!shape || shape.constructed !== Node.isNewExpression(call)) continue;
    removeHelperCall(ctx, call, shape, spec);
    return;
  }
}

function removeHelperCall(ctx: TsRewriteContext, call: CallExpression | NewExpression, shape: HelperShape, spec: string): void {
  const args = call.getArguments();
  const portArg = args[shape.port];
  const statusFn = args[shape.status];
  if (!portArg || !statusFn || !Node.isArrowFunction(statusFn)) return;
  let payload: Node = statusFn.getBody();
  while (Node.isParenthesizedExpression(payload)) payload = payload.getExpression();
  if (!Node.isObjectLiteralExpression(payload)) return;
  const props = payload.getProperties();
  if (!props.every((p) => Node.isPropertyAssignment(p) || Node.isShorthandPropertyAssignment(p))) return;
  if (!props.some((p) => Node.isPropertyAssignment(p) && p.getName() === 'status')) return;
  // Only the agent's own state (no locals of the method that started it).
  const locals = payload.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => {
    const d = id.getSymbol()?.getDeclarations()[0];
    return !!d && d.getFirstAncestor((a) => a === call.getFirstAncestor((f) => Node.isMethodDeclaration(f) || Node.isConstructorDeclaration(f))) !== undefined && !payload.containsRange(d.getPos(), d.getEnd());
  });
  if (locals) return;
  const stmt = call.getFirstAncestor((a) => Node.isExpressionStatement(a));
  if (!stmt) return;
  const expr = stmt.getExpression();
  const holder = Node.isBinaryExpression(expr) && expr.getOperatorToken().getKind() === SyntaxKind.EqualsToken && expr.getRight() === call ? thisMember(expr.getLeft()) : null;
  if (Node.isBinaryExpression(expr) ? !holder : expr !== call) return;
  const name = `${Node.isNewExpression(call) ? 'new ' : ''}${call.getExpression().getText()}`;
  const reason = `${name}() (${spec}) starts a hand-made health server; the base serves /health`;
  ctx.hints.healthPortExpr = portArg;
  // The call statement goes in any case (it is what binds the port); the member holding the
  // server goes with the rest of its uses (closing it on stop).
  ctx.plan.proposeStatement({ node: stmt, symbol: `${name}()`, finding: 'health', reason });
  if (holder) {
    ctx.hints.healthHolder = holder;
    ctx.plan.proposeMember({ name: holder, finding: 'health', reason });
  }
  addHealthStatus(ctx, props.filter((p) => !(Node.isPropertyAssignment(p) && p.getName() === 'status' && /^['"]ok['"]$/.test(p.getInitializer()?.getText() ?? ''))).map((p) => p.getText()), payload);
  ctx.warnings.push(`${name}() from ${spec} started a health server on ${portArg.getText()} answering /health with ${payload.getText()}: the call goes, the payload is now healthStatus(), served on the base's /health`);
}
