// A start method renamed to the base's onStart() whose failure ended the process: the entry point
// awaited it in `async function main()`, and `main().catch((err) => { log(...); process.exit(1); })`
// logged and exited. The base only logs a failing onStart() and keeps running (health answering,
// no business server behind it), so the supervisor that restarted the service on exit 1 never
// would. onStart()'s body goes into a `try` whose `catch` does what the handler did, after the
// base's stop() (health closed, registration withdrawn).
import { Node, SyntaxKind } from 'ts-morph';
import type { CallExpression } from 'ts-morph';
import type { EntryInfo, TsRewriteContext } from '../../src/lang/typescript/context.js';
import { indentAt } from '../../src/lang/typescript/edits.js';
import { calleeText, descendantsOfKind, mainGuards, statementCall } from '../../src/lang/typescript/syntax.js';
import { ensureAsync } from './await-close-callback.js';

/** True when the failure exit was kept in onStart() (`m` is the start method renamed to onStart). */
export function keepStartFailureExit(ctx: TsRewriteContext, e: EntryInfo, m: string): boolean {
  const handler = fatalStartHandler(ctx, e);
  if (!handler) return false;
  const param = handler.param;
  const u = ctx.unit;
  // In TypeScript a catch variable is `unknown`; the handler's was `any` (a rejection's reason).
  const binding = param ? ` (${param.getName()}${!ctx.js && !param.getTypeNode() ? ': any' : ''})` : '';
  const clause = (indent: string) =>
    `catch${binding} {\n${handler.statements.map((s) => `${indent}${u}${s === handler.exit ? `await this.stop();\n${indent}${u}` : ''}${s.getText().replace(/\s*\n\s*/g, ' ').replace(/;?$/, ';')}\n`).join('')}${indent}}`;
  if (!wrapBodyInTry(ctx, m, clause)) return false;
  ctx.warnings.push(
    `${m}() failing ended the process through the entry point's .catch() (line ${handler.line}: exit ${handler.code}); the base only logs a failing onStart(), so onStart() now does what that handler did in a catch, after the base's stop()`,
  );
  return true;
}

/**
 * The body of method `name` in a `try` whose `catch` is `clause(indent)` (the text from `catch` to
 * its closing brace). The method becomes async and a promise it returns is awaited (`return
 * await`), so the `try` sees it settle. Only for one body with its braces on lines of their own.
 * True when wrapped.
 */
export function wrapBodyInTry(ctx: TsRewriteContext, name: string, clause: (indent: string) => string): boolean {
  const nodes = ctx.members.get(name)?.nodes ?? [];
  const impl = nodes[0];
  if (nodes.length !== 1 || !impl || !Node.isMethodDeclaration(impl) || impl.isGenerator()) return false;
  const body = impl.getBody();
  if (!body || !Node.isBlock(body) || body.getStatements().length === 0 || ctx.edits.removes(body.getStart(), body.getEnd())) return false;
  const t = ctx.text;
  const opened = /^\{[ \t]*\r?\n/.exec(t.slice(body.getStart()));
  const close = body.getEnd() - 1;
  const closeLine = t.lastIndexOf('\n', close - 1) + 1;
  if (!opened || !/^[ \t]*$/.test(t.slice(closeLine, close))) return false;
  const own = (n: Node) => n.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) === impl;
  const promised = (e: Node) => {
    const type = e.getType();
    return (type.isUnion() ? type.getUnionTypes() : [type]).some((x) => x.isAny() || x.isUnknown() || !!x.getProperty('then'));
  };
  const returned = descendantsOfKind(body, SyntaxKind.ReturnStatement).filter((r) => own(r) && r.getExpression() && !Node.isAwaitExpression(r.getExpression()!) && promised(r.getExpression()!));
  ensureAsync(ctx, impl);
  for (const r of returned) ctx.edits.insert(r.getFirstChildByKindOrThrow(SyntaxKind.ReturnKeyword).getEnd(), ' await');
  const indent = indentAt(t, close) + ctx.unit;
  const skip = [...body.getDescendantsOfKind(SyntaxKind.TemplateExpression), ...body.getDescendantsOfKind(SyntaxKind.NoSubstitutionTemplateLiteral)].map((n) => [n.getStart(), n.getEnd()] as [number, number]);
  ctx.edits.wrapLines(body.getStart() + opened[0].length, closeLine, `${indent}try {\n`, `${indent}} ${clause(indent)}\n`, ctx.unit, skip);
  return true;
}

interface FatalHandler {
  param: import('ts-morph').ParameterDeclaration | undefined;
  statements: Node[];
  exit: Node;
  code: string;
  line: number;
}

