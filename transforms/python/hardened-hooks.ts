// Concern (seed 001): the hooks nobody wrote yet. validate_event() and enrich_event() are
// domain decisions (which fields are required, which lookups enrich an event) that the legacy
// agent never made explicit; the migration does not invent them. The base's defaults (every
// event valid, unchanged) stand, and the report says the hooks are still to write: a warning,
// since nothing the agent did is lost.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';

const STILL_TO_WRITE = ['validate_event', 'enrich_event'];

export const hardenedHooks: PythonTransform = {
  name: 'hardened-hooks',
  phase: 'edit',
  run(ctx) {
    const hooks = ctx.py.hooks ?? [];
    const missing = STILL_TO_WRITE.filter((h) => hooks.includes(h) && (!ctx.agent.methods.has(h) || ctx.renames.has(h)));
    if (!missing.length) return;
    ctx.warnings.push(
      `${ctx.agent.cls.name}: ${missing.map((h) => `${h}()`).join(' and ')} not written (the base's default${missing.length > 1 ? 's' : ''} accept${missing.length > 1 ? '' : 's'} every event unchanged); still to write, as seed 001's Phase 3 asks`,
    );
  },
};
