// Concern (seed 001): run()'s log lines on what collect() returned (`n = self.collect()` then
// `logger.info("cycle %d: %d events", cycle, n)`, or `if count: logger.info("reported %d module changes",
// count)`), which went with run()'s loop. Once collect() is collect_data(), the value those lines read is
// what collect() returned, known at each of its returns: the lines are written there, before the rewritten
// return, the name bound to the legacy return's value (the loop's counters and interval spelled as the
// agent's, as the main loop moves them). Same lines, same value, once per cycle where the legacy wrote
// them; they now come before the base publishes the cycle's events (the legacy wrote them after collect()'s
// own publish). Only when that value provably is the same there: it reads no self and nothing the removed
// publish/drain code touches, and the lines read nothing but that name, the loop's counters, the agent
// (when nothing of the loop's tail ran between) and module-level names neither run() nor collect() rebinds.
// The one reader of these lines: the main loop only says which of run()'s lines after collect() it drops.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { bindingsOf, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { lineStart } from '../../src/lang/python/text.js';
import { isLogCall } from '../../src/analysis/infra.js';
import { analyzeCollect, HOOK, LEGACY_RUN, resultLogGuard, selfCall, sideEffectFree } from './hardened-shapes.js';
import { bareNames } from './owned-port-source.js';
import { moduleNames } from './super-init.js';
import { analyzeRun, movedStatement, type CycleWork } from './hardened-main-loop.js';

/** Builtins a log line may read besides the module's names. */
const BUILTINS = new Set(['len', 'str', 'int', 'float', 'bool', 'min', 'max', 'sum', 'round', 'sorted', 'repr', 'abs', 'True', 'False', 'None']);

const label = 'hardened-result-log';

export interface ResultLogs {
  /** run()'s local bound to what collect() returned. */
  name: string;
  /** run()'s log statements reading it (an `if count:` guard whole), in order. */
  logs: SyntaxNode[];
  /** collect()'s returns, each with the legacy value (null: a bare `return`). */
  returns: Array<{ node: SyntaxNode; value: SyntaxNode | null }>;
  /** run()'s loop as the main loop read it: its counters and interval, which the moved lines are spelled with. */
  work: CycleWork;
}

const memo = new WeakMap<PythonTransformContext, ResultLogs | null>();

/**
 * The log lines of run() that move to collect_data()'s returns, or null when that is not provably the
 * same, or when the plan keeps run() or collect() (the edit phase: run() goes as the base's loop and
 * collect()'s publish goes, so collect() becomes collect_data()).
 */
export function resultLogs(ctx: PythonTransformContext): ResultLogs | null {
  if (ctx.resolved?.members.get(LEGACY_RUN)?.finding !== 'loop') return null;
  const c = analyzeCollect(ctx);
  if (!c.ok) return null;
  const publish = c.value.publishStmts[0];
  if (publish && !ctx.resolved.statements.some((s) => s.node.id === publish.id)) return null;
  if (!memo.has(ctx)) memo.set(ctx, readResultLogs(ctx));
  return memo.get(ctx)!;
}

function readResultLogs(ctx: PythonTransformContext): ResultLogs | null {
  const run = ctx.agent.methods.get(LEGACY_RUN);
  const r = analyzeRun(ctx);
  const c = analyzeCollect(ctx);
  if (!run || !r.ok || !c.ok) return null;
  const p = c.value;
  if (p.loop || p.append || p.replaced?.size || p.queued || p.accumulate || !p.returns.length) return null;
  const work = r.value.cycle;
  // `count = self.collect()` in run()'s loop.
  const call = work.collect;
  const target = call ? selfCall(call)?.target : null;
  if (!call || target?.type !== 'identifier') return null;
  const name = target.text;
  // Its log lines after it in its block, before the sleep (run()'s reading lists the line inside
  // `if count:`; the guard moves with it).
  const logs: SyntaxNode[] = [];
  for (const x of work.after) {
    const guard = x.parent?.parent;
    const st = guard?.type === 'if_statement' && resultLogGuard(guard, name) ? guard : x;
    if (!mentions(st, name) || logs.some((l) => l.id === st.id)) continue;
    if (st.parent?.id !== call.parent?.id || st.startIndex < call.endIndex || (work.sleep && work.sleep.startIndex < st.startIndex)) continue;
    if ((st.type === 'expression_statement' && isLogCall(st.namedChild(0))) || resultLogGuard(st, name)) logs.push(st);
  }
  if (!logs.length) return null;
  // The name serves those lines alone.
  let elsewhere = false;
  walk(run.body, (n) => {
    if (n.type === 'identifier' && n.text === name && n.id !== target.id && !logs.some((l) => l.startIndex <= n.startIndex && n.endIndex <= l.endIndex)) elsewhere = true;
  });
  if (elsewhere) return null;
  const fn = p.fn;
  // The name must be new to collect(), and what the lines read besides it (logger, a constant) must mean
  // there what it meant in run() (a module name run() rebinds, `logger = logging.getLogger("kmod.cycle")`,
  // meant run()'s own there).
  const bound = bindingsOf(fn.node);
  if (bareNames(fn.node).has(name)) return null;
  const inRun = bindingsOf(run.node);
  const known = new Set([...moduleNames(ctx)].filter((id) => !inRun.has(id)));
  const loopNames = new Set([...work.locals, ...(work.param ? [work.param] : [])]);
  for (const log of logs) {
    for (const id of bareNames(log)) {
      if (id === name || loopNames.has(id)) continue;
      // The agent as it was when collect() returned: nothing of the loop's tail (`self.cycles += 1`) ran in between.
      if (id === 'self' && !work.tail.some((t) => t.startIndex > call.endIndex && t.endIndex < log.startIndex)) continue;
      if (id === 'self' || bound.has(id) || !(known.has(id) || BUILTINS.has(id))) return null;
    }
  }
  const gone = [...p.publishStmts, ...p.drainStmts];
  const returns: ResultLogs['returns'] = [];
  for (const ret of p.returns) {
    const node = ret.node;
    if (node.type !== 'return_statement') return null;
    // On a line of its own (a `if x: return 0` one-liner has no line to write before).
    if (!/^[ \t]*$/.test(ctx.source.slice(lineStart(ctx.source, node.startIndex), node.startIndex))) return null;
    const value = node.namedChild(0);
    if (value && (value.text.includes('\n') || !sameValueThere(ctx, value, gone))) return null;
    returns.push({ node, value });
  }
  // Every way out of collect() is one of those returns (a fall-through returns None, read nowhere here).
  const planned = new Set(returns.map((x) => x.node.id));
  let unplanned = false;
  walk(fn.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'return_statement' && !planned.has(n.id)) unplanned = true;
  });
  const last = statements(fn.body).filter((s) => s.type !== 'comment').pop();
  if (unplanned || last?.type !== 'return_statement') return null;
  return { name, logs, returns, work };
}

