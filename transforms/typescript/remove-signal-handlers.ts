// Concern `signal`: `process.on('SIGTERM' | 'SIGINT', ...)` handlers in the agent and its entry
// point. The base installs its own and calls stop() → onStop(). The method a handler called
// goes too when it is pure infrastructure; when it still does business cleanup it stays and
// the base's onStop() hook is made to call it, so SIGTERM still runs it.
import { Node, SyntaxKind } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { signalStatements } from '../../src/lang/typescript/patterns.js';
import { isAsyncMethod } from './remove-interval-loop.js';
import { methodText } from '../../src/lang/typescript/generate.js';
import { calleeText, signalHandlerCall, statementCall, thisMember, thisRoot } from '../../src/lang/typescript/syntax.js';
import { methodBody, usesOf } from '../../src/lang/typescript/context.js';

export function removeSignalHandlers(ctx: TsRewriteContext): void {
  const roots: Node[] = [ctx.cls];
  if (ctx.entry) roots.push(ctx.entry.container);
  const agentVar = ctx.entry?.variable ?? null;
  const targets = new Set<string>();
  // The arguments each target was called with by the handler (for the onStop() delegate).
  const argsOf = new Map<string, string>();
  for (const root of roots) {
    for (const stmt of signalStatements(root)) {
      if (root !== ctx.cls && ctx.cls.getPos() <= stmt.getPos() && stmt.getEnd() <= ctx.cls.getEnd()) continue;
      const sig = signalHandlerCall(stmt)!;
      const handler = sig.call.getArguments()[1];
      // The agent methods the handler calls: this.x() inside the class, agent.x() in the entry point.
      handler?.forEachDescendantAsArray().forEach((n) => {
        if (Node.isPropertyAccessExpression(n)) {
          const viaThis = thisMember(n);
          const name = viaThis ?? (agentVar && n.getExpression().getText() === agentVar ? n.getName() : null);
          if (!name) return;
          targets.add(name);
          const call = n.getParent();
          if (Node.isCallExpression(call) && call.getExpression() === n && !argsOf.has(name)) {
            argsOf.set(name, call.getArguments().map((a) => a.getText()).join(', '));
          }
        }
      });
      if (handler && (Node.isPropertyAccessExpression(handler) || Node.isCallExpression(handler))) {
        const m = thisMember(Node.isCallExpression(handler) ? handler.getExpression() : handler);
        if (m) targets.add(m);
      }
      const foreign = handler ? foreignWork(handler, agentVar) : null;
      if (foreign) {
        // The handler does more than stop this agent: dropping it would lose that work.
        ctx.kept.push({
          symbol: `process.on('${sig.signals[0]}')`,
          line: stmt.getStartLineNumber(),
          reason: `the ${sig.signals[0]} handler also does other work (${foreign}); fold it into onStop() by hand`,
        });
        continue;
      }
      ctx.plan.proposeStatement({ node: stmt, symbol: `process.on('${sig.signals[0]}')`, finding: 'signal', reason: 'the base handles SIGTERM/SIGINT' });
    }
  }
  for (const t of targets) {
    const member = ctx.members.get(t);
    if (!member || member.kind !== 'method' || t === 'run') continue;
    ctx.plan.proposeMember({
      name: t,
      finding: 'signal',
      reason: `${t}() was the signal handler; the base stops the agent`,
      condition: (removed) => (ctx.isInfraMethod(t, removed, []) ? null : `${t}() does business cleanup besides stopping`),
      quiet: true,
      delegate: 'stop',
    });
    ctx.after.push((removed) => {
      if (removed.has(t) || ctx.renames.has(t)) return;
      if (t === 'stop' || t === 'onStop') {
        // Its callers now reach it through the base's stop() → onStop().
        if (t === 'stop') ctx.renameMember('stop', 'onStop', "stop() was the SIGTERM handler and still does work: renamed to the base's onStop() hook (the base's stop() calls it)");
        dropExit(ctx, t);
        return;
      }
      dropExit(ctx, t);
      if (ctx.newMembers.some((m) => m.name === 'onStop') || ctx.members.has('onStop')) return;
      const awaited = isAsyncMethod(ctx, t);
      ctx.newMembers.push({
        name: 'onStop',
        text: methodText(ctx, { name: 'onStop', async: awaited, body: `${ctx.unit}${awaited ? 'await ' : ''}this.${t}(${argsOf.get(t) ?? ''});` }),
      });
      ctx.warnings.push(`${t}() still does business cleanup: the base's onStop() now calls it on SIGTERM`);
    });
  }
}

/**
 * `process.exit()` in a stop method that only SIGTERM reached: inside onStop() it would end the
 * process before the base deregisters and closes its servers (the base exits after that itself).
 * A method something else still calls keeps its exit.
 */
function dropExit(ctx: TsRewriteContext, name: string): void {
  const body = methodBody(ctx, name);
  if (!body || !Node.isBlock(body)) return;
  const live = usesOf(ctx, name, 'member').filter((u) => !ctx.edits.removes(u.getStart(), u.getEnd()));
  if (live.length > 0 || ctx.outsideCallers(name).length > 0) return;
  for (const s of body.getStatements()) {
    const call = statementCall(s);
    if (!call || calleeText(call) !== 'process.exit') continue;
    ctx.edits.removeNode(s);
    ctx.warnings.push(`process.exit() in ${name}() dropped (line ${s.getStartLineNumber()}): the base exits once it has deregistered and closed its servers`);
  }
}

/** A call in the handler that is not about this agent (stopping, logging, exiting), or null. */
function foreignWork(handler: Node, agentVar: string | null): string | null {
  if (Node.isIdentifier(handler)) return `${handler.getText()}()`;
  const calls = Node.isCallExpression(handler) ? [handler] : handler.getDescendantsOfKind(SyntaxKind.CallExpression);
  for (const c of calls) {
    const fn = calleeText(c);
    if (/^(process\.exit|clearInterval|clearTimeout|console\.\w+)$/.test(fn)) continue;
    if (/^this\./.test(fn) || thisRoot(c.getExpression()) || (agentVar && fn.startsWith(`${agentVar}.`))) continue;
    // A call on the result of an agent call (`agent.stop().then(...)`) is about the agent too.
    if (c.getFirstDescendant((d) => Node.isCallExpression(d) && (/^this\./.test(calleeText(d)) || (!!agentVar && calleeText(d).startsWith(`${agentVar}.`))))) continue;
    return fn.length > 40 ? `${fn.slice(0, 37)}...` : fn;
  }
  return null;
}
