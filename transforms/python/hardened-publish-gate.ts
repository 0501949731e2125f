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
import { excerpt } from '../../src/core/excerpt.js';

const lineOf = (n: SyntaxNode) => n.startPosition.row + 1;
const head = (n: SyntaxNode) => excerpt(n.text, 70);

/** `self.<m>(...)` where m is the publish: the call, else null. */
function publishCall(n: SyntaxNode | null, isPublish: (m: string) => boolean): SyntaxNode | null {
  if (n?.type !== 'call') return null;
  const m = selfAttribute(n.childForFieldName('function')!);
  return m && isPublish(m) ? n : null;
}

/**
 * The negated publish answer a gate's condition tests: `not ok` / `not self._publish(t)`, alone or as the
 * last operand of an `and` chain (`if events and not self._publish(t):`, taken only when there was
 * something to send); else null.
 */
function negatedAnswer(cond: SyntaxNode | null): SyntaxNode | null {
  if (cond?.type === 'boolean_operator' && cond.children.some((c) => c.type === 'and')) return negatedAnswer(cond.childForFieldName('right'));
  return cond?.type === 'not_operator' ? cond.childForFieldName('argument') : null;
}

/**
 * `if not ok: return ...` / `if not self._publish(t): return ...`: the statement ends the cycle when the
 * publish failed; inside a loop over records, `... break` ends the pass at the record the bus refused.
 */
function failureExit(s: SyntaxNode, answer: (cond: SyntaxNode) => boolean): boolean {
  if (s.type !== 'if_statement' || s.childForFieldName('alternative')) return false;
  const tested = negatedAnswer(s.childForFieldName('condition'));
  if (!tested || !answer(tested)) return false;
  const body = statements(s.childForFieldName('consequence'));
  const last = body[body.length - 1];
  return last?.type === 'return_statement' || (last?.type === 'break_statement' && enclosingLoop(s) !== null);
}

/** The for/while loop a statement sits in, within its function; else null. */
function enclosingLoop(s: SyntaxNode): SyntaxNode | null {
  for (let p = s.parent; p && p.type !== 'function_definition' && p.type !== 'lambda'; p = p.parent) {
    if (p.type === 'for_statement' || p.type === 'while_statement') return p;
  }
  return null;
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
      const direct = x.type === 'if_statement' ? publishCall(negatedAnswer(x.childForFieldName('condition')), isPublish) : null;
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
  // What the gate holds back: what follows it in its block and in each block around it within the cycle's
  // statement (a position moved inside a try: or a loop), then the cycle's statements after that one.
  const loop = enclosingLoop(gate);
  const perRecord = loop !== null && (loop.startIndex >= s.startIndex) && statements(gate.childForFieldName('consequence')).pop()?.type === 'break_statement';
  const following: SyntaxNode[] = [];
  const saved: SyntaxNode[] = [];
  for (let x: SyntaxNode | null = gate; x && x.id !== s.id; x = x.parent) {
    if (x.parent?.type === 'block') {
      const sibs = statements(x.parent);
      following.push(...sibs.slice(sibs.findIndex((y) => y.id === x!.id) + 1));
    }
    // A finally: around the gate saves what the gate left, moved or not.
    if (x.type === 'try_statement') {
      const fin = x.namedChildren.find((c) => c.type === 'finally_clause');
      saved.push(...statements(fin?.namedChildren.find((c) => c.type === 'block') ?? null).filter(effect));
    }
  }
  if (s.type === 'try_statement' && gate.id !== s.id) {
    const fin = s.namedChildren.find((c) => c.type === 'finally_clause');
    if (fin && !saved.length) saved.push(...statements(fin.namedChildren.find((c) => c.type === 'block') ?? null).filter(effect));
  }
  const gated = [...following.filter(effect), ...after.filter(effect)];
  if (!gated.length) return null;
  const callee = call.childForFieldName('function')!.text;
  // Quote the whole `ok = self._publish(...)` when the answer is assigned.
  const sent = call.parent?.type === 'assignment' ? call.parent : call;
  const quoted = gated.slice(0, 3).map((g) => `line ${lineOf(g)}: ${head(g)}`).join('; ');
  // The call in the gate's own condition is quoted once, with the gate.
  const calls = call.startIndex >= gate.startIndex && call.endIndex <= gate.endIndex ? '' : `line ${lineOf(call)}: ${head(sent)}; `;
  const how = perRecord
    ? `${cycle.name}() moves past each record only when ${callee}() took it (${calls}line ${lineOf(gate)}: ${head(gate)} ends the pass at the first record the bus refused, in line ${lineOf(loop!)}: ${head(loop!)}), ` +
      `so the position advances record by record behind the bus: a per-record cursor gate (${quoted})`
    : `${cycle.name}() goes on past line ${lineOf(gate)} only when ${callee}() took the events (${calls}line ${lineOf(gate)}: ${head(gate)}), ` +
      `so what follows moves only once the bus has them: a cursor gate (${quoted})`;
  const fin = saved.length ? `, saved by a finally: whatever the cycle did (${saved.slice(0, 2).map((g) => `line ${lineOf(g)}: ${head(g)}`).join('; ')})` : '';
  return {
    at: lineOf(gate),
    reason:
      `${how}${fin}. Under ${ctx.profile.base_class} the publish runs after collect_data() returns and queues what fails, ` +
      `so that state would move before the bus took the events (and what the base's local_queue holds at a restart is not read again, where the legacy re-read it). ` +
      `A person decides: move it when collect_data() hands the events over (the base's queue then carries delivery), or keep the publish the agent's own and gate it as now`,
  };
}
