// `async [Symbol.asyncDispose]()` (or `[Symbol.dispose]()`) as the agent's only stop: what
// `await using agent = new Agent()` runs when main() leaves its scope after SIGTERM. The rewrite
// knows stops by name, and a computed name is none: the dispose kept the loop's timer and the
// health server alive (review items), and the base's SIGTERM exit raced main()'s disposal, so the
// final flush and its log line could be cut. Its body becomes stop() before the rewrite (which
// makes it the base's onStop() hook, where the base awaits it before it exits), and the dispose
// stays under its own name calling the base's stop(): `await using`, and any explicit caller,
// still stop the agent, once (the base's stop() is idempotent). A class with a stop() or onStop()
// of its own keeps its dispose as it is.
import { Node, type ClassDeclaration, type ClassExpression } from 'ts-morph';
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
  return {
    text: text.slice(0, nameNode.getStart()) + 'stop' + text.slice(nameNode.getEnd()),
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
