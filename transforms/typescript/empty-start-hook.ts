// The onStart() hook left with nothing in it: the legacy start() (or an old base's init hook) only
// started what the base now starts (health server, registration, the timer that is runOnce()), so
// every statement went and the renamed method is an empty override. The base's own onStart() is
// empty too, and the class extends the base itself (not a family parent whose onStart() does
// work), so the base's start() does the same without it: it goes. It stays when anything still
// names it (a call in the class, code the rewrite writes, another file calling onStart()), when
// a comment is left in it, or when it has decorators or overloads.
import { Node } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { usesOf } from '../../src/lang/typescript/context.js';

const HOOK = 'onStart';

export function dropEmptiedStartHook(ctx: TsRewriteContext): void {
  if (!['none', 'event-emitter', 'old-base'].includes(ctx.parent.kind)) return;
  if (!ctx.base.members.get(HOOK)?.empty || ctx.newMembers.some((m) => m.name === HOOK)) return;
  const from = [...ctx.renames].find(([, to]) => to === HOOK)?.[0] ?? (ctx.members.get(HOOK)?.kind === 'method' ? HOOK : null);
  const member = from ? ctx.members.get(from) : undefined;
  if (!from || !member || member.nodes.length !== 1) return;
  const decl = member.nodes[0]!;
  if (!Node.isMethodDeclaration(decl) || decl.getDecorators().length > 0 || ctx.edits.removes(decl.getStart(), decl.getEnd())) return;
  const body = decl.getBody();
  if (!body || !Node.isBlock(body) || body.getStatements().length === 0) return;
  if (ctx.edits.textOf(body.getStart(), body.getEnd()).replace(/[\s{}]/g, '') !== '') return;
  // Still named: a call the class keeps (`this.onStart()` after an old hook's rename), not the entry's start call.
  const entryCall = ctx.entry?.methodNameNode;
  if (usesOf(ctx, from, 'member').some((u) => u !== entryCall && !ctx.edits.removes(u.getStart(), u.getEnd()))) return;
  if (/\.onStart\b/.test(ctx.edits.writtenText())) return;
  if (ctx.outsideCallers(HOOK).length > 0 || (!ctx.base.members.has(from) && ctx.outsideCallers(from).length > 0)) return;
  ctx.edits.removeNode(decl);
  ctx.removedExtra.push(from);
  ctx.warnings.push(
    `${from}() only started what the base now starts (line ${body.getStatements()[0]!.getStartLineNumber()}: ${body.getStatements()[0]!.getText().split('\n')[0]}): ` +
      `the ${HOOK}() hook it became is empty and goes (the base's ${HOOK}() does nothing, and its start() serves health, registers and runs the loop)`,
  );
}
