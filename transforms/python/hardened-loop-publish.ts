// Concern (seed 001): "publish in the loop". collect() only builds and returns the cycle's
// events; run()'s loop takes them (`events = self.collect()`), publishes them itself
// (`if not self._post(envelope): self.backlog.append(envelope)`), re-sends its own backlog
// (`self._flush_backlog()`) and sleeps. The loop body is then the cycle the base runs:
// collect_data() is built from it and returns exactly what run() sent each cycle; the publish
// goes to the base's publisher (the transport moves into EventBusPublisher), the backlog to the
// base's local_queue, and the loop goes with run(). Only when every statement of the loop body is
// accounted for (the cycle's own counters, its collect() call, log lines, the drain, the publish
// with its backlog, the sleep); a business step there keeps run() and collect() for review, named.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { callee, isDocstring, lineOf, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { indentAt, lineEnd } from '../../src/lang/python/text.js';
import { isLogCall, isTrivial } from '../../src/analysis/infra.js';
import { describeNode } from '../../src/analysis/reachability.js';
import { breakerQuery } from './hardened-breaker-call.js';
import { busClientCall, cycleMethod, HOOK, SLEEP_CALL, isDrain, isPublish, isTransport, LEGACY_RUN, noteMovedCode, selfCall, unguarded, type Analysis } from './hardened-shapes.js';
import { excerpt } from '../../src/core/excerpt.js';

export interface LoopPublish {
  run: PyFunction;
  loop: SyntaxNode;
  /** Loop statements that become collect_data(), in order (counters, the collect() call, log lines). */
  cycle: SyntaxNode[];
  /** Every loop statement accounted for (cycle, drain, publish, sleep): run()'s own reading skips them. */
  accounted: Set<number>;
  /** The statement holding `<events> = self.collect()`. */
  collectStmt: SyntaxNode;
  /** The statement that publishes (and keeps the refused events in the backlog). */
  publishStmt: SyntaxNode;
  drains: SyntaxNode[];
  /** The agent's method run() published with (or, with `client`, the client's method). */
  publisher: string;
  /** run() sent through the agent's own bus client (`self.bus.send(events)`, raising): `bus.send`, which stays. */
  client?: string;
  /** The bounded store run() kept refused events in (none when the publish keeps them itself: `each`). */
  store: string | null;
  /** What collect_data() returns: what run() sent each cycle. */
  returns: string;
  /**
   * `for event in self.collect(): if self._publish_event(event): sent += 1`: run() published the cycle's
   * events one by one. `after`: the loop's log lines after it (collect_data() binds the events first);
   * `dropped`: log lines reading the loop's own publish counter, which go with it.
   */
  each?: { after: SyntaxNode[]; dropped: SyntaxNode[]; counter: string | null; local: string };
}

const memo = new WeakMap<PythonTransformContext, Analysis<LoopPublish> | null>();

/**
 * run()'s one loop when it takes the cycle's result (`events = self.collect()` somewhere in it):
 * the shape this concern reads. Null when run() does not (the other shapes apply).
 */
export function loopTakingCycle(ctx: PythonTransformContext): { run: PyFunction; loop: SyntaxNode } | null {
  const run = ctx.agent.methods.get(LEGACY_RUN);
  if (!run || run.isAsync) return null;
  // The loop, or the loop inside `try: ... finally: <teardown>` (run()'s own reading moves the teardown).
  const top = statements(run.body);
  const tries = top.filter((s) => s.type === 'try_statement' && s.namedChildren.some((c) => c.type === 'finally_clause'));
  const loops = [...top, ...tries.flatMap((t) => statements(t.childForFieldName('body')))].filter((s) => s.type === 'while_statement');
  if (loops.length !== 1) return null;
  const loop = loops[0]!;
  const cond = loop.childForFieldName('condition')!;
  if (!/^(True|1)$/.test(cond.text)) return null;
  let takes = false;
  walk(loop.childForFieldName('body')!, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'assignment' && cycleResult(n, cycleMethod(ctx))) takes = true;
    if (n.type === 'for_statement' && cycleIterated(n, cycleMethod(ctx))) takes = true;
  });
  return takes ? { run, loop } : null;
}

/** `events = self.collect()`: the local the cycle's result is bound to. */
function cycleResult(n: SyntaxNode, name: string): string | null {
  if (n.type !== 'assignment') return null;
  const left = n.childForFieldName('left');
  const right = n.childForFieldName('right');
  if (left?.type !== 'identifier' || right?.type !== 'call' || right.childForFieldName('arguments')!.namedChildCount) return null;
  const f = right.childForFieldName('function')!;
  return f.type === 'attribute' && selfAttribute(f) === name ? left.text : null;
}

/** `for <v> in self.collect():` (no arguments, no else:): the loop variable. */
function cycleIterated(n: SyntaxNode, name: string): string | null {
  if (n.type !== 'for_statement' || n.namedChildren.some((c) => c.type === 'else_clause')) return null;
  const left = n.childForFieldName('left');
  const right = n.childForFieldName('right');
  if (left?.type !== 'identifier' || right?.type !== 'call' || right.childForFieldName('arguments')!.namedChildCount) return null;
  const f = right.childForFieldName('function')!;
  return f.type === 'attribute' && selfAttribute(f) === name ? left.text : null;
}

/**
 * `for event in self.collect(): self._publish_event(event)`, or `if self._publish_event(event): sent += 1`:
 * each event the cycle yields (a generator) or returns, published by the agent's publish (which keeps what
 * the bus refuses itself); its answer at most counted into a local. The publish and the counter's name.
 */
