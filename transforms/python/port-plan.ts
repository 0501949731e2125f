// Concern: ports. The base binds the agent's port plan (its health port defaults to
// port + 1); legacy agents often bind neighbouring ports for PUSH/PUB sockets. Report
// every bind that the agent still makes on a port the base will bind too.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isRemoved, keep } from '../../src/lang/python/transform-context.js';
import { walkAgentCode } from '../../src/analysis/agent-model.js';
import { callee } from '../../src/lang/python/syntax.js';

export const portPlan: PythonTransform = {
  name: 'port-plan',
  phase: 'edit',
  run(ctx) {
    const port = ctx.passThrough.get('port');
    const health = ctx.passThrough.get('health_check_port');
    const basePorts = new Map<string, string>();
    const portVars = new Set(['port', ...(port ? [norm(port)] : [])]);
    for (const v of portVars) {
      if (!health) basePorts.set(`${v}+1`, 'health port (port + 1)');
      if (ctx.base.attributes.has('socket')) basePorts.set(v, 'request socket');
    }
    if (health) basePorts.set(norm(health), 'health port');
    for (const m of ctx.agent.methods.values()) {
      walkAgentCode(m, (n) => {
        if (n.type !== 'call' || !/\.bind$/.test(callee(n) ?? '') || isRemoved(ctx, n)) return;
        const arg = n.childForFieldName('arguments')?.namedChild(0);
        if (!arg) return;
        const expr = portExpression(arg.text);
        if (!expr) return;
        const clash = basePorts.get(expr);
        if (clash) {
          keep(ctx, `bind ${arg.text}`, n.startPosition.row + 1,
            `port plan: this socket binds ${expr.replace(/\+/, ' + ')}, which the base binds as its ${clash}; two sockets would bind one port`);
        }
      });
    }
  },
};

function norm(s: string): string {
  return s.replace(/\s+/g, '').replace(/^self\./, '').replace(/\(|\)/g, '');
}

/** `f"tcp://*:{self.port + 1}"`, `("0.0.0.0", self.port + 1)` → "port+1". */
function portExpression(arg: string): string | null {
  const f = /\{([^{}:]+)\}\s*["']\s*$/.exec(arg);
  if (f) return norm(f[1]!).replace(/self\./g, '');
  const t = /^\(\s*[^,]+,\s*(.+)\)$/s.exec(arg.trim());
  if (t) return norm(t[1]!).replace(/self\./g, '');
  const c = /["']tcp:\/\/[^"']*:["']\s*\+\s*str\((.+)\)$/.exec(arg);
  if (c) return norm(c[1]!).replace(/self\./g, '');
  return null;
}
