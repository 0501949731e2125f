// An EventEmitter agent whose stop method announces it has stopped (`this.emit('close')` at its end)
// and whose entry point ends the process in a listener of that event (`agent.once('close', () => {
// log('closed'); process.exit(0); })`, the signal handler only calling close()). Once that method is
// the base's onStop(), the emit happens inside the base's stop(), before it deregisters: the
// listener's exit cut the stop short and left the agent in the registry. The base exits itself once
// stopped, with process.exitCode, so the listener keeps its other statements and loses the exit
// (a non-zero code becomes process.exitCode, which the base's exit keeps).
import { Node, SyntaxKind } from 'ts-morph';
import type { CallExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { calleeText, descendantsOfKind, statementCall, thisMember } from '../../src/lang/typescript/syntax.js';
import { stopPathMethods } from './entrypoint.js';

const LISTEN = /^(on|once|addListener|prependListener|prependOnceListener)$/;

export function dropStopEventExits(ctx: TsRewriteContext): void {
  if (ctx.base.exitLine === null) return;
  const stopPath = stopPathMethods(ctx);
  const bodies = (name: string) => (ctx.members.get(name)?.nodes ?? []).filter((d) => Node.isMethodDeclaration(d) && d.hasBody());
  // The events the stop path emits, and which methods emit them.
  const events = new Map<string, string>();
  for (const name of stopPath) {
    for (const d of bodies(name)) {
      for (const call of descendantsOfKind(d, SyntaxKind.CallExpression)) {
        const event = call.getArguments()[0];
        if (calleeText(call) !== 'this.emit' || !event || !Node.isStringLiteral(event) || ctx.edits.removes(call.getStart(), call.getEnd())) continue;
        events.set(event.getLiteralValue(), name);
      }
    }
  }
  if (events.size === 0) return;
  const agentVar = ctx.entry?.variable ?? null;
  const isAgent = (e: Node) => Node.isThisExpression(e) || (agentVar !== null && Node.isIdentifier(e) && e.getText() === agentVar);
  // A call of an emitting method from outside the stop path (a fatal-error path calling close() to
  // end the process) still needs the listener's exit: it stays, as a review item.
  const emitters = new Set(events.values());
  const calledElsewhere = descendantsOfKind(ctx.sf, SyntaxKind.CallExpression).some((c) => {
    const callee = c.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || !emitters.has(callee.getName()) || !isAgent(callee.getExpression())) return false;
    if (ctx.edits.removes(c.getStart(), c.getEnd())) return false;
    const method = agentMethod(ctx, c);
    return method === null || !stopPath.has(method);
  });
  for (const call of descendantsOfKind(ctx.sf, SyntaxKind.CallExpression)) {
    const callee = call.getExpression();
    const [event, handler] = call.getArguments();
    if (!Node.isPropertyAccessExpression(callee) || !LISTEN.test(callee.getName()) || !isAgent(callee.getExpression())) continue;
    if (!event || !Node.isStringLiteral(event) || !events.has(event.getLiteralValue()) || ctx.edits.removes(call.getStart(), call.getEnd())) continue;
    if (!handler || !(Node.isArrowFunction(handler) || Node.isFunctionExpression(handler))) continue;
    if (calledElsewhere) keepListenerExit(ctx, call, handler, event.getLiteralValue(), events.get(event.getLiteralValue())!);
    else dropListenerExit(ctx, call, handler, event.getLiteralValue(), events.get(event.getLiteralValue())!);
  }
}

/**
 * The emitting method is also called outside the stop path (a fatal error closing the agent), where
 * the exit is how the process ends: it cannot simply go, and left, every SIGTERM ends the process
 * inside the base's stop() before it deregisters, so the output could only fail validation.
 */
function keepListenerExit(ctx: TsRewriteContext, call: CallExpression, handler: Node, event: string, method: string): void {
  if (!descendantsOfKind(handler, SyntaxKind.CallExpression).some((c) => calleeText(c) === 'process.exit')) return;
  const line = call.getStartLineNumber();
  const item = {
    symbol: `${call.getExpression().getText()}('${event}')`,
    line,
    reason:
      `the '${event}' listener (line ${line}) ends the process when ${method}() emits '${event}'; ${method}() is now on the base's stop path, so on SIGTERM that exit runs inside the base's stop() ` +
      `before it deregisters, and ${method}() is also called outside it (where the exit is how the process ends): stop the agent there through the base (await this.stop(), then exit), then drop the listener's exit`,
  };
  ctx.kept.push(item);
  ctx.unstartable ??= { ...item, because: `and on SIGTERM the '${event}' listener's exit (line ${line}) ends the process before the base has deregistered` };
}

function dropListenerExit(ctx: TsRewriteContext, call: CallExpression, handler: Node & { getBody(): Node | undefined }, event: string, method: string): void {
  const line = call.getStartLineNumber();
  const exits = descendantsOfKind(handler, SyntaxKind.CallExpression).filter((c) => calleeText(c) === 'process.exit');
  if (exits.length === 0) return;
  const body = handler.getBody();
  const statement = call.getParentIfKind(SyntaxKind.ExpressionStatement);
  const hook = ctx.renames.get(method) === 'onStop' ? `${method}(), now the base's onStop(),` : `${method}() (on the base's stop path)`;
  const why = `the '${event}' listener (line ${line}) ended the process when ${hook} emitted '${event}', before the base had deregistered and closed its servers`;
  // Only exits that are statements of the listener itself can go without changing what else it does.
  const top = Node.isBlock(body) ? body.getStatements().filter((s) => exits.some((e) => statementCall(s) === e)) : [];
  const whole = !Node.isBlock(body) && exits.length === 1 && exits[0] === body;
  if (!whole && top.length !== exits.length) {
    ctx.kept.push({ symbol: `${call.getExpression().getText()}('${event}')`, line, reason: `${why}: its exit is inside other code of the listener; end it without process.exit() (the base exits once stopped, with process.exitCode)` });
    return;
  }
  const code = (e: CallExpression) => e.getArguments()[0]?.getText().trim() ?? '0';
  const codes = exits.map(code).filter((c) => c !== '0');
  const rest = Node.isBlock(body) ? body.getStatements().filter((s) => !top.includes(s)) : [];
  if (rest.length === 0 && codes.length === 0 && statement) {
    ctx.edits.removeNode(statement);
  } else if (whole) {
    ctx.edits.replace(exits[0]!.getStart(), exits[0]!.getEnd(), codes.length ? `{ process.exitCode = ${codes[0]}; }` : '{}');
  } else {
    for (const s of top) {
      const c = code(statementCall(s)!);
      if (c === '0') ctx.edits.removeNode(s);
      else ctx.edits.replace(s.getStart(), s.getEnd(), `process.exitCode = ${c};`);
    }
  }
  ctx.warnings.push(`${why}: the exit is gone${codes.length ? ` (process.exitCode = ${codes.join(', ')} in its place, which the base's exit keeps)` : ''} and the base exits once it has stopped${rest.length ? `; the listener's other statements stay` : ''}`);
}

/** The name of the agent's method `n` is in, or null outside the class. */
function agentMethod(ctx: TsRewriteContext, n: Node): string | null {
  const m = n.getFirstAncestor((a) => Node.isMethodDeclaration(a) && a.getParent() === ctx.cls);
  return m && Node.isMethodDeclaration(m) ? m.getName() : null;
}
