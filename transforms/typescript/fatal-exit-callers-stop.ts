// The agent ending itself on a fatal path through its own exiting stop method: an
// 'uncaughtException' listener (`console.error(...); this.close(1);`), or a dependency given up on
// (`if (this.failures >= 10) { console.error('gateway gone'); this.close(2); }`), where close(code)
// clears the loop's interval, closes the server and ends with process.exit(code). SIGTERM goes to
// the base, whose onStop() now calls close(): its exit must go, or every SIGTERM ends the process
// before the base deregisters; but these callers kept it, so the agent was set aside for review
// (no _v2). The loop is the base's now, and the base's public way to end it is stop(): each such
// call becomes the base's stop() then the exit the call made (`void this.stop().then(() =>
// process.exit(2))`): onStop() does close()'s work, the base ends its loop, closes its servers,
// deregisters, and the process ends with the legacy code.
//
// Only where nothing of the caller ran after the call in the legacy: close() exits synchronously,
// so the call must end its function's path (the last statement of each enclosing block, no loop
// around it, no finally that the exit skipped). An async method already let its callers go on.
import { Node } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { calleeText } from '../../src/lang/typescript/syntax.js';
import { callersOntoStop } from './ipc-shutdown-stop.js';
import { isAsyncMethod } from './remove-interval-loop.js';

/** Rewrites the path-ending callers of exiting method `name`; true when every live use was one (and is now the base's stop()). */
export function endingCallersOntoStop(ctx: TsRewriteContext, name: string, body: Node, live: Node[]): boolean {
  // The exit is the method's own last word, whatever path it took: a statement of its body.
  if (!Node.isBlock(body) || !body.getStatements().some((st) => Node.isExpressionStatement(st) && Node.isCallExpression(st.getExpression()) && calleeText(st.getExpression() as import('ts-morph').CallExpression) === 'process.exit')) return false;
  const sync = !isAsyncMethod(ctx, name);
  return callersOntoStop(ctx, name, body, live, (statement) => !sync || endsItsPath(statement), (exit, lines, exitsSaid) =>
    `${name}() ended the process (${exit.getText()}, line ${exit.getStartLineNumber()}) and the agent called it to end itself (line ${lines}): ` +
      `each such call is now the base's stop() then ${exitsSaid}, so onStop() (${name}()) does its work, the base ends its loop, closes its servers and deregisters, and the process exits with the code it had; ${name}() itself no longer exits`,
  );
}

/** No statement of its function runs after `st`: it ends each block around it, outside any loop, switch case or try with a finally. */
function endsItsPath(st: Node): boolean {
  for (let n: Node = st; ; ) {
    const parent = n.getParent();
    if (!parent) return false;
    if (Node.isArrowFunction(parent) || Node.isFunctionExpression(parent) || Node.isMethodDeclaration(parent) || Node.isFunctionDeclaration(parent)) return true;
    if (Node.isBlock(parent)) {
      const stmts = parent.getStatements();
      const after = stmts.slice(stmts.indexOf(n as import('ts-morph').Statement) + 1);
      if (after.some((s) => !(Node.isReturnStatement(s) && !s.getExpression()))) return false;
    } else if (Node.isTryStatement(parent)) {
      if (parent.getFinallyBlock()) return false;
    } else if (!Node.isIfStatement(parent) && !Node.isCatchClause(parent)) {
      // A loop runs its body again, a case clause falls through, anything else is not known.
      return false;
    }
    n = parent;
  }
}
