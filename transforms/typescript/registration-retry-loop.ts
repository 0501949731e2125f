// Concern `registry`: the retry loop a start method wraps around a hand-made registration that says
// whether it landed, as Node services write it:
//
//   let registered = false;
//   for (let attempt = 0; attempt < 5 && !registered; attempt++) {
//     registered = await this.register();
//     if (!registered) await delay(1000 * (attempt + 1));
//   }
//
// The registration is the base's now (it retries, with back-off, until it lands); left, the loop was
// a use of register() that kept it (and its request) for review: "still used at line ...". The loop
// and its flag are the registration's own, and go with it when it goes (a statement proposal that
// requires the method): only a flag nothing else reads (but log lines in the loop, or an `if
// (!registered)` after it that only logs the give-up), a loop whose every statement is that call,
// a pause, a log line or a `break` on the flag. What the legacy did on giving up (ran on
// unregistered after N attempts) is said in a warning: the base keeps retrying.
import { Node, SyntaxKind, type Statement } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { blockStatements, calleeText, fileNameNodes, isLogCall, isModuleLogHelperCall, statementCall, thisMember } from '../../src/lang/typescript/syntax.js';

type Loop = import('ts-morph').ForStatement | import('ts-morph').WhileStatement | import('ts-morph').DoStatement;

/** Proposes each such loop (with its flag and give-up log lines) to go with `method`; the lines, for the warning. */
export function dropRegistrationRetryLoops(ctx: TsRewriteContext, method: string): void {
  for (const call of ctx.cls.getDescendantsOfKind(SyntaxKind.CallExpression)) {
    if (thisMember(call.getExpression()) !== method) continue;
    const found = retryLoopAround(call);
    if (!found) continue;
    const { loop, decl, after } = found;
    const symbol = `${method}() retry loop`;
    for (const node of [decl, loop, ...after]) ctx.plan.proposeStatement({ node, symbol, finding: 'registry', reason: `the retries of ${method}(), which the base's registration replaces`, requires: [method] });
    const limit = attemptLimit(loop);
    ctx.after.push((removed) => {
      if (!removed.has(method)) return;
      const gaveUp = after.length > 0 ? ` and its give-up line${after.length > 1 ? 's' : ''} (${after.map((s) => `line ${s.getStartLineNumber()}`).join(', ')})` : '';
      ctx.warnings.push(
        `the retry loop around ${method}() (line ${loop.getStartLineNumber()}${limit ? `: up to ${limit} attempts, then on unregistered` : ''})${gaveUp} went with it: ` +
          `the base registers at start and retries with back-off (up to 5 s apart) until the registry takes it, without giving up`,
      );
    });
  }
}

