// onStop() drains (`drain()` on SIGTERM: stop accepting, wait for the requests in flight until a
// deadline, `const deadline = Date.now() + DRAIN_TIMEOUT_MS; while (this.inFlight > 0 && Date.now()
// < deadline) await sleep(100);`, then flush and close). The legacy's SIGTERM handler waited for the
// whole drain; the base ends the process a fixed grace after SIGTERM (3 s in the reference base)
// whatever onStop() still waits for. A drain allowed longer than that is cut at the grace, and what
// it does after the wait (the journal flush of requests already answered) never runs: a silent loss.
// The base has no option that lengthens the grace, so it is a review item naming the deadline and
// what comes after it. A wait raced against a timer (`await Promise.race([this.idle(), sleep(MS)])`)
// is bounded the same way. One with no spelled-out bound is not provable here and stays quiet.
import { Node, SyntaxKind } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { methodBody } from '../../src/lang/typescript/context.js';
import { descendantsOfKind, thisMember } from '../../src/lang/typescript/syntax.js';
import { millis } from './stop-grace-tail.js';

export function flagStopGraceDrain(ctx: TsRewriteContext): void {
  const grace = ctx.base.stopGraceMs;
  if (grace === null || !ctx.base.signals.has('SIGTERM')) return;
  const renamed = [...ctx.renames].find(([, to]) => to === 'onStop')?.[0];
  const onStopText = [...(renamed ? [methodBody(ctx, renamed)?.getText() ?? ''] : []), ...ctx.newMembers.filter((m) => m.name === 'onStop').map((m) => m.text)].join('\n');
  // The stop's own body, and the agent's methods it awaits (one level: `await this.drain()`).
  // Those the stop path calls with no argument (the base calls onStop() with none) run with their
  // parameters' defaults: `async shutdown(graceMs = 20_000)` awaited as `this.shutdown()` waits 20 s.
  const bodies = new Set<Node>();
  const bare = new Set<Node>();
  const own = renamed ? methodBody(ctx, renamed) : undefined;
  if (own) {
    bodies.add(own);
    bare.add(own);
  }
  for (const [, name, args] of onStopText.matchAll(/\bawait\s+this\.([\w$]+)\s*\(\s*(\)?)/g)) {
    const body = methodBody(ctx, name!);
    if (body) bodies.add(body);
    if (body && args) bare.add(body);
  }
  const ms = (n: Node) => millis(n) ?? parameterDefault(n, bare) ?? fieldDefault(ctx, n);
  for (const body of bodies) {
    const waits = [
      ...[...descendantsOfKind(body, SyntaxKind.WhileStatement), ...descendantsOfKind(body, SyntaxKind.DoStatement), ...descendantsOfKind(body, SyntaxKind.ForStatement)].map((loop) => ({ wait: loop as Node, bound: deadlineOf(loop, ms) })),
      // (The statement the wait is in, `if (!(await Promise.race(...)))` too: what follows it is what never runs.)
      ...descendantsOfKind(body, SyntaxKind.AwaitExpression).map((a) => ({ wait: a.getFirstAncestor((s) => Node.isStatement(s) && Node.isBlock(s.getParent())) ?? a, bound: raceBoundOf(a, ms) })),
    ];
    for (const { wait: loop, bound } of waits) {
      if (!bound || bound.ms < grace || ctx.edits.removes(loop.getStart(), loop.getEnd())) continue;
      const after = followingStatements(loop, body).filter((s) => !ctx.edits.removes(s.getStart(), s.getEnd()));
      const tail = after.length > 0 ? `, and what follows it (${after.map((s) => `line ${s.getStartLineNumber()}: ${s.getText().split('\n')[0]!.replace(/;$/, '')}`).join('; ')}) never runs` : '';
      ctx.kept.push({
        symbol: 'drain deadline',
        line: loop.getStartLineNumber(),
        reason:
          `onStop() waits at line ${loop.getStartLineNumber()} ${bound.race ? 'for' : 'until'} ${bound.text} (up to ${bound.ms} ms, line ${bound.line}), as the legacy's SIGTERM handler did; ` +
          `the base ends the process ${grace} ms after SIGTERM whatever onStop() still waits for: a drain longer than that is cut there${tail}. ` +
          `Bring the deadline under the grace (or do that work before the wait), or accept the cut`,
      });
    }
  }
}

