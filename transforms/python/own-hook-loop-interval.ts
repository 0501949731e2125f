// Concern: a legacy run() that already loops the agent's own method named like the base's periodic hook
// (`while self.running: self.run_once(); time.sleep(SCAN_SECONDS)`, the one-shot `--once` mode of its entry
// point calling run_once() alone). run() goes (the base's run() calls that hook in its loop), but the base
// waits its own interval between calls (`loop_interval`, 1 s on the reference BaseAgent): without the
// legacy pause, the work ran as often as the base's default says. The pause becomes the interval attribute,
// as periodic-hook does for a loop body it moves; the agent's run_once() is untouched, so `--once` still
// does one pass.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isDocstring, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { lineStart } from '../../src/lang/python/text.js';
import { analyse, periodicMainLoop } from './periodic-hook.js';

export const ownHookLoopInterval: PythonTransform = {
  name: 'own-hook-loop-interval',
  phase: 'edit',
  run(ctx) {
    const loopOf = periodicMainLoop(ctx);
    if (!loopOf || !ctx.agent.methods.has(loopOf.hook.hook)) return;
    const { hook, name, run } = loopOf;
    if (!ctx.resolved?.members.has(name) || ctx.agent.attributes.has(hook.intervalAttribute)) return;
    const body = ctx.agent.cls.body;
    const classAttr = statements(body).some((s) => s.type === 'expression_statement' && s.namedChild(0)?.type === 'assignment' && s.namedChild(0)!.childForFieldName('left')?.text === hook.intervalAttribute);
    if (classAttr) return;
    const loop = analyse(ctx, run.body);
    if (!loop) return;
    // The loop's work is the call of the agent's own hook, once a turn (in a try logging its failure or not).
    let calls = 0;
    for (const s of loop.body) {
      walk(s, (n) => {
        if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda' || n.type === 'for_statement' || n.type === 'while_statement') return false;
        const f = n.type === 'call' ? n.childForFieldName('function') : null;
        if (f && selfAttribute(f) === hook.hook && n.childForFieldName('arguments')!.namedChildCount === 0) calls++;
      });
    }
    if (calls !== 1) return;
    const src = ctx.source;
    const first = statements(body).find((s) => !isDocstring(s));
    if (!first) return;
    const indent = src.slice(lineStart(src, first.startIndex), first.startIndex);
    ctx.edits.insert(lineStart(src, first.startIndex), `${indent}${hook.intervalAttribute} = ${loop.interval}${ctx.layout.eol}${ctx.layout.eol}`, 'own-hook-loop-interval');
    const base = ctx.profile.base_class;
    const handler = loop.guarded ? loop.body[0]!.namedChildren.find((c) => c.type === 'except_clause') : undefined;
    ctx.warnings.push(
      `${name}() looped the agent's own ${hook.hook}() every ${loop.interval} s: ${base}.${name}() calls it every ${hook.intervalAttribute} = ${loop.interval} seconds until stop() or SIGTERM (set on the class; ${base}'s default would have run it more or less often)` +
        (handler
          ? `; the loop's own except clause (line ${handler.startPosition.row + 1}) went with ${name}(): a failure of ${hook.hook}() is logged by ${base} with its traceback, and the loop goes on as it did`
          : loop.narrow
            ? `; the loop caught only ${loop.narrow.types.join(', ')} around it (line ${loop.narrow.line}: ${loop.narrow.text}), so any other exception from ${hook.hook}() ended the legacy agent (a traceback, exit status 1): ${base} logs it and the loop goes on (raise SystemExit(1) from ${hook.hook}() where it must still end the process)`
            : `; an exception in ${hook.hook}() ended the legacy loop: ${base} logs it and the loop goes on`),
    );
  },
};
