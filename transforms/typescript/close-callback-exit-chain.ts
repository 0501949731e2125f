// A stop method (kept, called by onStop()) whose last statement closes a server and exits in the
// close callback's chain: `this.server.close(() => { this.flush().then(() => { log(...);
// process.exit(0); }).catch((err) => { log(...); process.exit(1); }); })`. onStop() returned at
// once, so the base deregistered and exited while the close and the final flush were still
// running, or the callback's exit ended the process before the base had deregistered. The close
// becomes a promise the method awaits, the callback's statements follow it (the exit chain as
// try/await/catch, the failure's code kept in process.exitCode), and the exit is the base's.
import { Node, SyntaxKind } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { indentAt, reindent } from '../../src/lang/typescript/edits.js';
import { calleeText, statementCall } from '../../src/lang/typescript/syntax.js';

type ChainText = (ctx: TsRewriteContext, s: Node, indent: string) => { text: string; promise: string; code: string } | null;

/** True when `s` (a statement of method `name`'s `body`) was rewritten; `makeAsync` makes the method async (false when it cannot be). */
export function awaitCloseExitChain(ctx: TsRewriteContext, name: string, s: Node, body: Node, chainText: ChainText, makeAsync: () => boolean): boolean {
  if (!Node.isExpressionStatement(s) || !Node.isBlock(body)) return false;
  const call = s.getExpression();
  if (!Node.isCallExpression(call) || call.getArguments().length !== 1) return false;
  const callee = call.getExpression();
  const cb = call.getArguments()[0]!;
  // An arrow only: a function expression's `this` would change when its statements move out.
  if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== 'close' || !Node.isArrowFunction(cb) || cb.isAsync() || cb.getParameters().length > 0) return false;
  const block = cb.getBody();
  if (!Node.isBlock(block) || !cb.getDescendantsOfKind(SyntaxKind.CallExpression).some((c) => calleeText(c) === 'process.exit')) return false;
  if (ctx.edits.removes(s.getStart(), s.getEnd()) || ctx.edits.rewrites(s.getStart(), s.getEnd())) return false;
  // What followed the close ran before the callback (`sock.end('bye')` lets the close finish):
  // awaiting the close first would reorder it, or wait for ever.
  const after = body.getStatements().slice(body.getStatements().indexOf(s) + 1);
  if (after.some((st) => !ctx.edits.removes(st.getStart(), st.getEnd()))) return false;
  // A return would leave the method; a local could clash with one of the method's.
  if (block.getDescendantsOfKind(SyntaxKind.ReturnStatement).some((r) => r.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a)) === cb)) return false;
  const locals = block.getStatements().flatMap((st) => (Node.isVariableStatement(st) ? st.getDeclarations().map((d) => d.getName()) : []));
  const outside = body.getDescendantsOfKind(SyntaxKind.Identifier).filter((id) => id.getPos() < cb.getPos() || id.getPos() >= cb.getEnd());
  if (locals.some((l) => outside.some((id) => id.getText() === l))) return false;
  const indent = indentAt(ctx.text, s.getStart());
  const from = block.getStatements().length > 0 ? indentAt(ctx.text, block.getStatements()[0]!.getStart()) : indent;
  const parts: string[] = [];
  const codes: string[] = [];
  for (const st of block.getStatements()) {
    const exit = statementCall(st);
    if (exit && calleeText(exit) === 'process.exit' && (exit.getArguments()[0]?.getText().trim() ?? '0') === '0') continue;
    const chain = chainText(ctx, st, indent);
    if (chain) {
      parts.push(indent + chain.text);
      codes.push(`${chain.promise} failing sets process.exitCode = ${chain.code}`);
      continue;
    }
    // Any other exit stays where it is only if the whole statement can: not here.
    if (st.getDescendantsOfKind(SyntaxKind.CallExpression).some((c) => calleeText(c) === 'process.exit')) return false;
    parts.push(indent + reindent(ctx.text.slice(st.getStart(), st.getEnd()), from, indent));
  }
  if (!makeAsync()) return false;
  // `this.server?.close(cb)` with no server ran nothing: awaited as it stands, the promise would
  // never settle and the base's stop() would hang until its grace timer forced the exit.
  const close = `${callee.getText()}(() => resolve())${callee.hasQuestionDotToken() ? ' ?? resolve()' : ''}`;
  const wait = `await new Promise${ctx.js ? '' : '<void>'}((resolve) => ${close});`;
  ctx.edits.replace(s.getStart(), s.getEnd(), [wait, ...parts.map((p) => p.slice(indent.length))].join(`\n${indent}`));
  ctx.warnings.push(
    `${name}() ended the process in ${callee.getText()}()'s callback (line ${s.getStartLineNumber()}), which onStop() did not wait for: it now awaits the close and then runs the callback's statements` +
      `${codes.length > 0 ? ` (${codes.join('; ')}, which the base's exit keeps)` : ''}; the base exits once it has deregistered and closed its servers`,
  );
  return true;
}
