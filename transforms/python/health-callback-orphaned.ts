// Concern: a health method the removal plan keeps (its payload cannot move to the base's health hook) whose
// only callers went with the removed health code: `self.selector.register(self.health_listener, EVENT_READ,
// self._accept_health)` in the set-up of a plain TCP health port that the base's server replaces. Kept, it is
// called by nothing: what it answered (a 503 "lagging" from the agent's own health(), say) is no longer served
// by anyone, while the warning said "kept" (probe-py69 ReplicaWatcher: legacy 503 "lagging", _v2 200 "ok", the
// unit committed as migrated). Each such method is a review item naming where it was called from.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isRemoved, keep } from '../../src/lang/python/transform-context.js';
import { excerpt } from '../../src/core/excerpt.js';
import { keptForItsPayload } from './remove-health.js';

const label = 'health-callback-orphaned';

export const healthCallbackOrphaned: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    const plan = ctx.resolved;
    if (!plan) return;
    for (const note of plan.notes) {
      const name = note.symbol;
      // A health handler kept because its payload cannot move to the base's hook (healthLoopStays), as
      // remove-health recorded it (not any kept method whose payload would not move).
      if (!keptForItsPayload(ctx, name)) continue;
      const fn = ctx.agent.methods.get(name);
      if (!fn || isRemoved(ctx, fn.outer) || ctx.kept.some((k) => k.symbol === name)) continue;
      // Its uses besides its own definition: all of them inside code the migration removed.
      const uses = ctx.refs.of(name).filter((r) => !(fn.outer.startIndex <= r.start && r.end <= fn.outer.endIndex));
      if (!uses.length || !uses.every((r) => isRemoved(ctx, r.node) || ctx.edits.covered(r.start, r.end))) continue;
      // Handed as a callback (`selector.register(listener, EVENT_READ, self._accept_health)`), never called there:
      // a server's or selector's dispatch that went with the listener.
      const called = (r: (typeof uses)[number]) => {
        const attr = r.node.parent?.type === 'attribute' ? r.node.parent : r.node;
        return attr.parent?.type === 'call' && attr.parent.childForFieldName('function')?.id === attr.id;
      };
      if (!uses.every((r) => r.kind === 'attribute' && !called(r))) continue;
      // Written back by another step (a hook calling it): it is still called.
      if (ctx.edits.writtenTexts().some((t) => new RegExp(`\\bself\\.${name}\\b`).test(t))) continue;
      const first = uses[0]!;
      const line = ctx.source.split(/\r?\n/)[first.line - 1] ?? '';
      keep(ctx, name, fn.line,
        `${name}() answered the legacy health probes and stays (its payload cannot move to ${ctx.profile.base_class}'s health hook), but its only caller went with the removed health code ` +
          `(line ${first.line}: ${excerpt(line.trim(), 80)}): nothing calls it now, so what it answered (its status and HTTP code) is no longer served; ` +
          `${ctx.profile.base_class}'s /health answers instead: report that status from the base's health hook by hand, or delete ${name}()`);
    }
  },
};
