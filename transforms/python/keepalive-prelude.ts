// Concern: a legacy run() that announces itself (a print the supervisor waits for, a log line
// naming what the agent works on) and then only keeps the process alive (`while True:
// time.sleep(1)`). The keep-alive loop is what the base's run() replaces, but the lines before it
// ran once at start and must still run once, at the same point: they stay in a run() override that
// then calls the base's run(). Without this, the whole run() went as infrastructure (log lines
// count as trivial) and the agent was reported migrated without its start-up output.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { withRenames } from '../../src/lang/python/transform-context.js';
import { expressionOf, isDocstring, statements } from '../../src/lang/python/syntax.js';
import { isInfraStatement, isLogCall, isTrivial, memberSet, type InfraScope } from '../../src/analysis/infra.js';
import { lineStart, renderBlock } from '../../src/lang/python/text.js';
import { reindent } from './periodic-hook.js';
import { keptLoopIsSafe, keptLoopReason } from './remove-main-loop.js';

interface Prelude {
  before: SyntaxNode[];
  loop: SyntaxNode;
  /** What ran once the loop ended (`logger.info("stopped after %d reloads", ...)`, a removed server's shutdown). */
  after: SyntaxNode[];
}

const found = new WeakMap<PythonTransformContext, Prelude>();

/** The statements of `before` that still run once: log/print lines that name nothing removed. */
function keptLines(before: SyntaxNode[], scope: InfraScope): SyntaxNode[] {
  return before.filter((s) => {
    const e = expressionOf(s);
    if (!e || !isLogCall(e)) return false;
    return [...memberSet(e)].every((m) => !scope.removed.has(m) || scope.baseOwned.has(m));
  });
}

export const keepalivePreludePropose: PythonTransform = {
  name: 'keepalive-prelude-propose',
  phase: 'propose',
  run(ctx) {
    const name = ctx.py.main_loop_method ?? 'run';
    const run = ctx.agent.methods.get(name);
    if (!run || run.isAsync || ctx.plan.hasProposal(name)) return;
    if (run.params.some((p) => p.name !== 'self' && p.kind !== 'separator')) return;
    const stmts = statements(run.body).filter((s) => s.type !== 'comment' && !isDocstring(s));
    let at = stmts.length - 1;
    while (at >= 0 && stmts[at]!.type !== 'while_statement') at--;
    const loop = stmts[at];
    if (loop?.type !== 'while_statement' || loop.namedChildren.some((c) => c.type === 'else_clause')) return;
    // After the loop: only lines and single calls (a log line, a removed server's shutdown), each checked below.
    const after = stmts.slice(at + 1);
    if (!after.every((s) => expressionOf(s)?.type === 'call')) return;
    // Only a keep-alive loop: its body sleeps or passes (a loop doing work is another concern's).
    const body = statements(loop.childForFieldName('body')).filter((s) => s.type !== 'comment');
    if (!body.every((s) => isTrivial(s) && !isLogCall(expressionOf(s)))) return;
    const before = stmts.slice(0, at);
    if (![...before, ...after].some((s) => isLogCall(expressionOf(s)))) return;
    found.set(ctx, { before, loop, after });
    ctx.plan.proposeMember({
      name,
      kind: 'method',
      finding: 'loop',
      reason: `keep-alive loop (the base's ${name}() runs the agent until it stops); the lines ${name}() ran before it stay in a ${name}() override that calls super().${name}()`,
      // With a business line before the loop, run() stays whole, as remove-main-loop keeps it.
      safeToKeep: keptLoopIsSafe(ctx, run.body),
      condition: (scope) => {
        const s = { ...scope, transportLocals: new Set<string>() };
        if (!isInfraStatement(loop, s)) return keptLoopReason(ctx, run, name, scope) ?? `${name}()'s loop is not only a keep-alive loop; kept`;
        const kept = new Set(keptLines([...before, ...after], s));
        return [...before, ...after].some((b) => !kept.has(b) && !isInfraStatement(b, s)) ? keptLoopReason(ctx, run, name, scope) : null;
      },
    });
  },
};

export const keepalivePrelude: PythonTransform = {
  name: 'keepalive-prelude',
  phase: 'edit',
  run(ctx) {
    const prelude = found.get(ctx);
    const name = ctx.py.main_loop_method ?? 'run';
    const run = ctx.agent.methods.get(name);
    if (!prelude || !run || !ctx.resolved?.members.has(name)) return;
    const scope = { removed: new Set(ctx.resolved.members.keys()), baseOwned: ctx.baseOwned };
    const lines = keptLines(prelude.before, scope);
    const tail = keptLines(prelude.after, scope);
    if (!lines.length && !tail.length) return;
    const src = ctx.source;
    const defIndent = src.slice(lineStart(src, run.outer.startIndex), run.outer.startIndex);
    const body = lines.flatMap((s) => reindent(ctx, [s])).join('\n');
    // The lines the legacy wrote once its loop ended: the base's run() ends in SystemExit on SIGTERM, so only a finally: reaches them.
    const ending = tail.flatMap((s) => reindent(ctx, [s])).map((l) => (l ? `    ${l}` : l)).join('\n');
    const call = tail.length ? `    try:\n        super().${name}()\n    finally:\n${ending}\n` : `    super().${name}()\n`;
    const block = `def ${name}(self):\n${body ? `${body}\n` : ''}${call}`;
    ctx.edits.insert(lineStart(src, run.outer.startIndex), renderBlock(withRenames(ctx, block), defIndent, ctx.layout), 'keepalive-prelude');
    if (tail.length) {
      ctx.warnings.push(
        `${name}()'s line${tail.length === 1 ? '' : 's'} after its loop (line ${tail.map((l) => l.startPosition.row + 1).join(', ')}) stay${tail.length === 1 ? 's' : ''} in ${name}(), in a finally: after super().${name}(), ` +
          `so ${tail.length === 1 ? 'it is' : 'they are'} still written once the agent stops (a signal ends ${ctx.profile.base_class}.${name}() with SystemExit)`,
      );
    }
    if (lines.length) ctx.warnings.push(
      `${name}() only kept the process alive after ${lines.length === 1 ? 'a start-up line' : `${lines.length} start-up lines`}: the loop goes (${ctx.profile.base_class}.${name}() runs the agent until stop() or SIGTERM); the line${lines.length === 1 ? '' : 's'} (line ${lines.map((l) => l.startPosition.row + 1).join(', ')}) stay${lines.length === 1 ? 's' : ''} in ${name}(), which then calls super().${name}()`,
    );
  },
};
