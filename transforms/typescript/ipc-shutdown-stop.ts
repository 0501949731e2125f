// A forked worker's IPC shutdown (`process.on('message', (m) => { if (m.type === 'shutdown')
// void this.drainAndExit('shutdown message') })`) calling the same exiting method as its SIGTERM
// handler. SIGTERM goes to the base, whose onStop() now calls that method: its process.exit() must
// go, or every SIGTERM would end the process before the base deregistered. The IPC call kept it
// though, so the method kept its exit (a review item, no _v2). When every other call of the method
// is a statement of a handler of the process's 'message' event and the method's one exit has a
// literal code (or none, or a parameter the call fills with what the message says, `msg.code ?? 0`),
// those calls become the base's stop() followed by that exit
// (`void this.stop().then(() => process.exit(0))`): the base's stop() runs onStop() (the method's
// drain), closes the servers, deregisters and pushes its last metrics, and the process then ends
// with the code the legacy gave. The method's exit then goes as for any SIGTERM-only stop method.
import { Node, SyntaxKind, type CallExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { usesOf } from '../../src/lang/typescript/context.js';
import { calleeText, thisMember } from '../../src/lang/typescript/syntax.js';

/** Rewrites the IPC callers of exiting method `name`; true when every live use was one (and is now the base's stop()). */
export function ipcCallersOntoStop(ctx: TsRewriteContext, name: string, body: Node, live: Node[]): boolean {
  return callersOntoStop(ctx, name, body, live, (statement) => inMessageHandler(ctx, statement), (exit, lines, exitsSaid, withArgs) =>
    `${name}() ended the process (${exit.getText()}, line ${exit.getStartLineNumber()}) and the IPC 'message' handler called it too (line ${lines}): ` +
      `that call is now the base's stop() then ${exitsSaid}, so on a shutdown message onStop() (${name}()) drains, the base deregisters and closes its servers, and the process exits as before; ` +
      `${name}() itself no longer exits${withArgs ? ` (onStop() calls it with the SIGTERM handler's arguments, not the message's)` : ''}`,
  );
}

/**
 * Rewrites each live call statement of exiting method `name` that `accepts` into the base's stop()
 * then the exit that call made (`void this.stop().then(() => process.exit(2))`); true when every
 * live use was such a statement and the method's one exit code is known at each. `warning` says it.
 */
export function callersOntoStop(
  ctx: TsRewriteContext,
  name: string,
  body: Node,
  live: Node[],
  accepts: (statement: Node) => boolean,
  warning: (exit: CallExpression, lines: string, exitsSaid: string, withArgs: boolean) => string,
): boolean {
  const exits = body.getDescendantsOfKind(SyntaxKind.CallExpression).filter((c) => calleeText(c) === 'process.exit');
  if (exits.length !== 1) return false;
  const codeOf = exitCodeOf(exits[0]!, body);
  if (!codeOf) return false;
  // `this.stop()` must reach the base's stop(): not an own stop() that stays under that name.
  if (ctx.members.has('stop') && !ctx.renames.has('stop')) return false;
  const rewrites: Array<{ statement: Node; exit: string }> = [];
  for (const use of live) {
    const statement = callStatement(ctx, use, name);
    if (!statement || !accepts(statement)) return false;
    const code = codeOf(use.getParentOrThrow().getParentOrThrow() as CallExpression);
    if (code === null) return false;
    rewrites.push({ statement, exit: `process.exit(${code})` });
  }
  if (rewrites.length === 0) return false;
  for (const { statement, exit } of rewrites) {
    const expr = Node.isExpressionStatement(statement) ? statement.getExpression() : statement;
    ctx.edits.replace(expr.getStart(), expr.getEnd(), `void this.stop().then(() => ${exit})`);
  }
  const lines = rewrites.map((r) => r.statement.getStartLineNumber()).join(', ');
  const exitsSaid = [...new Set(rewrites.map((r) => r.exit))].join(', ');
  ctx.warnings.push(warning(exits[0]!, lines, exitsSaid, rewrites.some((r) => !!(Node.isCallExpression(r.statement) ? r.statement : r.statement.getFirstDescendantByKind(SyntaxKind.CallExpression))?.getArguments().length)));
  return true;
}

/**
 * What the exit's code is for one call of the method, as text (empty: none): a literal as it is; a
 * parameter of the method the body never assigns (`drainAndExit(reason, code = 0)` ending in
 * `process.exit(code)`) as the call's argument in its place, or the parameter's literal default
 * when the call gives none. The argument is read after the base's stop() instead of before the
 * drain, so it must read nothing a drain can change: literals and the caller's own parameters and
 * consts (`msg.code ?? 0`), not `this` or a call. null: not provable.
 */
function exitCodeOf(exit: CallExpression, body: Node): ((call: CallExpression) => string | null) | null {
  const code = exit.getArguments()[0];
  if (!code || Node.isNumericLiteral(code)) return () => code?.getText() ?? '';
  const method = body.getParent();
  if (!Node.isIdentifier(code) || !method || !Node.isMethodDeclaration(method)) return null;
  const params = method.getParameters();
  const index = params.findIndex((p) => Node.isIdentifier(p.getNameNode()) && p.getName() === code.getText());
  const param = params[index];
  if (!param || param.isRestParameter() || assigns(body, code.getText())) return null;
  const fallback = param.getInitializer();
  if (fallback && !Node.isNumericLiteral(fallback)) return null;
  return (call) => {
    const arg = call.getArguments()[index];
    if (!arg || arg.getText() === 'undefined') return fallback?.getText() ?? '';
    const others = call.getArguments().filter((a) => a !== arg).map((a) => a.getText());
    return settledAt(arg, others) ? arg.getText() : null;
  };
}

/** `name` is assigned (or updated) somewhere in `scope`. */
function assigns(scope: Node, name: string): boolean {
  return scope.getDescendants().some((n) => {
    if (Node.isBinaryExpression(n)) return n.getOperatorToken().getKind() >= SyntaxKind.FirstAssignment && n.getOperatorToken().getKind() <= SyntaxKind.LastAssignment && n.getLeft().getText() === name;
    if (Node.isPrefixUnaryExpression(n) || Node.isPostfixUnaryExpression(n)) return [SyntaxKind.PlusPlusToken, SyntaxKind.MinusMinusToken].includes(n.getOperatorToken()) && n.getOperand().getText() === name;
    return false;
  });
}

/**
 * `e` has the same value after the drain as at the call: built of literals, operators and reads of
 * the caller's parameters and consts that the caller never assigns and hands to nothing else in the
 * call (`others`), so the drain cannot reach them.
 */
export function settledAt(e: Node, others: string[]): boolean {
  if (Node.isNumericLiteral(e) || Node.isStringLiteral(e) || e.getKind() === SyntaxKind.NullKeyword) return true;
  if (Node.isParenthesizedExpression(e)) return settledAt(e.getExpression(), others);
  if (Node.isPrefixUnaryExpression(e)) return [SyntaxKind.MinusToken, SyntaxKind.PlusToken, SyntaxKind.ExclamationToken].includes(e.getOperatorToken()) && settledAt(e.getOperand(), others);
  if (Node.isConditionalExpression(e)) return [e.getCondition(), e.getWhenTrue(), e.getWhenFalse()].every((x) => settledAt(x, others));
  if (Node.isBinaryExpression(e)) {
    const op = e.getOperatorToken().getKind();
    if (op >= SyntaxKind.FirstAssignment && op <= SyntaxKind.LastAssignment) return false;
    return settledAt(e.getLeft(), others) && settledAt(e.getRight(), others);
  }
  if (Node.isPropertyAccessExpression(e)) return settledAt(e.getExpression(), others);
  if (Node.isElementAccessExpression(e)) return settledAt(e.getExpression(), others) && settledAt(e.getArgumentExpressionOrThrow(), others);
  if (!Node.isIdentifier(e)) return false;
  if (e.getText() === 'undefined') return true;
  if (others.includes(e.getText())) return false;
  const decl = e.getSymbol()?.getDeclarations()[0];
  if (!decl) return false;
  const fn = decl.getFirstAncestor((a) => Node.isArrowFunction(a) || Node.isFunctionExpression(a) || Node.isMethodDeclaration(a));
  if (!fn || !e.getAncestors().includes(fn) || assigns(fn, e.getText())) return false;
  if (Node.isParameterDeclaration(decl)) return decl.getParent() === fn;
  return Node.isVariableDeclaration(decl) && decl.getVariableStatement()?.getDeclarationKind() === 'const';
}

/** `this.name(...)` or `void this.name(...)` as a whole expression statement, or as an arrow function's whole body (`() => this.close(1)`): that statement, or that body. */
function callStatement(ctx: TsRewriteContext, use: Node, name: string): Node | null {
  const access = use.getParent();
  if (!access || !Node.isPropertyAccessExpression(access) || thisMember(access) !== name) return null;
  const call = access.getParent();
  if (!Node.isCallExpression(call) || (call as CallExpression).getExpression() !== access) return null;
  let expr: Node = call;
  if (Node.isVoidExpression(expr.getParent())) expr = expr.getParent()!;
  const st = expr.getParent();
  if (st && Node.isArrowFunction(st) && st.getBody() === expr) return expr;
  return st && Node.isExpressionStatement(st) && st.getExpression() === expr ? st : null;
}

/**
 * Inside a listener of the process's 'message' event: the function given to `process.on('message', fn)`
 * (or once), an arrow-function field of the agent given there as `this.field`, or a method of the
 * agent only such a listener calls (`process.on('message', (m) => this.onMessage(m))`, its switch on m.type).
 */
export function inMessageHandler(ctx: TsRewriteContext, node: Node, nested = false): boolean {
  const fn = node.getFirstAncestor((a) => Node.isArrowFunction(a) || Node.isFunctionExpression(a) || Node.isMethodDeclaration(a));
  if (!fn) return false;
  if (Node.isMethodDeclaration(fn)) {
    const name = fn.getName();
    if (nested || fn.getParent() !== ctx.cls || fn.isStatic() || ctx.outsideCallers(name).length > 0) return false;
    const uses = usesOf(ctx, name, 'member').filter((u) => !ctx.edits.removes(u.getStart(), u.getEnd()));
    return uses.length > 0 && uses.every((u) => givenAsListener(ctx, u.getParent()!) || (calledHere(u, name) && inMessageHandler(ctx, u, true)));
  }
  return givenAsListener(ctx, fn) || (fieldOf(fn) !== null && ctx.cls.getDescendantsOfKind(SyntaxKind.PropertyAccessExpression).some((a) => thisMember(a) === fieldOf(fn) && givenAsListener(ctx, a)));
}

/** `fn` (a function, `this.m`, `this.m.bind(this)`) is the listener of a kept `process.on('message', fn)`. */
function givenAsListener(ctx: TsRewriteContext, fn: Node): boolean {
  const arg = Node.isPropertyAccessExpression(fn.getParent()) && (fn.getParent() as import('ts-morph').PropertyAccessExpression).getName() === 'bind' ? fn.getParent()!.getParent()! : fn;
  const call = arg.getParent();
  if (!call || !Node.isCallExpression(call) || call.getArguments()[1] !== arg) return false;
  if (!/^process\.(on|once|addListener)$/.test(calleeText(call)) || ctx.edits.removes(call.getStart(), call.getEnd())) return false;
  const event = call.getArguments()[0];
  return !!event && Node.isStringLiteral(event) && event.getLiteralText() === 'message';
}

/** `this.name(...)`: use is the name of a call of the method. */
function calledHere(use: Node, name: string): boolean {
  const access = use.getParent();
  return !!access && Node.isPropertyAccessExpression(access) && thisMember(access) === name && Node.isCallExpression(access.getParent()) && (access.getParent() as CallExpression).getExpression() === access;
}

/** The field an arrow function initialises (`private onMessage = (m) => ...`), if it does. */
function fieldOf(fn: Node): string | null {
  const p = fn.getParent();
  return p && Node.isPropertyDeclaration(p) && p.getInitializer() === fn ? p.getName() : null;
}