function retryLoopAround(call: Node): { loop: Loop; decl: Statement; after: Statement[] } | null {
  // `flag = await this.register();`, a statement of the loop's block.
  let e: Node = call;
  while (Node.isAwaitExpression(e.getParent()) || Node.isParenthesizedExpression(e.getParent())) e = e.getParent()!;
  const assign = e.getParent();
  if (!assign || !Node.isBinaryExpression(assign) || assign.getOperatorToken().getKind() !== SyntaxKind.EqualsToken || assign.getRight() !== e) return null;
  const flagNode = assign.getLeft();
  if (!Node.isIdentifier(flagNode)) return null;
  const flag = flagNode.getText();
  const stmt = assign.getParent();
  if (!stmt || !Node.isExpressionStatement(stmt)) return null;
  const body = stmt.getParent();
  const loop = body && Node.isBlock(body) ? body.getParent() : undefined;
  if (!loop || !(Node.isForStatement(loop) || Node.isWhileStatement(loop) || Node.isDoStatement(loop))) return null;
  const outer = loop.getParent();
  if (!outer || !Node.isBlock(outer)) return null;
  // The loop stops on the flag.
  const cond = Node.isForStatement(loop) ? loop.getCondition() : loop.getExpression();
  if (!cond || !new RegExp(`!\\s*${flag}\\b`).test(cond.getText())) return null;
  // The flag: `let flag = false;` in the same block, before the loop.
  const siblings = outer.getStatements();
  const decl = siblings.find((s) => Node.isVariableStatement(s) && s.getDeclarations().length === 1 && s.getDeclarations()[0]!.getName() === flag);
  if (!decl || !Node.isVariableStatement(decl) || decl.getPos() > loop.getPos() || decl.getDeclarationKind() !== 'let') return null;
  if (decl.getDeclarations()[0]!.getInitializer()?.getKind() !== SyntaxKind.FalseKeyword) return null;
  // Every statement of the loop: the call, a pause, a log line, `if (!flag) <pause or log>`, `if (flag) break;`.
  for (const s of (body as import('ts-morph').Block).getStatements()) {
    if (s === stmt || pauseOrLog(s) || guarded(s, flag)) continue;
    return null;
  }
  // After the loop: `if (!flag) <log lines>` only.
  const after = siblings.filter((s) => s.getPos() > loop.getPos() && Node.isIfStatement(s) && new RegExp(`^!\\s*${flag}$`).test(s.getExpression().getText()) && !s.getElseStatement() && blockStatements(s.getThenStatement()).every((t) => logLine(t)));
  // No other read of the flag.
  const inside = (n: Node) => [decl, loop, ...after].some((s) => s.getPos() <= n.getPos() && n.getEnd() <= s.getEnd());
  const uses = fileNameNodes(loop.getSourceFile(), flag).filter((id) => Node.isIdentifier(id) && !(Node.isPropertyAccessExpression(id.getParent()) && (id.getParent() as import('ts-morph').PropertyAccessExpression).getNameNode() === id));
  const inMethod = (n: Node) => outer.getPos() <= n.getPos() && n.getEnd() <= outer.getEnd();
  if (uses.some((u) => inMethod(u) && !inside(u))) return null;
  return { loop, decl, after };
}

function logLine(s: Node): boolean {
  const c = statementCall(s);
  return isLogCall(c) || isModuleLogHelperCall(c);
}

/** `await delay(ms)`, `await sleep(ms)`, `await new Promise((r) => setTimeout(r, ms))`, or a log line. */
function pauseOrLog(s: Node): boolean {
  if (logLine(s)) return true;
  if (!Node.isExpressionStatement(s)) return false;
  const e = s.getExpression();
  if (!Node.isAwaitExpression(e)) return false;
  const inner = e.getExpression();
  if (Node.isCallExpression(inner)) return /^(delay|sleep|wait|pause|setTimeoutPromise|timers\.setTimeout)$/.test(calleeText(inner));
  if (Node.isNewExpression(inner) && inner.getExpression().getText() === 'Promise') {
    const fn = inner.getArguments()[0];
    return !!fn && (Node.isArrowFunction(fn) || Node.isFunctionExpression(fn)) && /^\(?\s*\w+\s*\)?\s*=>\s*setTimeout\(\s*\w+\s*,[^;]*\)$/.test(fn.getText());
  }
  return false;
}

/** `if (!flag) await delay(...)` (pauses and log lines only) or `if (flag) break;`. */
function guarded(s: Node, flag: string): boolean {
  if (!Node.isIfStatement(s) || s.getElseStatement()) return false;
  const cond = s.getExpression().getText().replace(/\s+/g, '');
  const then = blockStatements(s.getThenStatement());
  if (cond === `!${flag}`) return then.length > 0 && then.every(pauseOrLog);
  if (cond === flag) return then.length === 1 && Node.isBreakStatement(then[0]!);
  return false;
}

/** `attempt < 5` in the loop's condition: the number of attempts, as written. */
function attemptLimit(loop: Loop): string | null {
  const cond = Node.isForStatement(loop) ? loop.getCondition() : loop.getExpression();
  const m = cond ? /\b\w+\s*(<=?)\s*([\w.$]+)/.exec(cond.getText()) : null;
  if (!m) return null;
  const init = Node.isForStatement(loop) ? loop.getInitializer()?.getText() ?? '' : '';
  const start = /=\s*(\d+)\s*$/.exec(init)?.[1];
  if (/^\d+$/.test(m[2]!) && start !== undefined) return String(Number(m[2]) - Number(start) + (m[1] === '<=' ? 1 : 0));
  return m[2]!;
}
