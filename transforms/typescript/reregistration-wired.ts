// Concern: a registration method that a kept heartbeat also calls to register the agent again once the
// registry has forgotten it (its heartbeat answered 404 after a registry restart), on a base that can be
// asked to register again (BaseModel.registerOnceMethod: registerOnce(), one request of the base's record).
// The method goes like any registration the base makes (its call at start with it); each re-registration
// call is re-spelled onto the base's, so the restarted registry lists the agent again, under the record the
// base registered at start, and the base's stop() deregisters it. Without such a base, or for a call that is
// not a plain statement, the method stays for review (reregistration-kept.ts).
import { Node, type CallExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';

/**
 * Wires `calls` (`await this.register();` in a kept heartbeat) to the base's registerOnce() once `method`
 * goes; false when it cannot be (no such base method, the agent has a member of that name, the method takes
 * parameters, or a call is not a statement of its own: awaited, voided or bare), and the caller keeps it.
 */
export function wireReregistration(ctx: TsRewriteContext, method: string, calls: Array<{ caller: string; line: number; call: CallExpression }>): boolean {
  const again = ctx.base.registerOnceMethod;
  if (!again || ctx.members.has(again)) return false;
  const decl = ctx.members.get(method)?.nodes.find((n) => Node.isMethodDeclaration(n));
  if (!decl || !Node.isMethodDeclaration(decl) || decl.getParameters().length > 0) return false;
  const statement = (call: CallExpression) => {
    let n: Node = call;
    for (;;) {
      const p = n.getParentOrThrow();
      if (Node.isAwaitExpression(p) || Node.isVoidExpression(p) || Node.isParenthesizedExpression(p)) n = p;
      // (`this.register().catch((err) => log(err))`: the chain stays on the base's promise)
      else if (Node.isPropertyAccessExpression(p) && /^(then|catch|finally)$/.test(p.getName())) {
        const chained = p.getParentOrThrow();
        if (!Node.isCallExpression(chained) || chained.getExpression() !== p) break;
        n = chained;
      } else break;
    }
    return Node.isExpressionStatement(n.getParentOrThrow());
  };
  if (!calls.every((c) => c.call.getArguments().length === 0 && statement(c.call))) return false;
  // registerOnce() rejects when the registry does not take it; a legacy registration that caught and logged its
  // own failures, called bare or voided outside any try, would drop that failure unsaid (the base keeps its own
  // handler on the promise, so not even an unhandled rejection shows): such a call gets a .catch() that logs.
  const unhandled = calls.filter((c) => !handledRejection(c.call));
  if (unhandled.some((c) => chainedThen(c.call))) return false;
  // (uses there are not uses of the method, and their statements stay: RemovalPlan.rewritten)
  for (const { call } of calls) ctx.plan.rewritten.push([call.getExpression().getStart(), call.getExpression().getEnd()]);
  ctx.after.push((removed) => {
    if (!removed.has(method)) return;
    for (const { call } of calls) {
      const guard = unhandled.some((c) => c.call === call) ? `.catch((err) => this.logger.warn(\`re-registration failed: \${err}\`))` : '';
      if (guard) ctx.edits.replace(call.getStart(), call.getEnd(), `this.${again}()${guard}`);
      else ctx.edits.replace(call.getExpression().getStart(), call.getExpression().getEnd(), `this.${again}`);
    }
    const where = calls.map((c) => `${c.caller}() (line ${c.line})`).join(', ');
    const record = ctx.base.registrationRecordMethod;
    ctx.warnings.push(
      `${method}() went with its call at start (the base registers there); ${where} registered the agent again with it once the registry had forgotten it: ` +
        `${calls.length > 1 ? 'they call' : 'it calls'} ${ctx.base.className}.${again}() now, which sends the base's record${record ? ` (${record}())` : ''}, ` +
        `rejects when the registry does not take it, and is deregistered by the base's stop()` +
        (unhandled.length ? `; a rejection nothing caught there is logged as a warning (.catch()), as the legacy's own catch logged it, not dropped unsaid` : ''),
    );
  });
  return true;
}

/**
 * Does the call's statement or its caller catch a rejection: a `.catch()` (or a `.then()` with a second
 * handler) on it, or a try with a catch around it that it is awaited in (a voided or bare call's rejection
 * escapes the try)?
 */
function handledRejection(call: CallExpression): boolean {
  let awaited = false;
  for (let n: Node = call; ; ) {
    const p = n.getParent();
    if (!p || Node.isFunctionLikeDeclaration(p) || Node.isArrowFunction(p) || Node.isFunctionExpression(p)) return false;
    if (Node.isPropertyAccessExpression(p) && p.getExpression() === n) {
      const chained = p.getParent();
      if (Node.isCallExpression(chained) && (p.getName() === 'catch' || (p.getName() === 'then' && chained.getArguments().length > 1))) return true;
    }
    if (Node.isAwaitExpression(p)) awaited = true;
    if (Node.isTryStatement(p) && p.getCatchClause() && n === p.getTryBlock()) return awaited;
    n = p;
  }
}

/** A `.then()` chained on the call (with no rejection handler): a .catch() would have to go after it. */
function chainedThen(call: CallExpression): boolean {
  const p = call.getParent();
  return !!p && Node.isPropertyAccessExpression(p) && p.getName() === 'then';
}
