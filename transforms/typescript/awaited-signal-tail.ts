// The agent's entry point waits for the signal itself instead of installing a handler:
// `await agent.start(); const [sig] = await once(process, 'SIGTERM'); await agent.close();
// console.log('summary ...')` (events.once, a Promise.race of several, or a Promise resolved by
// process.once). The statements after that await were the agent's shutdown. Once the agent is on
// the base, start() installs the base's own handler, which stops the agent and exits as soon as
// the base's stop() has resolved, without waiting for them: an in-flight round is cut and a summary
// line a dashboard greps is gone, while the agent looks migrated (its own stop never ran through
// the base). Each such statement is a review item naming its line: it belongs in onStop().
import { Node, SyntaxKind } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { calleeText, descendantsOfKind } from '../../src/lang/typescript/syntax.js';

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
function awaitedSignals(e: Node): string[] {
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
