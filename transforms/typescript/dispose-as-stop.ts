// `async [Symbol.asyncDispose]()` (or `[Symbol.dispose]()`) as the agent's only stop: what
// `await using agent = new Agent()` runs when main() leaves its scope after SIGTERM. The rewrite
// knows stops by name, and a computed name is none: the dispose kept the loop's timer and the
// health server alive (review items), and the base's SIGTERM exit raced main()'s disposal, so the
// final flush and its log line could be cut. Its body becomes stop() before the rewrite (which
// makes it the base's onStop() hook, where the base awaits it before it exits), and the dispose
// stays under its own name calling the base's stop(): `await using`, and any explicit caller,
// still stop the agent, once (the base's stop() is idempotent). A class with a stop() or onStop()
// of its own keeps its dispose as it is.
import { Node, SyntaxKind, type ClassDeclaration, type ClassExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { methodText } from '../../src/lang/typescript/generate.js';

export interface DisposeAsStop {
  /** The source with the dispose renamed stop() (same lines: the kept items' lines still hold). */
  text: string;
  disposer: { name: string; async: boolean };
  warning: string;
}

const DISPOSERS = ['Symbol.asyncDispose', 'Symbol.dispose'];

export function disposeAsStop(cls: ClassDeclaration | ClassExpression): DisposeAsStop | null {
  const members = cls.getMembers();
  if (members.some((m) => (Node.isMethodDeclaration(m) || Node.isPropertyDeclaration(m)) && ['stop', 'onStop'].includes(m.getName()))) return null;
  const disposers = members.filter(
    (m): m is import('ts-morph').MethodDeclaration => Node.isMethodDeclaration(m) && Node.isComputedPropertyName(m.getNameNode()) && DISPOSERS.includes(m.getNameNode().getText().slice(1, -1).replace(/\s+/g, '')),
  );
  // Both kinds, or an overload list: which one is the stop is a person's call.
  if (disposers.length !== 1) return null;
  const decl = disposers[0]!;
  const body = decl.getBody();
  if (!body || !Node.isBlock(body) || decl.isStatic() || decl.getParameters().length > 0) return null;
  // Already a delegate (`await this.stop();`, a second run): nothing to do.
  const stmts = body.getStatements();
  if (stmts.length === 0 || (stmts.length === 1 && /^(return\s+|await\s+|void\s+)?this\.stop\(\);$/.test(stmts[0]!.getText()))) return null;
  const nameNode = decl.getNameNode();
  const name = nameNode.getText();
  const text = cls.getSourceFile().getFullText();
  // A signal handler's call of the dispose on an instance (`agent[Symbol.dispose]()` on SIGTERM)
  // calls stop() by its name, so the rewrite sees the handler stop the agent, which the base's own
  // handler does now (the dispose written back calls the same stop()). Same lines: only those spans change.
  const edits: Array<[number, number, string]> = [[nameNode.getStart(), nameNode.getEnd(), 'stop']];
  const key = name.slice(1, -1).replace(/\s+/g, '');
  for (const call of cls.getSourceFile().getDescendantsOfKind(SyntaxKind.CallExpression)) {
    const access = call.getExpression();
    if (!Node.isElementAccessExpression(access) || call.getArguments().length > 0 || access.getArgumentExpression()?.getText().replace(/\s+/g, '') !== key) continue;
    const receiver = access.getExpression();
    const own = receiver.getKind() === SyntaxKind.ThisKeyword ? receiver.getFirstAncestor((a) => a === cls) !== undefined : receiver.getType().getSymbol()?.getName() === cls.getName();
    if (!own || access.getQuestionDotTokenNode() || !inSignalHandler(call)) continue;
    edits.push([receiver.getEnd(), access.getEnd(), '.stop']);
  }
  let out = text;
  for (const [start, end, by] of edits.sort((a, b) => b[0] - a[0])) out = out.slice(0, start) + by + out.slice(end);
  return {
    text: out,
    disposer: { name, async: decl.isAsync() || name.includes('asyncDispose') },
    warning: `${name}() (line ${decl.getStartLineNumber()}) was the agent's stop (what \`using\` runs when its scope ends): its body is now the base's onStop() hook, and ${name}() calls the base's stop(), so disposing the agent still stops it, once`,
  };
}

/** The dispose under its own name, now the base's stop(): `await using` and explicit callers stop the agent. */
export function disposeDelegate(ctx: TsRewriteContext, disposer: DisposeAsStop['disposer']): void {
  ctx.newMembers.push({
    name: disposer.name,
    text: methodText(ctx, { name: disposer.name, async: disposer.async, visibility: 'public', body: `${ctx.unit}${disposer.async ? 'await' : 'void'} this.stop();` }),
  });
}

/** Inside a listener `process.on('SIGTERM', ...)` (or once / addListener / prependListener) installs. */
function inSignalHandler(n: Node): boolean {
  return !!n.getFirstAncestor((a) => {
    if (!Node.isCallExpression(a) || !/^process\.(on|once|addListener|prependListener)$/.test(a.getExpression().getText())) return false;
    const [event, listener] = a.getArguments();
    return !!event && /^['"`]SIG[A-Z]+['"`]$/.test(event.getText()) && !!listener && listener.getPos() <= n.getPos() && n.getEnd() <= listener.getEnd();
  });
}
