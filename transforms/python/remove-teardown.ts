// Concern: teardown the base does (cleanup/stop/shutdown that only closes what the base
// owns or what was removed, flips the running flag and logs). A teardown that saves
// state or notifies peers is business and stays.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isInfraBlock } from '../../src/analysis/infra.js';

const TEARDOWN = /^(cleanup|stop|shutdown|close|_cleanup|_shutdown|_stop)$/;

export const removeTeardown: PythonTransform = {
  name: 'remove-teardown',
  phase: 'propose',
  run(ctx) {
    for (const [name, fn] of ctx.agent.methods) {
      if (!TEARDOWN.test(name)) continue;
      if (fn.params.some((p) => p.name !== 'self' && p.kind === 'plain')) continue;
      ctx.plan.proposeMember({
        name,
        kind: 'method',
        finding: 'socket',
        reason: 'teardown the base does',
        condition: (scope) =>
          isInfraBlock(fn.body, scope)
            ? null
            : `${name}() does business work besides teardown; kept${ctx.baseOwned.has(name) ? ` (it overrides the base's ${name}())` : ''}`,
      });
    }
  },
};