function eachPublished(ctx: PythonTransformContext, s: SyntaxNode, name: string): { publisher: string; counter: string | null } | null {
  const v = cycleIterated(s, name);
  if (!v) return null;
  const body = statements(s.childForFieldName('body')).filter((x) => !isDocstring(x));
  if (body.length !== 1) return null;
  const only = body[0]!;
  const published = (call: SyntaxNode | null | undefined): string | null => {
    if (call?.type !== 'call') return null;
    const f = call.childForFieldName('function')!;
    const m = f.type === 'attribute' ? selfAttribute(f) : null;
    const args = call.childForFieldName('arguments')!.namedChildren;
    return m && isPublish(ctx, m) && isTransport(ctx, m) && args.length === 1 && args[0]!.text === v ? m : null;
  };
  if (only.type === 'expression_statement') {
    const m = published(only.namedChild(0));
    return m ? { publisher: m, counter: null } : null;
  }
  if (only.type !== 'if_statement' || only.childForFieldName('alternative')) return null;
  const m = published(only.childForFieldName('condition'));
  const inner = statements(only.childForFieldName('consequence')).filter((x) => !isDocstring(x));
  const e = inner.length === 1 && inner[0]!.type === 'expression_statement' ? inner[0]!.namedChild(0) : null;
  const left = e?.type === 'augmented_assignment' && e.childForFieldName('operator')?.text === '+=' && e.childForFieldName('right')?.type === 'integer' ? e.childForFieldName('left') : null;
  return m && left?.type === 'identifier' && left.text !== v ? { publisher: m, counter: left.text } : null;
}

/**
 * `name` is an argument of a call under `node` other than a log line's or a read that hands
 * nothing on (`len(events)`): `self.publish(events)`, `send(x=events)`.
 */
function handedOn(node: SyntaxNode, name: string): boolean {
  let found = false;
  walk(node, (n) => {
    if (found) return false;
    if (n.type === 'call' && isLogCall(n)) return false;
    if (n.type === 'identifier' && n.text === name && passedOn(n)) found = true;
    return undefined;
  });
  return found;
}

/** `x` is an argument of a call that keeps it, itself or through reads of it (`self.bus.send(sorted(x))`, not `len(x) > 0`). */
function passedOn(x: SyntaxNode): boolean {
  const p = x.parent;
  if (p?.type === 'keyword_argument') return p.childForFieldName('value')?.id === x.id;
  if (p?.type !== 'argument_list' || p.parent?.type !== 'call') return false;
  return pureRead(p.parent) ? passedOn(p.parent) : true;
}

export function analyzeLoopPublish(ctx: PythonTransformContext): Analysis<LoopPublish> | null {
  if (!memo.has(ctx)) memo.set(ctx, readLoopPublish(ctx));
  return memo.get(ctx)!;
}

function fail(reason: string, at: number): Analysis<LoopPublish> {
  return { ok: false, reason, line: at };
}

