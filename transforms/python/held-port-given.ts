// Concern: a port read only from a settings object (`self.config["health_port"]`, heldSettingsPorts) whose
// server the removal plan took out must be the port the base is given. remove-health counts that read as the
// health port before super-init knows where its call can go; when the call could not go after the settings'
// set-up (another statement touching self before it, a default not computable there), the base would bind
// its default health port and the agent's configured one would be lost without a word. The rewrite stops
// there instead, naming the bind and why, and nothing is written.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import { MigrateError } from '../../src/core/errors.js';
import { heldSettingsPorts } from '../../src/analysis/settings-ports.js';
import { boundPort, normPort, serverSubclasses } from '../../src/analysis/ports.js';
import { walkTypes } from '../../src/lang/python/syntax.js';
import { asLegacyRead } from './super-init.js';

const CALLS: ReadonlySet<string> = new Set(['call']);

export const heldPortGiven: PythonTransform = {
  name: 'held-port-given',
  phase: 'edit',
  run(ctx) {
    const held = heldSettingsPorts(ctx.agent, ctx.py.super_call.pass_through ?? {});
    if (!held.size || !ctx.resolved) return;
    const servers = serverSubclasses(ctx.module.root);
    for (const [keyword, port] of held) {
      const given = ctx.passThrough.get(keyword);
      if (given !== undefined && port.forms.has(normPort(asLegacyRead(ctx, given)))) continue;
      for (const m of ctx.agent.methods.values()) {
        walkTypes(m.body, CALLS, (n) => {
          if (n.type !== 'call' || !isRemoved(ctx, n)) return;
          const bound = boundPort(n, servers);
          if (!bound || !port.forms.has(bound)) return;
          throw new MigrateError(
            `${ctx.agent.cls.name}: the server removed at line ${n.startPosition.row + 1} listened on ${port.value}, which ` +
              `${ctx.profile.base_class}.__init__() cannot be given where its call goes (${keyword} would take the base's default): migrate it by hand`,
            ctx.file,
            n.startPosition.row + 1,
          );
        });
      }
    }
  },
};
