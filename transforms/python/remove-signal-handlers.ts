// Concern: SIGTERM/SIGINT handlers the base installs itself. A handler that does more
// than stop the agent (saves state, notifies peers) stays installed, with its method.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isInfraBlock } from '../../src/analysis/infra.js';
import { walkAgentCode } from '../../src/analysis/agent-model.js';
import { callee, selfAttribute } from '../../src/lang/python/syntax.js';

const HANDLED = /(^|\.)SIG(TERM|INT)$/;

export const removeSignalHandlers: PythonTransform = {
  name: 'remove-signal-handlers',
  phase: 'propose',
  run(ctx) {
    // A base that installs no handler of its own needs the agent's (they end the loop so state is saved).
    if (!ctx.base.handlesSignals) return;
    for (const fn of ctx.agent.methods.values()) {
      walkAgentCode(fn, (n) => {
        if (n.type !== 'expression_statement') return;
        const call = n.namedChild(0);
        if (call?.type !== 'call' || !/^(signal\.)?signal$/.test(callee(call) ?? '')) return;
        const args = call.childForFieldName('arguments')?.namedChildren ?? [];
        if (args.length !== 2 || !HANDLED.test(args[0]!.text)) return;
        const handler = selfAttribute(args[1]!);
        if (!handler || !ctx.agent.methods.has(handler)) return;
        const h = ctx.agent.methods.get(handler)!;
        ctx.plan.proposeMember({
          name: handler,
          kind: 'method',
          finding: 'signal',
          reason: 'signal handler (the base handles SIGTERM/SIGINT)',
          condition: (scope) =>
            isInfraBlock(h.body, scope) ? null : `signal handler does more than stop the agent; kept installed`,
        });
        ctx.plan.proposeStatement({
          node: n,
          symbol: `signal.signal(${args[0]!.text})`,
          finding: 'signal',
          reason: 'the base installs its own handler',
          requires: [handler],
        });
      });
    }
  },
};