/** `x.catch(h)` around the call: that call. */
function catchOf(call: Node): CallExpression | null {
  const access = call.getParent();
  if (!access || !Node.isPropertyAccessExpression(access) || access.getName() !== 'catch' || access.getExpression() !== call) return null;
  const outer = access.getParent();
  return outer && Node.isCallExpression(outer) ? outer : null;
}

/** `await agent.start()` a statement of `async function main()`, called once as `main().catch(h)`: that `.catch(h)` call. */
function mainCatch(ctx: TsRewriteContext, call: CallExpression): CallExpression | null {
  const stmt = call.getParent()!.getParent();
  if (!stmt || !Node.isExpressionStatement(stmt)) return null;
  const fn = stmt.getParent()?.getParent();
  if (!fn || !Node.isFunctionDeclaration(fn) || !fn.isAsync() || !fn.getName()) return null;
  const name = fn.getName()!;
  const uses = ctx.sf.getDescendantsOfKind(SyntaxKind.Identifier).filter((id) => id.getText() === name && id !== fn.getNameNode());
  if (uses.length !== 1) return null;
  const mainCall = uses[0]!.getParent();
  if (!mainCall || !Node.isCallExpression(mainCall) || mainCall.getExpression() !== uses[0]) return null;
  return catchOf(mainCall);
}

/**
 * `agent.start().catch(h)` at the top level or in the `require.main === module` guard's block, or `async function main() { ...; await agent.start(); }`
 * called once, as `main().catch(h)`, where
 * `h` only logs (reading its error and module-level names) and ends with `process.exit(N)`, N > 0:
 * a rejection of the start call reached `h`. The start call must be a statement of main()'s own
 * body (not inside a try of its own).
 */
function fatalStartHandler(ctx: TsRewriteContext, e: EntryInfo): FatalHandler | null {
  const call = e.methodNameNode?.getParent()?.getParent();
  if (!call || !Node.isCallExpression(call)) return null;
  const catchCall = Node.isAwaitExpression(call.getParent()) ? mainCatch(ctx, call) : catchOf(call);
  if (!catchCall) return null;
  const top = catchCall.getParent()!;
  // At the top level, or a statement of the `if (require.main === module) { ... }` block itself.
  const block = top.getParent();
  const guard = block && Node.isBlock(block) ? mainGuards(ctx.sf).find((g) => (g as import('ts-morph').IfStatement).getThenStatement() === block) : undefined;
  if (catchCall.getArguments().length !== 1 || !Node.isExpressionStatement(top) || (block !== ctx.sf && !guard)) return null;
  const h = catchCall.getArguments()[0]!;
  if (!Node.isArrowFunction(h) && !Node.isFunctionExpression(h)) return null;
  const params = h.getParameters();
  if (params.length > 1 || (params[0] && !Node.isIdentifier(params[0].getNameNode()))) return null;
  const hb = h.getBody();
  const statements: Node[] = Node.isBlock(hb) ? hb.getStatements() : [hb];
  const calls = statements.map((s) => (Node.isBlock(hb) ? statementCall(s) : Node.isCallExpression(s) ? (s as CallExpression) : null));
  if (calls.some((c) => !c)) return null;
  const last = calls[calls.length - 1]!;
  if (calleeText(last) !== 'process.exit' || last.getArguments().length !== 1 || !/^[1-9]\d*$/.test(last.getArguments()[0]!.getText())) return null;
  if (calls.slice(0, -1).some((c) => /^process\./.test(calleeText(c!)))) return null;
  // In onStart() only the error and module-level names are in scope.
  for (const id of h.getDescendantsOfKind(SyntaxKind.Identifier)) {
    const p = id.getParent();
    if ((Node.isPropertyAccessExpression(p) && p.getNameNode() === id) || params.some((q) => q.getNameNode() === id)) continue;
    if (params[0] && id.getText() === params[0].getName()) continue;
    const decls = id.getSymbol()?.getDeclarations() ?? [];
    if (decls.some((d) => d.getSourceFile() === ctx.sf && d.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a) || Node.isClassDeclaration(a)))) return null;
    // `const worker = new X(...)` in the guard's block is not in scope in onStart() either.
    if (guard && decls.some((d) => guard.containsRange(d.getPos(), d.getEnd()))) return null;
    if (ctx.members.has(id.getText()) && decls.length === 0) return null;
  }
  return { param: params[0], statements, exit: statements[statements.length - 1]!, code: last.getArguments()[0]!.getText(), line: top.getStartLineNumber() };
}
