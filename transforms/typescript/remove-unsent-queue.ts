// Concern `queue`: in-memory queues of unsent messages (`pending: Msg[] = []` filled when a
// send fails, drained by a flush method). Such a queue goes only when nothing kept fills or
// reads it (e.g. it buffered registrations or metric pushes that the base now makes); a queue
// of business messages is kept and reported, never silently dropped.
import { Node, SyntaxKind, type CallExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { methodBody } from '../../src/lang/typescript/context.js';
import { DRAIN_NAME, QUEUE_NAME } from '../../src/lang/typescript/patterns.js';
import { descendantsOfKind, calleeText, thisMember, thisMembers } from '../../src/lang/typescript/syntax.js';

export function removeUnsentQueue(ctx: TsRewriteContext): void {
  const queues: string[] = [];
  for (const m of ctx.members.values()) {
    if (m.kind !== 'property' || !QUEUE_NAME.test(m.name)) continue;
    const decl = m.nodes[0]!;
    const init = Node.isPropertyDeclaration(decl) ? decl.getInitializer() : undefined;
    const typeText = Node.isPropertyDeclaration(decl) ? decl.getTypeNode()?.getText() ?? '' : '';
    const isArray = (init && (Node.isArrayLiteralExpression(init) || /^new (Array|Map|Set)\b/.test(init.getText()))) || /\[\]$|^Array</.test(typeText);
    if (!isArray || filledOnWorkPath(ctx, m.name)) continue;
    queues.push(m.name);
    ctx.plan.proposeMember({
      name: m.name,
      finding: 'queue',
      reason: `${m.name} is an in-memory queue of unsent messages`,
      sticky: true,
      hint: 'the messages it holds are business data: deliver them or keep the queue deliberately',
    });
  }
  for (const m of ctx.members.values()) {
    if (m.kind !== 'method' || !DRAIN_NAME.test(m.name)) continue;
    const body = methodBody(ctx, m.name);
    if (!body) continue;
    const drained = queues.filter((q) => thisMembers(body).has(q));
    if (drained.length === 0) continue;
    ctx.plan.proposeMember({
      name: m.name,
      finding: 'queue',
      reason: `${m.name}() drains ${drained.join(', ')}`,
      condition: (removed) => (drained.every((q) => removed.has(q)) ? null : `${m.name}() drains ${drained.filter((q) => !removed.has(q)).join(', ')}, which stays`),
    });
  }
}

/**
 * A queue the agent fills on its normal path (`this.backlog.push(job)` as it scans) is a work
 * queue its own code consumes, not messages left over from failed sends: those are filled only
 * where a send failed (a catch block, a `.catch()` callback, an 'error' listener).
 */
function filledOnWorkPath(ctx: TsRewriteContext, name: string): boolean {
  for (const call of descendantsOfKind(ctx.cls, SyntaxKind.CallExpression)) {
    const e = call.getExpression();
    // (A Map or Set of queues is filled with set() / add(): `this.queues.set(printer, queue)`.)
    if (!Node.isPropertyAccessExpression(e) || !/^(push|unshift|set|add)$/.test(e.getName()) || thisMember(e.getExpression()) !== name) continue;
    if (!onErrorPath(call)) return true;
  }
  return false;
}

function onErrorPath(n: Node): boolean {
  return !!n.getFirstAncestor((a) => {
    if (Node.isCatchClause(a)) return true;
    if (!(Node.isArrowFunction(a) || Node.isFunctionExpression(a))) return false;
    const call = a.getParent();
    if (!call || !Node.isCallExpression(call)) return false;
    const fn = calleeText(call as CallExpression);
    if (/\.catch$/.test(fn)) return true;
    const first = call.getArguments()[0];
    return /\.(on|once)$/.test(fn) && !!first && /^['"`]error['"`]$/.test(first.getText());
  });
}
