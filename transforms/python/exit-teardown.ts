// Concern: a context-manager agent's __exit__ whose teardown the base now owns. `with Agent(...) as a:`
// leaves through __exit__ on every path (a `--once` run that returns, an exception, SIGTERM's SystemExit).
// When code of __exit__ went because the base does it (closing the health server), the base's teardown
// takes its place there: without it a run that ends by leaving the `with` (not by a signal) would leave the
// base registered with the registry and its last metrics unpushed. It goes after the statements that stay,
// before a trailing `return`; the base's teardown runs once however often it is called (checked on its code).
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { lineEnd, lineStart } from '../../src/lang/python/text.js';

export const exitTeardown: PythonTransform = {
  name: 'exit-teardown',
  phase: 'edit',
  run(ctx) {
    const fn = ctx.agent.methods.get('__exit__');
    const target = ctx.py.teardown ?? 'cleanup';
    if (!fn || fn.isAsync || isRemoved(ctx, fn.outer) || !ctx.base.methods.has(target) || ctx.agent.methods.has(target)) return;
    if (!ctx.base.idempotentTeardown.has(target)) return;
    // Something of __exit__ went (the base does it now), and nothing in it tears the agent down already.
    let removed = false;
    let callsTeardown = false;
    walk(fn.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
      if (n.type !== 'block' && n.type !== 'module' && isRemoved(ctx, n)) {
        removed = true;
        return false;
      }
      if (n.type === 'call') {
        const f = n.childForFieldName('function')!;
        const m = selfAttribute(f) ?? /^super\(.*\)\.(\w+)$/s.exec(f.text)?.[1];
        if (m && (m === target || ctx.base.methods.has(m) && /^(stop|cleanup|shutdown|close)$/.test(m))) callsTeardown = true;
      }
    });
    if (!removed || callsTeardown) return;
    const body = statements(fn.body).filter((st) => !isRemoved(ctx, st));
    const last = body[body.length - 1];
    const src = ctx.source;
    const eol = ctx.layout.eol;
    const anchor: SyntaxNode | undefined = last?.type === 'return_statement' ? last : undefined;
    if (anchor) {
      const indent = src.slice(lineStart(src, anchor.startIndex), anchor.startIndex);
      if (!/^[ \t]*$/.test(indent)) return;
      ctx.edits.insert(lineStart(src, anchor.startIndex), `${indent}self.${target}()${eol}`, 'exit-teardown');
    } else if (last) {
      if (last.type === 'raise_statement') return;
      const indent = src.slice(lineStart(src, last.startIndex), last.startIndex);
      if (!/^[ \t]*$/.test(indent)) return;
      const at = lineEnd(src, last.endIndex);
      if (at >= src.length) return;
      ctx.edits.insert(at, `${indent}self.${target}()${eol}`, 'exit-teardown');
    } else return;
    ctx.warnings.push(
      `${ctx.agent.cls.name}.__exit__() now calls self.${target}(): what it tore down is ${ctx.profile.base_class}'s now, and leaving the \`with\` ` +
        `(not only a signal) must also deregister the agent and stop the base (its ${target}() runs once however often it is called)`,
    );
  },
};
