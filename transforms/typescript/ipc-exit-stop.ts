// A forked child's IPC shutdown that ends the process itself (`process.on('message', (m) => { if
// (m.type === 'shutdown') process.exit(m.code ?? 0); })`): the legacy had nothing to undo, but the
// _v2 is registered by the base, and that exit leaves the registry naming a dead agent and skips
// onStop() and the last metrics push. When the listener is the agent's (`this` is the agent), the
// exit ends the listener's path and its code reads only the message, the exit becomes the base's
// stop() followed by it (`void this.stop().then(() => process.exit(m.code ?? 0))`), as
// ipc-shutdown-stop.ts does for a method the listener calls.
import { Node, SyntaxKind } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { calleeText, descendantsOfKind } from '../../src/lang/typescript/syntax.js';
import { inMessageHandler, settledAt } from './ipc-shutdown-stop.js';

export function routeIpcExitsThroughStop(ctx: TsRewriteContext): void {
  // `this.stop()` must reach the base's stop(): not an own stop() that stays under that name.
  if (ctx.members.has('stop') && !ctx.renames.has('stop')) return;
  for (const exit of descendantsOfKind(ctx.cls, SyntaxKind.CallExpression)) {
    if (calleeText(exit) !== 'process.exit' || ctx.edits.removes(exit.getStart(), exit.getEnd()) || ctx.edits.rewrites(exit.getStart(), exit.getEnd())) continue;
    const statement = exit.getParent();
    if (!statement || !Node.isExpressionStatement(statement) || !inMessageHandler(ctx, statement)) continue;
    // The listener's own function (or one nested in it): an exit in a method is that method's, which
    // other paths may reach (onStop() calling a drain the SIGTERM handler called): ipc-shutdown-stop.ts.
    const fn = ownFunction(exit);
    if (!fn || Node.isMethodDeclaration(fn) || !thisIsAgent(ctx, fn)) continue;
    const code = exit.getArguments()[0];
    if (code && !settledAt(code, [])) continue;
    // The exit never returned; the base's stop() does: what followed it (the rest of the listener,
    // the next switch clause it fell into) must not run now, so the listener returns there.
    const ends = endsPath(statement, fn);
    if (!ends && !mayReturnAt(statement, fn)) continue;
    ctx.edits.replace(exit.getStart(), exit.getEnd(), `${ends ? '' : 'return '}void this.stop().then(() => ${exit.getText()})`);
    ctx.warnings.push(
      `the IPC 'message' handler ended the process itself (${exit.getText()}, line ${exit.getStartLineNumber()}): it is now the base's stop() then that exit, ` +
        `so on that message the base deregisters, pushes its last metrics and closes its servers before the process exits with the same code` +
        (ends ? '' : `; the listener returns there, as the exit never let the statements after it run`),
    );
  }
}

/** The function whose body holds `n` directly. */
function ownFunction(n: Node): Node | undefined {
  return n.getFirstAncestor((a) => Node.isArrowFunction(a) || Node.isFunctionExpression(a) || Node.isMethodDeclaration(a) || Node.isFunctionDeclaration(a));
}

/** `this` in `fn` is the agent: a method of the class, or arrow functions down from one (or from a field's initialiser). */
function thisIsAgent(ctx: TsRewriteContext, fn: Node): boolean {
  for (let f: Node | undefined = fn; f; f = ownFunction(f)) {
    if (Node.isMethodDeclaration(f)) return f.getParent() === ctx.cls && !f.isStatic();
    if (!Node.isArrowFunction(f)) return false;
    const field = f.getParent();
    if (field && Node.isPropertyDeclaration(field) && field.getParent() === ctx.cls && !field.isStatic()) return true;
  }
  return false;
}

/**
 * `return` at `st` leaves `fn` at once and is valid there: no loop, try (its finally would run) or
 * label between them, and `fn` declares no return type but void.
 */
function mayReturnAt(st: Node, fn: Node): boolean {
  if (!(Node.isArrowFunction(fn) || Node.isFunctionExpression(fn) || Node.isMethodDeclaration(fn))) return false;
  const type = fn.getReturnTypeNode()?.getText();
  if (type !== undefined && type !== 'void') return false;
  for (let a = st.getParent(); a && a !== fn; a = a.getParent()) {
    if (Node.isIterationStatement(a) || Node.isTryStatement(a) || Node.isLabeledStatement(a)) return false;
  }
  return true;
}

/**
 * Nothing of `fn` runs after `st`: it is the last statement of each block up to the function's
 * body, through if/else branches and a switch case it ends (a `break;` may follow). The exit never
 * returned; the base's stop() does, so anything after it would now run.
 */
function endsPath(st: Node, fn: Node): boolean {
  const body = Node.isArrowFunction(fn) || Node.isFunctionExpression(fn) || Node.isMethodDeclaration(fn) ? fn.getBody() : undefined;
  let at: Node = st;
  for (;;) {
    const parent = at.getParent();
    if (!parent) return false;
    if (Node.isBlock(parent)) {
      if (parent.getStatements().at(-1) !== at) return false;
      if (parent === body) return true;
      at = parent;
    } else if (Node.isIfStatement(parent)) {
      at = parent;
    } else if (Node.isCaseClause(parent) || Node.isDefaultClause(parent)) {
      const rest = parent.getStatements().slice(parent.getStatements().indexOf(at as never) + 1);
      // Followed by `break;` only, or the switch's last clause: nothing falls through after it.
      const clauses = parent.getParentIfKindOrThrow(SyntaxKind.CaseBlock).getClauses();
      if (!(rest.length > 0 ? rest.every((s) => Node.isBreakStatement(s) && !s.getLabel()) : clauses.at(-1) === parent)) return false;
      at = parent.getFirstAncestorByKindOrThrow(SyntaxKind.SwitchStatement);
    } else {
      return false;
    }
  }
}
