// Concern: teardown overrides that stay. A kept cleanup()/stop() that saves state or tells
// peers now overrides the base's, so the base's own teardown (its sockets, context,
// registration) would never run: call it at the end, as a careful migration does.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import { statements, walk } from '../../src/lang/python/syntax.js';
import { lineEnd, lineStart } from '../../src/lang/python/text.js';

const TEARDOWN = /^(cleanup|stop|shutdown)$/;

export const teardownSuper: PythonTransform = {
  name: 'teardown-super',
  phase: 'edit',
  run(ctx) {
    for (const [name, fn] of ctx.agent.methods) {
      if (!TEARDOWN.test(name) || !ctx.base.methods.has(name) || isRemoved(ctx, fn.outer)) continue;
      let callsSuper = false;
      walk(fn.body, (n) => {
        if (n.type === 'call' && /^super\(.*\)\.\w+$/s.test(n.childForFieldName('function')?.text ?? '')) callsSuper = true;
      });
      if (callsSuper || fn.isAsync) continue;
      const body = statements(fn.body).filter((st) => !isRemoved(ctx, st));
      const last = body[body.length - 1];
      if (!last || last.type === 'return_statement' || last.type === 'raise_statement') continue;
      const indent = ctx.source.slice(lineStart(ctx.source, last.startIndex), last.startIndex);
      if (!/^[ \t]*$/.test(indent)) continue;
      ctx.edits.insert(lineEnd(ctx.source, last.endIndex), `${indent}super().${name}()${ctx.layout.eol}`, 'teardown-super');
      ctx.warnings.push(`${ctx.agent.cls.name}.${name}() kept (it does business work) and now ends with super().${name}() so the base's teardown runs too`);
    }
  },
};