/**
 * The legacy return value is the same where the rewrite writes the line: evaluating it changes nothing
 * (names, literals, operators, len()), it reads no self, and no statement that goes rebinds or changes
 * what it reads (`events = []`, `events.clear()`), nor does a method of the agent it is handed to there
 * (`self._publish_batch(events)` whose body clears its batch); handing it on to a function beyond that
 * is taken as a read, as the publish it was for.
 */
function sameValueThere(ctx: PythonTransformContext, value: SyntaxNode, gone: SyntaxNode[]): boolean {
  const reads = bareNames(value);
  if (!sideEffectFree(value) || reads.has('self')) return false;
  return gone.every((g) => !changes(ctx, g, reads, true));
}

/** Does the code rebind or change (a method call on it, an item or attribute set on it) one of the names? */
function changes(ctx: PythonTransformContext, code: SyntaxNode, names: Set<string>, follow: boolean): boolean {
  let hit = false;
  walk(code, (n) => {
    if (hit) return false;
    if (n.type !== 'identifier' || !names.has(n.text)) return;
    const p = n.parent;
    if (!p) return;
    if (p.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) return;
    // `events = ...`, `events += ...`, `for events in ...`, `del events`: rebound.
    for (let t: SyntaxNode | null = n; t && t.id !== code.id; t = t.parent) {
      const up = t.parent;
      if (!up) break;
      if ((up.type === 'assignment' || up.type === 'augmented_assignment' || up.type === 'for_statement') && up.childForFieldName('left')?.id === t.id) hit = true;
      if (up.type === 'delete_statement' || up.type === 'named_expression') hit = true;
      if (!/^(pattern_list|tuple_pattern|list_pattern|tuple|list|subscript|attribute|parenthesized_expression)$/.test(up.type)) break;
    }
    // `events.clear()`, `events[0] = ...`, `events.x = ...`: changed.
    if (p.type === 'attribute' && p.childForFieldName('object')?.id === n.id && p.parent?.type === 'call') hit = true;
    // Handed to a method of the agent: that method must not change its parameter.
    const call = p.type === 'argument_list' ? p.parent : null;
    const callee = call?.type === 'call' ? call.childForFieldName('function') : null;
    const m = callee?.type === 'attribute' ? selfAttribute(callee) : null;
    if (follow && call && m) {
      const fn = ctx.agent.methods.get(m);
      const args = p.namedChildren;
      const at = args.findIndex((a) => a.id === n.id);
      const param = fn?.params.filter((x) => x.name !== 'self')[at];
      if (!fn || !param || changes(ctx, fn.body, new Set([param.name]), false)) hit = true;
    }
  });
  return hit;
}

function mentions(node: SyntaxNode, name: string): boolean {
  return bareNames(node).has(name);
}

/** Falsy literals: `if count:` never logs after `return 0`. */
const FALSY = /^(0|0\.0|None|False|\[\]|\{\}|\(\)|""|'')$/;

export const hardenedResultLog: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    const plan = resultLogs(ctx);
    const c = analyzeCollect(ctx);
    if (!plan || !c.ok) return;
    const src = ctx.source;
    const eol = ctx.layout.eol;
    const guarded = plan.logs.every((x) => x.type === 'if_statement');
    let written = 0;
    for (const { node, value } of plan.returns) {
      const v = value?.text ?? 'None';
      if (guarded && FALSY.test(v.trim())) continue;
      const start = lineStart(src, node.startIndex);
      const indent = src.slice(start, node.startIndex);
      const lines = [`${indent}${plan.name} = ${v}${eol}`];
      for (const log of plan.logs) lines.push(`${movedStatement(ctx, log, indent, plan.work)}${eol}`);
      ctx.edits.insert(start, lines.join(''), label);
      written++;
    }
    const what = plan.logs.map((x) => `line ${x.startPosition.row + 1}: ${x.text.replace(/\s*\r?\n\s*/g, ' ').trim().slice(0, 90)}`).join('; ');
    const where = written === plan.returns.length
      ? 'before each of its returns'
      : written ? `before the ${written} of its ${plan.returns.length} returns whose value it logged` : 'nowhere (every return gave it a value it never logged)';
    const them = plan.logs.length > 1 ? 'them' : 'it';
    ctx.warnings.push(
      `${ctx.agent.cls.name}: run()'s log line${plan.logs.length > 1 ? 's' : ''} on what ${c.value.fn.name}() returned (${what}) now written by ${HOOK}() ${where}, ` +
        `${plan.name} bound to what that return gave run(); written before the base publishes the cycle's events (the legacy loop wrote ${them} after its own publish)`,
    );
  },
};
