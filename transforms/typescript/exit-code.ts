// An exit code the agent sets in code the rewrite keeps (`process.exitCode = 1` when a batch is
// quarantined, a poll fails for good, a drain gives up): the legacy process ended with it when
// its signal handler exited with `process.exit()` (or let the process end), so a supervisor that
// alerts on the code saw the failure. That handler goes; what the process ends with on SIGTERM is
// now the base's exit. A base whose exit keeps the code (`process.exit()`, as the reference base
// does) keeps the behaviour: said in a warning. A base that exits with a fixed code
// (`process.exit(0)`) would drop it: a review item naming both lines. A removed handler that itself
// exited with a fixed code whatever the assignment said is now overruled by it: a warning.
import path from 'node:path';
import { Node, SyntaxKind } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { descendantsOfKind } from '../../src/lang/typescript/syntax.js';

/** `process.exitCode = <not 0>` assignments in code the rewrite keeps, and what they meet. */
export function keepExitCodes(ctx: TsRewriteContext): void {
  if (!ctx.base.signals.has('SIGTERM')) return;
  const isExitCode = (n: Node) => n.getText().replace(/\s+/g, '') === 'process.exitCode';
  const sets = descendantsOfKind(ctx.sf, SyntaxKind.BinaryExpression).filter((b) => {
    const op = b.getOperatorToken().getKind();
    if (op !== SyntaxKind.EqualsToken && op !== SyntaxKind.BarBarEqualsToken && op !== SyntaxKind.QuestionQuestionEqualsToken) return false;
    return isExitCode(b.getLeft()) && !/^0$/.test(b.getRight().getText().trim()) && !ctx.edits.removes(b.getStart(), b.getEnd());
  });
  if (sets.length === 0) return;
  // The legacy exits the rewrite removed (the signal handlers'): with a fixed code, the legacy
  // process ended with that code whatever process.exitCode said.
  const exits = descendantsOfKind(ctx.sf, SyntaxKind.CallExpression).filter((c) => c.getExpression().getText() === 'process.exit' && ctx.edits.removes(c.getStart(), c.getEnd()));
  const fixed = exits.filter((c) => {
    const a = c.getArguments()[0];
    return !!a && !/\bprocess\.exitCode\b/.test(a.getText());
  });
  const first = sets[0]!;
  const where = sets.map((s) => `${s.getText().replace(/\s+/g, ' ')} (line ${s.getStartLineNumber()})`).join(', ');
  const baseName = path.basename(ctx.base.file);
  if (fixed.length > 0) {
    // The legacy process ended with the handler's code whatever the assignment said. A base with a
    // fixed exit does the same; one that keeps process.exitCode now ends a stop after that failure
    // with the code the agent chose for it: said, as what changed.
    if (ctx.base.fixedExitLine !== null) return;
    const f = fixed[0]!;
    ctx.warnings.push(`${where} set the code the process ends with, but the removed signal handler exited with ${f.getText()} (line ${f.getStartLineNumber()}) whatever it said; the base's exit keeps process.exitCode, so a SIGTERM after that failure now ends with it`);
    return;
  }
  if (ctx.base.fixedExitLine !== null) {
    ctx.kept.push({
      symbol: 'process.exitCode',
      line: first.getStartLineNumber(),
      reason: `${where} set the code the legacy process ended with on SIGTERM${exits.length > 0 ? ` (its handler's ${exits[0]!.getText()}, line ${exits[0]!.getStartLineNumber()}, kept it)` : ''}; the base ends the process with a fixed code (${baseName} line ${ctx.base.fixedExitLine}), so that code is lost: make the base's exit keep process.exitCode (process.exit())`,
    });
    return;
  }
  ctx.warnings.push(`${where} still sets the code the process ends with: the base's exit on SIGTERM/SIGINT keeps process.exitCode${exits.length > 0 ? `, as the removed handler's ${exits[0]!.getText()} (line ${exits[0]!.getStartLineNumber()}) did` : ''}`);
}
