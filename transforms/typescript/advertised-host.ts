// A registration that went advertised a host of its own (`host: os.hostname()`, `address: HOST_IP`):
// the base's record advertises the base's host (the reference BaseAgent: AGENT_HOST, default
// 127.0.0.1, the host its /health binds), so the registry's readers now get that one. Not carried onto
// the base: its host variable also chooses where /health binds, and a machine's name may not resolve
// to loopback, where the validator and local probes reach /health. Said with the line and the variable,
// not silent. (A registration whose extra fields move onto the record hook keeps its review item when
// its host differs: registration-record.ts.)
import type { ObjectLiteralExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { baseHostSetting } from './health-host.js';
import { otherHosts } from './registration-record.js';

export function warnAdvertisedHost(ctx: TsRewriteContext, method: string, payload: ObjectLiteralExpression): void {
  const hosts = otherHosts(payload);
  if (hosts.length === 0) return;
  const base = baseHostSetting(ctx.base.source);
  const theirs = base ? `its ${base.env} (default ${base.fallback}, where its /health binds)` : `its own host (no variable chooses it)`;
  const fix = base ? `: set ${base.env} where it is deployed to the host the registry's readers reach it by` : '';
  ctx.warnings.push(
    `${method}() advertised ${hosts.map((h) => h.getText()).join(', ')} (line ${hosts[0]!.getStartLineNumber()}) to the registry; it went, and the base's record advertises ${theirs}${fix}`,
  );
}
