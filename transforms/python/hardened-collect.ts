// Concern (seed 001): collect() → collect_data(). The legacy collect() drains the queue,
// scans, builds telemetry and publishes it; the base's loop calls collect_data() and does
// the draining and publishing itself. Only the drain/publish statements go (through the
// removal plan, so a kept run() loop keeps them); every other statement keeps its bytes,
// and collect_data() returns the events that were published. When collect() does anything
// the migration cannot classify, it stays as it is and is reported.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { keep } from '../../src/lang/python/transform-context.js';
import { analyzePublisher } from './hardened-publisher.js';
import { analyzeCollect, cycleMethod, HOOK, LEGACY_RUN, oneShotAnswerCycleCall, oneShotCycleCall, oneShotRaisingCycleCall, queueMethods, returnLine } from './hardened-shapes.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { indentAt, lineStart } from '../../src/lang/python/text.js';
import { writeCollectData } from './hardened-loop-publish.js';
import { closingCount } from './hardened-main-loop.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { walk } from '../../src/lang/python/syntax.js';
import { isLogCall } from '../../src/analysis/infra.js';
import { excerpt } from '../../src/core/excerpt.js';

const label = 'hardened-collect';

/** Statements of collect() go only when run() goes too: a kept loop still calls collect(). */
function requiresRun(ctx: PythonTransformContext): string[] {
  return ctx.agent.methods.has(LEGACY_RUN) ? [LEGACY_RUN] : [];
}

export const hardenedCollectPropose: PythonTransform = {
  name: 'hardened-collect-propose',
  phase: 'propose',
  run(ctx) {
    const a = analyzeCollect(ctx);
    if (!a.ok) {
      const name = cycleMethod(ctx);
      if (ctx.agent.methods.has(name)) keep(ctx, name, a.line, `${a.reason}; not turned into ${HOOK}()`);
      return;
    }
    // Built from run()'s loop, which goes whole (its publish and backlog with it): nothing of collect() goes.
    if (a.value.loop) return;
    const run = requiresRun(ctx);
    const gather = a.value.accumulate;
    if (a.value.queued) {
      // The base's queued publish sends through the publisher it is handed: the transport must move into one.
      const p = analyzePublisher(ctx);
      if (!p.ok || p.value.module) {
        keep(ctx, a.value.fn.name, a.value.fn.line, `${a.value.fn.name}() reads what its publish answers; the base's ${ctx.base.queuedPublish}() could answer it, but no EventBusPublisher can be built from the transport${p.ok ? '' : ` (${p.reason})`}; not turned into ${HOOK}()`);
        return;
      }
    }
    for (const s of a.value.publishStmts) {
      // Rewritten in place to the base's queued publish when the cycle reads the answer; gathered
      // in place (`events.append(<event>)`) when the cycle published from inside its own branches.
      const replacement = a.value.queued?.get(s.id) ?? a.value.replaced?.get(s.id) ?? gather?.appends.get(s.id);
      ctx.plan.proposeStatement({ node: s, symbol: `${a.value.fn.name}: ${s.text.split('\n')[0]!.trim()}`, finding: 'publish', reason: 'the base publishes what collect_data() returns', requires: run, ...(replacement !== undefined ? { replacement } : {}) });
    }
    // The drain goes only when nothing can fill the legacy queue any more.
    const queues = queueMethods(ctx);
    for (const s of a.value.drainStmts) {
      ctx.plan.proposeStatement({ node: s, symbol: `${a.value.fn.name}: ${s.text.split('\n')[0]!.trim()}`, finding: 'queue', reason: 'the base drains its local queue before publishing', requires: [...run, ...queues] });
    }
  },
};

