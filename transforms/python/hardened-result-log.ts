// Concern (seed 001): run()'s log line on what collect() returned (`count = self.collect()` then
// `if count: logger.info("reported %d module changes", count)`), which went with run()'s loop. Once
// collect() is collect_data(), the value that line read is what collect() returned, known at each of its
// returns: the line is written there, before the rewritten return, the name bound to the legacy return's
// value. Same line, same value, once per cycle where the legacy wrote it; it now comes before the base
// publishes the cycle's events (the legacy wrote it after collect()'s own publish). Only when that value
// provably is the same there: it reads no self and nothing the removed publish/drain code touches, and
// the log line reads nothing but that name and module-level names collect() does not rebind.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { bindingsOf, statements, walk } from '../../src/lang/python/syntax.js';
import { lineStart } from '../../src/lang/python/text.js';
import { isLogCall } from '../../src/analysis/infra.js';
import { analyzeCollect, cycleMethod, HOOK, isCollectCall, LEGACY_RUN, resultLogGuard, selfCall, sideEffectFree } from './hardened-shapes.js';
import { bareNames } from './owned-port-source.js';
import { moduleNames } from './super-init.js';

/** Builtins a log line may read besides the module's names. */
const BUILTINS = new Set(['len', 'str', 'int', 'float', 'bool', 'min', 'max', 'sum', 'round', 'sorted', 'repr', 'abs', 'True', 'False', 'None']);
import { analyzeRun } from './hardened-main-loop.js';
import { reindent } from './hardened-loop-publish.js';

const label = 'hardened-result-log';

export interface ResultLogs {
  /** run()'s local bound to what collect() returned. */
  name: string;
  /** run()'s log statements reading it (an `if count:` guard whole), in order. */
  logs: SyntaxNode[];
  /** collect()'s returns, each with the legacy value (null: a bare `return`). */
  returns: Array<{ node: SyntaxNode; value: SyntaxNode | null }>;
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
  if (!c.ok || !c.value.publishStmts.length || !ctx.resolved.statements.some((s) => s.node.id === c.value.publishStmts[0]!.id)) return null;
  if (!memo.has(ctx)) memo.set(ctx, readResultLogs(ctx));
  return memo.get(ctx)!;
}

function readResultLogs(ctx: PythonTransformContext): ResultLogs | null {
  const run = ctx.agent.methods.get(LEGACY_RUN);
  const r = analyzeRun(ctx);
  const c = analyzeCollect(ctx);
  if (!run || !r.ok || !c.ok || c.value.loop || c.value.append || !c.value.publishStmts.length) return null;
  const cycle = cycleMethod(ctx);
  // `count = self.collect()` in run(), its result read only by log lines after it (isCollectCall).
  let call: SyntaxNode | null = null;
  walk(run.body, (n) => {
    if (call || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type !== 'expression_statement') return;
    const sc = selfCall(n);
    if (sc?.method === cycle && sc.target?.type === 'identifier' && isCollectCall(n, cycle)) call = n;
  });
  if (!call) return null;
  const name = selfCall(call)!.target!.text;
  // run()'s reading lists the log line inside `if count:`; the guard moves with it.
  const logs: SyntaxNode[] = [];
  for (const x of r.value.cycle.after) {
    const guard = x.parent?.parent;
    const st = guard?.type === 'if_statement' && resultLogGuard(guard, name) ? guard : x;
    if (mentions(st, name) && !logs.some((l) => l.id === st.id)) logs.push(st);
  }
  if (!logs.length || !logs.every((x) => (x.type === 'expression_statement' && isLogCall(x.namedChild(0))) || resultLogGuard(x, name))) return null;
  const fn = c.value.fn;
  const bound = bindingsOf(fn.node);
  // The name must be new to collect(), and what the lines read besides it (logger, a constant) must mean there what it meant in run().
  if (bareNames(fn.node).has(name)) return null;
  // (a module name run() rebinds, `logger = logging.getLogger("kmod.cycle")`, meant run()'s own there)
  const inRun = bindingsOf(run.node);
  const known = new Set([...moduleNames(ctx)].filter((id) => !inRun.has(id)));
  for (const log of logs) {
    for (const id of bareNames(log)) {
      if (id === name) continue;
      if (id === 'self' || bound.has(id) || !(known.has(id) || BUILTINS.has(id))) return null;
    }
  }
  const gone = [...c.value.publishStmts, ...c.value.drainStmts];
  const returns: ResultLogs['returns'] = [];
  for (const ret of c.value.returns) {
    const node = ret.node;
    if (node.type !== 'return_statement') return null;
    // On a line of its own (a `if x: return 0` one-liner has no line to write before).
    if (!/^[ \t]*$/.test(ctx.source.slice(lineStart(ctx.source, node.startIndex), node.startIndex))) return null;
    const value = node.namedChild(0);
    if (value && !sameValueThere(value, gone)) return null;
    returns.push({ node, value });
  }
  // Every way out of collect() is one of those returns (a fall-through returns None, read nowhere here).
  const last = statements(fn.body).filter((s) => s.type !== 'comment').pop();
  if (!returns.length || last?.type !== 'return_statement') return null;
  return { name, logs, returns };
}

/**
 * The legacy return value is the same where the rewrite writes the line: evaluating it changes nothing
 * (names, literals, operators, len()), it reads no self, and no statement that goes mentions what it reads.
 */
function sameValueThere(value: SyntaxNode, gone: SyntaxNode[]): boolean {
  const reads = bareNames(value);
  if (!sideEffectFree(value) || reads.has('self')) return false;
  return gone.every((g) => ![...bareNames(g)].some((id) => reads.has(id)));
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
      for (const log of plan.logs) lines.push(`${reindent(ctx, log, indent)}${eol}`);
      ctx.edits.insert(start, lines.join(''), label);
      written++;
    }
    const what = plan.logs.map((x) => `line ${x.startPosition.row + 1}: ${x.text.replace(/\s*\r?\n\s*/g, ' ').trim().slice(0, 90)}`).join('; ');
    const where = written === plan.returns.length
      ? `before ${written === 1 ? 'its return' : `each of its ${written} returns`}`
      : written ? `before the ${written} of its ${plan.returns.length} returns whose value it logged` : 'nowhere (every return gave it a value it never logged)';
    ctx.warnings.push(
      `${ctx.agent.cls.name}: run()'s log line${plan.logs.length > 1 ? 's' : ''} on what ${c.value.fn.name}() returned (${what}) written in ${HOOK}() ${where}, ` +
        `with ${plan.name} bound to the value ${c.value.fn.name}() returned there; it now comes before the base publishes the cycle's events (the legacy wrote it after ${c.value.fn.name}()'s own publish)`,
    );
  },
};
