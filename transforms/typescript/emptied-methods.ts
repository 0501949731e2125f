// A kept method whose every statement the rewrite removed: it only drove the agent's own loop
// (`pause() { this.running = false; }`, `resume() { this.running = true; void this.loop(); }`),
// which the base now runs. Left declared it does nothing, silently: SIGUSR1 still "pauses" a
// poller that keeps polling. The base's loop has no pause and ends only with stop(), so there is
// nothing to resolve it onto: a caller off the start and stop paths keeps it for a person. Those
// paths are none (the base starts its loop itself, and stops it before onStop()), nor is a hook
// the base or a subclass elsewhere gives its own body. Nothing calling it at all, it goes.
// A protected one a subclass in another file calls (`this.startTicking()` in its run()) stays:
// removed, the subclass no longer compiles. Called from the subclass's own start or stop method
// (which its migration makes onStart()/onStop()), it lost nothing; called from anywhere else, a person decides.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Node, SyntaxKind, ts } from 'ts-morph';
import { callerList, isPublicMember, overrideLine, reachableFromOutside, type TsRewriteContext } from '../../src/lang/typescript/context.js';
import type { OutsideCaller } from '../../src/lang/typescript/references.js';
import { START, STOP } from '../../src/lang/typescript/closure-factory.js';
import { callersOffStopPath, stopPathMembers } from './public-api.js';

export function settleEmptiedMethods(ctx: TsRewriteContext, removed: Set<string>): void {
  // The start path too: `this.refresher = this.refreshLoop()` left in onStart() kicked off the loop
  // the base's start() now runs, so an emptied loop method called there lost nothing either.
  const stopPath = new Set([...stopPathMembers(ctx), 'start', 'onStart', ...[...ctx.renames].filter(([, to]) => to === 'onStart').map(([from]) => from)]);
  const renamedTo = new Set(ctx.renames.values());
  for (const m of ctx.members.values()) {
    if (m.kind !== 'method' || removed.has(m.name) || ctx.renames.has(m.name) || renamedTo.has(m.name) || stopPath.has(m.name)) continue;
    if (ctx.base.members.has(m.name) || m.nodes.length !== 1 || ctx.kept.some((k) => k.symbol === m.name)) continue;
    const decl = m.nodes[0]!;
    const body = Node.isMethodDeclaration(decl) ? decl.getBody() : undefined;
    if (!body || !Node.isBlock(body) || ctx.edits.removes(decl.getStart(), decl.getEnd())) continue;
    const statements = body.getStatements();
    if (statements.length === 0 || !statements.every((st) => ctx.edits.removes(st.getStart(), st.getEnd()))) continue;
    if (ctx.outsideCallers(m.name).some((c) => overrideLine(c.text, m.name))) continue;
    // (Public members' callers elsewhere are callersOffStopPath's own.)
    const subclassCalls = !isPublicMember(ctx, m.name) && reachableFromOutside(ctx, m.name) ? ctx.outsideCallers(m.name) : [];
    const offPath = subclassCalls.filter((c) => !calledFromLifecycle(ctx.root, c, m.name));
    const where = [...callersOffStopPath(ctx, m.name, stopPath, true, true), ...(offPath.length > 0 ? [callerList(offPath)] : [])];
    const first = statements[0]!.getText().split('\n')[0]!;
    if (where.length === 0) {
      if (subclassCalls.length > 0) {
        ctx.warnings.push(`${m.name}() only drove the loop the base now runs (line ${statements[0]!.getStartLineNumber()}: ${first}); it stays, empty, for ${callerList(subclassCalls)}, which ${subclassCalls.length > 1 ? 'call' : 'calls'} it from a start or stop method: the base starts and ends its loop itself`);
        continue;
      }
      // Still called on the stop path: it stays, empty (the base stopped the loop already), unless
      // it and those calls can go without a trace (removeWithCalls).
      if (callersOffStopPath(ctx, m.name, new Set(), true).length > 0) {
        if (removeWithCalls(ctx, m.name, decl)) {
          ctx.removedExtra.push(m.name);
          ctx.warnings.push(`${m.name}() only drove the loop the base now runs (line ${statements[0]!.getStartLineNumber()}: ${first}) and is private, called only as a statement of the stop path: removed with its whole body and those calls`);
        }
        continue;
      }
      ctx.edits.removeNode(decl);
      ctx.removedExtra.push(m.name);
      ctx.warnings.push(`${m.name}() only drove the loop the base now runs (line ${statements[0]!.getStartLineNumber()}: ${first}) and nothing calls it: removed with its whole body`);
      continue;
    }
    ctx.kept.push({
      symbol: m.name,
      line: decl.getStartLineNumber(),
      reason: `${m.name}()'s whole body (line ${statements[0]!.getStartLineNumber()}: ${first}) drove the agent's own loop, which is now the base's runOnce(): it does nothing now and is still called (${where.join(', ')}); the base's loop has no pause and ends only with stop(): decide what those callers mean now`,
    });
  }
}