export const hardenedCollect: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    const a = analyzeCollect(ctx);
    if (!a.ok) return;
    if (a.value.loop) {
      // Only when run() goes: a kept loop still publishes what collect() returns itself.
      if (ctx.resolved?.members.get(LEGACY_RUN)?.finding !== 'loop') return;
      writeCollectData(ctx, a.value.loop, a.value.fn, label);
      oneShotCycles(ctx, a.value.fn);
      return;
    }
    const first = a.value.publishStmts[0]!;
    if (!ctx.resolved!.statements.some((s) => s.node.id === first.id)) return;
    const { fn, returns, append, block, events } = a.value;
    const name = fn.node.childForFieldName('name')!;
    ctx.edits.replace(name.startIndex, name.endIndex, HOOK, label);
    oneShotCycles(ctx, fn);
    const gone = [...ctx.resolved!.members.values()].filter((m) => m.kind === 'method' && m.finding === 'publish').map((m) => `${m.name}()`);
    const moved = analyzePublisher(ctx);
    if (gone.length && !(moved.ok && moved.value.moved.every((m) => gone.includes(`${m.name}()`)))) {
      // The transport is gone; the base publishes only through the publisher it is given.
      ctx.warnings.push(`${ctx.agent.cls.name}: ${gone.join(', ')} removed; the base publishes what ${HOOK}() returns through eventbus_publisher=..., pass one to super().__init__ (without it, events are counted as unpublished)`);
    }
    // run()'s count of the cycles whose collect() returned ends collect_data() before each return (closingCount).
    const counted = (indent: string) => {
      const count = closingCount(ctx, indent);
      return count === null ? '' : count.slice(indent.length) + ctx.layout.eol + indent;
    };
    for (const r of returns) ctx.edits.replace(r.node.startIndex, r.node.endIndex, counted(indentAt(ctx.source, r.node.startIndex)) + r.text, label);
    if (a.value.accumulate) {
      const at = a.value.accumulate.at;
      const start = lineStart(ctx.source, at.startIndex);
      ctx.edits.insert(start, `${indentAt(ctx.source, at.startIndex)}${a.value.accumulate.name} = []${ctx.layout.eol}`, label);
      // One call standing in the method's own body sits in no branch: it was gathered for the event it
      // builds in the call (`self._publish(self._envelope(changes))`) or for what the body does around it.
      const one = a.value.publishStmts.length === 1 ? a.value.publishStmts[0]! : null;
      const built = one?.namedChild(0)?.type === 'call' && one.namedChild(0)!.childForFieldName('arguments')?.namedChildren[0]?.type === 'call';
      const where = !one ? `at ${a.value.publishStmts.length} places` : one.parent?.id !== fn.body.id ? 'from inside its own branches' : built ? 'an event it builds in the call itself' : 'once, in its own body';
      ctx.warnings.push(`${ctx.agent.cls.name}: ${fn.name}() published ${where} (line${a.value.publishStmts.length === 1 ? '' : 's'} ${a.value.publishStmts.map((x) => x.startPosition.row + 1).join(', ')}); each event is gathered there into ${a.value.accumulate.name}, which ${HOOK}() returns, and the base publishes them together after the cycle`);
    }
    if (a.value.queued) {
      const q = ctx.base.queuedPublish;
      for (const s of a.value.publishStmts) {
        const text = a.value.queued.get(s.id);
        if (text === undefined) continue;
        ctx.warnings.push(
          `${ctx.agent.cls.name}: ${fn.name}() reads what its publish answers (line ${s.startPosition.row + 1}: ${s.text.split('\n')[0]!.trim()}); it publishes there at once through the base's ${q}() now (${text.split('\n')[0]!.trim()}): ` +
            `sent through EventBusPublisher with the base's retries and breaker, False when kept in the base's local_queue, as the legacy publish answered; ${HOOK}() returns [] and the base drains its backlog after the cycle (before: before the publish)`,
        );
      }
    }
    droppedLogLines(ctx, fn.name, a.value.publishStmts.filter((x) => !a.value.queued?.has(x.id)));
    for (const c of a.value.counters) {
      ctx.warnings.push(`${ctx.agent.cls.name}: self.${c} counted publishes for log lines only and no longer counts (the base counts events_published, on /health and /metrics)`);
    }
    if (append) {
      // After the last statement of the block that stays (the removed ones take their lines with them).
      const gone = new Set(ctx.resolved!.statements.filter((s) => s.replacement === undefined).map((s) => s.node.id));
      const last = [...block].reverse().find((s) => !gone.has(s.id));
      if (!last) return;
      const r = returnLine(ctx, last, events);
      const count = closingCount(ctx, indentAt(ctx.source, last.startIndex));
      ctx.edits.insert(r.at, count === null ? r.text : r.text.replace(/^(\r?\n)?/, (eol) => eol + count + ctx.layout.eol), label);
    }
  },
};

/**
 * The cycle's own log lines inside the publish statements that go (`if not self._publish(t):
 * logger.info("queued locally ...")`, `if ok: logger.info("sent %d", n)`, a log beside the
 * fallback): they go with the statement, so each is named with its line. Operators and alerts
 * may match on them; the base logs each failed attempt and counts what it queued instead.
 */
function droppedLogLines(ctx: PythonTransformContext, cycle: string, gone: SyntaxNode[]): void {
  const logs: SyntaxNode[] = [];
  for (const s of gone) {
    walk(s, (n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      if (n.type === 'call' && isLogCall(n)) {
        logs.push(n);
        return false;
      }
    });
  }
  if (!logs.length) return;
  const lines = logs.map((x) => `line ${x.startPosition.row + 1}: ${excerpt(x.text, 90)}`).join('; ');
  ctx.warnings.push(
    `${ctx.agent.cls.name}: ${cycle}()'s log line${logs.length > 1 ? 's' : ''} about its publish went with it and ${logs.length > 1 ? 'are' : 'is'} no longer written (${lines}): ` +
      `the base logs each failed attempt ("publish attempt N/M failed") and counts what it queued (events_queued, queue_size on /health); move the line into ${HOOK}() or the publisher by hand if operators or alerts match on it`,
  );
}

