// Concern `stop`: an agent's own `async stop() { await super.stop(); ...then its own cleanup }`,
// kept beside the base's stop() (a family subclass whose parent's stop() is now the base's, say).
// As an override it runs its tail a second time when the base's run() stops the agent after a
// signal already did, and it asked a person to check the super call. It becomes the onStop() hook
// the base's stop() calls once: `await super.onStop()` (the parent's cleanup, if it has one) and
// then its own statements, before the base closes its servers and deregisters.
import { Node, SyntaxKind } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { descendantsOfKind } from '../../src/lang/typescript/syntax.js';

/** True when the `stop` member was made the base's onStop() hook. */
export function stopAfterSuperAsOnStop(ctx: TsRewriteContext, name: string, nodes: Node[]): boolean {
  const hook = ctx.base.members.get('onStop');
  if (name !== 'stop' || !hook?.hook || ctx.members.has('onStop') || ctx.newMembers.some((m) => m.name === 'onStop') || [...ctx.renames.values()].includes('onStop')) return false;
  const decl = nodes.length === 1 ? nodes[0]! : undefined;
  if (!decl || !Node.isMethodDeclaration(decl) || !decl.isAsync() || decl.getParameters().length > 0 || decl.isStatic()) return false;
  const first = decl.getBody() && Node.isBlock(decl.getBody()!) ? decl.getStatements()[0] : undefined;
  const awaited = first && Node.isExpressionStatement(first) ? first.getExpression() : undefined;
  const call = awaited && Node.isAwaitExpression(awaited) ? awaited.getExpression() : undefined;
  if (!call || !Node.isCallExpression(call) || call.getArguments().length > 0) return false;
  const callee = call.getExpression();
  if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== 'stop' || callee.getExpression().getKind() !== SyntaxKind.SuperKeyword) return false;
  // Only that one super call; a stop() that returns a value, or is called through super by others, stays as it is.
  const supers = descendantsOfKind(decl, SyntaxKind.PropertyAccessExpression).filter((p) => p.getExpression().getKind() === SyntaxKind.SuperKeyword);
  if (supers.length !== 1 || decl.getDescendantsOfKind(SyntaxKind.ReturnStatement).some((r) => r.getExpression())) return false;
  ctx.edits.replace(callee.getNameNode().getStart(), callee.getNameNode().getEnd(), 'onStop');
  const nameNode = decl.getNameNode();
  ctx.edits.replace(nameNode.getStart(), nameNode.getEnd(), 'onStop');
  if (!ctx.js && !decl.hasOverrideKeyword()) ctx.edits.insert(decl.getModifiers().find((m) => m.getKind() === SyntaxKind.AsyncKeyword)!.getStart(), 'override ');
  ctx.warnings.push(
    `stop() (line ${decl.getStartLineNumber()}) overrode ${ctx.baseClass}.stop() and went on after super.stop(): it is now the onStop() hook after super.onStop(), which the base's stop() runs once, before it closes its servers and deregisters`,
  );
  return true;
}
