// A kept method whose every statement the rewrite removed: it only drove the agent's own loop or
// servers (`pause() { this.running = false; }`, `resume() { this.running = true; void this.loop(); }`),
// which the base now runs. Left declared it does nothing, silently: a caller that paused the
// loop no longer does. With no caller left (in the class or, for a public method, in another file
// of the repository) it goes; a caller keeps it for a person, who decides what that caller means
// now (the base's loop ends only with stop()).
import { Node, SyntaxKind } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { callerList, isPublicMember } from '../../src/lang/typescript/context.js';
import { descendantsOfKind } from '../../src/lang/typescript/syntax.js';

export function settleEmptiedMethods(ctx: TsRewriteContext, removed: Set<string>): void {
  const hooks = new Set([...ctx.renames.values()]);
  for (const m of ctx.members.values()) {
    if (m.kind !== 'method' || removed.has(m.name) || ctx.renames.has(m.name) || hooks.has(m.name) || ctx.base.members.has(m.name)) continue;
    if (m.nodes.length !== 1 || ctx.kept.some((k) => k.symbol === m.name)) continue;
    const decl = m.nodes[0]!;
    const body = Node.isMethodDeclaration(decl) ? decl.getBody() : undefined;
    if (!body || !Node.isBlock(body) || ctx.edits.removes(decl.getStart(), decl.getEnd())) continue;
    const statements = body.getStatements();
    if (statements.length === 0 || !statements.every((st) => ctx.edits.removes(st.getStart(), st.getEnd()))) continue;
    // Who still calls it: the class's code the rewrite keeps (its own body aside), and other files.
    const inside = descendantsOfKind(ctx.cls, SyntaxKind.PropertyAccessExpression).filter(
      (p) => p.getName() === m.name && p.getExpression().getKind() === SyntaxKind.ThisKeyword && !ctx.edits.removes(p.getStart(), p.getEnd()) && !(decl.getPos() <= p.getPos() && p.getEnd() <= decl.getEnd()),
    );
    const inFile = ctx.entry?.variable
      ? descendantsOfKind(ctx.sf, SyntaxKind.PropertyAccessExpression).filter((p) => p.getName() === m.name && p.getExpression().getText() === ctx.entry!.variable && !ctx.edits.removes(p.getStart(), p.getEnd()))
      : [];
    const outside = isPublicMember(ctx, m.name) ? ctx.outsideCallers(m.name) : [];
    const first = statements[0]!.getText().split('\n')[0]!;
    if (inside.length === 0 && inFile.length === 0 && outside.length === 0) {
      ctx.edits.removeNode(decl);
      ctx.removedExtra.push(m.name);
      ctx.warnings.push(`${m.name}() only drove what the base now runs (line ${statements[0]!.getStartLineNumber()}: ${first}) and nothing calls it: removed with its whole body`);
      continue;
    }
    const where = [...[...inside, ...inFile].map((p) => `line ${p.getStartLineNumber()}`), ...(outside.length ? [callerList(outside)] : [])].join(', ');
    ctx.kept.push({
      symbol: m.name,
      line: decl.getStartLineNumber(),
      reason: `${m.name}()'s whole body (line ${statements[0]!.getStartLineNumber()}: ${first}) drove the agent's own loop or servers, which the base now runs: it does nothing now and is still called (${where}); the base's loop ends only with stop(): decide what those callers mean now`,
    });
  }
}
