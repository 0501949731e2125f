// Concern `retry`: retry/backoff helpers (a loop with a growing delay, or a method named like
// one; a pause on failure without backoff is reported by the scan but is business's own) and the module-level sleep/retry functions they use. The base retries its own
// registration and metrics pushes; a helper that business code still calls stays, as the
// business's own (a warning says so; it is no item for review unless it registers or pushes).
import { Node } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { methodBody } from '../../src/lang/typescript/context.js';
import { looksLikeRetry, pushKind, RETRY_NAME } from '../../src/lang/typescript/patterns.js';

export function removeRetryHelpers(ctx: TsRewriteContext): void {
  for (const m of ctx.members.values()) {
    if (m.kind !== 'method') continue;
    const body = methodBody(ctx, m.name);
    if (!body) continue;
    if (RETRY_NAME.test(m.name) || looksLikeRetry(body, true)) {
      // One that registers or pushes metrics itself is the base's job even when kept code calls it.
      const business = !pushKind(body) && !/regist|metric|heartbeat|announce/i.test(m.name);
      ctx.plan.proposeMember({
        name: m.name,
        finding: 'retry',
        reason: `${m.name}() is a retry/backoff helper; the base retries registration and metrics pushes`,
        businessWhenUsed: business,
        // A business helper's calls are what keep it: a bare `this.pump();` in kept code is not
        // swept away with it (a work pump re-queuing failed deliveries with back-off lost them).
        sticky: business,
      });
    }
  }
  for (const f of ctx.sf.getFunctions()) {
    const name = f.getName();
    const body = f.getBody();
    if (!name || !body) continue;
    if (RETRY_NAME.test(name) || looksLikeRetry(body, true)) {
      ctx.plan.proposeMember({ name, scope: 'module', finding: 'retry', reason: `${name}() is a retry/backoff helper`, quiet: true });
    } else if (/^(sleep|delay|wait|pause)$/i.test(name) && Node.isBlock(body) && body.getStatements().length <= 2) {
      ctx.plan.proposeMember({ name, scope: 'module', finding: 'retry', reason: `${name}() paced the removed retry and loop code`, quiet: true });
    }
  }
  // `const sleep = (ms: number) => new Promise(...)` helpers.
  for (const v of ctx.sf.getVariableDeclarations()) {
    const init = v.getInitializer();
    if (init && Node.isArrowFunction(init) && /^(sleep|delay|wait|pause)$/i.test(v.getName()) && v.getVariableStatement()?.getParent() === ctx.sf) {
      ctx.plan.proposeMember({ name: v.getName(), scope: 'module', finding: 'retry', reason: `${v.getName()}() paced the removed retry and loop code`, quiet: true });
    }
  }
}