/** The entry point's one-shot `agent.collect()` (see oneShotCycleCall) calls the base's one pass now. */
function oneShotCycles(ctx: PythonTransformContext, fn: PyFunction): void {
  for (const r of ctx.refs.of(fn.name)) {
    const raising = r.kind === 'attribute' && !oneShotCycleCall(ctx, fn, r.node) ? oneShotRaisingCycleCall(ctx, fn, r.node) : null;
    if (raising) {
      // `agent.collect()` -> `agent.run_cycle()`, then exit 1 when the pass caught a failure, as the raise did.
      const one = ctx.py.cycle_method!;
      const attr = raising.parent!;
      const stmt = attr.parent!.parent!;
      const agent = attr.childForFieldName('object')!.text;
      const indent = indentAt(ctx.source, stmt.startIndex);
      const step = indent.includes('\t') ? '\t' : '    ';
      const eol = ctx.layout.eol;
      const check = `if ${agent}.${ctx.py.health_hook}().get(${JSON.stringify(ctx.py.cycle_failures)}):`;
      ctx.edits.replace(raising.startIndex, raising.endIndex, one, label);
      ctx.edits.insert(stmt.endIndex, `${eol}${indent}${check}${eol}${indent}${step}raise SystemExit(1)`, label);
      ctx.warnings.push(
        `${ctx.agent.cls.name}: the entry point's one-shot ${attr.text}() (line ${r.line}) now calls the base's ${one}() (${HOOK}(), validate_event(), enrich_event(), the queued backlog, then the publish with retries and the local-queue fallback, once), ` +
          `which never raises: ${fn.name}() (line ${fn.line}) could (a traceback, exit status 1), so the mode now exits 1 when ${ctx.py.health_hook}()["${ctx.py.cycle_failures}"] counts a failure the pass caught; ` +
          `the traceback is logged by the base ("${HOOK} failed") instead of printed by Python, a publish that fails is queued (exit 0) as the legacy fallback queued it, and setup() does not run first, as run()'s start-up did not for that mode`,
      );
      continue;
    }
    const answered = r.kind === 'attribute' && !raising ? oneShotAnswerCycleCall(ctx, fn, r.node) : null;
    if (answered) {
      // `ok = agent.collect()` -> the pass, exit 1 when it caught a failure (as the raise did), then
      // `ok = not <what it queued>`: True when the bus took the events, False when they were queued.
      const one = ctx.py.cycle_method!;
      const attr = answered.parent!;
      const asg = attr.parent!.parent!;
      const stmt = asg.parent!;
      const agent = attr.childForFieldName('object')!.text;
      const local = asg.childForFieldName('left')!.text;
      const indent = indentAt(ctx.source, stmt.startIndex);
      const step = indent.includes('\t') ? '\t' : '    ';
      const eol = ctx.layout.eol;
      const summary = `${agent}.${ctx.py.health_hook}()`;
      ctx.edits.replace(stmt.startIndex, stmt.endIndex, [
        `${agent}.${one}()`,
        `${indent}if ${summary}.get(${JSON.stringify(ctx.py.cycle_failures)}):`,
        `${indent}${step}raise SystemExit(1)`,
        `${indent}${local} = not ${summary}.get(${JSON.stringify(ctx.py.cycle_queued)})`,
      ].join(eol), label);
      ctx.warnings.push(
        `${ctx.agent.cls.name}: the entry point's one-shot ${asg.text} (line ${r.line}) now calls the base's ${one}() (${HOOK}(), validate_event(), enrich_event(), the queued backlog, then the publish with retries and the local-queue fallback, once), ` +
          `which answers nothing: ${local} is now \`not ${ctx.py.health_hook}()["${ctx.py.cycle_queued}"]\` (True when the bus took the events, False when they were queued, as ${fn.name}()'s publish answered), ` +
          `and the mode exits 1 when ${ctx.py.health_hook}()["${ctx.py.cycle_failures}"] counts a failure the pass caught (${fn.name}() (line ${fn.line}) raised: a traceback, exit status 1); ` +
          `a refused publish is retried (the base's back-off) before it counts as queued, and setup() does not run first, as run()'s start-up did not for that mode`,
      );
      continue;
    }
    const at = r.kind === 'attribute' ? oneShotCycleCall(ctx, fn, r.node) : null;
    if (!at) continue;
    const one = ctx.py.cycle_method!;
    ctx.edits.replace(at.startIndex, at.endIndex, one, label);
    ctx.warnings.push(
      `${ctx.agent.cls.name}: the entry point's one-shot ${at.parent!.text}() (line ${r.line}) now calls the base's ${one}(): ${HOOK}(), validate_event(), enrich_event(), the queued backlog, then the publish with retries and the local-queue fallback, once; like ${fn.name}() (line ${fn.line}), which caught every exception, it never raises, and setup() does not run first, as run()'s start-up did not for that mode`,
    );
  }
}
