// Concern: what a removed health server used to report. When the ad-hoc health code that
// goes also put business figures into its payload ("keys": len(store)), the base's /health
// will not carry them; say so, so a reviewer can add them to the base's health hook.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { stringValue, walk } from '../../src/lang/python/syntax.js';
import { HEALTH_PAYLOAD_KEYS } from './health-patterns.js';

export const reportLostHealthData: PythonTransform = {
  name: 'report-lost-health-data',
  phase: 'edit',
  run(ctx) {
    for (const [name, p] of ctx.resolved?.members ?? []) {
      if (p.finding !== 'health') continue;
      const node = p.kind === 'method' ? ctx.agent.methods.get(name)?.outer : ctx.module.classes.find((c) => c.name === name)?.outer;
      if (!node) continue;
      const keys = new Set<string>();
      walk(node, (n) => {
        if (n.type === 'pair') {
          const key = stringValue(n.childForFieldName('key')!);
          if (key !== null && !HEALTH_PAYLOAD_KEYS.has(key)) keys.add(key);
        }
      });
      if (keys.size) {
        ctx.warnings.push(
          `removed ${name} also reported ${[...keys].map((k) => `"${k}"`).join(', ')} in its health payload; the base's /health does not (override ${ctx.profile.base_class}._get_health_status to keep them)`,
        );
      }
    }
  },
};
