// The agent's entry point waits for the signal itself instead of installing a handler:
// `await agent.start(); const [sig] = await once(process, 'SIGTERM'); await agent.close();
// console.log('summary ...')` (events.once, a Promise.race of several, or a Promise resolved by
// process.once). The statements after that await were the agent's shutdown. Once the agent is on
// the base, start() installs the base's own handler, which stops the agent and exits as soon as
// the base's stop() has resolved, without waiting for them: an in-flight round is cut and a summary
// line a dashboard greps is gone, while the agent looks migrated (its own stop never ran through
// the base). When the statements can run there as they are (they read only the agent, the
// module's constants and globals; no exit code, no throw or return), they move to the end of
// onStop(), which the base's stop() awaits, and the wait goes; else each is a review item naming
// its line: it belongs in onStop().
import { Node, SyntaxKind, type PropertyAccessExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { indentAt, reindent } from '../../src/lang/typescript/edits.js';
import { calleeText, descendantsOfKind } from '../../src/lang/typescript/syntax.js';
import { placeInHook } from './lifecycle-log-lines.js';

export function flagAwaitedSignalTails(ctx: TsRewriteContext): void {
  const container = ctx.entry?.container;
  if (!container) return;
  for (const wait of descendantsOfKind(container, SyntaxKind.AwaitExpression)) {
    const signals = awaitedSignals(wait.getExpression()).filter((s) => ctx.base.signals.has(s));
    if (signals.length === 0) continue;
    // The statement holding the await, as a statement of a block: what follows it ran on the signal.
    let stmt: Node = wait;
    while (stmt.getParent() && !Node.isBlock(stmt.getParent()!) && !Node.isSourceFile(stmt.getParent()!)) stmt = stmt.getParent()!;
    const parent = stmt.getParent();
    if (!parent || !(Node.isBlock(parent) || Node.isSourceFile(parent))) continue;
    const siblings = parent.getStatements();
    const tail = siblings.slice(siblings.indexOf(stmt as never) + 1).filter((st) => !/^process\.exit\(/.test(st.getText()));
    if (moveIntoOnStop(ctx, stmt, siblings.slice(siblings.indexOf(stmt as never) + 1), signals, wait.getStartLineNumber())) continue;
    for (const st of tail) {
      ctx.kept.push({
        symbol: `${st.getText().split('\n')[0]!.trim()}`,
        line: st.getStartLineNumber(),
        reason:
          `the entry point waits for ${signals.join(' / ')} itself (line ${wait.getStartLineNumber()}) and then runs this line; the base's own ${signals.join(' / ')} handler, ` +
          `installed by start(), stops the agent and exits as soon as its stop() has resolved, without waiting for it: move it into onStop() (the base's stop() awaits it) and drop the wait`,
      });
    }
  }
}

/** The signals an awaited expression waits for: `once(process, 'SIGTERM')`, inside Promise.race/any/all, or `new Promise((r) => process.once('SIGTERM', r))`. */
export function awaitedSignals(e: Node): string[] {
  const out: string[] = [];
  const visit = (n: Node): void => {
    if (Node.isCallExpression(n)) {
      const callee = calleeText(n);
      const [target, sig] = n.getArguments();
      if (/^(events\.)?once$/.test(callee) && target?.getText() === 'process' && sig && /^['"`]SIG\w+['"`]$/.test(sig.getText())) out.push(sig.getText().slice(1, -1));
      else if (/^Promise\.(race|any|all|allSettled)$/.test(callee)) n.getArguments().forEach(visit);
      return;
    }
    if (Node.isArrayLiteralExpression(n) || Node.isParenthesizedExpression(n)) {
      n.forEachChild(visit);
      return;
    }
    if (Node.isNewExpression(n) && n.getExpression().getText() === 'Promise') {
      for (const c of descendantsOfKind(n, SyntaxKind.CallExpression)) {
        const [sig] = c.getArguments();
        if (/^process\.(once|on)$/.test(calleeText(c)) && sig && /^['"`]SIG\w+['"`]$/.test(sig.getText())) out.push(sig.getText().slice(1, -1));
      }
    }
  };
  visit(e);
  return [...new Set(out)];
}

/** `X()`, `void X()`, `X().catch(h)` as a statement of its own: a call whose result nothing waits on. */
function callIgnored(call: Node): boolean {
  let n: Node = call;
  const up = n.getParent();
  if (up && Node.isPropertyAccessExpression(up) && up.getName() === 'catch' && Node.isCallExpression(up.getParent())) n = up.getParent()!;
  if (Node.isVoidExpression(n.getParent())) n = n.getParent()!;
  return Node.isExpressionStatement(n.getParent());
}

/**
 * The statements after the awaited signal (`tail`, the wait's statement `wait`) moved to the end
 * of onStop(), the agent's variable read as `this`, and the wait and those statements removed.
 * Only when the legacy ran them on the signal and onStop() runs them alike:
 *  - the wait is a statement of the entry's own block (the file, or an async main() called once,
 *    its promise ignored: nothing after it ran only once main() had returned);
 *  - each statement reads only the agent, what the statements declare, the module's top-level
 *    names and globals; the agent's members it reads stay in the class;
 *  - no `process.exit()` but a last `process.exit()` / `process.exit(0)` (the base exits so),
 *    no `process.exitCode`, no `throw`, no `return`;
 *  - a call of the agent's stop (the base's `stop()`, or the method that became onStop()) is the
 *    base's stop() itself, which runs on the signal: it goes.
 */
function moveIntoOnStop(ctx: TsRewriteContext, wait: Node, after: Node[], signals: string[], line: number): boolean {
  const entry = ctx.entry;
  const agent = entry?.variable ?? null;
  if (!entry || !agent || after.length === 0 || wait.getParent() !== entry.container) return false;
  const fn = entry.container.getParent();
  if (fn && !Node.isSourceFile(entry.container)) {
    if (!Node.isFunctionDeclaration(fn) || !fn.isAsync() || !fn.getName()) return false;
    const uses = descendantsOfKind(ctx.sf, SyntaxKind.Identifier).filter((id) => id.getText() === fn.getName() && id !== fn.getNameNode());
    const call = uses[0]?.getParent();
    if (uses.length !== 1 || !call || !Node.isCallExpression(call) || call.getExpression() !== uses[0] || !callIgnored(call)) return false;
  }
  // The wait's own bindings (`const [sig] = await ...`) are read by nothing that moves.
  const waitNames = new Set(descendantsOfKind(wait, SyntaxKind.Identifier).map((id) => id.getText()));
  let stmts = after;
  const last = stmts[stmts.length - 1]!;
  if (/^process\.exit\((0)?\);?$/.test(last.getText().trim())) stmts = stmts.slice(0, -1);
  const stopNames = new Set(['stop', ...[...ctx.renames].filter(([, to]) => to === 'onStop').map(([from]) => from)]);
  // Declared by the statements themselves (a const, an arrow's parameter): moves with them.
  const within = (d: Node) => stmts.some((st) => st.getStart() <= d.getStart() && d.getEnd() <= st.getEnd());
  const moved: Node[] = [];
  const dropped: Node[] = [];
  for (const st of stmts) {
    // `await agent.stop();`: the base's stop() runs it on the signal.
    const expr = Node.isExpressionStatement(st) ? st.getExpression() : undefined;
    const call = expr && Node.isAwaitExpression(expr) ? expr.getExpression() : expr;
    if (call && Node.isCallExpression(call) && Node.isPropertyAccessExpression(call.getExpression())) {
      const target = call.getExpression() as PropertyAccessExpression;
      if (target.getExpression().getText() === agent && stopNames.has(target.getName()) && call.getArguments().length === 0) {
        dropped.push(st);
        continue;
      }
    }
    if ([SyntaxKind.ThrowStatement, SyntaxKind.ReturnStatement, SyntaxKind.ThisKeyword].some((k) => descendantsOfKind(st, k).length) || Node.isThrowStatement(st) || Node.isReturnStatement(st)) return false;
    if (/\bprocess\s*\.\s*(exit|exitCode)\b/.test(st.getText())) return false;
    for (const id of descendantsOfKind(st, SyntaxKind.Identifier)) {
      const p = id.getParent();
      if (p && Node.isPropertyAccessExpression(p) && p.getNameNode() === id) continue;
      if (p && Node.isPropertyAssignment(p) && p.getNameNode() === id) continue;
      if (id.getText() === agent) {
        // `agent.member`: a member the class keeps (or the base has).
        const member = p && Node.isPropertyAccessExpression(p) && p.getExpression() === id ? p.getName() : null;
        // (A member renamed, `start` now onStart(): the name would reach the base's instead.)
        if (member && (stopNames.has(member) || ctx.renames.has(member))) return false;
        const own = member ? ctx.members.get(member) : undefined;
        if (own && own.nodes.some((n) => ctx.edits.removes(n.getStart(), n.getEnd()))) return false;
        if (member && !own && !ctx.base.members.has(member)) return false;
        continue;
      }
      if (waitNames.has(id.getText())) return false;
      const decls = id.getSymbol()?.getDeclarations() ?? [];
      const ok = decls.every((d) => d.getSourceFile() !== ctx.sf || within(d) || topLevel(d));
      if (!ok) return false;
    }
    moved.push(st);
  }
  if (moved.length === 0) return false;
  const from = indentAt(ctx.text, moved[0]!.getStart());
  const lines = moved.map((st) => {
    // The agent's variable, read as `this` in the hook.
    const ids = descendantsOfKind(st, SyntaxKind.Identifier).filter((id) => id.getText() === agent).sort((a, b) => b.getStart() - a.getStart());
    let text = st.getText();
    for (const id of ids) text = text.slice(0, id.getStart() - st.getStart()) + 'this' + text.slice(id.getEnd() - st.getStart());
    return reindent(`${from}${text}`, from, ctx.unit);
  });
  const awaits = moved.some((st) => descendantsOfKind(st, SyntaxKind.AwaitExpression).length > 0 || Node.isAwaitExpression(st));
  placeInHook(ctx, 'onStop', [], lines, awaits);
  for (const st of [wait, ...after]) ctx.edits.removeNode(st);
  ctx.warnings.push(
    `the entry point waited for ${signals.join(' / ')} itself (line ${line}) and then ran line${moved.length > 1 ? 's' : ''} ${moved.map((s) => s.getStartLineNumber()).join(', ')}: ` +
      `${moved.length > 1 ? 'they are' : 'it is'} now at the end of onStop(), which the base's stop() awaits on ${[...ctx.base.signals].join(' / ')} before it exits (and after a failed start); the wait is gone` +
      (dropped.length ? ` (with the agent's stop call at line ${dropped.map((s) => s.getStartLineNumber()).join(', ')}: the base's stop() is that call)` : ''),
  );
  return true;
}

/** A declaration at the module's top level (a const, a function, a class, an import). */
function topLevel(d: Node): boolean {
  return !d.getFirstAncestor((a) => Node.isBlock(a) || Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a) || Node.isClassDeclaration(a) || Node.isClassExpression(a));
}