/** The statements that run after `stmt` in its block and in each block around it, up to `body`. */
function followingStatements(stmt: Node, body: Node): Node[] {
  const out: Node[] = [];
  for (let s: Node | undefined = stmt; s && s !== body; s = s.getParent()) {
    const block = s.getParent();
    if (Node.isBlock(block) && Node.isStatement(s)) out.push(...block.getStatements().slice(block.getStatements().indexOf(s) + 1));
    if (block === body) break;
  }
  return out;
}

/**
 * `await Promise.race([this.idle(), new Promise((r) => setTimeout(r, DRAIN_MS))])`: a wait bounded
 * by a timer raced against the drain, no deadline variable. The timer is a `new Promise` whose
 * executor arms `setTimeout(_, MS)`, or a sleep-like call (`sleep(MS)`, timers/promises'
 * `setTimeout(MS)`); MS spelled out as for a deadline. The race ends at the timer at the latest.
 */
function raceBoundOf(wait: Node, millis: (n: Node) => number | null): { ms: number; line: number; text: string; race: true } | null {
  if (!Node.isAwaitExpression(wait)) return null;
  const call = wait.getExpression();
  if (!Node.isCallExpression(call) || call.getExpression().getText().replace(/\s+/g, '') !== 'Promise.race') return null;
  const list = call.getArguments()[0];
  if (!list || !Node.isArrayLiteralExpression(list)) return null;
  for (const el of list.getElements()) {
    const ms = timerMillis(el, millis);
    if (ms === null) continue;
    const others = list.getElements().filter((e) => e !== el).map((e) => e.getText());
    return { ms, line: el.getStartLineNumber(), text: `the first of ${others.join(', ')} and a ${ms} ms timer (${el.getText().replace(/\s+/g, ' ')})`, race: true };
  }
  return null;
}

function timerMillis(el: Node, millis: (n: Node) => number | null): number | null {
  // `const timedOut = new Promise((r) => setTimeout(() => r(false), MS).unref()); await Promise.race([drained, timedOut])`:
  // the element names a local const of the same function holding the timer.
  if (Node.isIdentifier(el)) {
    const d = el.getSymbol()?.getDeclarations()[0];
    const init = d && Node.isVariableDeclaration(d) && !Node.isSourceFile(d.getParent()?.getParent()?.getParent()) ? d.getInitializer() : undefined;
    return init ? timerMillis(init, millis) : null;
  }
  if (Node.isNewExpression(el) && el.getExpression().getText() === 'Promise') {
    for (const c of descendantsOfKind(el, SyntaxKind.CallExpression)) {
      if (!/^(globalThis\.)?setTimeout$/.test(c.getExpression().getText())) continue;
      const ms = c.getArguments()[1];
      const v = ms ? millis(ms) : null;
      if (v !== null) return v;
    }
    return null;
  }
  if (Node.isCallExpression(el) && /^(sleep|delay|wait|timeout|setTimeout|setTimeoutPromise)$/i.test(el.getExpression().getText().replace(/^.*\./, ''))) {
    const ms = el.getArguments()[0];
    return ms ? millis(ms) : null;
  }
  return null;
}

/**
 * A loop bounded by a deadline: its condition compares `Date.now()` with a local const
 * `deadline = Date.now() + MS`, MS spelled out (a number, or a module const with a default).
 */
