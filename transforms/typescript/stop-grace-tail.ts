// onStop() waits for the agent's own loop to finish its round (`this.running = false; await
// this.loopDone;`), and the line after the loop (`console.log('stopped after N merges')`) prints
// once it has: the legacy's SIGTERM handler waited for that as long as it took. The base ends the
// process a fixed grace after SIGTERM (3 s in the reference base) whatever onStop() still waits
// for, so a round longer than that is cut, with the line after the loop and whatever the round had
// left to do. Nothing in the base's API lengthens the grace, and how long a round takes is known
// only where its pauses are spelled out: when the pauses one round takes (in the loop, and in the
// methods it calls) add up to the grace or more, and the stop does not cut them short (no abort
// signal handed to them), it is a review item naming them. A pause whose length is a back-off the
// loop keeps in a local (`let backoff = 1000; ... await sleep(backoff); backoff = Math.min(backoff * 2,
// 30_000)`, a reconnect loop's) counts at its cap: the round a stop lands in may be the one sleeping
// 30 s, and the legacy's stop waited that out before its commit. A round that may be as long for
// other reasons (a slow fetch) is not provable here and stays quiet.
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
          `one round pauses ${pauses.some((p) => p.upTo) ? 'up to ' : ''}${total} ms (${pauses.map((p) => `line ${p.line}: ${p.text}`).join('; ')}) and the base ends the process ${grace} ms after SIGTERM whatever onStop() still waits for: ` +
          `a round under way is cut there${after ? ', and that line never runs' : ''}. Shorten the round or end its pauses on this.stopSignal, or accept the cut`,
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
function roundPauses(ctx: TsRewriteContext, loop: Node): Array<{ ms: number; line: number; text: string; upTo?: boolean }> {
  const scopes: Node[] = [loop];
  for (const c of descendantsOfKind(loop, SyntaxKind.CallExpression)) {
    const name = thisMember(c.getExpression());
    const body = name ? methodBody(ctx, name) : undefined;
    if (body && !scopes.includes(body)) scopes.push(body);
  }
  const out: Array<{ ms: number; line: number; text: string; upTo?: boolean }> = [];
  for (const scope of scopes) {
    for (const st of descendantsOfKind(scope, SyntaxKind.ExpressionStatement)) {
      const arg = pauseArgument(st);
      // A pause handed a signal may be the one the stop aborts: no fixed length then.
      if (!arg || /\bsignal\b/i.test(st.getText())) continue;
      const ms = millis(arg);
      if (ms !== null) out.push({ ms, line: st.getStartLineNumber(), text: st.getText().replace(/;$/, '') });
      else {
        const cap = backoffCap(arg);
        if (cap) out.push({ ms: cap.ms, line: st.getStartLineNumber(), text: `${st.getText().replace(/;$/, '')}, a back-off of up to ${cap.ms} ms (line ${cap.line}: ${cap.text})`, upTo: true });
      }
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

/**
 * A pause's length held in a local `let` of the function around it, every value it gets spelled out or
 * capped (`let backoff = 1000;` then `backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)`): its largest
 * value, and the assignment that caps it. A value not bounded so (`backoff *= 2`, a parameter, a
 * call's result) makes it unknown.
 */
function backoffCap(arg: Node): { ms: number; line: number; text: string } | null {
  if (!Node.isIdentifier(arg)) return null;
  const decl = arg.getSymbol()?.getDeclarations()[0];
  if (!decl || !Node.isVariableDeclaration(decl)) return null;
  const list = decl.getParent();
  if (!Node.isVariableDeclarationList(list) || list.getDeclarationKind() !== 'let') return null;
  const init = decl.getInitializer();
  const start = init ? millis(init) : null;
  if (start === null) return null;
  const fn = decl.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a));
  if (!fn) return null;
  const symbol = decl.getSymbol();
  let best = { ms: start, line: decl.getStartLineNumber(), text: decl.getText() };
  let capped = false;
  for (const id of descendantsOfKind(fn, SyntaxKind.Identifier)) {
    if (id === decl.getNameNode() || id.getText() !== arg.getText() || id.getSymbol() !== symbol) continue;
    const parent = id.getParent();
    if (Node.isPostfixUnaryExpression(parent) || Node.isPrefixUnaryExpression(parent)) {
      if ([SyntaxKind.PlusPlusToken, SyntaxKind.MinusMinusToken].includes(parent.getOperatorToken())) return null;
      continue;
    }
    if (!Node.isBinaryExpression(parent) || parent.getLeft() !== id) continue;
    const op = parent.getOperatorToken().getKind();
    if (op !== SyntaxKind.EqualsToken) {
      if (op >= SyntaxKind.FirstAssignment && op <= SyntaxKind.LastAssignment) return null;
      continue;
    }
    const bound = valueBound(parent.getRight());
    if (bound === null) return null;
    capped ||= bound.capped;
    if (bound.ms > best.ms || (bound.capped && bound.ms === best.ms)) best = { ms: bound.ms, line: parent.getStartLineNumber(), text: parent.getText() };
  }
  // Only a value that grows to a cap is a back-off; a local that is one literal throughout is not one.
  return capped ? best : null;
}

/** The largest value an assigned expression may have: spelled out, or `Math.min(..., CAP)` (its smallest spelled-out argument). */
function valueBound(v: Node): { ms: number; capped: boolean } | null {
  while (Node.isParenthesizedExpression(v) || Node.isAsExpression(v)) v = v.getExpression();
  const own = millis(v);
  if (own !== null) return { ms: own, capped: false };
  if (!Node.isCallExpression(v) || v.getExpression().getText() !== 'Math.min') return null;
  const caps = v.getArguments().map((a) => millis(a)).filter((n): n is number => n !== null);
  return caps.length > 0 ? { ms: Math.min(...caps), capped: true } : null;
}
