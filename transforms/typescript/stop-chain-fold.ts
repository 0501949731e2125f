// A SIGTERM handler that chains business calls on the agent's stop (`svc.stop().then(() => svc.flush())`,
// `await svc.stop(); await svc.flush();`), where stop() becomes the base's onStop() hook by a rename: the hook
// is stop()'s body, so the chained calls go at its end, where the chain ran them (after stop()'s work, and
// skipped when it throws, as a rejected chain skipped them). Found in session 71's second read (class a:
// flush() ran no more on SIGTERM); folded when the chain's order is provable, else remove-signal-handlers
// keeps them for review.
import { Node, SyntaxKind, type Block, type MethodDeclaration } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { isAsyncMethod, returnsPromise } from './remove-interval-loop.js';
import { LITERAL_ARGUMENT } from '../../src/lang/typescript/syntax.js';

/**
 * The signal handler's calls of `lost` methods, when each runs exactly once the renamed stop's promise
 * fulfilled: the expression body of a `.then(() => svc.flush())` chained on `svc.stop()` (or on such a
 * `.then` before it), or an `await svc.flush();` statement right after `await svc.stop();` (or after
 * another such statement) in the handler's own block. Literal arguments only. And the stop is an
 * async method that ends only at its last statement (no `return` of its own): appending the calls there
 * runs them where the chain did, after its work and not after a failure. The stop is called on the same
 * receiver as each call (the agent the handler holds), and its body's statements and closing brace stand
 * on lines of their own (appendToStop writes whole lines). Null when any of it is not so.
 */
export function chainedAfterStop(ctx: TsRewriteContext, stop: string, lost: string[], callsOf: (t: string) => Node[]): Array<{ name: string; args: string; awaited: boolean; line: number }> | null {
  const decls = ctx.members.get(stop)?.nodes ?? [];
  const decl = decls.length === 1 && Node.isMethodDeclaration(decls[0]) ? decls[0] : null;
  const body = decl?.getBody();
  if (!decl || !decl.isAsync() || !body || !Node.isBlock(body) || body.getStatements().length === 0) return null;
  if (!ownLines(ctx, body)) return null;
  const ownReturns = body.getDescendantsOfKind(SyntaxKind.ReturnStatement).filter((r) => r.getFirstAncestor((f) => Node.isFunctionLikeDeclaration(f) || Node.isArrowFunction(f) || Node.isFunctionExpression(f)) === decl);
  if (ownReturns.length > 0) return null;
  // `svc.stop()` on the receiver the chained call has (`svc.flush()`), literal arguments only.
  const isStopCall = (e: Node | undefined, receiver: string): boolean => {
    while (e && Node.isAwaitExpression(e)) e = e.getExpression();
    if (!e || !Node.isCallExpression(e) || !e.getArguments().every((a) => LITERAL_ARGUMENT.test(a.getText()))) return false;
    const callee = e.getExpression();
    const ok = Node.isPropertyAccessExpression(callee) && callee.getName() === stop && callee.getExpression().getText() === receiver;
    if (ok) chainStops.add(callee);
    return ok;
  };
  const folded = new Set<Node>();
  // The handler's own stop calls the chains hang on (any other caller of stop() must not get their calls).
  const chainStops = new Set<Node>();
  const found: Array<{ name: string; args: string; awaited: boolean; line: number }> = [];
  // What a `.then(...)`'s receiver or a statement before an await must be: the stop, or an earlier fold.
  const afterStop = (e: Node | undefined, receiver: string): boolean => !!e && (isStopCall(e, receiver) || folded.has(e));
  const calls = lost.flatMap((t) => callsOf(t).map((c) => ({ t, c: c.getParent() as Node }))).sort((a, b) => a.c.getStart() - b.c.getStart());
  for (const { t, c } of calls) {
    if (!Node.isCallExpression(c) || !c.getArguments().every((a) => LITERAL_ARGUMENT.test(a.getText()))) return null;
    const args = c.getArguments().map((a) => a.getText()).join(', ');
    const callee = c.getExpression();
    if (!Node.isPropertyAccessExpression(callee)) return null;
    const receiver = callee.getExpression().getText();
    const parent = c.getParent();
    if (parent && Node.isArrowFunction(parent) && parent.getBody() === c && parent.getParameters().length === 0) {
      const then = parent.getParent();
      const access = then && Node.isCallExpression(then) ? then.getExpression() : null;
      if (!then || !Node.isCallExpression(then) || then.getArguments().length !== 1 || !access || !Node.isPropertyAccessExpression(access) || access.getName() !== 'then') return null;
      if (!afterStop(access.getExpression(), receiver)) return null;
      folded.add(then);
    } else if (parent && Node.isAwaitExpression(parent) && Node.isExpressionStatement(parent.getParent())) {
      const stmt = parent.getParent()!;
      const before = stmt.getPreviousSibling();
      if (!before || !Node.isExpressionStatement(before) || !Node.isBlock(stmt.getParent())) return null;
      const prev = before.getExpression();
      if (!(Node.isAwaitExpression(prev) && isStopCall(prev, receiver)) && !folded.has(before)) return null;
      folded.add(stmt);
    } else return null;
    // Awaited when the chain waited for it: an async method, or one whose inferred return is a promise.
    found.push({ name: t, args, awaited: isAsyncMethod(ctx, t) || returnsPromise(ctx, t), line: c.getStartLineNumber() });
  }
  if (found.length !== lost.length) return null;
  // Another caller of stop() (`reload() { await this.stop(); this.start(); }`, a SIGHUP handler) reaches the
  // base's stop() and with it onStop(): it would run the appended calls too, which its legacy stop() did not.
  const others = decl.getSourceFile().getDescendantsOfKind(SyntaxKind.PropertyAccessExpression).filter((a) => a.getName() === stop && !chainStops.has(a));
  return others.length === 0 ? found : null;
}

/** Statements written at the end of a method's body, before its closing brace, at its statements' indentation. */
export function appendToStop(ctx: TsRewriteContext, name: string, statements: string[]): void {
  const decl = ctx.members.get(name)!.nodes[0] as MethodDeclaration;
  const body = decl.getBody() as Block;
  const first = body.getStatements()[0]!;
  const lineOf = (pos: number) => ctx.text.lastIndexOf('\n', pos - 1) + 1;
  const indent = ctx.text.slice(lineOf(first.getStart()), first.getStart());
  const close = body.getEnd() - 1;
  const closeLine = lineOf(close);
  const text = statements.map((st) => `${indent}${st}\n`).join('');
  // (At the closing line's start, inside a try/catch the failure exits wrap the body in later: the chain's
  // rejection handler caught a failing call too.)
  ctx.edits.insertAtBlockEnd(closeLine, text);
}

/** The block's first statement starts its line and its closing brace stands alone on its line (not `{ a(); b(); }`). */
function ownLines(ctx: TsRewriteContext, body: Block): boolean {
  const lineOf = (pos: number) => ctx.text.lastIndexOf('\n', pos - 1) + 1;
  const first = body.getStatements()[0]!.getStart();
  const close = body.getEnd() - 1;
  return ctx.text.slice(lineOf(first), first).trim() === '' && ctx.text.slice(lineOf(close), close).trim() === '';
}
