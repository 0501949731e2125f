// Concern: the ZMQ context and sockets the base owns. When the base creates `context`
// or `socket` itself (same kind), the agent's own set-up and teardown of them goes and
// its business uses fall through to the base's; a different kind is a clash, reported.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { valueType } from '../../src/analysis/value-type.js';
import { bindsOfAttribute, portRoles } from '../../src/analysis/ports.js';

const OWNED_TRANSPORT = ['context', 'socket', 'poller'];

export const removeOwnedSockets: PythonTransform = {
  name: 'remove-owned-sockets',
  phase: 'propose',
  run(ctx) {
    for (const attr of OWNED_TRANSPORT) {
      if (!ctx.base.attributes.has(attr)) continue;
      const assigns = ctx.agent.assignments.filter((a) => a.attr === attr);
      if (assigns.length === 0) continue;
      const baseType = ctx.base.attributes.get(attr) ?? null;
      const mismatch = assigns.find((a) => {
        const t = valueType(a.value);
        return baseType !== null && t !== null && t !== baseType && t !== 'None';
      });
      // Another kind of socket under the base's name: the agent's own, renamed by base-attributes.
      if (mismatch) continue;
      if (attr === 'socket') {
        const roles = portRoles(ctx.py.super_call.pass_through ?? {});
        const foreign = bindsOfAttribute(ctx.agent.methods.values(), attr).find((b) => b.expr !== null && !roles.request.has(b.expr));
        if (foreign) {
          ctx.plan.proposeMember({
            name: attr,
            kind: 'attribute',
            finding: 'socket',
            reason: `self.socket binds ${foreign.expr}, not the agent's port`,
            sharedWithBase: false,
            reviewHint: "rename it: the base's self.socket is its request socket on the port",
          });
          continue;
        }
      }
      ctx.plan.proposeMember({
        name: attr,
        kind: 'attribute',
        finding: 'socket',
        reason: `the base creates and closes self.${attr}`,
      });
    }
  },
};