function readLoopPublish(ctx: PythonTransformContext): Analysis<LoopPublish> | null {
  const found = loopTakingCycle(ctx);
  if (!found) return null;
  const { run, loop } = found;
  const name = cycleMethod(ctx);
  if (loop.namedChildren.some((c) => c.type === 'else_clause')) return fail(`run()'s loop has an else:`, lineOf(loop));
  const accounted = new Set<number>();
  // `try: <the cycle> except Exception: logger.exception(...)` around the cycle: the guard the base's
  // run_cycle() already is (it logs a raising collect_data() with its traceback, counts it in /health's
  // errors and goes on to the next cycle; its publish never raises). The guard goes, its statements are read
  // as the loop's own.
  let body = statements(loop.childForFieldName('body')).filter((s) => !isDocstring(s));
  const guards = body.filter((s) => s.type === 'try_statement' && loggedCycleGuard(s) !== null);
  for (const g of guards) {
    const inner = statements(g.childForFieldName('body')).filter((s) => !isDocstring(s));
    if (!inner.some((s) => collectTaking(s, name) || cycleIterated(s, name))) continue;
    const kept = loggedCycleGuard(g)!;
    if (kept) return fail(`run()'s loop guards its cycle with line ${lineOf(g)}: try:, whose handler also does line ${lineOf(kept)}: ${describeNode(kept)}; the base's run_cycle() only logs a failed cycle and counts it in /health's errors, so a person decides where that goes`, lineOf(kept));
    // The legacy slept after a failed cycle only when the sleep was outside the guard; the base always waits.
    if (inner.some((s) => s.type === 'expression_statement' && s.namedChild(0)?.type === 'call' && SLEEP_CALL.test(callee(s.namedChild(0)!) ?? ''))) continue;
    accounted.add(g.id);
    body = body.flatMap((s) => (s === g ? inner : [s]));
  }
  const cycle: SyntaxNode[] = [];
  const drains: SyntaxNode[] = [];
  let events: string | null = null;
  let collectStmt: SyntaxNode | null = null;
  let publishStmt: SyntaxNode | null = null;
  let publish: { publisher: string; store: string; returns: string; client?: string } | null = null;
  const inlineDrains: SyntaxNode[] = [];
  let slept = false;
  /** `sent = 0` before the for-form: the publish counter's start, checked once the for is read. */
  const zeroed: SyntaxNode[] = [];
  let each: { publisher: string; counter: string | null } | null = null;
  const after: SyntaxNode[] = [];
  const other = (s: SyntaxNode, why = 'which is neither the cycle, its publish, its backlog nor its sleep') =>
    fail(`run()'s loop also does line ${lineOf(s)}: ${describeNode(s)}, ${why}; collect_data() cannot be built from the loop without deciding where that goes`, lineOf(s));
  for (const s of body) {
    const e = s.type === 'expression_statement' ? s.namedChild(0) : null;
    // The sleep between cycles (run()'s own reading checks its interval): the base waits collection_interval.
    if (e?.type === 'call' && SLEEP_CALL.test(callee(e) ?? '')) {
      if (slept || s !== body[body.length - 1]) return other(s, 'a sleep not ending the cycle');
      slept = true;
      accounted.add(s.id);
      continue;
    }
    // Log lines: the cycle's own, they move with it.
    if (e && isLogCall(e)) {
      if (each) after.push(s);
      else cycle.push(s);
      accounted.add(s.id);
      continue;
    }
    // `sent = 0`: a local counter the for-form below may count its publishes into.
    if (!collectStmt && e?.type === 'assignment' && e.childForFieldName('left')?.type === 'identifier' && e.childForFieldName('right')?.text === '0') {
      zeroed.push(s);
      accounted.add(s.id);
      continue;
    }
    // `for event in self.collect(): if self._publish_event(event): sent += 1`: the cycle and its publish, per event.
    const perEvent = !collectStmt ? eachPublished(ctx, s, name) : null;
    if (perEvent) {
      each = perEvent;
      collectStmt = s;
      publishStmt = s;
      events = `list(self.${name}())`;
      publish = { publisher: perEvent.publisher, store: '', returns: events };
      accounted.add(s.id);
      continue;
    }
    // `self.cycle += 1` before collect(): the cycle's counter, which the envelope may read.
    if (!collectStmt && e?.type === 'augmented_assignment' && e.childForFieldName('operator')?.text === '+=' && selfAttribute(e.childForFieldName('left')!) && e.childForFieldName('right')!.type === 'integer') {
      const attr = selfAttribute(e.childForFieldName('left')!)!;
      if (ctx.baseOwned.has(attr) || isTransport(ctx, attr)) return other(s, `a counter the base owns`);
      cycle.push(s);
      accounted.add(s.id);
      continue;
    }
    // `events = self.collect()`, or inside a try whose handlers log and bind no events.
    const taken = collectTaking(s, name);
    if (taken) {
      if (collectStmt) return other(s, `a second call of ${name}()`);
      collectStmt = s;
      events = taken;
      cycle.push(s);
      accounted.add(s.id);
      continue;
    }
    // `self._flush_backlog()`: the re-send of the backlog, which the base's drain replaces.
    const sc = selfCall(s);
    if (sc && !sc.target && sc.call.childForFieldName('arguments')!.namedChildCount === 0 && isTransport(ctx, sc.method) && isDrain(ctx, sc.method)) {
      drains.push(s);
      accounted.add(s.id);
      continue;
    }
    // `if self.unsent: try: self.bus.send(self.unsent); <logs>; self.unsent = [] except OSError: pass`:
    // the loop's own re-send of its backlog through the bus client (checked against the publish below).
    if (inlineDrain(ctx, s)) {
      inlineDrains.push(s);
      drains.push(s);
      accounted.add(s.id);
      continue;
    }
    // Log lines over what the cycle answered, before its publish: they move into collect_data() with it.
    if (events && collectStmt && !publishStmt && resultLog(s, events)) {
      cycle.push(s);
      accounted.add(s.id);
      continue;
    }
    if (events && !publishStmt) {
      const p = publishOf(ctx, s, events) ?? clientPublish(ctx, s, events);
      if (p) {
        publishStmt = s;
        publish = p;
        accounted.add(s.id);
        continue;
      }
    }
    const gate = breakerGate(ctx, s);
    if (gate) {
      return fail(
        `run()'s loop publishes only while the agent's own breaker lets it (line ${lineOf(s)}: ${describeNode(s)}, ${gate.text} of ${gate.cls} at line ${gate.line}), and a cycle it holds back is neither sent nor kept: the legacy dropped those events, ` +
          `where HardenedAgentBase publishes every cycle behind its own circuit breaker and queues what that holds back; collect_data() cannot be built from the loop until a person decides whether the base's breaker stands for self.${gate.attr} (then the check and its bookkeeping go)`,
        lineOf(s),
      );
    }
    return other(s);
  }
  if (!collectStmt || !events) return fail(`run()'s loop calls ${name}() other than as \`events = self.${name}()\``, lineOf(loop));
  if (!publish || !publishStmt) {
    // `n = self.collect()` then only `if n: logger.info(...)`: the loop hands its value to nothing but log lines;
    // whatever is published, the cycle method publishes it itself.
    if (!handedOn(loop, events)) {
      return fail(
        `run()'s loop only logs or tests what self.${name}() answers (${events}) and sends nothing itself: ${name}() publishes on its own, where HardenedAgentBase's collect_data() returns the events and the base publishes and queues them; split ${name}() by hand so it returns what it publishes`,
        lineOf(loop),
      );
    }
    return fail(`run()'s loop sends ${events} in a way the migration cannot classify`, lineOf(loop));
  }
  if (!slept) return fail(`run()'s loop does not sleep between cycles`, lineOf(loop));
  for (const z of zeroed) {
    const local = z.namedChild(0)!.childForFieldName('left')!.text;
    if (!each || each.counter !== local) return other(z);
  }
  if (each) return eachPlan(ctx, { run, loop, cycle, accounted, collectStmt, publishStmt, drains, publisher: each.publisher }, each.counter, after);
  // No backlog: the legacy dropped a refused cycle, and a re-send beside it would be of something else.
  if (publish.store === '') {
    if (drains.length) return other(drains[0]!, 'a re-send, where the publish keeps no backlog');
    return { ok: true, value: { run, loop, cycle, accounted, collectStmt, publishStmt, drains, publisher: publish.publisher, store: null, returns: publish.returns } };
  }
  if (!drains.length) return fail(`nothing re-sends run()'s backlog self.${publish.store}`, lineOf(publishStmt));
  // An inline re-send is the drain only of that backlog, through the same client.
  for (const d of inlineDrains) {
    const r = inlineDrain(ctx, d)!;
    if (r.store !== publish.store || r.client !== publish.client) return other(d, `a re-send of something other than the backlog the publish keeps (self.${publish.store})`);
  }
  // The backlog is only the loop's and the drain's: nothing else reads what the bus refused.
  const drainFns = drains.filter((d) => !inlineDrains.includes(d)).map((d) => ctx.agent.methods.get(selfCall(d)!.method)!);
  const init = ctx.agent.methods.get('__init__');
  const within = (f: { outer: SyntaxNode } | undefined, r: { start: number; end: number }) => !!f && f.outer.startIndex <= r.start && r.end <= f.outer.endIndex;
  for (const r of ctx.refs.of(publish.store)) {
    if (r.kind !== 'attribute') continue;
    if (within(init, r) || drainFns.some((f) => within(f, r)) || [publishStmt, ...inlineDrains].some((x) => x.startIndex <= r.start && r.end <= x.endIndex)) continue;
    return fail(`run()'s backlog self.${publish.store} is also used at line ${r.line}`, r.line);
  }
  return { ok: true, value: { run, loop, cycle, accounted, collectStmt, publishStmt, drains, publisher: publish.publisher, store: publish.store, returns: publish.returns, ...(publish.client ? { client: publish.client } : {}) } };
}

