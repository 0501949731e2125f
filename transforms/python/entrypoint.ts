// Concern: the entry point. The `__main__` guard (or the function it calls) must construct
// the agent class — not a helper or sidecar — and call the profile's run method. A guard
// that already does so is left as it is; a call to a method the migration removed is
// pointed at run(); a file without a guard gets one when the agent can be constructed.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { keep } from '../../src/lang/python/transform-context.js';
import { callee, walk } from '../../src/lang/python/syntax.js';
import { keptLoopIsSafe } from './remove-main-loop.js';
import { constructsClass, entryScopes, factoryMethods } from '../../src/lang/python/module-model.js';

const label = 'entrypoint';

export const entrypoint: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    const cls = ctx.agent.cls;
    const runMethod = ctx.py.main_loop_method ?? 'run';
    const guard = ctx.module.mainGuard;
    if (!guard) {
      addGuard(ctx);
      return;
    }
    const scopes = entryScopes(ctx.module);
    const factories = factoryMethods(cls);
    let constructed = false;
    for (const scope of scopes) {
      walk(scope, (n) => {
        if (n.type !== 'call' || !constructsClass(n, cls, factories)) return;
        constructed = true;
        const started = startCallOn(ctx, scope, n);
        if (!started) return;
        const method = started.childForFieldName('function')!.childForFieldName('attribute')!;
        if (method.text === runMethod) return;
        const removedByUs = ctx.resolved?.members.has(method.text) ?? false;
        const exists = ctx.agent.methods.has(method.text) || ctx.base.methods.has(method.text);
        if (removedByUs || !exists) {
          ctx.edits.replace(method.startIndex, method.endIndex, runMethod, label);
        } else if (keptLoopIsSafe(ctx, ctx.agent.methods.get(method.text)?.body ?? ctx.agent.cls.body)) {
          // The base's run() does nothing this agent needs (decided from its code): the agent's own start stays.
          ctx.warnings.push(`the entry point calls ${method.text}() (kept, business code) rather than ${runMethod}(); ${ctx.profile.base_class}.${runMethod}() serves nothing this agent needs`);
        } else {
          keep(ctx, `${cls.name}.${method.text}`, method.startPosition.row + 1,
            `the entry point calls ${method.text}() (kept, business code) where the profile runs ${runMethod}(), so ${ctx.profile.base_class}.${runMethod}() never serves its request socket; review the entry point`);
        }
      });
    }
    if (!constructed) {
      keep(ctx, '__main__', guard.startPosition.row + 1,
        `the __main__ guard does not construct ${cls.name}; the profile's entry point is ${ctx.py.entrypoint.replace('{call}', `${cls.name}()`)}`);
    }
  },
};

/**
 * The `.run()/.start()` call made on the constructed agent: `Agent(...).start()` directly,
 * or `v = Agent(...)` followed by `v.start()` in the same scope.
 */
function startCallOn(ctx: PythonTransformContext, scope: SyntaxNode, construction: SyntaxNode): SyntaxNode | null {
  const parent = construction.parent;
  if (parent?.type === 'attribute' && parent.parent?.type === 'call') return parent.parent;
  if (parent?.type !== 'assignment') return null;
  const v = parent.childForFieldName('left');
  if (v?.type !== 'identifier') return null;
  let found: SyntaxNode | null = null;
  walk(scope, (n) => {
    if (found) return false;
    if (n.type !== 'call' || n.startIndex < construction.endIndex) return;
    const fn = n.childForFieldName('function');
    if (fn?.type !== 'attribute' || fn.childForFieldName('object')?.text !== v.text) return;
    const m = fn.childForFieldName('attribute')!.text;
    if (/^(run|start|serve|serve_forever|main|run_forever|loop|start_agent|run_agent)$/.test(m) || ctx.resolved?.members.has(m)) {
      found = n;
    }
  });
  return found;
}

function addGuard(ctx: PythonTransformContext) {
  const cls = ctx.agent.cls;
  const init = cls.methods.get('__init__');
  const required = init?.params.filter((p, i) => i > 0 && p.kind === 'plain') ?? [];
  const call = ctx.py.entrypoint.replace('{call}', `${cls.name}()`);
  if (required.length) {
    keep(ctx, '__main__', cls.line,
      `no __main__ guard, and ${cls.name}() needs ${required.map((p) => p.name).join(', ')}; add the entry point by hand`);
    return;
  }
  const src = ctx.source;
  const eol = ctx.layout.eol;
  // Two blank lines before the new top-level guard (PEP 8), counting what the file ends with.
  const trailing = /(\r?\n)*$/.exec(src)![0].split('\n').length - 1;
  const text = `${eol.repeat(Math.max(0, 3 - trailing))}if __name__ == "__main__":${eol}${ctx.layout.unit}${call}${eol}`;
  ctx.edits.insert(src.length, text, label);
}
