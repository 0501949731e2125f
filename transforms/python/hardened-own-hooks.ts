// Concern (seed 001): methods the legacy agent wrote under a hook's name. A legacy agent with no
// base that calls its own `validate_event(conn)` / `enrich_event(conn)` from the cycle already
// validates and enriches there; once collect() becomes collect_data(), HardenedAgentBase calls
// those names again on every event collect_data() returns (a batch, maybe, not the record the
// method reads), so they would run twice, on another shape, and a failure would drop the events.
// Such a method is renamed with its callers: the cycle keeps calling it exactly as before and the
// base's defaults stand (hardened-hooks then says the hooks are still to write). A hook written
// for an older copy of the base (the class derived from one) is that base's override: kept.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { keep } from '../../src/lang/python/transform-context.js';
import { selfAttribute, walk } from '../../src/lang/python/syntax.js';
import { derivesFromBaseOfName } from '../../src/analysis/older-base.js';
import { freshName, renameMember, reportExternalCallers } from '../../src/lang/python/rename.js';
import { analyzeCollect } from './hardened-shapes.js';

const label = 'hardened-own-hooks';

export const hardenedOwnHooks: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    const { agent } = ctx;
    const collect = analyzeCollect(ctx);
    if (!collect.ok || derivesFromBaseOfName(ctx.module, agent.cls, ctx.profile.base_class)) return;
    const calledInCycle = new Set<string>();
    walk(collect.value.fn.body, (n) => {
      if (n.type !== 'call') return;
      const name = selfAttribute(n.childForFieldName('function')!);
      if (name) calledInCycle.add(name);
    });
    for (const hook of ctx.py.hooks ?? []) {
      const fn = agent.methods.get(hook);
      if (!fn || hook === collect.value.fn.name || !ctx.base.methods.has(hook) || !calledInCycle.has(hook) || ctx.resolved?.members.has(hook)) continue;
      const renamed = freshName(ctx, hook, '_agent_');
      const outside = renameMember(ctx, hook, renamed, label);
      ctx.warnings.push(
        `${agent.cls.name}.${hook}() renamed to ${renamed}(): the legacy cycle calls it itself, and ${ctx.profile.base_class} would call ${hook}() again on every event collect_data() returns; the cycle now calls ${renamed}()`,
      );
      reportExternalCallers(ctx, hook, renamed, `${ctx.profile.base_class} calls ${hook}() on every collected event`);
      for (const r of outside) {
        keep(ctx, hook, r.line, `called from outside the class after ${hook}() was renamed to ${renamed}() (${ctx.profile.base_class} calls ${hook}() on every event); point this caller at ${renamed}() if it is the agent`);
      }
    }
  },
};