/**
 * The caller is `this.<method>(...)` inside a class's start or stop method (`run()`, `close()`,
 * or the onStart()/onStop() hooks of a subclass already migrated): each call on that line is.
 */
function calledFromLifecycle(root: string, caller: OutsideCaller, method: string): boolean {
  let text: string;
  try {
    text = readFileSync(path.join(root, caller.file), 'utf8');
  } catch {
    return false;
  }
  const sf = ts.createSourceFile(caller.file, text, ts.ScriptTarget.Latest, true);
  const hosts: Array<string | null> = [];
  const visit = (n: ts.Node): void => {
    if (ts.isPropertyAccessExpression(n) && n.name.text === method && sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1 === caller.line) {
      let host: ts.Node | undefined = n.parent;
      while (host && !ts.isMethodDeclaration(host) && !ts.isClassLike(host)) host = host.parent;
      const name = host && ts.isMethodDeclaration(host) && ts.isIdentifier(host.name) ? host.name.text : null;
      hosts.push(n.expression.kind === ts.SyntaxKind.ThisKeyword ? name : null);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return hosts.length > 0 && hosts.every((h) => h !== null && (START.test(h) || STOP.test(h) || h === 'onStart' || h === 'onStop'));
}

/**
 * An emptied method the stop path still calls goes with those calls when nothing can tell: it is
 * private (`private halt()`, `#halt()`: no other file calls it, no subclass overrides it), every
 * reference to it in the file is a bare `this.halt();` statement (no arguments, its result unused,
 * optionally awaited), each in a block that keeps another statement (no host left empty in turn),
 * and no member the rewrite writes calls it. Anything else: it stays, empty.
 */
function removeWithCalls(ctx: TsRewriteContext, name: string, decl: Node): boolean {
  if (!Node.isMethodDeclaration(decl)) return false;
  const isPrivate = decl.hasModifier(SyntaxKind.PrivateKeyword) || Node.isPrivateIdentifier(decl.getNameNode());
  if (!isPrivate || decl.getOverloads().length > 0) return false;
  if (ctx.newMembers.some((x) => x.text.includes(`.${name}`))) return false;
  const refs = ctx.sf.getDescendants().filter((n) => (Node.isPropertyAccessExpression(n) ? n.getName() === name : Node.isIdentifier(n) && n.getText() === name && !Node.isPropertyAccessExpression(n.getParent())) && n !== decl.getNameNode() && !ctx.edits.removes(n.getStart(), n.getEnd()));
  const calls: Node[] = [];
  for (const r of refs) {
    if (!Node.isPropertyAccessExpression(r) || !Node.isThisExpression(r.getExpression())) return false;
    const call = r.getParent();
    if (!call || !Node.isCallExpression(call) || call.getExpression() !== r || call.getArguments().length > 0) return false;
    let top: Node = call;
    while (Node.isAwaitExpression(top.getParent()) || Node.isVoidExpression(top.getParent())) top = top.getParent()!;
    const stmt = top.getParent();
    if (!stmt || !Node.isExpressionStatement(stmt) || !Node.isBlock(stmt.getParent())) return false;
    calls.push(stmt);
  }
  if (calls.length === 0) return false;
  for (const block of new Set(calls.map((c) => c.getParent()!))) {
    const live = (block as import('ts-morph').Block).getStatements().filter((st) => !calls.includes(st) && !ctx.edits.removes(st.getStart(), st.getEnd()));
    if (live.length === 0) return false;
  }
  for (const c of calls) ctx.edits.removeNode(c);
  ctx.edits.removeNode(decl);
  return true;
}
