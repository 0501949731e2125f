// `process.on('SIGTERM', async () => process.exit(await reconciler.drain()))`: the handler exited
// with the code a method of the agent resolved to (0 all drained, 3 work left, which the nightly job
// pages on). The handler goes and the written onStop() calls that method (`await this.drain();`),
// whose value reached no one: the base exited 0 whatever it returned. When the method resolves to a
// number on every path, onStop() sets process.exitCode to it, which the base's exit keeps once it has
// closed its servers and deregistered. (A method renamed onStop() itself keeps its code in
// rewrite.ts's exitCodeKept.) The method is untouched: its other callers still get its value.
import { Node } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';

/** onStop()'s body with each bare call of such a method made `process.exitCode = <call>;`. */
export function keepCalledStopExitCodes(ctx: TsRewriteContext, body: string, called: string[]): string {
  let out = body;
  for (const name of called) {
    const line = ctx.hints.exitCodeOf?.get(name);
    if (line === undefined || ctx.base.fixedExitLine !== null || !resolvesToNumber(ctx, name)) continue;
    const call = new RegExp(`^([ \\t]*)((?:await )?this\\.${name.replace(/\$/g, '\\$')}\\([^\\n]*\\));$`, 'm');
    if (!call.test(out)) continue;
    out = out.replace(call, '$1process.exitCode = $2;');
    (ctx.hints.exitCodeKept ??= new Set()).add(name);
    ctx.warnings.push(
      `the signal handler exited with the value ${name}() resolved to (line ${line}); onStop() calls ${name}() and sets process.exitCode to that value, which the base's exit keeps once it has closed its servers and deregistered`,
    );
  }
  return out;
}

/** Every declaration of the method returns a number, or a promise of one. */
function resolvesToNumber(ctx: TsRewriteContext, name: string): boolean {
  const decls = (ctx.members.get(name)?.nodes ?? []).filter((n) => Node.isMethodDeclaration(n) && n.hasBody());
  if (decls.length !== 1 || !Node.isMethodDeclaration(decls[0]!)) return false;
  let t = decls[0].getReturnType();
  if (t.getSymbol()?.getName() === 'Promise') t = t.getTypeArguments()[0] ?? t;
  return t.isNumber() || t.isNumberLiteral() || (t.isUnion() && t.getUnionTypes().every((u) => u.isNumber() || u.isNumberLiteral()));
}
