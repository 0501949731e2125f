// Concern `registry` (registration with the service registry and metrics pushes to a
// Pushgateway): hand-made POST <registry>/register and PUT <gateway>/metrics/job/<name>
// methods, the flags and URLs only they use. The base registers and pushes metrics itself.
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { methodBody } from '../../src/lang/typescript/context.js';
import { pushKind } from '../../src/lang/typescript/patterns.js';
import { thisMembers } from '../../src/lang/typescript/syntax.js';

export function removeRegistryPush(ctx: TsRewriteContext): void {
  for (const m of ctx.members.values()) {
    if (m.kind === 'method') {
      const body = methodBody(ctx, m.name);
      const kind = body ? pushKind(body) : null;
      if (!kind) continue;
      ctx.plan.proposeMember({
        name: m.name,
        finding: kind,
        reason: kind === 'registry' ? `${m.name}() registers by hand; the base registers with REGISTRY_URL` : `${m.name}() pushes metrics by hand; the base pushes to METRICS_URL`,
        condition: (removed) => (ctx.isInfraMethod(m.name, removed, [], true) ? null : `${m.name}() also does business work`),
      });
      if (kind === 'metrics') {
        // Business metrics it pushed are not lost silently: name them for the reviewer.
        const read = [...thisMembers(body!)].filter((x) => ctx.members.get(x)?.kind === 'property' || ctx.members.get(x)?.kind === 'parameter-property');
        ctx.after.push((removed) => {
          const lost = read.filter((x) => !removed.has(x));
          if (removed.has(m.name) && lost.length > 0) {
            ctx.warnings.push(`${m.name}() pushed ${lost.map((x) => `this.${x}`).join(', ')}; the base pushes only what reportMetric() records: report them there`);
          }
        });
      }
    } else if (/^(registered|registryUrl|registryURL|metricsUrl|metricsURL|pushGatewayUrl|pushgatewayUrl|heartbeatTimer|metricsTimer|registerTimer)$/.test(m.name)) {
      ctx.plan.proposeMember({ name: m.name, finding: /regist/i.test(m.name) ? 'registry' : 'metrics', reason: `${m.name} served the hand-made registration/metrics push`, quiet: true });
    }
  }
}
