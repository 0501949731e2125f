// onStop() waits for the agent's own loop to finish its round (`this.running = false; await
// this.loopDone;`), and the line after the loop (`console.log('stopped after N merges')`) prints
// once it has: the legacy's SIGTERM handler waited for that as long as it took. The base ends the
// process a fixed grace after SIGTERM (3 s in the reference base) whatever onStop() still waits
// for, so a round longer than that is cut, with the line after the loop and whatever the round had
// left to do. Nothing in the base's API lengthens the grace, and how long a round takes is known
// only where its pauses are spelled out: when the pauses one round takes (in the loop, and in the
// methods it calls) add up to the grace or more, and the stop does not cut them short (no abort
// signal handed to them), it is a review item naming them. A round that may be as long for other
// reasons (a slow fetch) is not provable here and stays quiet.
import { Node, SyntaxKind, type Statement } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { methodBody } from '../../src/lang/typescript/context.js';
import { pauseArgument } from '../../src/lang/typescript/patterns.js';
import { descendantsOfKind, thisMember } from '../../src/lang/typescript/syntax.js';

export function flagStopGraceTail(ctx: TsRewriteContext): void {
  const grace = ctx.base.stopGraceMs;
  if (grace === null || !ctx.base.signals.has('SIGTERM')) return;
  const renamed = [...ctx.renames].find(([, to]) => to === 'onStop')?.[0];
  const onStopText = [...(renamed ? [methodBody(ctx, renamed)?.getText() ?? ''] : []), ...ctx.newMembers.filter((m) => m.name === 'onStop').map((m) => m.text)].join('\n');
  for (const [, field] of onStopText.matchAll(/\bawait\s+this\.([\w$]+)\s*;/g)) {
    const rounds = loopsBehind(ctx, field!);
    for (const { loop, after } of rounds) {
      const pauses = roundPauses(ctx, loop);
      const total = pauses.reduce((n, p) => n + p.ms, 0);
      if (pauses.length === 0 || total < grace) continue;
      const tail = after ? ` and then line ${after.getStartLineNumber()} (${after.getText().split('\n')[0]})` : '';
      ctx.kept.push({
        symbol: `await this.${field}`,
        line: loop.getStartLineNumber(),
        reason:
          `onStop() waits for the loop at line ${loop.getStartLineNumber()} to end its round${tail}, as the legacy's stop did for as long as it took; ` +
          `one round pauses ${total} ms (${pauses.map((p) => `line ${p.line}: ${p.text}`).join('; ')}) and the base ends the process ${grace} ms after SIGTERM whatever onStop() still waits for: ` +
          `a round under way is cut there${after ? ', and that line never prints' : ''}. Shorten the round or end its pauses on this.stopSignal, or accept the cut`,
      });
    }
  }
}

/** The loops a field's promise runs: `this.f = this.loop()` (the method's loops), or `this.f = (async () => { while ... })()`. */
function loopsBehind(ctx: TsRewriteContext, field: string): Array<{ loop: Node; after: Statement | undefined }> {
  const out: Array<{ loop: Node; after: Statement | undefined }> = [];
  for (const b of descendantsOfKind(ctx.cls, SyntaxKind.BinaryExpression)) {
    if (b.getOperatorToken().getKind() !== SyntaxKind.EqualsToken || thisMember(b.getLeft()) !== field || ctx.edits.removes(b.getStart(), b.getEnd())) continue;
    let v: Node = b.getRight();
    while (Node.isAwaitExpression(v) || Node.isParenthesizedExpression(v)) v = v.getExpression();
    if (!Node.isCallExpression(v)) continue;
    let callee: Node = v.getExpression();
    while (Node.isParenthesizedExpression(callee)) callee = callee.getExpression();
    const name = thisMember(callee);
    const body = name ? methodBody(ctx, name) : Node.isArrowFunction(callee) || Node.isFunctionExpression(callee) ? callee.getBody() : undefined;
    if (!body || !Node.isBlock(body)) continue;
    const stmts = body.getStatements();
    stmts.forEach((s, i) => {
      if (Node.isWhileStatement(s) || Node.isDoStatement(s) || Node.isForStatement(s)) out.push({ loop: s, after: stmts.slice(i + 1).find((x) => !ctx.edits.removes(x.getStart(), x.getEnd())) });
    });
  }
  return out;
}

/** The spelled-out pauses one round takes: in the loop, and in the agent's methods it calls (one level). */
function roundPauses(ctx: TsRewriteContext, loop: Node): Array<{ ms: number; line: number; text: string }> {
  const scopes: Node[] = [loop];
  for (const c of descendantsOfKind(loop, SyntaxKind.CallExpression)) {
    const name = thisMember(c.getExpression());
    const body = name ? methodBody(ctx, name) : undefined;
    if (body && !scopes.includes(body)) scopes.push(body);
  }
  const out: Array<{ ms: number; line: number; text: string }> = [];
  for (const scope of scopes) {
    for (const st of descendantsOfKind(scope, SyntaxKind.ExpressionStatement)) {
      const arg = pauseArgument(st);
      // A pause handed a signal may be the one the stop aborts: no fixed length then.
      if (!arg || /\bsignal\b/i.test(st.getText())) continue;
      const ms = millis(arg);
      if (ms !== null) out.push({ ms, line: st.getStartLineNumber(), text: st.getText().replace(/;$/, '') });
    }
  }
  return out;
}

/** A duration spelled out: a number, or a module const holding one (`Number(process.env.X ?? 4000)`: its default). */
export function millis(n: Node): number | null {
  if (Node.isNumericLiteral(n)) return Number(n.getLiteralValue());
  if (!Node.isIdentifier(n)) return null;
  const d = n.getSymbol()?.getDeclarations()[0];
  if (!d || !Node.isVariableDeclaration(d) || !Node.isSourceFile(d.getParent()?.getParent()?.getParent())) return null;
  const text = d.getInitializer()?.getText().replace(/\s+/g, '') ?? '';
  const m = /^(?:(?:Number|parseInt)\(process\.env(?:\.\w+|\[['"]\w+['"]\])(?:\?\?|\|\|)['"]?(\d[\d_]*)['"]?\)|(\d[\d_]*))$/.exec(text);
  const v = m?.[1] ?? m?.[2];
  return v === undefined ? null : Number(v.replace(/_/g, ''));
}
