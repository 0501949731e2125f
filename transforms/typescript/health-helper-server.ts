// A health server started through a helper of another module of the repository:
// `this.healthServer = startHealthServer(this.healthCheckPort, () => ({ status: 'ok', ... }))`,
// where lib/health.ts creates an http server that answers only GET /health with what the
// status function returns and listens on the port it is given. It is the agent's health
// server all the same: left running it binds the port the base now binds (EADDRINUSE at start).
// The call (and the member holding the server) goes, and the status function's object literal
// becomes healthStatus(), served on the base's /health.
import path from 'node:path';
import { Node, SyntaxKind, ts, type CallExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { importedText } from '../../src/lang/typescript/rewrite.js';
import { thisMember } from '../../src/lang/typescript/syntax.js';
import { addHealthStatus } from './remove-health-server.js';

interface HelperShape {
  /** Index of the parameter the server listens on. */
  port: number;
  /** Index of the parameter whose call result /health answers. */
  status: number;
}

/** What exported function `name` of `text` is, when it is a health-only server helper. */
function helperShape(text: string, name: string): HelperShape | null {
  const sf = ts.createSourceFile('h.ts', text, ts.ScriptTarget.ES2022, true);
  const fn = sf.statements.find((s): s is ts.FunctionDeclaration => ts.isFunctionDeclaration(s) && s.name?.text === name && !!s.body);
  if (!fn?.body) return null;
  const params = fn.parameters.map((p) => (ts.isIdentifier(p.name) ? p.name.text : ''));
  let creates = false;
  let port = -1;
  let status = -1;
  const routes = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n)) {
      const callee = n.expression;
      if ((ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isIdentifier(callee) ? callee.text : '') === 'createServer') creates = true;
      if (ts.isPropertyAccessExpression(callee) && callee.name.text === 'listen' && n.arguments[0] && ts.isIdentifier(n.arguments[0])) port = params.indexOf(n.arguments[0].text);
      // `JSON.stringify(statusFn())`: the answer is what the status parameter returns.
      if (callee.getText(sf) === 'JSON.stringify' && n.arguments[0] && ts.isCallExpression(n.arguments[0]) && ts.isIdentifier(n.arguments[0].expression)) {
        status = params.indexOf(n.arguments[0].expression.text);
      }
    }
    if (ts.isStringLiteral(n) && n.text.startsWith('/')) routes.add(n.text);
    ts.forEachChild(n, visit);
  };
  visit(fn.body);
  if (!creates || port < 0 || status < 0 || routes.size !== 1 || !routes.has('/health')) return null;
  return { port, status };
}

export function removeHealthHelperServers(ctx: TsRewriteContext): void {
  if (ctx.members.has('healthStatus') || ctx.newMembers.some((m) => m.name === 'healthStatus')) return;
  for (const call of ctx.cls.getDescendantsOfKind(SyntaxKind.CallExpression)) {
    const callee = call.getExpression();
    if (!Node.isIdentifier(callee)) continue;
    const imp = ctx.sf.getImportDeclarations().find((d) => !d.isTypeOnly() && d.getNamedImports().some((n) => (n.getAliasNode()?.getText() ?? n.getName()) === callee.getText()));
    const spec = imp?.getModuleSpecifierValue();
    if (!spec || !spec.startsWith('.')) continue;
    const named = imp!.getNamedImports().find((n) => (n.getAliasNode()?.getText() ?? n.getName()) === callee.getText())!.getName();
    const text = importedText(path.resolve(ctx.root, path.dirname(ctx.file), spec));
    const shape = text === null ? null : helperShape(text, named);
    if (!shape) continue;
    removeHelperCall(ctx, call, shape, spec);
    return;
  }
}

function removeHelperCall(ctx: TsRewriteContext, call: CallExpression, shape: HelperShape, spec: string): void {
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
  const name = call.getExpression().getText();
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