function deadlineOf(loop: Node, millis: (n: Node) => number | null): { ms: number; line: number; text: string; race?: boolean } | null {
  const cond = Node.isWhileStatement(loop) || Node.isDoStatement(loop) ? loop.getExpression() : Node.isForStatement(loop) ? loop.getCondition() : undefined;
  if (!cond) return null;
  for (const b of [cond, ...descendantsOfKind(cond, SyntaxKind.BinaryExpression)]) {
    if (!Node.isBinaryExpression(b)) continue;
    const sides = [b.getLeft(), b.getRight()];
    if (!sides.some((s) => /^Date\.now\(\)$/.test(s.getText()))) continue;
    const other = sides.find((s) => Node.isIdentifier(s));
    const decl = other?.getSymbol()?.getDeclarations()[0];
    if (!decl || !Node.isVariableDeclaration(decl)) continue;
    const init = decl.getInitializer();
    if (!init || !Node.isBinaryExpression(init) || init.getOperatorToken().getKind() !== SyntaxKind.PlusToken) continue;
    const [l, r] = [init.getLeft(), init.getRight()];
    const span = /^Date\.now\(\)$/.test(l.getText()) ? r : /^Date\.now\(\)$/.test(r.getText()) ? l : undefined;
    const ms = span ? millis(span) : null;
    if (ms !== null) return { ms, line: decl.getStartLineNumber(), text: `${other!.getText()} (${init.getText()})` };
  }
  return null;
}

/**
 * `graceMs` of `async shutdown(graceMs = 20_000)`, in a method of `bare` (one the stop path calls with no
 * argument): its default, a number spelled out. Null otherwise.
 */
function parameterDefault(n: Node, bare: Set<Node>): number | null {
  if (!Node.isIdentifier(n)) return null;
  const d = n.getSymbol()?.getDeclarations()[0];
  if (!d || !Node.isParameterDeclaration(d)) return null;
  const fn = d.getParent();
  const body = fn && (Node.isMethodDeclaration(fn) || Node.isFunctionDeclaration(fn)) ? fn.getBody() : undefined;
  const init = d.getInitializer();
  // A literal or a module constant (`graceMs = GRACE_MS`), as a deadline written in the body is read.
  return body && bare.has(body) && init ? millis(init) : null;
}

/**
 * `this.drainTimeoutMs` of a field set only where it is declared or in the constructor, each value
 * spelled out or an option's default (`this.drainTimeoutMs = opts.drainTimeoutMs ?? 20_000`): the
 * largest such value, what the agent waits when it is built without that option (its entry point's
 * `Worker.create()`). A field written anywhere else, or to anything else, is no bound known here.
 */
function fieldDefault(ctx: TsRewriteContext, n: Node): number | null {
  const name = Node.isPropertyAccessExpression(n) ? thisMember(n) : null;
  const member = name ? ctx.members.get(name) : undefined;
  if (!name || !member || member.kind === 'method') return null;
  const values: Node[] = [];
  for (const d of member.nodes) if (Node.isPropertyDeclaration(d) && d.getInitializer()) values.push(d.getInitializer()!);
  for (const b of descendantsOfKind(ctx.cls, SyntaxKind.BinaryExpression)) {
    const op = b.getOperatorToken().getKind();
    if (op < SyntaxKind.FirstAssignment || op > SyntaxKind.LastAssignment || thisMember(b.getLeft()) !== name || !Node.isPropertyAccessExpression(b.getLeft())) continue;
    if (op !== SyntaxKind.EqualsToken || !ctx.ctor || b.getFirstAncestor((a) => a === ctx.ctor) === undefined) return null;
    values.push(b.getRight());
  }
  let best: number | null = null;
  for (let v of values) {
    while (Node.isParenthesizedExpression(v)) v = v.getExpression();
    let ms = millis(v);
    if (ms === null && Node.isBinaryExpression(v) && [SyntaxKind.QuestionQuestionToken, SyntaxKind.BarBarToken].includes(v.getOperatorToken().getKind())) ms = millis(v.getRight());
    if (ms === null) return null;
    best = Math.max(best ?? 0, ms);
  }
  return best;
}