/**
 * `if events and self.breaker.allow():` with no else: the loop's statement runs only while the agent's own
 * breaker object (breakerQuery) says yes, one operand of its condition; the query's text, attribute and class.
 */
function breakerGate(ctx: PythonTransformContext, s: SyntaxNode): { text: string; attr: string; cls: string; line: number } | null {
  if (s.type !== 'if_statement' || s.childForFieldName('alternative')) return null;
  const operands: SyntaxNode[] = [];
  const split = (c: SyntaxNode | null) => {
    if (c?.type === 'boolean_operator' && c.childForFieldName('operator')?.text === 'and') {
      split(c.childForFieldName('left'));
      split(c.childForFieldName('right'));
    } else if (c) operands.push(c);
  };
  split(s.childForFieldName('condition'));
  for (const o of operands) {
    const q = breakerQuery(ctx, o);
    if (q && o.type !== 'not_operator') return { text: o.text, attr: q.attr, cls: q.cls.name, line: q.cls.line };
  }
  return null;
}

/** A call that only reads its arguments and keeps nothing of them: `len(events)`, `sorted(x)`, `counts.get(k)`. */
function pureRead(call: SyntaxNode): boolean {
  const f = call.childForFieldName('function')!;
  return (f.type === 'identifier' && /^(len|str|int|float|round|repr|bool|sorted|any|all)$/.test(f.text)) || (f.type === 'attribute' && f.childForFieldName('attribute')!.text === 'get' && !selfAttribute(f));
}

/**
 * `for f in events: if f["severity"] == "critical": logger.error(...)` after the cycle's result is taken and
 * before the publish: log lines over what the cycle answered (if/for around log calls only), which change
 * nothing the publish sees: no assignment but the for's own target, no call but log calls and reads
 * (`x.get(...)`, len(), str()), no break/continue/return/raise. They move into collect_data() with the cycle,
 * before it returns, the moment they ran at in the loop (after the cycle, before its publish).
 */
function resultLog(s: SyntaxNode, events: string): boolean {
  if (s.type !== 'for_statement' && s.type !== 'if_statement') return false;
  let reads = false;
  let ok = true;
  const targets = new Set<string>();
  walk(s, (n) => {
    if (!ok) return false;
    if (n.type === 'identifier' && n.text === events) reads = true;
    if (n.type === 'for_statement' || n.type === 'for_in_clause') {
      const left = n.childForFieldName('left')!;
      walk(left, (t) => {
        if (t.type === 'identifier') targets.add(t.text);
      });
    }
    if (['function_definition', 'lambda', 'class_definition', 'assignment', 'augmented_assignment', 'named_expression', 'delete_statement', 'global_statement', 'nonlocal_statement',
      'return_statement', 'raise_statement', 'break_statement', 'continue_statement', 'yield', 'await', 'try_statement', 'with_statement', 'while_statement', 'expression_statement'].includes(n.type)) {
      // A log call, whose arguments are read below like the rest.
      if (n.type === 'expression_statement' && isLogCall(n.namedChild(0))) return;
      ok = false;
      return false;
    }
    if (n.type === 'call' && !pureRead(n) && !isLogCall(n)) ok = false;
  });
  if (!ok || !reads) return false;
  // The for's target is a local of the loop: it must not shadow a name read elsewhere in run() after it.
  return ![...targets].includes(events);
}

/**
 * `try: ... except Exception [as e]: <log lines, pass>` with no else/finally: a guard that logs what the
 * cycle raised and goes on. Null when it is not that shape; the guard itself (undefined) when every handler
 * only logs; else the first handler statement that does more (`self.errors += 1`), for a precise item.
 */
function loggedCycleGuard(t: SyntaxNode): SyntaxNode | undefined | null {
  let more: SyntaxNode | undefined;
  for (const c of t.namedChildren) {
    if (c.type === 'finally_clause' || c.type === 'else_clause' || c.type === 'except_group_clause') return null;
    if (c.type !== 'except_clause') continue;
    // Only `except Exception`: a narrower handler let other errors end the loop, a bare one caught KeyboardInterrupt.
    const caught = c.namedChildren.find((x) => x.type !== 'block' && x.type !== 'comment');
    const type = caught?.type === 'as_pattern' ? caught.namedChild(0) : caught;
    if (type?.text !== 'Exception') return null;
    const b = c.namedChildren.find((x) => x.type === 'block');
    for (const x of statements(b ?? null)) {
      if (!handlerLogs(x) && !more) more = x;
    }
  }
  return more;
}

