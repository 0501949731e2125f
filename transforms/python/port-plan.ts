// Concern: ports. The base binds its own port plan (learned from its source, else the
// profile's base_binds); legacy agents often bind neighbouring ports for PUSH/PUB
// sockets. Report every bind the agent still makes on a port the base binds too.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved, keep } from '../../src/lang/python/transform-context.js';
import { walkAgentCode } from '../../src/analysis/agent-model.js';
import { selfRoot } from '../../src/analysis/infra.js';
import { bindArgument, normPort, portExpression } from '../../src/analysis/ports.js';
import { expressionDefault } from '../../src/analysis/port-defaults.js';

export const portPlan: PythonTransform = {
  name: 'port-plan',
  phase: 'edit',
  run(ctx) {
    const port = ctx.passThrough.get('port');
    const health = ctx.passThrough.get('health_check_port');
    // The base's binds in terms of the agent's values: its health port is what we passed, else port + 1.
    const basePorts = new Map<string, string>();
    const ports = new Set(['port', ...(port && /^[\w.]+$/.test(port) ? [normPort(port)] : [])]);
    for (const bind of ctx.base.binds) {
      if (bind === 'health_check_port') {
        if (health) basePorts.set(normPort(health), 'health port');
        else for (const p of ports) basePorts.set(`${p}+1`, 'health port (port + 1)');
        continue;
      }
      for (const p of ports) basePorts.set(bind.replace(/^port\b/, p), bind === 'port' ? 'request port' : `port ${bind}`);
    }
    const baseValues = new Map<number, string>();
    const p0 = port ? numeric(ctx, normPort(port)) : null;
    if (p0 !== null) {
      for (const bind of ctx.base.binds) {
        if (bind === 'health_check_port') {
          const h = health ? numeric(ctx, normPort(health)) : p0 + 1;
          if (h !== null) baseValues.set(h, 'health port');
        } else {
          const off = /^port(?:\+(\d+))?$/.exec(bind);
          if (off) baseValues.set(p0 + Number(off[1] ?? 0), bind === 'port' ? 'request port' : `port ${bind}`);
        }
      }
    }
    for (const m of ctx.agent.methods.values()) {
      walkAgentCode(m, (n) => {
        if (n.type !== 'call' || isRemoved(ctx, n)) return;
        const arg = bindArgument(n);
        const expr = arg ? portExpression(arg.text) : null;
        if (!arg || !expr) return;
        let clash = basePorts.get(expr);
        // With the defaults in hand (port=7114, event_port=7115) the same clash shows as numbers.
        const value = numeric(ctx, expr);
        if (!clash && value !== null) clash = baseValues.get(value);
        if (clash) {
          // The symbol is the socket attribute, else the method binding it (the call as detail).
          const owner = selfRoot(n.childForFieldName('function')!) ?? `${m.name}: bind ${arg.text}`;
          keep(ctx, owner, n.startPosition.row + 1,
            `port plan: binds ${expr.replace(/\+/, ' + ')}, which ${ctx.profile.base_class} binds as its ${clash}; two sockets would bind one port`);
        }
      });
    }
  },
};

/** The number a port expression stands for by default (see src/analysis/port-defaults.ts). */
function numeric(ctx: PythonTransformContext, expr: string): number | null {
  return expressionDefault({ agent: ctx.agent, module: ctx.module }, expr);
}
