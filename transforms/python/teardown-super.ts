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
    for (const [name, fn] of kept) {
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
      ctx.warnings.push(`${ctx.agent.cls.name}.${name}() kept (it does business work) and now ends with super().${target}() so the base's teardown runs too`);
    }
  },
};
