// Concern: teardown overrides that stay. A kept cleanup()/stop()/shutdown() that saves state or
// tells peers now overrides (or stands beside) the base's, so the base's own teardown (its
// sockets, context, registration) would never run from it: it ends with the base's teardown,
// exactly once — unless it already calls it, or calls another teardown of the agent that does.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import { selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { lineEnd, lineStart } from '../../src/lang/python/text.js';
import { TEARDOWN } from './remove-teardown.js';

export const teardownSuper: PythonTransform = {
  name: 'teardown-super',
  phase: 'edit',
  run(ctx) {
    const baseTeardown = ctx.py.teardown ?? 'cleanup';
    const kept = [...ctx.agent.methods.entries()].filter(([name, fn]) => (TEARDOWN.test(name) || name === baseTeardown) && !isRemoved(ctx, fn.outer));
    const handlers = signalHandlers(ctx);
    for (const [name, fn] of kept) {
      // A signal handler only asks the loop to stop; tearing the base down inside it would pull
      // the sockets from under a loop that is still running.
      if (handlers.has(name)) continue;
      const target = ctx.base.methods.has(name) ? name : ctx.base.methods.has(baseTeardown) ? baseTeardown : null;
      if (!target) continue;
      let callsBase = false;
      walk(fn.body, (n) => {
        if (n.type !== 'call') return;
        const f = n.childForFieldName('function')?.text ?? '';
        if (/^super\(.*\)\.\w+$/s.test(f)) callsBase = true;
        // self.cleanup() from stop(): that teardown ends with the base's
        const other = selfAttribute(n.childForFieldName('function')!);
        if (other && other !== name && kept.some(([k]) => k === other)) callsBase = true;
        if (other === target && !ctx.agent.methods.has(target)) callsBase = true;
      });
      if (callsBase || fn.isAsync) continue;
      const body = statements(fn.body).filter((st) => !isRemoved(ctx, st));
      const last = body[body.length - 1];
      if (!last || last.type === 'return_statement' || last.type === 'raise_statement') continue;
      const indent = ctx.source.slice(lineStart(ctx.source, last.startIndex), last.startIndex);
      if (!/^[ \t]*$/.test(indent)) continue;
      const src = ctx.source;
      const eol = ctx.layout.eol;
      const at = lineEnd(src, last.endIndex);
      if (at < src.length) ctx.edits.insert(at, `${indent}super().${target}()${eol}`, 'teardown-super');
      // At the end of the file: before its last line break, so an entry point appended there comes after.
      else if (src.endsWith(eol)) ctx.edits.insert(src.length - eol.length, `${eol}${indent}super().${target}()`, 'teardown-super');
      else ctx.edits.insert(src.length, `${eol}${indent}super().${target}()`, 'teardown-super');
      // One line for the kept teardown: the plan's note says why it stayed; it now also says how it ends.
      const note = ctx.resolved?.notes.find((n) => n.symbol === name);
      if (note) note.reason += `, and ends with super().${target}() so the base's teardown runs too`;
      else ctx.warnings.push(`${ctx.agent.cls.name}.${name}() kept (it does business work) and now ends with super().${target}() so the base's teardown runs too`);
    }
  },
};

/** Methods installed with signal.signal(..., self.m) anywhere in the agent. */
function signalHandlers(ctx: import('../../src/lang/python/transform-context.js').PythonTransformContext): Set<string> {
  const out = new Set<string>();
  walk(ctx.agent.cls.node, (n) => {
    if (n.type !== 'call' || !/^(signal\.)?signal$/.test(n.childForFieldName('function')?.text ?? '')) return;
    for (const a of n.childForFieldName('arguments')?.namedChildren ?? []) {
      const m = selfAttribute(a);
      if (m) out.add(m);
    }
  });
  return out;
}
