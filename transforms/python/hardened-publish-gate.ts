// Concern (seed 001): a cycle that returns early when its publish fails (`ok = self._publish(t)`,
// `if not ok: return False`) so that what follows (a cursor saved with tmp + os.replace, a
// checkpoint) moves only once the bus took the events. Under the base the publish runs after
// collect_data() returns, so that gate cannot be kept as written; the review item names the call,
// the gate and the gated lines, and what a person decides.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { expressionOf, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { isLogCall } from '../../src/analysis/infra.js';

const lineOf = (n: SyntaxNode) => n.startPosition.row + 1;
const head = (n: SyntaxNode) => n.text.split('\n')[0]!.trim().slice(0, 70);

/** `self.<m>(...)` where m is the publish: the call, else null. */
function publishCall(n: SyntaxNode | null, isPublish: (m: string) => boolean): SyntaxNode | null {
  if (n?.type !== 'call') return null;
  const m = selfAttribute(n.childForFieldName('function')!);
  return m && isPublish(m) ? n : null;
}

/** `if not ok: return ...` / `if not self._publish(t): return ...`: the statement ends the cycle when the publish failed. */
function failureExit(s: SyntaxNode, answer: (cond: SyntaxNode) => boolean): boolean {
  if (s.type !== 'if_statement' || s.childForFieldName('alternative')) return false;
  const cond = s.childForFieldName('condition');
  if (cond?.type !== 'not_operator' || !answer(cond.childForFieldName('argument')!)) return false;
  const body = statements(s.childForFieldName('consequence'));
  return body.length > 0 && body[body.length - 1]!.type === 'return_statement';
}

/** A statement after the gate that changes something (not a log line, not the final return). */
function effect(s: SyntaxNode): boolean {
  if (s.type === 'return_statement' || s.type === 'pass_statement') return false;
  const e = expressionOf(s);
  return !(e?.type === 'call' && isLogCall(e));
}

/**
 * The review reason when the cycle's statement `s` is `ok = self.<publish>(batch)` and one of `after` (the
 * statements past it, in the same block) is `if not ok: return ...` followed by state that changes only then
 * (a cursor saved), while the publish itself keeps nothing it failed to send: the legacy relied on reading the
 * same lines again. The in-place rewrite to the base's queued publish would queue the batch AND leave the
 * cursor, so after an outage the queued batch drains while the re-read one is published again: duplicate
 * delivery. Null when there is no such gate.
 */
export function inPlaceCursorGate(ctx: PythonTransformContext, cycle: PyFunction, s: SyntaxNode, after: SyntaxNode[], queuedPublish: string): { reason: string; at: number } | null {
  const e = expressionOf(s);
  const target = e?.type === 'assignment' ? e.childForFieldName('left') : null;
  const call = e?.type === 'assignment' ? e.childForFieldName('right') : null;
  if (target?.type !== 'identifier' || call?.type !== 'call') return null;
  const k = after.findIndex((y) => failureExit(y, (c) => c.type === 'identifier' && c.text === target.text));
  if (k < 0) return null;
  const gated = after.slice(k + 1).filter(effect);
  if (!gated.length) return null;
  const gate = after[k]!;
  const callee = call.childForFieldName('function')!.text;
  const quoted = gated.slice(0, 3).map((g) => `line ${lineOf(g)}: ${head(g)}`).join('; ');
  return {
    at: lineOf(gate),
    reason:
      `${cycle.name}() goes on past line ${lineOf(gate)} only when ${callee}() took the events (line ${lineOf(s)}: ${head(s)}; line ${lineOf(gate)}: ${head(gate)}), ` +
      `so what follows moves only once the bus has them: a cursor gate (${quoted}); ${callee}() keeps nothing it failed to send, the next cycle reads the same again. ` +
      `Published in place through ${ctx.profile.base_class}'s ${queuedPublish}(), a failed batch is queued locally and the answer is False: the cursor stays, so after an outage ` +
      `the queued batch drains and the same lines are read and published again, each delivered twice. ` +
      `A person decides: move the cursor once the batch is queued (the base's queue then carries its delivery), or keep the publish the agent's own and gate it as now`,
  };
}

/**
 * The review reason when statement `s` of the cycle publishes and returns early on a failure, and
 * `after` (the cycle's statements past `s`) changes state only then; null otherwise.
 */
export function publishGate(
  ctx: PythonTransformContext,
  cycle: PyFunction,
  s: SyntaxNode,
  after: SyntaxNode[],
  isPublish: (m: string) => boolean,
): { reason: string; at: number } | null {
  let found: { call: SyntaxNode; gate: SyntaxNode } | null = null;
  walk(s, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'block' && n.type !== 'module' && n.id !== s.id) return;
    const list = n.id === s.id ? [s] : statements(n);
    list.forEach((x, k) => {
      if (found) return;
      // `if not self._publish(t): return False`
      const direct = x.type === 'if_statement' ? publishCall(x.childForFieldName('condition')?.childForFieldName('argument') ?? null, isPublish) : null;
      if (direct && failureExit(x, (c) => c.id === direct.id)) {
        found = { call: direct, gate: x };
        return;
      }
      // `ok = self._publish(t)` … `if not ok: return False`
      const e = expressionOf(x);
      const target = e?.type === 'assignment' ? e.childForFieldName('left') : null;
      const call = e?.type === 'assignment' ? publishCall(e.childForFieldName('right'), isPublish) : null;
      if (!call || target?.type !== 'identifier' || n.id === s.id) return;
      const gate = statements(n).slice(k + 1).find((y) => failureExit(y, (c) => c.type === 'identifier' && c.text === target.text));
      if (gate) found = { call, gate };
    });
  });
  if (!found) return null;
  const { call, gate } = found as { call: SyntaxNode; gate: SyntaxNode };
  const gated = after.filter(effect);
  if (!gated.length) return null;
  const callee = call.childForFieldName('function')!.text;
  // Quote the whole `ok = self._publish(...)` when the answer is assigned.
  const sent = call.parent?.type === 'assignment' ? call.parent : call;
  const quoted = gated.slice(0, 3).map((g) => `line ${lineOf(g)}: ${head(g)}`).join('; ');
  return {
    at: lineOf(gate),
    reason:
      `${cycle.name}() goes on past line ${lineOf(gate)} only when ${callee}() took the events (line ${lineOf(call)}: ${head(sent)}; line ${lineOf(gate)}: ${head(gate)}), ` +
      `so what follows moves only once the bus has them: a cursor gate (${quoted}). Under ${ctx.profile.base_class} the publish runs after collect_data() returns and queues what fails, ` +
      `so that state would move before the bus took the events (and what the base's local_queue holds at a restart is not read again, where the legacy re-read it). ` +
      `A person decides: move it when collect_data() hands the events over (the base's queue then carries delivery), or keep the publish the agent's own and gate it as now`,
  };
}
