// Concern: the health bookkeeping an ad-hoc health endpoint kept in a plain attribute of the agent
// (`self._health = {"status": "ok", "probes": 0}`, its handler counting the probes it answered in it).
// Once that endpoint goes, the attribute can be left assigned and never read. It is proposed for
// removal only when the code never reads it for its value anywhere: every mention is the attribute's own
// assignment or a store into it (`agent._health["probes"] += 1`), and every value it is given is plain
// data (a dict, a list, a constant). The removal plan then removes it with its stores only when all of
// them lie in code that goes; a store in code that stays keeps it (unchanged, so a note). One read
// anywhere (a payload the health hook now sends, business code) keeps it without a word.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { valueType } from '../../src/analysis/value-type.js';

/** Names of a health bookkeeping attribute (not an endpoint: those are remove-health's HEALTH_ATTRIBUTE). */
const HEALTH_STATE = /^_?health(_(status|state|info|data|stats|record))?$/;

/** Plain data: what a bookkeeping attribute holds. */
const PLAIN = new Set(['dict', 'list', 'set', 'str', 'int', 'float', 'bool', 'None']);

export const leftoverHealthState: PythonTransform = {
  name: 'leftover-health-state',
  phase: 'propose',
  run(ctx) {
    for (const attr of ctx.agent.attributes) {
      if (!HEALTH_STATE.test(attr) || ctx.baseOwned.has(attr) || ctx.agent.methods.has(attr)) continue;
      const assigns = ctx.agent.assignments.filter((a) => a.attr === attr);
      if (!assigns.length || !assigns.every((a) => PLAIN.has(valueType(a.value) ?? ''))) continue;
      const refs = ctx.refs.of(attr);
      if (!refs.every((r) => r.kind === 'attribute' && storedInto(r.node))) continue;
      ctx.plan.proposeMember({
        name: attr,
        kind: 'attribute',
        finding: 'health',
        reason: 'health bookkeeping of the ad-hoc health endpoint, written and never read',
        safeToKeep: true,
      });
    }
  },
};

/** `x.attr = v` (also annotated) or `x.attr[k] = v` / `x.attr[k] += v`: the attribute is written, not read for its value. */
function storedInto(name: SyntaxNode): boolean {
  const attribute = name.parent!;
  const p = attribute.parent;
  const target = (n: SyntaxNode, stmt: SyntaxNode | null | undefined) =>
    (stmt?.type === 'assignment' || stmt?.type === 'augmented_assignment') && stmt.childForFieldName('left')?.id === n.id;
  if (p?.type === 'assignment' && target(attribute, p)) return true;
  return p?.type === 'subscript' && p.childForFieldName('value')?.id === attribute.id && target(p, p.parent);
}