/** A handler statement that only logs (or passes): no return, no sleep. */
function handlerLogs(x: SyntaxNode): boolean {
  return isTrivial(x) && x.type !== 'return_statement' && !/^(time\.)?sleep\(/.test(x.text);
}

/** `events = self.collect()`, or `try: events = self.collect() except E as e: <logs>; events = []`: the events' local. */
function collectTaking(s: SyntaxNode, name: string): string | null {
  const e = s.type === 'expression_statement' ? s.namedChild(0) : null;
  if (e) return cycleResult(e, name);
  if (s.type !== 'try_statement') return null;
  const inner = statements(s.childForFieldName('body'));
  const first = inner.length === 1 && inner[0]!.type === 'expression_statement' ? inner[0]!.namedChild(0) : null;
  const local = first ? cycleResult(first, name) : null;
  if (!local) return null;
  for (const c of s.namedChildren) {
    if (c.type === 'finally_clause' || c.type === 'else_clause') return null;
    if (c.type !== 'except_clause') continue;
    const b = c.namedChildren.find((x) => x.type === 'block');
    const ok = statements(b ?? null).every((x) => {
      if (handlerLogs(x)) return true;
      const a = x.type === 'expression_statement' ? x.namedChild(0) : null;
      const right = a?.type === 'assignment' ? a.childForFieldName('right') : null;
      return a?.type === 'assignment' && a.childForFieldName('left')?.text === local && !!right && ['list', 'none', 'tuple'].includes(right.type) && right.namedChildCount === 0;
    });
    if (!ok) return null;
  }
  return local;
}

/**
 * The loop's publish of the events with its own backlog, as one statement:
 * `if not self._post(x): self.backlog.append(x); <logs>` on the events or on what run() builds from
 * them, maybe under `if events:` (nothing sent on an empty cycle) with `x = self._envelope(events)`
 * before it, or guarded in its own condition (`if events and not self._post(events):`). The publish is
 * the agent's transport by shape and the backlog a bounded container the loop appends to, also inside
 * a try whose handlers keep the same events there (keptPost); what collect_data() returns is then what
 * was sent: `[x]`, `[x] if events else []`.
 */
function publishOf(ctx: PythonTransformContext, s: SyntaxNode, events: string): { publisher: string; store: string; returns: string } | null {
  const cond = s.type === 'if_statement' && !s.childForFieldName('alternative') ? s.childForFieldName('condition')! : null;
  // `if events and not self._post(events):`: the emptiness guard of the very events posted is `if events:`
  // around the post (the base publishes nothing for an empty cycle either, and collect_data() returns none).
  const bare = cond ? unguarded(cond) : null;
  if (cond && bare && bare.id !== cond.id) {
    const p = postWithBacklog(ctx, s, events, bare);
    return p ? { ...p, returns: `[${events}] if ${events} else []` } : null;
  }
  // `if events:` around the build and the post.
  if (cond?.type === 'identifier' && cond.text === events) {
    const inner = statements(s.childForFieldName('consequence')).filter((x) => !isDocstring(x));
    let sent = events;
    let built: string | null = null;
    let rest = inner;
    const a = inner[0]?.type === 'expression_statement' ? inner[0]!.namedChild(0) : null;
    if (inner.length === 2 && a?.type === 'assignment' && a.childForFieldName('left')?.type === 'identifier') {
      const right = a.childForFieldName('right')!;
      if (!pureBuild(ctx, right, events)) return null;
      sent = a.childForFieldName('left')!.text;
      if (sent === events) return null;
      built = right.text;
      rest = inner.slice(1);
    }
    if (rest.length !== 1) return null;
    const plain = !built ? plainPost(ctx, rest[0]!, sent) : null;
    if (plain) return { publisher: plain, store: '', returns: `[${events}] if ${events} else []` };
    const p = keptPost(ctx, rest[0]!, sent);
    if (!p) return null;
    return { ...p, returns: `[${built ?? events}] if ${events} else []` };
  }
  const p = keptPost(ctx, s, events);
  return p ? { ...p, returns: `[${events}]` } : null;
}

/**
 * `self._publish(events)` as a statement, its answer unread: the agent's transport publish of the cycle's
 * list, which dropped what the bus refused (no backlog). collect_data() returns that list as one item, so
 * the base hands it to the same publish once a cycle, queueing what the bus refuses. Only for `if events:`
 * around it (the base publishes nothing for an empty cycle either), the list being what collect() returned.
 */
function plainPost(ctx: PythonTransformContext, s: SyntaxNode, sent: string): string | null {
  const e = s.type === 'expression_statement' ? s.namedChild(0) : null;
  const f = e?.type === 'call' ? e.childForFieldName('function') : null;
  const m = f?.type === 'attribute' ? selfAttribute(f) : null;
  const args = e?.type === 'call' ? e.childForFieldName('arguments')!.namedChildren : [];
  return m && isPublish(ctx, m) && isTransport(ctx, m) && args.length === 1 && args[0]!.text === sent && !keepsState(ctx, m, new Set()) ? m : null;
}

/**
 * The method, or one it calls on self, changes the agent's state (`self.pending.append(x)`, `self.sent += 1`,
 * `del self.pending[:-N]`): a publish keeping its own backlog or counters, which the moved publisher could not
 * keep (that state stays on the agent); such a loop stays for review.
 */
function keepsState(ctx: PythonTransformContext, name: string, seen: Set<string>): boolean {
  const fn = ctx.agent.methods.get(name);
  if (!fn || seen.has(name)) return false;
  seen.add(name);
  let hit = false;
  walk(fn.body, (n) => {
    if (hit) return false;
    if (n.type === 'assignment' || n.type === 'augmented_assignment') {
      walk(n.childForFieldName('left')!, (t) => {
        if (t.type === 'attribute' && selfAttribute(t)) hit = true;
      });
    }
    if (n.type === 'delete_statement' && /\bself\./.test(n.text)) hit = true;
    if (n.type === 'call') {
      const f = n.childForFieldName('function')!;
      const obj = f.type === 'attribute' ? f.childForFieldName('object')! : null;
      if (obj && selfAttribute(obj) && /^(append|appendleft|extend|insert|pop|popleft|remove|clear|put|put_nowait|add|update|setdefault)$/.test(f.childForFieldName('attribute')!.text)) hit = true;
      const own = f.type === 'attribute' ? selfAttribute(f) : null;
      if (own && keepsState(ctx, own, seen)) hit = true;
    }
  });
  return hit;
}

/**
 * The post with its backlog (postWithBacklog), or that statement alone in a try whose every handler
 * keeps the same events in the same backlog, besides log lines (`except OSError as e: logger.warning(...);
 * self.backlog.append(envelope)`): a raising post and a refused one both left the events for the next
 * cycle, which is what a publish raising to the base does (retried, then queued).
 */
function keptPost(ctx: PythonTransformContext, s: SyntaxNode, sent: string): { publisher: string; store: string } | null {
  if (s.type !== 'try_statement') return postWithBacklog(ctx, s, sent);
  if (s.namedChildren.some((c) => c.type === 'finally_clause' || c.type === 'else_clause' || c.type === 'except_group_clause')) return null;
  const body = statements(s.childForFieldName('body')).filter((x) => !isDocstring(x));
  const p = body.length === 1 ? postWithBacklog(ctx, body[0]!, sent) : null;
  const handlers = s.namedChildren.filter((c) => c.type === 'except_clause');
  if (!p || !handlers.length) return null;
  for (const h of handlers) {
    const kept = statements(h.namedChildren.find((c) => c.type === 'block') ?? null).filter((x) => !isDocstring(x) && !isLogCall(x.type === 'expression_statement' ? x.namedChild(0) : null));
    if (kept.length !== 1 || appendedTo(ctx, kept[0]!, sent) !== p.store) return null;
  }
  return p;
}

/** `self.backlog.append(x)` of the sent value into an attribute that is no method: the attribute. */
function appendedTo(ctx: PythonTransformContext, x: SyntaxNode, sent: string): string | null {
  const e = x.type === 'expression_statement' ? x.namedChild(0) : null;
  const fn = e?.type === 'call' ? e.childForFieldName('function') : null;
  const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
  const attr = obj ? selfAttribute(obj) : null;
  const a = e?.type === 'call' ? e.childForFieldName('arguments')!.namedChildren : [];
  return attr && fn!.childForFieldName('attribute')!.text === 'append' && a.length === 1 && a[0]!.text === sent && !ctx.agent.methods.has(attr) ? attr : null;
}

/**
 * `x = self._envelope(events)`: built from the events by a method of the agent that is no transport,
 * or a literal holding them; it is built at the same point of the cycle in collect_data().
 */
function pureBuild(ctx: PythonTransformContext, right: SyntaxNode, events: string): boolean {
  let uses = false;
  let bad = false;
  walk(right, (n) => {
    if (n.type === 'identifier' && n.text === events) uses = true;
    if (n.type === 'lambda' || n.type === 'yield' || n.type === 'await') bad = true;
    if (n.type === 'call') {
      const f = n.childForFieldName('function')!;
      const m = f.type === 'attribute' ? selfAttribute(f) : null;
      if (f.type === 'attribute' && !m) bad = true; // a call on another object (a client, a file)
      if (m && (!ctx.agent.methods.has(m) || isTransport(ctx, m))) bad = true;
    }
  });
  return uses && !bad;
}

/**
 * `if not self._post(x): self.backlog.append(x); <logs>`: the publish (by shape) and the backlog's name.
 * `condition`: the statement's condition without its emptiness guard (unguarded()), when it has one.
 */
function postWithBacklog(ctx: PythonTransformContext, s: SyntaxNode, sent: string, condition?: SyntaxNode): { publisher: string; store: string } | null {
  if (s.type !== 'if_statement' || s.childForFieldName('alternative')) return null;
  const cond = condition ?? s.childForFieldName('condition')!;
  const arg = cond.type === 'not_operator' ? cond.childForFieldName('argument') : null;
  const f = arg?.type === 'call' ? arg.childForFieldName('function') : null;
  const m = f?.type === 'attribute' ? selfAttribute(f) : null;
  const args = arg?.type === 'call' ? arg.childForFieldName('arguments')!.namedChildren : [];
  if (!m || !isPublish(ctx, m) || !isTransport(ctx, m) || args.length !== 1 || args[0]!.text !== sent) return null;
  let store: string | null = null;
  for (const x of statements(s.childForFieldName('consequence'))) {
    if (isDocstring(x)) continue;
    const e = x.type === 'expression_statement' ? x.namedChild(0) : null;
    if (e && isLogCall(e)) continue;
    const attr = appendedTo(ctx, x, sent);
    if (attr && !store) {
      store = attr;
      continue;
    }
    return null;
  }
  if (!store) return null;
  // A container built in __init__ with a bound (`deque(maxlen=N)`): what the base's local_queue takes over.
  const bounded = ctx.agent.assignments.some((x) => x.attr === store && x.method === '__init__' && x.value?.type === 'call' && /(^|\.)deque$/.test(x.value.childForFieldName('function')!.text) && /maxlen/.test(x.value.text));
  return bounded ? { publisher: m, store } : null;
}

/** `self.bus.send(x)` as an expression: the client attribute and method when it is the agent's bus client. */
function clientSend(ctx: PythonTransformContext, e: SyntaxNode | null): { client: string; arg: string } | null {
  if (e?.type !== 'call' || !busClientCall(ctx, e)) return null;
  const f = e.childForFieldName('function')!;
  const args = e.childForFieldName('arguments')!.namedChildren;
  if (args.length !== 1 || ['keyword_argument', 'list_splat', 'dictionary_splat'].includes(args[0]!.type)) return null;
  const obj = f.childForFieldName('object')!;
  return { client: `${selfAttribute(obj)}.${f.childForFieldName('attribute')!.text}`, arg: args[0]!.text };
}

/** `self.unsent.extend(events)`, `self.unsent.append(events)`, `self.unsent = self.unsent[-N:]`, `del self.unsent[:-N]`: keeps `sent` in a store. */
function keeps(x: SyntaxNode, sent: string): { store: string; trim: boolean } | null {
  const e = x.type === 'expression_statement' ? x.namedChild(0) : null;
  if (e?.type === 'call') {
    const f = e.childForFieldName('function')!;
    const a = e.childForFieldName('arguments')!.namedChildren;
    const store = f.type === 'attribute' ? selfAttribute(f.childForFieldName('object')!) : null;
    if (store && /^(append|extend)$/.test(f.childForFieldName('attribute')!.text) && a.length === 1 && a[0]!.text === sent) return { store, trim: false };
    return null;
  }
  // `self.unsent = self.unsent[-UNSENT_MAX:]`
  if (e?.type === 'assignment') {
    const left = e.childForFieldName('left')!;
    const right = e.childForFieldName('right')!;
    const store = selfAttribute(left);
    if (store && right.type === 'subscript' && selfAttribute(right.childForFieldName('value')!) === store && right.childForFieldName('subscript')?.type === 'slice') return { store, trim: true };
    return null;
  }
  if (x.type === 'delete_statement') {
    const t = x.namedChild(0);
    const store = t?.type === 'subscript' ? selfAttribute(t.childForFieldName('value')!) : null;
    if (store && t!.childForFieldName('subscript')?.type === 'slice') return { store, trim: true };
  }
  return null;
}

/**
 * `try: self.bus.send(events) except OSError as e: <logs>; self.unsent.extend(events); <trim>`: the
 * agent's own bus client raising on failure, the handler keeping the events in a list of the agent.
 * The client stays; the base publishes through its send and queues what raised.
 */
function clientPublish(ctx: PythonTransformContext, s: SyntaxNode, events: string): { publisher: string; store: string; returns: string; client: string } | null {
  if (s.type !== 'try_statement' || s.namedChildren.some((c) => c.type === 'finally_clause' || c.type === 'else_clause')) return null;
  const body = statements(s.childForFieldName('body'));
  const send = body.length === 1 && body[0]!.type === 'expression_statement' ? clientSend(ctx, body[0]!.namedChild(0)) : null;
  if (!send || send.arg !== events) return null;
  const handlers = s.namedChildren.filter((c) => c.type === 'except_clause');
  if (handlers.length !== 1) return null;
  let store: string | null = null;
  for (const x of statements(handlers[0]!.namedChildren.find((c) => c.type === 'block') ?? null)) {
    const e = x.type === 'expression_statement' ? x.namedChild(0) : null;
    if (e && isLogCall(e)) continue;
    const k = keeps(x, events);
    if (k && (!store || store === k.store) && (store || !k.trim)) {
      store = k.store;
      continue;
    }
    return null;
  }
  if (!store || ctx.agent.methods.has(store)) return null;
  const made = ctx.agent.assignments.some((x) => x.attr === store && x.method === '__init__' && x.value && (x.value.type === 'list' && x.value.namedChildCount === 0 || (x.value.type === 'call' && /(^|\.)deque$/.test(x.value.childForFieldName('function')!.text))));
  return made ? { publisher: send.client, store, returns: `[${events}]`, client: send.client } : null;
}

/** `if self.unsent: try: self.bus.send(self.unsent); <logs>; self.unsent = [] except OSError: pass`. */
function inlineDrain(ctx: PythonTransformContext, s: SyntaxNode): { store: string; client: string } | null {
  if (s.type !== 'if_statement' || s.childForFieldName('alternative')) return null;
  const store = selfAttribute(s.childForFieldName('condition')!);
  const inner = statements(s.childForFieldName('consequence'));
  if (!store || inner.length !== 1 || inner[0]!.type !== 'try_statement') return null;
  const t = inner[0]!;
  if (t.namedChildren.some((c) => c.type === 'finally_clause' || c.type === 'else_clause')) return null;
  const body = statements(t.childForFieldName('body'));
  const send = body[0]?.type === 'expression_statement' ? clientSend(ctx, body[0]!.namedChild(0)) : null;
  if (!send || send.arg !== `self.${store}`) return null;
  let cleared = false;
  for (const x of body.slice(1)) {
    const e = x.type === 'expression_statement' ? x.namedChild(0) : null;
    if (e && isLogCall(e)) continue;
    const right = e?.type === 'assignment' ? e.childForFieldName('right') : null;
    if (e?.type === 'assignment' && selfAttribute(e.childForFieldName('left')!) === store && right?.type === 'list' && right.namedChildCount === 0) {
      cleared = true;
      continue;
    }
    return null;
  }
  const handlers = t.namedChildren.filter((c) => c.type === 'except_clause');
  const quiet = handlers.every((h) => statements(h.namedChildren.find((c) => c.type === 'block') ?? null).every((x) => x.type === 'pass_statement' || isTrivial(x)));
  return cleared && handlers.length && quiet ? { store, client: send.client } : null;
}

/**
 * The for-form's plan: the publish keeps what the bus refuses itself (the publisher concern moves it and
 * the queue concern hands its queue to the base), so there is no loop backlog. The counter is the loop's
 * own: read only by log lines after the for, which go with it; anything else reading it keeps run().
 */
function eachPlan(
  ctx: PythonTransformContext,
  base: Omit<LoopPublish, 'store' | 'returns' | 'each'>,
  counter: string | null,
  after: SyntaxNode[],
): Analysis<LoopPublish> {
  const name = cycleMethod(ctx);
  const dropped = counter ? after.filter((s) => usesLocal(s, counter)) : [];
  // The counter read anywhere else in run() (after the loop, in a condition) is business: run() stays.
  if (counter) {
    let elsewhere: SyntaxNode | null = null;
    walk(base.run.body, (n) => {
      if (elsewhere) return false;
      if (n.type !== 'identifier' || n.text !== counter) return;
      const inside = (x: SyntaxNode) => x.startIndex <= n.startIndex && n.endIndex <= x.endIndex;
      if (inside(base.publishStmt) || dropped.some(inside)) return;
      if (statements(base.loop.childForFieldName('body')).some((x) => inside(x) && x.type === 'expression_statement' && x.namedChild(0)?.type === 'assignment' && x.namedChild(0)!.childForFieldName('left')?.id === n.id)) return;
      elsewhere = n;
    });
    if (elsewhere) return fail(`run()'s publish counter ${counter} is also read at line ${lineOf(elsewhere)}`, lineOf(elsewhere));
  }
  const kept = after.filter((s) => !dropped.includes(s));
  // The events' local in collect_data(): a name run()'s moved statements do not use.
  const used = new Set<string>();
  for (const s of [...base.cycle, ...kept]) walk(s, (n) => {
    if (n.type === 'identifier') used.add(n.text);
  });
  const local = ['events', 'collected', 'cycle_events'].find((x) => !used.has(x)) ?? 'events';
  return {
    ok: true,
    value: { ...base, store: null, returns: kept.length ? local : `list(self.${name}())`, each: { after: kept, dropped, counter, local } },
  };
}

function usesLocal(s: SyntaxNode, local: string): boolean {
  let hit = false;
  walk(s, (n) => {
    if (n.type === 'identifier' && n.text === local && !(n.parent?.type === 'attribute' && n.parent.childForFieldName('attribute')?.id === n.id)) hit = true;
  });
  return hit;
}

/** collect_data(), written after collect(): the loop's cycle statements, then what run() sent. */
export function writeCollectData(ctx: PythonTransformContext, plan: LoopPublish, collect: PyFunction, label: string): void {
  const eol = ctx.layout.eol;
  const first = statements(collect.body).find((x) => !isDocstring(x)) ?? collect.body;
  const bodyIndent = indentAt(ctx.source, first.startIndex);
  const methodIndent = indentAt(ctx.source, collect.outer.startIndex);
  const each = plan.each;
  const lines = [
    `${methodIndent}def ${HOOK}(self):`,
    `${bodyIndent}"""One cycle of the legacy run() loop (moved by migrate); the base publishes what it returns."""`,
    ...plan.cycle.map((s) => reindent(ctx, s, bodyIndent)),
    ...(each?.after.length ? [`${bodyIndent}${each.local} = list(self.${collect.name}())`, ...each.after.map((s) => reindent(ctx, s, bodyIndent))] : []),
    `${bodyIndent}return ${plan.returns}`,
  ];
  ctx.edits.insert(lineEnd(ctx.source, collect.outer.endIndex), eol + lines.join(eol) + eol, label);
  if (each) {
    ctx.warnings.push(
      `${ctx.agent.cls.name}: run() published each event ${collect.name}() ${isGenerator(collect) ? 'yielded' : 'returned'} one by one (line ${lineOf(plan.publishStmt)}: ${describeNode(plan.publishStmt)}); ` +
        `${HOOK}() returns them as a list (${collect.name}() stays as it is) and the base publishes them through ${plan.publisher}()` +
        `${plan.drains.length ? ` (${plan.drains.map((d) => describeNode(d)).join(', ')} replaced by the base's drain)` : ''}` +
        (isGenerator(collect) ? `; the generator now runs to its end before the first event is published (before: each event was published as it was yielded)` : ''),
    );
    if (each.dropped.length) {
      ctx.warnings.push(
        `${ctx.agent.cls.name}: run()'s log line${each.dropped.length > 1 ? 's' : ''} reading its publish counter ${each.counter} went with the loop and ${each.dropped.length > 1 ? 'are' : 'is'} no longer written (` +
          each.dropped.map((d) => `line ${lineOf(d)}: ${excerpt(d.text, 90)}`).join('; ') +
          `): the base counts events_published (on /health and /metrics); move the line into ${HOOK}() or the publisher by hand if operators or alerts match on it`,
      );
    }
    return;
  }
  if (plan.store === null) {
    ctx.warnings.push(
      `${ctx.agent.cls.name}: run() published what ${collect.name}() returned (line ${lineOf(plan.publishStmt)}: ${describeNode(plan.publishStmt)}) and dropped what the bus refused; ` +
        `${HOOK}() is built from its loop and returns it (${plan.returns}); the base publishes it through ${plan.publisher}() and now queues what the bus refuses, re-sending it next cycle`,
    );
    return;
  }
  ctx.warnings.push(
    `${ctx.agent.cls.name}: run() published what ${collect.name}() returned (line ${lineOf(plan.publishStmt)}: ${describeNode(plan.publishStmt)}) and kept what the bus refused in self.${plan.store}; ` +
      `${HOOK}() is built from its loop and returns what run() sent each cycle (${plan.returns}); the base publishes it through ${plan.publisher}() and queues what the bus refuses` +
      `${plan.drains.length ? ` (${plan.drains.map((d) => describeNode(d)).join(', ')} replaced by the base's drain)` : ''}; the log lines of the failed post are gone with it`,
  );
}

function isGenerator(fn: PyFunction): boolean {
  let y = false;
  walk(fn.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'yield') y = true;
  });
  return y;
}

/** A statement of the agent written elsewhere at `indent` (its continuation lines keep their offset). */
export function reindent(ctx: PythonTransformContext, stmt: SyntaxNode, indent: string): string {
  noteMovedCode(ctx, stmt);
  const from = stmt.startPosition.column;
  return stmt.text
    .split(/\r?\n/)
    .map((l, i) => (i === 0 ? indent + l : l.startsWith(' '.repeat(from)) ? indent + l.slice(from) : l))
    .join(ctx.layout.eol);
}
