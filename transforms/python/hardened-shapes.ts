// Shared reading of seed-001 agents for the hardened-* transforms: which members are
// transport (publish / queue / drain / gRPC channel / retry), what collect() does statement
// by statement, and whether run() is only `while True: collect(); sleep(interval)`.
// Computed once per rewrite (keyed by the context) so propose and edit phases agree.
import { partialAliasBlocker } from './hardened-partial-alias.js';
import { redirectedPublish } from './hardened-business-publish.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PyClass, PyFunction } from '../../src/lang/python/module-model.js';
import { collectorWatchdog } from './hardened-watchdog.js';
import { countingStore, sendsAndKeepsNothing } from './hardened-refusal-handoff.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import { expressionOf, isDocstring, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { blocksOf, isLogCall, isTrivial } from '../../src/analysis/infra.js';
import { indentAt } from '../../src/lang/python/text.js';
import { mixinQueueMethod } from './hardened-queue-mixin.js';
import { breakerCall, sharedBreaker } from './hardened-breaker-call.js';
import { analyzePublisher, keptPublisherShape } from './hardened-publisher.js';
import { analyzeLoopPublish, loopTakingCycle, type LoopPublish } from './hardened-loop-publish.js';
import { answerPassingDecorator } from './hardened-decorator.js';
import { unmovableSenderThread } from './hardened-sender-review.js';
import { importedBusSender } from './hardened-imported-sender.js';
import { inPlaceCursorGate, publishGate } from './hardened-publish-gate.js';
import { resolvedLoopMixin } from './inherited-loop-mixin.js';
import { answersReadAfter } from './hardened-answer-reads.js';
import { constructsClass, entryScopes, factoryMethods } from '../../src/lang/python/module-model.js';
import { foreignSelf } from '../../src/analysis/removal-plan.js';
import { helperInstanceMember } from '../../src/analysis/helper-instance.js';
import { timerChain } from './timer-chain.js';
import { excerpt } from '../../src/core/excerpt.js';

/**
 * `time.sleep(x)`, `sleep(x)`, and `threading.Event().wait(x)`: a fresh event nobody else holds, so nobody can set
 * it and its wait is a plain pause of x seconds (an idiom some agents use instead of time.sleep).
 */
export const SLEEP_CALL = /^(time\.)?sleep$|^threading\.Event\(\)\.wait$/;

export const PUBLISH_METHOD = /^(_get_grpc_channel|_publish_\w+|_publish)$/;
export const QUEUE_METHOD = /^(_queue_\w+|_drain_\w+|_enqueue_\w+|_drain)$/;
export const RETRY_METHOD = /^(_retry_\w+|_with_retry|_\w+_with_retry|_backoff\w*)$/;
export const DRAIN = /^(_drain_\w+|_drain)$/;
export const PUBLISH = /^(_publish_\w+|_publish)$/;
/** The legacy collection method and main loop of the seed-001 fleet. */
export const COLLECT = 'collect';
export const LEGACY_RUN = 'run';
export const HOOK = 'collect_data';
/** The other name the fleet gave its one cycle (drain, collect, publish). */
export const RUN_ONCE = 'run_once';

/** The legacy cycle method: collect(), else run_once(). */
export function cycleMethod(ctx: PythonTransformContext): string {
  return !ctx.agent.methods.has(COLLECT) && ctx.agent.methods.has(RUN_ONCE) ? RUN_ONCE : COLLECT;
}

/** The collect() → collect_data() plan, or why collect() stays as it is. */
export interface CollectPlan {
  fn: PyFunction;
  /** Top-level statements that only drain or publish (removed through the removal plan). */
  publishStmts: SyntaxNode[];
  drainStmts: SyntaxNode[];
  /** `return [..events..]` text. */
  events: string;
  /** Constant returns that become `return <events>` (end of the working block) or `return []` (except handlers). */
  returns: Array<{ node: SyntaxNode; text: string }>;
  /** Statements of the working block (collect()'s body, or its single try's body). */
  block: SyntaxNode[];
  /** The block does not end in a return: `return <events>` goes after its last statement that stays. */
  append: boolean;
  /** Attributes that counted publishes for log lines only; they stop counting. */
  counters: string[];
  /** The agent's methods the cycle published with. */
  publishers: string[];
  /** The cycle acted on a falsy publish result (`if not self._post(batch): self._queue_batch(batch)`). */
  resultChecked: boolean;
  /** Module-level functions the cycle published with (`publish(batch)`, see modulePublishers): they stay. */
  moduleFns: string[];
  /** The cycle caught the publish's exception (`try: self._publish(b) except ...: self._spool(b)`): it fails by raising. */
  raising?: boolean;
  /**
   * The cycle published from inside its own loops and branches (`for alert in alerts: ...;
   * self._publish(self._alert_event(alert))`): each publish call becomes `<name>.append(<event>)`
   * in place, `<name> = []` opens the block (before `at`) and the hook returns `<name>`.
   */
  accumulate?: { name: string; at: SyntaxNode; appends: Map<number, string> };
  /**
   * collect() returns its events and run()'s loop publishes them (see hardened-loop-publish):
   * collect() stays as written and collect_data() is built from the loop body.
   */
  loop?: LoopPublish;
  /**
   * The cycle read a publish's answer for business (`ok = self._publish(report)`, then
   * `self._save_state(current, ok)`): each such publish statement stays where it is with its
   * call rewritten to the base's queued publish (`ok = self._publish_with_retry([report])`,
   * True when published, False when kept in the base's local queue); by statement id, the new
   * text. The hook then returns [] (every report went out at once, as before).
   */
  queued?: Map<number, string>;
  /** Publish statements replaced rather than removed (`return self._publish(t)` → `return [t]`), by statement id. */
  replaced?: Map<number, string>;
}

export type Analysis<T> = { ok: true; value: T } | { ok: false; reason: string; line: number };

const memo = new WeakMap<PythonTransformContext, { collect?: Analysis<CollectPlan> }>();

type StatementCall = { call: SyntaxNode; method: string; target: SyntaxNode | null };

/** `f(...)` or `x = f(...)` as a statement: the call, its function node and the assigned target. */
function statementCall(stmt: SyntaxNode): { call: SyntaxNode; fn: SyntaxNode; target: SyntaxNode | null } | null {
  const e = expressionOf(stmt);
  if (!e) return null;
  let call = e;
  let target: SyntaxNode | null = null;
  if (e.type === 'assignment') {
    target = e.childForFieldName('left');
    call = e.childForFieldName('right')!;
  }
  if (call?.type !== 'call') return null;
  const fn = call.childForFieldName('function');
  return fn ? { call, fn, target } : null;
}

export function selfCall(stmt: SyntaxNode): StatementCall | null {
  const c = statementCall(stmt);
  const m = c?.fn.type === 'attribute' ? selfAttribute(c.fn) : null;
  return c && m ? { call: c.call, method: m, target: c.target } : null;
}

/**
 * `publish(batch)` / `ok = publish(batch)`: a call of a module-level publish function of the
 * file (see modulePublishers) by its bare name, shaped like selfCall's answer.
 */
export function moduleCall(ctx: PythonTransformContext, stmt: SyntaxNode): StatementCall | null {
  const c = statementCall(stmt);
  return c?.fn.type === 'identifier' && modulePublishers(ctx).has(c.fn.text) ? { call: c.call, method: c.fn.text, target: c.target } : null;
}

const modMemo = new WeakMap<PythonTransformContext, Set<string>>();
/** Module functions the cycle calls that put events on the wire to the bus but are not provably the publish: why. */
const modRejected = new WeakMap<PythonTransformContext, Map<string, string>>();

/** A module function of the file the cycle sends to the bus with, which the migration cannot hand to the base, and why. */
export function rejectedModulePublisher(ctx: PythonTransformContext): { fn: PyFunction; reason: string } | null {
  modulePublishers(ctx);
  const all = [...(modRejected.get(ctx) ?? new Map<string, string>()).entries()];
  // The one the cycle hands something of its own (`publish_telemetry(telemetry, self)`) is the publish;
  // one it calls with nothing but the agent (`drain_queue(self)`) re-sends a backlog, and naming it
  // would point the reviewer at the wrong function.
  const cycle = ctx.agent.methods.get(cycleMethod(ctx));
  const sendsOwn = (name: string) => {
    let own = false;
    if (cycle) walk(cycle.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      const f = n.type === 'call' ? n.childForFieldName('function') : null;
      if (f?.type !== 'identifier' || f.text !== name) return;
      if (n.childForFieldName('arguments')!.namedChildren.some((a) => !(a.type === 'identifier' && a.text === 'self') && !['integer', 'float', 'string', 'true', 'false', 'none', 'keyword_argument'].includes(a.type))) own = true;
    });
    return own;
  };
  const first = all.find(([name]) => sendsOwn(name)) ?? all[0];
  if (!first) return null;
  const fn = ctx.module.functions.get(first[0])!;
  return { fn, reason: first[1] + agentArgument(ctx, fn, cycle) };
}

/**
 * `, one of them the agent itself (publish_telemetry(telemetry, self) at line 136), whose
 * agent.queue, agent.sent_batches it reads or changes: state the base's publisher has no hold on`,
 * or '' when the cycle does not hand the function the agent.
 */
function agentArgument(ctx: PythonTransformContext, fn: PyFunction, cycle: PyFunction | undefined): string {
  if (!cycle) return '';
  let call: SyntaxNode | null = null;
  let index = -1;
  walk(cycle.body, (n) => {
    if (call || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    const f = n.type === 'call' ? n.childForFieldName('function') : null;
    if (f?.type !== 'identifier' || f.text !== fn.name) return;
    const args = n.childForFieldName('arguments')!.namedChildren;
    const k = args.findIndex((a) => a.type === 'identifier' && a.text === 'self');
    if (k >= 0) {
      call = n;
      index = k;
    }
  });
  if (!call) return '';
  const params = fn.params.filter((p) => p.kind !== 'separator');
  const param = params[index]?.name;
  const used = new Set<string>();
  // What a person would do with each: a value the agent sets once in __init__ can be handed to the
  // publisher; a put into a queue the agent builds is the function's own fallback, which the base's
  // local queue takes over; anything else (a count it keeps, state changed elsewhere) has no such home.
  const handable = new Set<string>();
  const fallback = new Map<string, SyntaxNode>();
  if (param) walk(fn.body, (n) => {
    if (n.type !== 'attribute' || n.childForFieldName('object')?.text !== param) return;
    const attr = n.childForFieldName('attribute')!.text;
    const key = `${param}.${attr}`;
    used.add(key);
    const sets = ctx.agent.assignments.filter((a) => a.attr === attr);
    const put = n.parent?.type === 'attribute' && n.parent.parent?.type === 'call' && QUEUE_PUT.test(n.parent.childForFieldName('attribute')!.text) ? n.parent.parent : null;
    const inInit = sets.length > 0 && sets.every((a) => a.method === '__init__');
    if (put && inInit && sets.some((a) => a.value?.type === 'call' && QUEUE_CLASS.test(a.value.childForFieldName('function')?.text ?? ''))) fallback.set(key, put);
    else if (inInit && !written(fn.body, param, attr) && !ctx.baseOwned.has(attr)) handable.add(key);
  });
  const c = call as SyntaxNode;
  if (!used.size) return `, one of them the agent itself (${c.text.slice(0, 60)} at line ${c.startPosition.row + 1})`;
  const rest = [...used].filter((u) => !handable.has(u) && !fallback.has(u));
  const parts = [
    ...[...handable].map((u) => `${u} (set once in __init__: a publisher could be handed it)`),
    ...[...fallback].map(([u, put]) => `${u} (its queue fallback, ${put.childForFieldName('function')!.text}(...) at line ${put.startPosition.row + 1}: the base's local queue would take it over)`),
  ];
  const tail = rest.length
    ? `${rest.slice(0, 4).join(', ')}, which it reads or changes: agent state the base's publisher has no hold on`
    : `so nothing it uses is out of a publisher's reach: its send could move into EventBusPublisher, but the migration does not move a module function handed the agent` +
      // Why not call it as it stands from a publisher: a refused batch would be kept twice.
      ([...fallback].slice(0, 1).map(([, put]) => ` (called from a publisher as it stands, its own ${put.childForFieldName('function')!.text}(...) at line ${put.startPosition.row + 1} would keep each refused batch beside the base's local queue, so it would be re-sent twice: its body, without that fallback, is what has to move)`)[0] ?? '');
  return `, one of them the agent itself (${c.text.slice(0, 60)} at line ${c.startPosition.row + 1}), whose ${[...parts, tail].join('; ')}`;
}

/**
 * A module function of the file handed the agent (`ship(self, telemetry)` / `flush_backlog(self)` as a
 * whole statement of the cycle, its answer unread) that only reads `agent.<attr>` values the agent sets
 * once in __init__ (a channel: the publisher is handed them) and, for its queue fallback or its drain,
 * works the agent's queue (a LocalQueue / deque built in __init__: the base's local_queue through the
 * adapter). `send`: its body, that fallback cut, is the publisher's own method (`agent.x` → `self.x`);
 * `drain`: the base drains that queue first every cycle, so the call goes. The function stays in the module.
 */
export interface AgentModuleCall {
  kind: 'send' | 'drain';
  fn: PyFunction;
  stmt: SyntaxNode;
  /** The agent's parameter (`agent`) and, for a send, the event's (`telemetry`) and the local the cycle passes. */
  param: string;
  eventParam: string | null;
  event: string | null;
  /** `agent.<attr>` reads handed to the publisher (set once in __init__). */
  attrs: string[];
  /** The agent's queue it falls back to or drains. */
  queue: string;
  /** A send's fallback statement (`agent.backlog.enqueue(telemetry, key)`), cut from the moved body. */
  fallback: SyntaxNode | null;
}

const QUEUE_DRAIN = /^(drain|popleft|get_nowait|pop)$/;

export function agentModuleCall(ctx: PythonTransformContext, stmt: SyntaxNode): AgentModuleCall | null {
  const c = statementCall(stmt);
  if (!c || c.target || c.fn.type !== 'identifier' || stmt.type !== 'expression_statement') return null;
  const fn = ctx.module.functions.get(c.fn.text);
  if (!fn || fn.isAsync || fn.decorators.length || fn.outer.parent?.id !== ctx.module.root.id || reboundAnywhere(ctx, fn)) return null;
  const args = c.call.childForFieldName('arguments')!.namedChildren;
  const k = args.findIndex((a) => a.type === 'identifier' && a.text === 'self');
  if (k < 0 || args.some((a, i) => i !== k && a.type !== 'identifier')) return null;
  const params = fn.params.filter((p) => p.kind !== 'separator');
  if (params.length < args.length || params.slice(0, args.length).some((p) => p.kind !== 'plain') || params.slice(args.length).some((p) => p.kind !== 'default')) return null;
  const kind = args.length === 2 ? 'send' : args.length === 1 ? 'drain' : null;
  if (!kind || !moduleReachesBus(ctx, fn)) return null;
  const param = params[k]!.name;
  // Every use of the agent is `agent.<attr>` read: never the agent itself passed on, never written.
  const attrs = new Set<string>();
  const puts: SyntaxNode[] = [];
  const drains: SyntaxNode[] = [];
  const queues = new Set<string>();
  let bad = false;
  walk(fn.body, (n) => {
    if (bad) return false;
    if (n.type !== 'identifier' || n.text !== param) return;
    const p = n.parent;
    if (p?.type !== 'attribute' || p.childForFieldName('object')?.id !== n.id) return void (bad = true);
    const attr = p.childForFieldName('attribute')!.text;
    if (written(fn.body, param, attr)) return void (bad = true);
    const sets = ctx.agent.assignments.filter((a) => a.attr === attr);
    if (!sets.length || !sets.every((a) => a.method === '__init__') || ctx.baseOwned.has(attr) || ctx.base.attributes.has(attr) || ctx.agent.methods.has(attr)) return void (bad = true);
    const op = p.parent?.type === 'attribute' && p.parent.childForFieldName('object')?.id === p.id && p.parent.parent?.type === 'call' ? p.parent.childForFieldName('attribute')!.text : null;
    const isQueue = sets.length === 1 && sets[0]!.value?.type === 'call' && QUEUE_CLASS.test(sets[0]!.value.childForFieldName('function')?.text ?? '');
    if (isQueue && op && QUEUE_PUT.test(op)) {
      puts.push(p.parent!.parent!);
      queues.add(attr);
    } else if (isQueue && op && QUEUE_DRAIN.test(op)) {
      drains.push(p.parent!.parent!);
      queues.add(attr);
    } else if (isQueue) bad = true;
    else attrs.add(attr);
  });
  if (bad || queues.size !== 1) return null;
  const queue = [...queues][0]!;
  if ([...attrs].some((a) => a === 'publish' || a === 'close' || a === fn.name)) return null;
  if (kind === 'drain') {
    if (puts.length || !drains.length) return null;
    return { kind, fn, stmt, param, eventParam: null, event: null, attrs: [...attrs].sort(), queue, fallback: null };
  }
  // A send: one put, a statement of its own right before `return False` (the refused batch parked), no
  // drain; every return True / False / the bus's yes-or-no answer, on every path.
  if (drains.length || puts.length !== 1) return null;
  const fallback = puts[0]!.parent;
  if (fallback?.type !== 'expression_statement') return null;
  const siblings = statements(fallback.parent);
  const next = siblings[siblings.findIndex((x) => x.id === fallback.id) + 1];
  if (next?.type !== 'return_statement' || next.namedChild(0)?.type !== 'false') return null;
  let failure = false;
  let other = false;
  walk(fn.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'yield' || n.type === 'await') other = true;
    if (n.type !== 'return_statement') return;
    const v = n.namedChild(0);
    if (v?.type === 'false') failure = true;
    else if (!(v?.type === 'true' || ['comparison_operator', 'boolean_operator', 'not_operator'].includes(v?.type ?? ''))) other = true;
  });
  if (other || !failure || !alwaysReturns(fn.body)) return null;
  // Moved one level in, a string spanning lines (other than the docstring) would change its text.
  let spanning = false;
  walk(fn.body, (n) => {
    if (n.type === 'string' && n.startPosition.row !== n.endPosition.row && !isDocstring(n.parent ?? n)) spanning = true;
  });
  if (spanning) return null;
  return { kind, fn, stmt, param, eventParam: params[1 - k]!.name, event: args[1 - k]!.text, attrs: [...attrs].sort(), queue, fallback };
}

const QUEUE_PUT = /^(enqueue|put|put_nowait|push|append|appendleft)$/;
const QUEUE_CLASS = /(^|\.)(LocalQueue|deque|Queue|SimpleQueue|LifoQueue)$/;

/** Does the function assign `<param>.<attr>` anywhere (`agent.sent += 1`, `agent.channel = None`)? */
function written(body: SyntaxNode, param: string, attr: string): boolean {
  let w = false;
  walk(body, (n) => {
    if (w) return false;
    if ((n.type === 'assignment' || n.type === 'augmented_assignment') && n.childForFieldName('left')?.text === `${param}.${attr}`) w = true;
  });
  return w;
}

/**
 * Module-level functions the cycle publishes through (`def publish(events): ... urlopen(EVENTBUS_URL ...)`
 * called as `publish(batch)` from collect()), recognised by shape, never by name: a plain
 * top-level `def` taking one event, bound once in the file (no assignment, import, `global`,
 * other def or class of the name, nor a local of the cycle), that puts it on the wire to the
 * EventBus (a name of the bus and a gRPC / HTTP / socket call), reports a failure with
 * `return False` and otherwise returns the bus's answer (`resp.status == 200`, True) on every
 * path. The function stays where it is (other code of the file or other modules may import
 * it); EventBusPublisher calls it and raises when its answer is falsy.
 */
export function modulePublishers(ctx: PythonTransformContext): Set<string> {
  let out = modMemo.get(ctx);
  if (out) return out;
  out = new Set();
  modMemo.set(ctx, out);
  const rejected = new Map<string, string>();
  modRejected.set(ctx, rejected);
  const cycle = ctx.agent.methods.get(cycleMethod(ctx));
  if (!cycle) return out;
  const called = new Set<string>();
  walk(cycle.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    const f = n.type === 'call' ? n.childForFieldName('function') : null;
    if (f?.type === 'identifier' && ctx.module.functions.has(f.text)) called.add(f.text);
  });
  for (const name of called) {
    const fn = ctx.module.functions.get(name)!;
    // Only a function that sends to the bus is a candidate; anything else is business code.
    if (!moduleReachesBus(ctx, fn)) continue;
    const why = unsafeModulePublisher(ctx, fn);
    if (why) rejected.set(name, why);
    else out.add(name);
  }
  return out;
}

/** Why the module function cannot be proven to be the publish (null: it can). */
function unsafeModulePublisher(ctx: PythonTransformContext, fn: PyFunction): string | null {
  if (fn.isAsync) return 'is async';
  // A decorator of the file whose wrapper hands back the function's own answer (a latency log
  // around `return fn(*args, **kwargs)`) leaves the yes/no answer as it is; any other is not read.
  for (const d of fn.decorators) {
    const why = answerPassingDecorator(ctx, d);
    if (why) return `is decorated (@${d}): ${why}, so what the wrapper returns and raises is not read`;
  }
  if (fn.outer.parent?.id !== ctx.module.root.id) return 'is defined inside a block';
  const params = fn.params.filter((p) => p.kind !== 'separator');
  if (params.length !== 1 || params[0]!.kind !== 'plain') return `takes ${fn.parameters.text}, not the events alone`;
  const rebound = reboundAnywhere(ctx, fn);
  if (rebound) return `is bound again at line ${rebound.startPosition.row + 1} (${head(rebound.parent ?? rebound)})`;
  let failure = false;
  let other: SyntaxNode | null = null;
  walk(fn.body, (n) => {
    if (other || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'yield' || n.type === 'await') other = n;
    if (n.type !== 'return_statement') return;
    const v = n.namedChild(0);
    if (v?.type === 'false') failure = true;
    else if (!(v?.type === 'true' || ['comparison_operator', 'boolean_operator', 'not_operator'].includes(v?.type ?? ''))) other = n;
  });
  if (other) return `ends with \`${head(other)}\` at line ${line(other)}, not True / False / the bus's yes-or-no answer (a falsy success would be re-sent)`;
  if (!failure) return 'reports no failure with `return False` (how the base would see a failed publish is not proven)';
  if (!alwaysReturns(fn.body)) return 'can end without a return (None: a failure or a success?)';
  return null;
}

/** The name is bound by something other than its one top-level def, anywhere in the file. */
export function reboundAnywhere(ctx: PythonTransformContext, fn: PyFunction): SyntaxNode | null {
  let at: SyntaxNode | null = null;
  walk(ctx.module.root, (n) => {
    if (at) return false;
    if (n.type !== 'identifier' || n.text !== fn.name) return;
    const p = n.parent;
    if (!p) return;
    if ((p.type === 'function_definition' || p.type === 'class_definition') && p.childForFieldName('name')?.id === n.id && p.id !== fn.node.id) at = n;
    else if ((p.type === 'assignment' || p.type === 'augmented_assignment' || p.type === 'for_statement' || p.type === 'pattern_list' || p.type === 'tuple_pattern' || p.type === 'as_pattern_target') && p.childForFieldName('left')?.id === n.id) at = n;
    else if (p.type === 'pattern_list' || p.type === 'tuple_pattern' || p.type === 'list_pattern' || p.type === 'as_pattern_target' || p.type === 'global_statement' || p.type === 'nonlocal_statement') at = n;
    else if (p.type === 'parameters' || p.type === 'default_parameter' || p.type === 'typed_parameter' || p.type === 'lambda_parameters') at = n;
    else if (p.type === 'dotted_name' && (p.parent?.type === 'import_from_statement' || p.parent?.type === 'aliased_import' || p.parent?.type === 'import_statement')) at = n;
    else if (p.type === 'aliased_import' && p.childForFieldName('alias')?.id === n.id) at = n;
  });
  return at;
}

/** Every path through the block ends in `return` or `raise` (no fall-through to an implicit None). */
export function alwaysReturns(block: SyntaxNode | null): boolean {
  const body = statements(block).filter((s) => !isDocstring(s));
  const last = body[body.length - 1];
  if (!last) return false;
  if (last.type === 'return_statement' || last.type === 'raise_statement') return true;
  if (last.type === 'with_statement') return alwaysReturns(last.childForFieldName('body'));
  if (last.type === 'if_statement') {
    const alt = last.namedChildren.filter((c) => c.type === 'elif_clause' || c.type === 'else_clause');
    if (!alt.some((c) => c.type === 'else_clause')) return false;
    return alwaysReturns(last.childForFieldName('consequence')) && alt.every((c) => alwaysReturns(c.childForFieldName(c.type === 'elif_clause' ? 'consequence' : 'body')));
  }
  if (last.type === 'try_statement') {
    const fin = last.namedChildren.find((c) => c.type === 'finally_clause');
    if (fin && alwaysReturns(fin.namedChildren.find((c) => c.type === 'block') ?? null)) return true;
    const els = last.namedChildren.find((c) => c.type === 'else_clause');
    const main = els ? alwaysReturns(els.childForFieldName('body')) : alwaysReturns(last.childForFieldName('body'));
    const handlers = last.namedChildren.filter((c) => c.type === 'except_clause' || c.type === 'except_group_clause');
    return main && handlers.every((h) => alwaysReturns(h.namedChildren.find((c) => c.type === 'block') ?? null));
  }
  return false;
}

/** A module function that names the bus and calls the wire (reachesBus for a function of the module). */
function moduleReachesBus(ctx: PythonTransformContext, fn: PyFunction): boolean {
  let bus = false;
  let wire = false;
  walk(fn.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition') return false;
    if (n.type === 'identifier' && /EVENT_?BUS/i.test(n.text)) bus = true;
    if (n.type === 'call') {
      const callee = n.childForFieldName('function');
      const last = callee?.type === 'attribute' ? callee.childForFieldName('attribute')!.text : callee?.text ?? '';
      if (WIRE.test(last)) wire = true;
    }
  });
  return bus && wire;
}

const line = (n: SyntaxNode) => n.startPosition.row + 1;
const head = (n: SyntaxNode) => excerpt(n.text, 60);
const CONST_RETURN = /^return(\s+(True|False|None))?$/;

/**
 * A cycle statement that publishes and keeps what came of it in the agent's state
 * (`ok = self._emit(events); self.last_emit_ok = ok; if ok: self.emitted += len(events)`), state
 * another method of the agent reads (a status line, a health payload): under the base the publish
 * happens after collect_data() returns, so the hook cannot know its result. Names the write, the
 * reader and the decision a person makes; null when the statement keeps nothing read elsewhere.
 */
function publishStateKept(ctx: PythonTransformContext, cycle: PyFunction, s: SyntaxNode, transport: (m: string) => boolean): { reason: string; at: number } | null {
  let publish: SyntaxNode | null = null;
  walk(s, (n) => {
    if (publish || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    const f = n.type === 'call' ? n.childForFieldName('function') : null;
    const m = f?.type === 'attribute' ? selfAttribute(f) : null;
    if (m && transport(m) && isPublish(ctx, m) && n.parent?.type !== 'expression_statement') publish = n;
  });
  if (!publish) return null;
  const call = publish as SyntaxNode;
  const skip = (m: PyFunction) => m === cycle || m.name === '__init__' || isTransport(ctx, m.name);
  const inside = (m: PyFunction, r: { start: number; end: number }) => m.outer.startIndex <= r.start && r.end <= m.outer.endIndex;
  let found: { reason: string; at: number } | null = null;
  walk(s, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'assignment' && n.type !== 'augmented_assignment') return;
    const attr = selfAttribute(n.childForFieldName('left')!);
    if (!attr || ctx.agent.methods.has(attr) || n.startIndex < call.startIndex) return;
    const reader = ctx.refs.of(attr).find((r) => r.kind === 'attribute' && ![...ctx.agent.methods.values()].some((m) => skip(m) && inside(m, r)));
    if (!reader) return;
    const owner = [...ctx.agent.methods.values()].find((m) => inside(m, reader));
    const callee = call.childForFieldName('function')!.text;
    const parked = parkedYes(ctx, selfAttribute(call.childForFieldName('function')!)!);
    found = {
      at: line(n),
      reason:
        `${cycle.name}() keeps what came of ${callee}() (line ${line(call)}) in self.${attr} (line ${line(n)}: ${head(n)}), which ${owner ? `${owner.name}()` : 'the agent'} reads at line ${reader.line} ` +
        `(${ctx.source.split('\n')[reader.line - 1]!.trim().slice(0, 60)}); under ${ctx.profile.base_class} the publish runs after collect_data() returns, so the hook cannot know its result: ` +
        `decide whether that reader uses health_summary() (events_published, events_queued, circuit_breaker) or keeps its own count, then finish by hand` +
        (parked
          ? `; its answer was also yes when the event was parked in the legacy queue (line ${line(parked.ret)}: ${head(parked.ret)}, which answers line ${line(parked.answer)}: ${head(parked.answer)}), ` +
            `while the base's ${ctx.base.queuedPublish ?? 'queued publish'}() answers False for a batch it queues: it cannot stand in for that answer (self.${attr} would stop moving while the bus is down)`
          : ''),
    };
  });
  if (found) return found;
  // Nothing read elsewhere: the cycle's own backlog (`batch = self.pending + events` before the
  // publish, `self.pending = batch[-500:]` when it failed), re-sent inside its next batch.
  walk(s, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'assignment' || n.startIndex < call.startIndex) return;
    const attr = selfAttribute(n.childForFieldName('left')!);
    // What it keeps, not its reset (`self.pending = []` once the batch went).
    const right = n.childForFieldName('right');
    if (!attr || ctx.agent.methods.has(attr) || !right || identifiers(right).length === 0) return;
    const fed = ctx.refs.of(attr).find((r) => r.kind === 'attribute' && inside(cycle, r) && r.end <= call.startIndex && !(n.startIndex <= r.start && r.end <= n.endIndex));
    if (!fed) return;
    found = {
      at: line(n),
      reason:
        `${cycle.name}() keeps what ${call.childForFieldName('function')!.text}() (line ${line(call)}) did not send in self.${attr} (line ${line(n)}: ${head(n)}) and sends it again with its next events ` +
        `(line ${fed.line}: ${ctx.source.split('\n')[fed.line - 1]!.trim().slice(0, 60)}): its own backlog, bounded and batched its way; under ${ctx.profile.base_class} a failed publish goes to local_queue ` +
        `(drained first, up to 100 events a cycle, each queued batch on its own): decide that bound and batching, and hand self.${attr} to the base as its local_queue by hand`,
    };
  });
  return found;
}

/**
 * `return self._queue_telemetry(t)` in the publish, the queue method answering what its enqueue answered
 * (`return self.queue.enqueue(t, key)`, not a constant False): the publish said yes for "parked" too.
 * That return and the queue method's answer, else null.
 */
function parkedYes(ctx: PythonTransformContext, publish: string): { ret: SyntaxNode; answer: SyntaxNode } | null {
  const fn = ctx.agent.methods.get(publish);
  let found: { ret: SyntaxNode; answer: SyntaxNode } | null = null;
  if (fn) walk(fn.body, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    const v = n.type === 'return_statement' ? n.namedChild(0) : null;
    const q = v?.type === 'call' ? selfAttribute(v.childForFieldName('function')!) : null;
    const queue = q && queueMember(ctx, q) ? ctx.agent.methods.get(q) : undefined;
    if (!queue) return;
    walk(queue.body, (r) => {
      if (found || r.type === 'function_definition' || r.type === 'lambda' || r.type === 'class_definition') return false;
      const a = r.type === 'return_statement' ? r.namedChild(0) : null;
      if (a && !['false', 'none'].includes(a.type)) found = { ret: n, answer: r };
    });
  });
  return found;
}

/** Does the subtree call or mention one of the transport members? */
function transportMention(node: SyntaxNode, transport: (m: string) => boolean): SyntaxNode | null {
  let hit: SyntaxNode | null = null;
  walk(node, (n) => {
    if (hit) return false;
    const a = selfAttribute(n);
    if (a && transport(a)) hit = n;
  });
  return hit;
}

export function isTransport(ctx: PythonTransformContext, m: string): boolean {
  return (ctx.agent.methods.has(m) && (isPublishMethod(ctx, m) || RETRY_METHOD.test(m) || queueMember(ctx, m))) || !!mixinQueueMethod(ctx, m);
}

/** The cycle publishes with it: `_publish_*` by name, or a transport helper by shape (see shapedTransport). */
/** One event, and perhaps parameters every one-argument call leaves at their defaults (`stream="kmod"`). */
export function takesOneEvent(fn: PyFunction): boolean {
  const params = fn.params.filter((p, i) => i > 0 && p.kind !== 'separator');
  return params[0]?.kind === 'plain' && params.slice(1).every((p) => p.kind === 'default');
}

export function isPublish(ctx: PythonTransformContext, m: string): boolean {
  return PUBLISH.test(m) || shapedTransport(ctx).publish.has(m);
}

/** isPublish, or the gRPC channel helper. */
export function isPublishMethod(ctx: PythonTransformContext, m: string): boolean {
  return PUBLISH_METHOD.test(m) || shapedTransport(ctx).publish.has(m);
}

/** Re-sends the unsent backlog: `_drain_*` by name, or by shape (see shapedTransport). */
export function isDrain(ctx: PythonTransformContext, m: string): boolean {
  return DRAIN.test(m) || shapedTransport(ctx).drain.has(m) || mixinQueueMethod(ctx, m) === 'drain';
}

/**
 * The method's decorators (if any) are functions of this module (`@retry(times=3)` wrapping a
 * send): they stay reachable from the publisher class the method moves into. Built-ins that
 * change how the method binds (`@staticmethod`, `@property`) or imported ones are not moved.
 */
export function moduleDecorators(ctx: PythonTransformContext, fn: PyFunction): boolean {
  return fn.decorators.every((d) => moduleDecorator(ctx, d));
}

function moduleDecorator(ctx: PythonTransformContext, d: string): boolean {
  if (contextManagerDecorator(ctx, d)) return true;
  const name = /^([A-Za-z_]\w*)\s*(\(|$)/.exec(d)?.[1];
  return !!name && ctx.module.root.namedChildren.some((c) => c.type === 'function_definition' && c.childForFieldName('name')?.text === name);
}

/**
 * moduleDecorators, or `@staticmethod` on a helper the publish calls (`_encode(records)` gzipping a
 * batch): it reads nothing of the class it sits in, so `self._encode(part)` in the publisher runs the
 * same code. Only while every use goes through self: `FlowAgent._encode(...)` would name a method the
 * agent no longer has. Not for the publish itself, whose decorators are read as retry wrappers.
 */
export function movableHelperDecorators(ctx: PythonTransformContext, fn: PyFunction): boolean {
  const throughSelf = () => ctx.refs.of(fn.name).every((r) => r.kind !== 'attribute' || r.node.parent?.childForFieldName('object')?.text === 'self');
  return fn.decorators.every((d) => (d.trim() === 'staticmethod' && throughSelf()) || moduleDecorator(ctx, d));
}

/**
 * `@contextmanager` (from contextlib) or `@contextlib.contextmanager`: the standard library's wrapper
 * that turns a generator method into a `with` target (`with self._eventbus() as stub:`). It reads
 * nothing of the class it is in and binds like the plain method, so a transport helper it decorates
 * moves into the publisher as it is (the module's import still names it there).
 */
export function contextManagerDecorator(ctx: PythonTransformContext, decorator: string): boolean {
  const d = decorator.trim();
  if (/^[A-Za-z_]\w*$/.test(d)) {
    const imp = ctx.module.imports.get(d);
    return imp?.module === 'contextlib' && imp.name === 'contextmanager';
  }
  const dotted = /^([A-Za-z_]\w*)\.contextmanager$/.exec(d);
  return !!dotted && ctx.module.imports.get(dotted[1]!)?.module === 'contextlib' && ctx.module.imports.get(dotted[1]!)?.name === null;
}

const shapeMemo = new WeakMap<PythonTransformContext, { publish: Set<string>; drain: Set<string> }>();
/** Calls that put bytes on the wire to the EventBus (gRPC stub, HTTP, a raw socket). */
const WIRE = /^(PublishTelemetry|Publish|urlopen|sendall|send|post|put|request|create_connection)$/;

/**
 * Publish helpers named like nothing in seed 001's checklist (`send_envelope`, `_emit`, `_ship`),
 * recognised by what they do: the cycle calls it with one event; it puts that event on the wire
 * to the EventBus (a module constant naming the bus, and a gRPC / HTTP / socket call); it
 * reports a failure with `return False`. A drain is then a method without parameters that the
 * cycle calls as a statement and that re-sends through such a helper (`flush_outbox`,
 * `_flush_backlog`, `_reship_pending`).
 */
function shapedTransport(ctx: PythonTransformContext): { publish: Set<string>; drain: Set<string> } {
  let m = shapeMemo.get(ctx);
  if (m) return m;
  m = { publish: new Set(), drain: new Set() };
  shapeMemo.set(ctx, m);
  const cycle = ctx.agent.methods.get(cycleMethod(ctx));
  if (!cycle) return m;
  const calledByCycle = new Set<string>();
  // run()'s loop taking the cycle's events and publishing them itself is part of the cycle.
  const loop = loopTakingCycle(ctx);
  for (const root of loop ? [cycle.body, loop.loop.childForFieldName('body')!] : [cycle.body]) {
    walk(root, (n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      if (n.type !== 'call') return;
      const f = n.childForFieldName('function');
      const a = f?.type === 'attribute' ? selfAttribute(f) : null;
      if (a && ctx.agent.methods.has(a) && a !== cycle.name) calledByCycle.add(a);
    });
  }
  const plain = (fn: PyFunction) => fn.params.filter((p, i) => i > 0 && p.kind !== 'separator');
  for (const name of calledByCycle) {
    const fn = ctx.agent.methods.get(name)!;
    // A decorator of the module (`@retry_on_false(attempts=3)`) moves with the method and keeps wrapping it.
    if (PUBLISH.test(name) || name.startsWith('__') || ctx.base.methods.has(name) || fn.isAsync || !moduleDecorators(ctx, fn)) continue;
    if (!takesOneEvent(fn)) continue;
    let failure = false;
    walk(fn.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'class_definition') return false;
      if (n.type === 'return_statement' && n.namedChild(0)?.type === 'false') failure = true;
    });
    if ((failure || caughtPublishes(ctx, cycle).has(name)) && reachesBus(ctx, fn)) m.publish.add(name);
  }
  const sender = senderThread(ctx);
  if (sender) m.publish.add(sender.send);
  const modules = modulePublishers(ctx);
  // The cycle's publish named as seed 001's checklist names it (`_publish`, `_publish_telemetry`).
  const named = [...calledByCycle].filter((n) => PUBLISH.test(n));
  if (!m.publish.size && !modules.size && !named.length) return m;
  // The wire helpers of the publish (`_send` that `_publish_batch` calls, directly or through the
  // agent's own breaker: `self.breaker.call(self._send, batch)`), reaching the bus themselves.
  const wire = new Set<string>();
  for (const p of [...m.publish, ...named]) {
    walk(ctx.agent.methods.get(p)!.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      if (n.type !== 'call') return;
      const f = n.childForFieldName('function');
      const h = breakerCall(ctx, n)?.helper ?? (f?.type === 'attribute' ? selfAttribute(f) : null);
      const helper = h ? ctx.agent.methods.get(h) : undefined;
      if (helper && h !== p && !m!.publish.has(h!) && !PUBLISH.test(h!) && !ctx.base.methods.has(h!) && reachesBus(ctx, helper)) wire.add(h!);
    });
  }
  // Stores the publish puts a refused event into (`self.outbox.put_nowait(message)`).
  const fallbackStores = new Set<string>();
  for (const p of [...m.publish, ...named]) {
    walk(ctx.agent.methods.get(p)!.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      const f = n.type === 'call' ? n.childForFieldName('function') : null;
      const store = f?.type === 'attribute' && /^(put|put_nowait|append|appendleft|extend|enqueue|push|add)$/.test(f.childForFieldName('attribute')!.text) ? selfAttribute(f.childForFieldName('object')!) : null;
      if (store && !ctx.agent.methods.has(store)) fallbackStores.add(store);
      // Or through the agent's own counting store (`self._keep(report)`: counts, then appends).
      const own = f?.type === 'attribute' ? ctx.agent.methods.get(selfAttribute(f) ?? '') : undefined;
      const kept = own ? countingStore(own) : null;
      if (kept) fallbackStores.add(kept);
    });
  }
  // A drain is called by the cycle, or by the publish itself once it went through (drain-on-success:
  // `if self._post(report): self._flush_backlog()`), which the base's drain-first stands for.
  for (const name of new Set([...calledByCycle, ...drainsAfterPublish(ctx, [...m.publish, ...named])])) {
    const fn = ctx.agent.methods.get(name)!;
    if (m.publish.has(name) || PUBLISH.test(name) || plain(fn).length || fn.isAsync || fn.decorators.length || ctx.base.methods.has(name)) continue;
    let resends = false;
    let drainsStore = false;
    walk(fn.body, (n) => {
      // Through a wire helper of the publish, what it reads back from where the publish's own
      // fallback kept it (`self._outbox_write(batch)` before `return False`, appending to OUTBOX).
      const viaBreaker = breakerCall(ctx, n);
      if (viaBreaker && wire.has(viaBreaker.helper) && spooledBackArgs(ctx, fn, viaBreaker.args)) resends = true;
      const a = selfAttribute(n);
      if (a && wire.has(a) && n.parent?.type === 'call' && n.parent.childForFieldName('function')?.id === n.id && spooledBackArgs(ctx, fn, n.parent.childForFieldName('arguments')!.namedChildren)) resends = true;
      if (a && m!.publish.has(a)) resends = true;
      // The publish itself handed to the queue's drain (`self.offline.drain(self._publish_batch,
      // limit=50)`): each queued item goes back through the publish, as the base's drain does.
      if (a && named.includes(a) && queueDrainArgument(n)) resends = true;
      // Through a named publish, only what the agent kept (`self._publish(self.pending[seq])`): a
      // business send of a fresh event (`self._publish_telemetry(self._heartbeat())`) is no re-send.
      if (a && named.includes(a) && n.parent?.type === 'call' && keptState(ctx, fn, n.parent.childForFieldName('arguments'))) resends = true;
      // Through a wire helper of the publish, what it takes back out of the store the publish's own
      // fallback put the refused event in (`self.outbox.put_nowait(message)` in `_deliver`, then
      // `message = self.outbox.get_nowait(); self._post(message)`).
      if (a && wire.has(a) && n.parent?.type === 'call' && n.parent.childForFieldName('function')?.id === n.id && keptState(ctx, fn, n.parent.childForFieldName('arguments')) && readsStore(fn, fallbackStores)) resends = true;
      // Or what it reads back from where the cycle's fallback kept it (`for batch in pending:` over
      // the lines of self.spool_file, which `_spool(batch)` appended to): a spool on disk.
      if (a && named.includes(a) && n.parent?.type === 'call' && spooledBack(ctx, fn, n.parent.childForFieldName('arguments'))) resends = true;
      // `def _flush_spool(self): ... if not publish(batch): ...` re-sends through the module's publish function.
      const f = n.type === 'call' ? n.childForFieldName('function') : null;
      if (f?.type === 'identifier' && modules.has(f.text)) resends = true;
      // `self.bus.send(self.backlog[0])`: re-sends through the same client the publish sends with.
      if (n.type === 'call' && busClientCall(ctx, n)) resends = true;
      // `self.spool.drain(lambda t: stub.PublishTelemetry(...), limit=50)`: the store the publish's own
      // fallback keeps refused events in, drained back onto the bus (checked below: the method reaches it).
      if (f?.type === 'attribute' && f.childForFieldName('attribute')!.text === 'drain' && fallbackStores.has(selfAttribute(f.childForFieldName('object')!) ?? '')) drainsStore = true;
    });
    if (resends || (drainsStore && reachesBus(ctx, fn, true))) m.drain.add(name);
  }
  return m;
}

/**
 * Methods of the agent a publish calls as a bare statement (`self._flush_backlog()`, no
 * arguments, its result unused): the candidates for a drain the publish runs after a success.
 */
function drainsAfterPublish(ctx: PythonTransformContext, publishes: string[]): string[] {
  const out: string[] = [];
  for (const p of publishes) {
    const fn = ctx.agent.methods.get(p);
    if (!fn) continue;
    walk(fn.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      const call = n.type === 'expression_statement' ? n.namedChild(0) : null;
      if (call?.type !== 'call' || call.childForFieldName('arguments')!.namedChildren.length) return;
      const a = selfAttribute(call.childForFieldName('function')!);
      if (a && a !== p && ctx.agent.methods.has(a)) out.push(a);
    });
  }
  return out;
}

/** `n` is the first argument of `self.<store>.drain(...)` (the publish a queue re-sends its items with). */
function queueDrainArgument(n: SyntaxNode): boolean {
  const args = n.parent;
  const call = args?.type === 'argument_list' ? args.parent : null;
  const f = call?.type === 'call' ? call.childForFieldName('function') : null;
  if (f?.type !== 'attribute' || f.childForFieldName('attribute')!.text !== 'drain') return false;
  return !!selfAttribute(f.childForFieldName('object')!) && args!.namedChild(0)?.id === n.id;
}

/** The method reads one of the stores (`self.<store>`). */
function readsStore(fn: PyFunction, stores: Set<string>): boolean {
  let hit = false;
  walk(fn.body, (n) => {
    if (hit || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    const a = selfAttribute(n);
    if (a && stores.has(a)) hit = true;
  });
  return hit;
}

/**
 * Methods the cycle calls as `try: self._post(ev) except ...: <keep ev>` where every handler keeps
 * the event, handing it to another method of the agent (`self._spool(ev)`) or appending it to a
 * file itself (inlineSpoolWrite): a publish that signals failure by raising (no `return False`).
 */
function caughtPublishes(ctx: PythonTransformContext, cycle: PyFunction): Set<string> {
  const out = new Set<string>();
  walk(cycle.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'try_statement') return;
    const handlers = n.namedChildren.filter((k) => k.type === 'except_clause' || k.type === 'except_group_clause');
    if (!handlers.length) return;
    for (const x of statements(n.childForFieldName('body'))) {
      const c = selfCall(x);
      const a = c ? c.call.childForFieldName('arguments')!.namedChildren : [];
      if (!c || c.target || !ctx.agent.methods.has(c.method) || a.length !== 1 || a[0]!.type !== 'identifier') continue;
      const ev = a[0]!.text;
      const keeps = (y: SyntaxNode) => {
        const q = selfCall(y);
        const b = q ? q.call.childForFieldName('arguments')!.namedChildren : [];
        return (!!q && !q.target && q.method !== c.method && ctx.agent.methods.has(q.method) && !ctx.base.methods.has(q.method) && b.length === 1 && b[0]!.text === ev) || inlineSpoolWrite(y, ev) !== null;
      };
      if (handlers.every((h) => statements(h.namedChildren.find((k) => k.type === 'block') ?? null).some(keeps))) out.add(c.method);
      // `try: self._send(t) except grpc.RpcError as e: logger.error("lost: %s", e)`: the one call of the
      // try, whose failure the cycle only logs (see raisingPublish).
      else if (handlers.every(logsOnlyHandler) && statements(n.childForFieldName('body')).every((y) => y.id === x.id || isLogCall(expressionOf(y)))) out.add(c.method);
    }
  });
  return out;
}

/**
 * The one argument is a loop variable of the method, and the method works the same state (a
 * self attribute that is no method: the spool's path, its connection) as a method the cycle
 * hands the events its publish did not take (cycleFallbacks): it re-sends what that fallback
 * stored, read back from the store. A fresh event built from other state is not.
 */
function spooledBack(ctx: PythonTransformContext, fn: PyFunction, args: SyntaxNode | null): boolean {
  return spooledBackArgs(ctx, fn, args?.namedChildren ?? []);
}

function spooledBackArgs(ctx: PythonTransformContext, fn: PyFunction, list: SyntaxNode[]): boolean {
  if (list.length !== 1 || list[0]!.type !== 'identifier') return false;
  const v = list[0]!.text;
  let looped = false;
  walk(fn.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'for_statement') {
      const left = n.childForFieldName('left');
      if (left?.text === v || (left?.type === 'pattern_list' && left.namedChildren.some((x) => x.text === v))) looped = true;
    }
  });
  if (!looped) return false;
  const state = (f: PyFunction): Set<string> => {
    const out = new Set<string>();
    walk(f.body, (n) => {
      if (n.type === 'class_definition') return false;
      const a = selfAttribute(n);
      if (a && !ctx.agent.methods.has(a) && !ctx.baseOwned.has(a)) out.add(a);
    });
    return out;
  };
  const mine = state(fn);
  // The cycle's handler appended to that file itself: the method reads the same path back.
  for (const path of inlineSpools(ctx)) {
    let reads = false;
    walk(fn.body, (n) => {
      if (n.type === 'call' && n.childForFieldName('function')?.text === 'open' && n.childForFieldName('arguments')!.namedChildren[0]?.text === path) reads = true;
    });
    if (reads) return true;
  }
  const opened = (f: PyFunction, append: boolean): Set<string> => {
    const out = new Set<string>();
    walk(f.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      if (n.type !== 'call' || n.childForFieldName('function')?.text !== 'open') return;
      const a = n.childForFieldName('arguments')!.namedChildren;
      const mode = a[1]?.type === 'string' ? a[1]!.text.replace(/^[rbuRBU]*['"]|['"]$/g, '') : 'r';
      const path = a[0];
      if (!path || (append && !/^a/.test(mode))) return;
      // A module-level name or an attribute of the agent: one place on disk for both methods.
      if ((path.type === 'identifier' && moduleName(ctx, path.text)) || (path.type === 'attribute' && selfAttribute(path))) out.add(path.text);
    });
    return out;
  };
  const reads = opened(fn, false);
  for (const name of [...cycleFallbacks(ctx), ...publishFallbacks(ctx)]) {
    const f = ctx.agent.methods.get(name);
    if (f && f !== fn && [...state(f)].some((a) => mine.has(a))) return true;
    // The fallback appends to a file by a module constant (`with open(OUTBOX, "a")`) that the method reads back.
    if (f && f !== fn && [...opened(f, true)].some((p) => reads.has(p))) return true;
  }
  return false;
}

/** A name bound at the module's top level (a constant such as OUTBOX), not rebound in a function. */
function moduleName(ctx: PythonTransformContext, name: string): boolean {
  let top = false;
  let local = false;
  walk(ctx.module.root, (n) => {
    if (n.type === 'class_definition' || n.type === 'function_definition') {
      walk(n, (x) => {
        if ((x.type === 'assignment' || x.type === 'augmented_assignment') && x.childForFieldName('left')?.text === name) local = true;
        if (x.type === 'global_statement' && x.namedChildren.some((c) => c.text === name)) local = true;
      });
      return false;
    }
    if (n.type === 'assignment' && n.childForFieldName('left')?.text === name) top = true;
  });
  return top && !local;
}

/**
 * Methods a publish of the agent hands its one event to right before reporting the failure
 * (`self._outbox_write(batch)`, then maybe log lines, then `return False`): the publish's own
 * unsent-message store, whatever its name. The base queues what it could not publish now.
 */
export function publishFallbacks(ctx: PythonTransformContext): Set<string> {
  const out = new Set<string>();
  for (const p of ctx.agent.methods.values()) {
    if (!isPublish(ctx, p.name) || p.isAsync) continue;
    const params = p.params.filter((x, i) => i > 0 && x.kind !== 'separator');
    if (params.length !== 1 || params[0]!.kind !== 'plain') continue;
    const ev = params[0]!.name;
    walk(p.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      const c = n.type === 'expression_statement' ? selfCall(n) : null;
      const a = c ? c.call.childForFieldName('arguments')!.namedChildren : [];
      if (!c || c.target || c.method === p.name || ctx.base.methods.has(c.method) || a.length !== 1 || a[0]!.text !== ev) return;
      const f = ctx.agent.methods.get(c.method);
      if (!f || f.isAsync || f.params.filter((x, i) => i > 0 && x.kind !== 'separator').length !== 1 || isPublish(ctx, c.method)) return;
      const siblings = n.parent?.namedChildren ?? [];
      let at = siblings.findIndex((x) => x.id === n.id) + 1;
      while (siblings[at] && logOnlyStatement(siblings[at]!)) at++;
      const next = siblings[at];
      if (next?.type === 'return_statement' && next.namedChild(0)?.type === 'false') out.add(c.method);
    });
    // `return self._enqueue(telemetry)`: a helper of the agent that stores the event it is handed in a
    // store of the agent (`self.queue.enqueue(telemetry, key)`) and answers False: the same fallback,
    // whatever the helper is called.
    walk(p.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      if (n.type !== 'return_statement') return;
      const call = n.namedChild(0);
      const f = call?.type === 'call' ? call.childForFieldName('function') : null;
      const m = f?.type === 'attribute' ? selfAttribute(f) : null;
      const a = call?.childForFieldName('arguments')?.namedChildren ?? [];
      if (!m || m === p.name || ctx.base.methods.has(m) || isPublish(ctx, m) || a.length !== 1 || a[0]!.text !== ev) return;
      const h = ctx.agent.methods.get(m);
      if (h && storesAndFails(h)) out.add(m);
    });
  }
  return out;
}

/**
 * A cursor gate on a publish that kept nothing it failed to send (see inPlaceCursorGate): the legacy read the
 * batch again, and the base's queued publish in place would queue it too. Null when the publish queues its
 * failures itself (the base's queue then does what the legacy's did) or there is no such gate.
 */
function duplicatingGate(ctx: PythonTransformContext, cycle: PyFunction, s: SyntaxNode, after: SyntaxNode[], method: string, queuedPublish: string): { reason: string; at: number } | null {
  return publishKeepsFailed(ctx, method) ? null : inPlaceCursorGate(ctx, cycle, s, after, queuedPublish);
}

/** The publish (or a method of the agent it calls) hands what it failed to send to one of its fallback stores (publishFallbacks). */
function publishKeepsFailed(ctx: PythonTransformContext, method: string): boolean {
  const fallbacks = publishFallbacks(ctx);
  const seen = new Set<string>();
  const visit = (m: string): boolean => {
    const fn = ctx.agent.methods.get(m);
    if (!fn || seen.has(m)) return false;
    seen.add(m);
    let found = false;
    walk(fn.body, (n) => {
      if (found || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      const called = n.type === 'call' ? selfAttribute(n.childForFieldName('function')!) : null;
      if (called && (fallbacks.has(called) || visit(called))) found = true;
    });
    return found;
  };
  return visit(method);
}

/**
 * A one-parameter helper that puts that parameter into a store of the agent (`self.X.enqueue(p, ...)`,
 * `.put`, `.append`, ...) and ends with `return False`, with no other return: a publish's fallback.
 */
function storesAndFails(h: PyFunction): boolean {
  if (h.isAsync || h.decorators.length) return false;
  const params = h.params.filter((x, i) => i > 0 && x.kind !== 'separator');
  if (params.length !== 1 || params[0]!.kind !== 'plain') return false;
  const body = statements(h.body).filter((st) => !isDocstring(st));
  const last = body[body.length - 1];
  if (last?.type !== 'return_statement' || last.namedChild(0)?.type !== 'false') return false;
  let stores = false;
  let returns = 0;
  walk(h.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'return_statement') returns++;
    if (n.type !== 'call') return;
    const f = n.childForFieldName('function');
    const obj = f?.type === 'attribute' ? f.childForFieldName('object') : null;
    const arg = n.childForFieldName('arguments')?.namedChildren[0];
    if (obj && selfAttribute(obj) && /^(enqueue|put|put_nowait|append|push|add)$/.test(f!.childForFieldName('attribute')!.text) && arg?.text === params[0]!.name) stores = true;
  });
  return stores && returns === 1;
}

/**
 * The one argument is an element the agent kept, as it was stored: `self.pending[seq]`,
 * `self.unsent[0]`, `self.backlog`, or a name the method bound from such a store (`for item in
 * self.backlog:`, `batch = self.outbox.popleft()`). A fresh event built there (a constructor call
 * reading self.worst) is not.
 */
function keptState(ctx: PythonTransformContext, fn: PyFunction, args: SyntaxNode | null): boolean {
  const list = args?.namedChildren ?? [];
  if (list.length !== 1) return false;
  const storeOf = (x: SyntaxNode | null): boolean => {
    if (!x) return false;
    if (x.type === 'subscript') return storeOf(x.childForFieldName('value'));
    if (x.type === 'call') {
      // `self.outbox.popleft()`, `self.unsent.pop(0)`, `sorted(self.pending)`, `list(self.backlog)`
      const f = x.childForFieldName('function')!;
      if (f.type === 'attribute' && /^(pop|popleft|popitem|get|get_nowait)$/.test(f.childForFieldName('attribute')!.text)) return storeOf(f.childForFieldName('object'));
      const a = x.childForFieldName('arguments')!.namedChildren;
      return f.type === 'identifier' && /^(sorted|list|reversed|tuple)$/.test(f.text) && a.length === 1 && storeOf(a[0]!);
    }
    const a = selfAttribute(x);
    return !!a && !ctx.agent.methods.has(a);
  };
  const arg = list[0]!;
  if (storeOf(arg)) return true;
  if (arg.type !== 'identifier') return false;
  // Where the method binds a local name: `v = <x>`, `v, self.unsent = <x>, []` (the store swapped
  // out: `v` is the element at the same place), `for v in <x>`, `for i, v in enumerate(<x>)`.
  const sources = (name: string): SyntaxNode[] => {
    const out: SyntaxNode[] = [];
    walk(fn.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      const left = n.childForFieldName('left');
      const right = n.childForFieldName('right');
      if (!left || !right) return;
      if (n.type === 'assignment' || n.type === 'for_statement') {
        if (left.text === name) out.push(right);
        else if (n.type === 'assignment' && left.type === 'pattern_list' && right.type === 'expression_list' && left.namedChildCount === right.namedChildCount) {
          const k = left.namedChildren.findIndex((x) => x.type === 'identifier' && x.text === name);
          if (k >= 0) out.push(right.namedChildren[k]!);
        } else if (n.type === 'for_statement' && left.type === 'pattern_list' && left.namedChildCount === 2 && left.namedChildren[1]!.text === name && right.type === 'call' && right.childForFieldName('function')?.text === 'enumerate') {
          const a = right.childForFieldName('arguments')!.namedChildren;
          if (a.length === 1) out.push(a[0]!);
        }
      }
    });
    return out;
  };
  // A name bound only from kept state, directly or through other such names (each followed once).
  const seen = new Set<string>();
  const kept = (name: string): boolean => {
    if (seen.has(name)) return false;
    seen.add(name);
    const from = sources(name);
    return from.length > 0 && from.every((x) => storeOf(x) || (x.type === 'identifier' && kept(x.text)));
  };
  return kept(arg.text);
}

/**
 * Methods the cycle hands the events its publish did not take, whatever their names:
 * `if not self._send(events): self._spool(events)` (an SQLite or JSON-lines spool named like
 * nothing in seed 001's checklist). The failure branch of a publish is the unsent-message queue.
 */
function cycleFallbacks(ctx: PythonTransformContext): Set<string> {
  const out = new Set<string>();
  const cycle = ctx.agent.methods.get(cycleMethod(ctx));
  if (!cycle) return out;
  walk(cycle.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    // `try: self._publish(batch) except ...: self._spool(batch)`: the handler keeps what the publish raised on.
    if (n.type === 'try_statement') {
      for (const x of statements(n.childForFieldName('body'))) {
        const c = selfCall(x);
        const a = c ? c.call.childForFieldName('arguments')!.namedChildren : [];
        if (!c || c.target || !isPublishMethod(ctx, c.method) || a.length !== 1 || a[0]!.type !== 'identifier') continue;
        for (const h of n.namedChildren.filter((k) => k.type === 'except_clause' || k.type === 'except_group_clause')) {
          for (const y of statements(h.namedChildren.find((k) => k.type === 'block') ?? null)) {
            const q = selfCall(y);
            const b = q ? q.call.childForFieldName('arguments')!.namedChildren : [];
            if (q && !q.target && q.method !== c.method && ctx.agent.methods.has(q.method) && !ctx.base.methods.has(q.method) && b.length === 1 && b[0]!.text === a[0]!.text) out.add(q.method);
          }
        }
      }
      return;
    }
    if (n.type !== 'if_statement' || n.namedChildren.some((c) => c.type === 'elif_clause')) return;
    // `if not self._send(ev): <keep>`, or `if self._send(ev): ... else: <keep>`: the refused branch.
    const cond = n.childForFieldName('condition');
    const alt = n.childForFieldName('alternative');
    const negated = cond?.type === 'not_operator';
    if (!negated && !alt) return;
    const arg = negated ? cond!.childForFieldName('argument') : cond;
    const fnNode = arg?.type === 'call' ? arg.childForFieldName('function') : null;
    const viaModule = fnNode?.type === 'identifier' && modulePublishers(ctx).has(fnNode.text);
    const p = fnNode?.type === 'attribute' ? selfAttribute(fnNode) : viaModule ? fnNode!.text : null;
    const args = arg?.type === 'call' ? arg.childForFieldName('arguments')!.namedChildren : [];
    if (!p || !(viaModule || isPublishMethod(ctx, p)) || args.length !== 1 || args[0]!.type !== 'identifier') return;
    for (const x of statements(negated ? n.childForFieldName('consequence') : alt!.childForFieldName('body'))) {
      const c = selfCall(x);
      const a = c ? c.call.childForFieldName('arguments')!.namedChildren : [];
      if (c && !c.target && c.method !== p && ctx.agent.methods.has(c.method) && !ctx.base.methods.has(c.method) && a.length === 1 && a[0]!.text === args[0]!.text) out.add(c.method);
    }
  });
  return out;
}

/**
 * Cycle fallbacks that are another destination, not a queue (`self._relay(batch)` sending the refused
 * batch over UDP and keeping nothing): see hardened-refusal-handoff. The base's refusal goes there.
 */
export function cycleHandOffs(ctx: PythonTransformContext): Set<string> {
  return new Set([...cycleFallbacks(ctx)].filter((m) => sendsAndKeepsNothing(ctx.agent.methods.get(m)!, ctx.agent.methods)));
}

/**
 * Fallback methods that store the refused event in a queue the agent built in __init__ and count while
 * doing so (countingStore: `self.dropped += 1` when the bounded backlog is full): method -> that queue.
 * They stay, and the base hands them what it could not publish, so the count goes on counting.
 */
export function countingKeepers(ctx: PythonTransformContext): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of new Set([...cycleFallbacks(ctx), ...publishFallbacks(ctx)])) {
    const store = countingStore(ctx.agent.methods.get(m)!);
    const built = store ? ctx.agent.assignments.find((x) => x.attr === store && x.method === '__init__' && x.value?.type === 'call') : undefined;
    const ctor = built?.value?.childForFieldName('function');
    const last = ctor?.type === 'attribute' ? ctor.childForFieldName('attribute')!.text : ctor?.type === 'identifier' ? ctor.text : '';
    if (store && (last === 'deque' || /^[A-Z]/.test(last))) out.set(m, store);
  }
  return out;
}

const queueMemo = new WeakMap<PythonTransformContext, Set<string>>();

/**
 * A method named like queue management (`_queue_*`, `_enqueue_*`, `_drain_*`) that is the
 * unsent-message queue of the transport: it calls the publish code, the publish code calls it,
 * or it works a container the publish code works too. A work queue of the business
 * (`_enqueue_targets` filling `self.jobs` with scan targets, `_drain_jobs` taking a batch of
 * them) shares nothing with the publish code, and is no concern of the base.
 */
export function queueMember(ctx: PythonTransformContext, name: string): boolean {
  // A queue method the agent inherits from a legacy queue mixin of the repository (hardened-queue-mixin).
  if (!ctx.agent.methods.has(name) && mixinQueueMethod(ctx, name)) return true;
  let set = queueMemo.get(ctx);
  if (!set) queueMemo.set(ctx, (set = transportQueueMethods(ctx)));
  return set.has(name);
}

function transportQueueMethods(ctx: PythonTransformContext): Set<string> {
  const methods = [...ctx.agent.methods.values()];
  // A hand-off to another destination keeps nothing to re-send: it stays with the agent (cycleHandOffs).
  const handOffs = cycleHandOffs(ctx);
  const fallbacks = new Set([...cycleFallbacks(ctx)].filter((m) => !handOffs.has(m)));
  const inPublish = publishFallbacks(ctx);
  const keepers = countingKeepers(ctx);
  const named = methods.filter((m) => !keepers.has(m.name) && (QUEUE_METHOD.test(m.name) || shapedTransport(ctx).drain.has(m.name) || fallbacks.has(m.name) || inPublish.has(m.name)));
  const publish = methods.filter((m) => isPublishMethod(ctx, m.name) || RETRY_METHOD.test(m.name));
  const use = (fn: PyFunction) => {
    const calls = new Set<string>();
    const containers = new Set<string>();
    walk(fn.body, (n) => {
      if (n.type === 'class_definition') return false;
      const a = selfAttribute(n);
      if (!a) return;
      const p = n.parent;
      if (ctx.agent.methods.has(a)) {
        if (p?.type === 'call' || p?.type === 'argument_list') calls.add(a);
      } else if (p?.type === 'attribute' && p.childForFieldName('object')?.id === n.id && p.parent?.type === 'call') {
        containers.add(a); // self.queue.enqueue(...), self.spool.popleft()
      }
    });
    return { calls, containers };
  };
  const pub = publish.map((m) => ({ name: m.name, ...use(m) }));
  const out = new Set<string>();
  // Given what was also given to the publish code (`self._queue_devices(devices[acked:])` after
  // `self._publish_devices(devices)`): it holds the events the bus did not take.
  const publishNames = new Set(pub.map((p) => p.name));
  const handedEvents = new Set<string>();
  for (const m of methods) {
    const args = new Map<string, Set<string>>();
    walk(m.body, (n) => {
      if (n.type === 'class_definition') return false;
      if (n.type !== 'call') return;
      const f = n.childForFieldName('function');
      const a = f?.type === 'attribute' ? selfAttribute(f) : null;
      if (!a || !ctx.agent.methods.has(a)) return;
      const names = args.get(a) ?? new Set<string>();
      walk(n.childForFieldName('arguments')!, (x) => {
        if (x.type === 'identifier' && x.text !== 'self') names.add(x.text);
      });
      args.set(a, names);
    });
    const published = new Set([...args.entries()].filter(([a]) => publishNames.has(a)).flatMap(([, v]) => [...v]));
    for (const [a, names] of args) if (!publishNames.has(a) && [...names].some((x) => published.has(x))) handedEvents.add(a);
  }
  // Without any publish code to relate them to, the names are all there is to go on.
  if (!pub.length) return new Set(named.map((m) => m.name));
  let grew = true;
  const linked = new Set(pub.map((p) => p.name));
  const uses = new Map(named.map((m) => [m.name, use(m)]));
  // The queue a counting store that stays fills (countingKeepers): what works it is queue code too.
  const keptIn = new Set([...keepers.values()]);
  while (grew) {
    grew = false;
    for (const m of named) {
      if (out.has(m.name)) continue;
      const u = uses.get(m.name)!;
      const calledByTransport = [...pub, ...[...out].map((n) => ({ name: n, ...uses.get(n)! }))].some((p) => p.calls.has(m.name));
      const callsTransport = [...u.calls].some((c) => linked.has(c));
      const sharesContainer = [...u.containers].some((c) => keptIn.has(c) || pub.some((p) => p.containers.has(c)) || [...out].some((o) => uses.get(o)!.containers.has(c)));
      if (calledByTransport || callsTransport || sharesContainer || handedEvents.has(m.name)) {
        out.add(m.name);
        linked.add(m.name);
        grew = true;
      }
    }
  }
  return out;
}

/** collect() as a hook: which statements drain/publish, what it returns instead. */
export function analyzeCollect(ctx: PythonTransformContext): Analysis<CollectPlan> {
  const entry = memo.get(ctx) ?? {};
  memo.set(ctx, entry);
  return (entry.collect ??= readCollect(ctx));
}

function fail(reason: string, at: number): { ok: false; reason: string; line: number } {
  return { ok: false, reason, line: at };
}

function readCollect(ctx: PythonTransformContext): Analysis<CollectPlan> {
  // `agent.collect()` in another file (a support tool running one cycle and printing what it returns):
  // collect_data() takes its place, neither publishing nor answering what collect() did, and the name
  // goes, so that caller would be left calling nothing once the _v2 is promoted.
  const name = cycleMethod(ctx);
  const own = ctx.agent.methods.get(name);
  // (Not the loop mixin's call, when the base's loop takes that loop's place: see resolvedLoopMixin.)
  const mixin = resolvedLoopMixin(ctx);
  const mixinLoop = (u: { file: string; line: number }) => !!mixin && u.file === mixin.file && mixin.run.node.startPosition.row < u.line && u.line <= mixin.run.node.endPosition.row + 1;
  const caller = own ? ctx.external(name).find((u) => new RegExp(`\\.${name}\\s*\\(`).test(u.text) && !mixinLoop(u)) : undefined;
  if (own && caller) {
    return fail(`${name}() is also called from ${caller.file}:${caller.line} (${caller.text.slice(0, 60)}), which would be left calling nothing: ${HOOK}() takes its place and neither publishes nor answers what ${name}() did; rewire that caller by hand`, own.line);
  }
  const direct = readCollectDirect(ctx);
  if (direct.ok) {
    const shared = sharedBreaker(ctx, direct.value.publishers, (m) => isTransport(ctx, m));
    return shared ? fail(shared.reason, shared.line) : handedToBase(ctx, direct);
  }
  // collect() returns its events and run()'s loop publishes them: the loop body is the cycle.
  const loop = analyzeLoopPublish(ctx);
  if (loop && !loop.ok) return fail(`${direct.reason}; ${loop.reason}`, direct.line);
  if (loop?.ok) {
    const fn = ctx.agent.methods.get(cycleMethod(ctx))!;
    if (fn.isAsync || fn.decorators.length || ctx.agent.methods.has(HOOK)) return direct;
    const plan: Analysis<CollectPlan> = {
      ok: true,
      value: {
        fn, publishStmts: [], drainStmts: [], events: loop.value.returns, returns: [], block: [], append: false, counters: [],
        // The answer was read unless the loop published each event as a plain statement (no counter).
        publishers: loop.value.client ? [] : [loop.value.publisher], resultChecked: !loop.value.client && !(loop.value.each && !loop.value.each.counter), moduleFns: [], loop: loop.value,
        ...(loop.value.client ? { raising: true } : {}),
      },
    };
    // run()'s own bus client stays and the base sends through it (hardened-publisher's clientPublisher).
    return loop.value.client ? plan : handedToBase(ctx, plan);
  }
  const gathered = readCollectAccumulating(ctx);
  if (!gathered.ok) {
    const each = /cannot classify/.test(direct.reason) ? perEventKeep(ctx) : null;
    return each ? fail(each.reason, each.at) : direct;
  }
  // The gathered events reach the bus only through the agent's transport handed to the base:
  // when no publisher can be built from it, collect() stays as it is (its publish with it).
  return handedToBase(ctx, gathered);
}

/**
 * Once collect() becomes the hook, its events reach the bus only through what the base is
 * handed: an EventBusPublisher built from the agent's transport, or (when business code keeps
 * the publish method) that kept method. When neither can be, the publish and its helpers would
 * go, or dangle, with nothing publishing what collect_data() returns: collect() stays as it is,
 * with its publish, and the review item names what stopped the publisher (file:line).
 */
function handedToBase(ctx: PythonTransformContext, plan: Analysis<CollectPlan> & { ok: true }): Analysis<CollectPlan> {
  memo.get(ctx)!.collect = plan;
  const publisher = analyzePublisher(ctx);
  if (publisher.ok) return plan;
  const { fn, publishers, moduleFns } = plan.value;
  const through = [...publishers.map((p) => `${p}()`), ...moduleFns.map((p) => `the module function ${p}()`)];
  // The publish stays for a caller of its own: the base publishes through that kept method.
  if (keptPublisherShape(ctx, plan.value) && keptForBusiness(ctx, plan.value, publishers[0]!)) return plan;
  const at = `${ctx.file}:${publisher.line}`;
  return fail(
    `${plan.value.loop ? `${LEGACY_RUN}()'s loop publishes what ${fn.name}() returns` : `${fn.name}() publishes`} through ${through.join(', ') || 'its transport'}, but no EventBusPublisher can be built from it for the base (${at}: ${publisher.reason}); hand it to the base as eventbus_publisher by hand`,
    publisher.line,
  );
}

/**
 * The publish method has a caller that stays whatever the migration removes: not itself, not the
 * cycle's publish statements nor run(), not another transport method (which may go with it), not
 * an `atexit.register(...)` (registered on a publisher that cannot be built). The kept-publisher
 * path (hardened-publisher) then hands the base that kept method, in the shapes it accepts.
 */
function keptForBusiness(ctx: PythonTransformContext, plan: CollectPlan, entry: string): boolean {
  const own = ctx.agent.methods.get(entry);
  if (!own) return false;
  const run = ctx.agent.methods.get(LEGACY_RUN);
  const within = (n: { startIndex: number; endIndex: number }, r: { start: number; end: number }) => n.startIndex <= r.start && r.end <= n.endIndex;
  return ctx.refs.of(entry).some((r) => {
    if (r.kind === 'identifier') return false;
    if (within(own.outer, r) || (run && within(run.outer, r))) return false;
    if (plan.publishStmts.some((s) => within(s, r)) || plan.drainStmts.some((s) => within(s, r))) return false;
    const m = [...ctx.agent.methods.values()].find((f) => within(f.outer, r));
    if (m && isTransport(ctx, m.name)) return false;
    return !/^\s*atexit\.register\(/.test(enclosingStatement(r.node).text);
  });
}

/** The statement kinds a publish call may sit in, between it and collect()'s body, to be gathered in place. */
const GATHER_THROUGH = new Set(['block', 'if_statement', 'elif_clause', 'else_clause', 'for_statement', 'while_statement', 'expression_statement']);

/**
 * `p` is a handler of a try (an `except` clause, or the try's `else`) holding `c`: a publish there is
 * not guarded by that try's handlers (its exceptions go on outward, as a plain statement's), so it
 * is gathered like one in a branch (`except OSError: ... self._publish(last_good); return`). The
 * try's own body and its `finally` stay out: a publish there has its failure handled or runs on the
 * way out of an exception, which an append would change.
 */
function handlerOfTry(p: SyntaxNode, c: SyntaxNode): boolean {
  if (p.type === 'except_clause') return c.type === 'block';
  return p.type === 'try_statement' && (c.type === 'except_clause' || c.type === 'else_clause');
}

/**
 * collect() publishing from inside its own branches and loops, or an event built in the call
 * (`self._publish(self._heartbeat_event())` under `if self.cycle % N == 1:`, one per alert in a
 * `for` beside business statements): each call statement becomes `<events>.append(<its event>)`,
 * where it stood, so every event is built when and as often as before, in the same order; the
 * hook returns the list and the base publishes it. Only when the publish results are not read,
 * no publish sits in a try (its exceptions handled there), and returns are constants.
 */
function readCollectAccumulating(ctx: PythonTransformContext): Analysis<CollectPlan> {
  const name = cycleMethod(ctx);
  const fn = ctx.agent.methods.get(name);
  if (!fn || fn.isAsync || fn.decorators.length || ctx.agent.methods.has(HOOK)) return fail(`${name}() cannot gather its events`, fn?.line ?? ctx.agent.cls.line);
  if (fn.params.some((p, i) => i > 0 && p.kind === 'plain')) return fail(`${name}() takes parameters`, fn.line);
  const cls = ctx.agent.cls;
  const run = ctx.agent.methods.get(LEGACY_RUN);
  for (const r of ctx.refs.of(name)) {
    if (r.kind === 'identifier' && r.node.parent?.type === 'function_definition' && r.node.parent.id === fn.node.id) continue;
    if (run && run.outer.startIndex <= r.start && r.end <= run.outer.endIndex && isCollectCall(enclosingStatement(r.node), name)) continue;
    if (r.kind === 'identifier' && !(cls.node.startIndex <= r.start && r.end <= cls.node.endIndex)) continue;
    // As for readCollectDirect: another class's own self.collect(), and the entry point's one-shot pass.
    if (r.kind === 'attribute' && foreignSelf(r.node, name, cls, ctx.module.classes)) continue;
    // `collector.collect()` on a helper object of another class of the file (collection delegated to it).
    if (r.kind === 'attribute' && helperInstanceMember(r.node, name, cls, ctx.module.classes)) continue;
    if (r.kind === 'attribute' && (oneShotCycleCall(ctx, fn, r.node) || oneShotRaisingCycleCall(ctx, fn, r.node))) continue;
    const dog = collectorWatchdog(ctx, name);
    if (dog && dog.collector.outer.startIndex <= r.start && r.end <= dog.collector.outer.endIndex) return fail(`${name}() is called by a collector thread at line ${r.line}: ${dog.reason}`, r.line);
    return fail(`${name}() is also used at line ${r.line}`, r.line);
  }
  // Nobody reads what the cycle returns (run()'s loop and a one-shot call it as a statement): a count it
  // returns (`return shipped`, `return 0`) is a value for nobody, and becomes the events' return.
  const unused = ctx.refs.of(name).every((r) => r.kind === 'identifier' || isCollectCall(enclosingStatement(r.node), name) ||
    (r.kind === 'attribute' && (foreignSelf(r.node, name, cls, ctx.module.classes) || helperInstanceMember(r.node, name, cls, ctx.module.classes) || !!oneShotCycleCall(ctx, fn, r.node) || !!oneShotRaisingCycleCall(ctx, fn, r.node))));
  const transport = (m: string) => isTransport(ctx, m);
  const body = statements(fn.body).filter((s) => !isDocstring(s));
  if (!body.length) return fail(`${name}() is empty`, fn.line);
  const drainStmts: SyntaxNode[] = [];
  for (const s of body) {
    const sc = selfCall(s);
    if (sc && !sc.target && transport(sc.method) && isDrain(ctx, sc.method) && sc.call.childForFieldName('arguments')!.namedChildCount === 0) drainStmts.push(s);
  }
  const publishStmts: SyntaxNode[] = [];
  const publishers = new Set<string>();
  const appendsText = new Map<number, SyntaxNode>();
  const callees = new Set<number>();
  let bad: { reason: string; at: number } | null = null;
  // Where an event is published on its own with the cycle's own fallback (`if not self._send(record):
  // self.backlog.append(record)`, in a `for` beside business statements): the failure branch only keeps
  // the event in the legacy queue, which the base's local_queue replaces, so the statement is gathered whole.
  const fallbacks: SyntaxNode[] = [];
  // Fallbacks published only when their events are non-empty (`if batch and not self._send(batch):`).
  const guardedAppends = new Set<number>();
  const gatherable = (stmt: SyntaxNode): string | null => {
    for (let c: SyntaxNode = stmt, p: SyntaxNode | null = stmt.parent; p && p.id !== fn.body.id; c = p, p = p.parent) {
      if (handlerOfTry(p, c)) continue;
      if (!GATHER_THROUGH.has(p.type)) return `${name}() publishes inside a ${p.type.replace(/_/g, ' ')} at line ${line(stmt)}`;
    }
    return null;
  };
  walk(fn.body, (n) => {
    if (bad) return false;
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return n.id === fn.node.id ? undefined : false;
    if (n.type === 'yield') bad = { reason: `${name}() is a generator`, at: line(n) };
    if (n.type === 'return_statement' && !CONST_RETURN.test(n.text.trim()) && !(unused && sideEffectFree(n.namedChild(0)))) bad = { reason: `${name}() returns ${head(n)} at line ${line(n)}`, at: line(n) };
    const each = n.type === 'if_statement' ? fallbackPublish(ctx, n) : null;
    if (each && !each.viaModule) {
      const outside = gatherable(n);
      if (outside) {
        bad = { reason: outside, at: line(n) };
        return false;
      }
      const call = unguarded(n.childForFieldName('condition'))!.childForFieldName('argument')!;
      publishStmts.push(n);
      fallbacks.push(n);
      publishers.add(each.method);
      appendsText.set(n.id, call.childForFieldName('arguments')!.namedChildren[0]!);
      if (each.guarded) guardedAppends.add(n.id);
      return false;
    }
    if (n.type !== 'call') return;
    const f = n.childForFieldName('function');
    const m = f?.type === 'attribute' ? selfAttribute(f) : null;
    if (!m || !transport(m)) return;
    const stmt = n.parent;
    if (stmt && drainStmts.some((d) => d.id === stmt.id)) {
      callees.add(f!.id);
      return;
    }
    if (stmt?.type !== 'expression_statement' || !isPublish(ctx, m)) {
      bad = { reason: `${name}() uses self.${m} at line ${line(n)} other than as a publish statement`, at: line(n) };
      return;
    }
    const args = n.childForFieldName('arguments')!.namedChildren;
    if (args.length !== 1 || ['keyword_argument', 'list_splat', 'dictionary_splat'].includes(args[0]!.type)) {
      bad = { reason: `${name}() publishes ${n.childForFieldName('arguments')!.text} at line ${line(n)}`, at: line(n) };
      return;
    }
    const outside = gatherable(stmt);
    if (outside) {
      bad = { reason: outside, at: line(n) };
      return;
    }
    publishStmts.push(stmt);
    publishers.add(m);
    callees.add(f!.id);
    appendsText.set(stmt.id, args[0]!);
  });
  if (bad) return fail((bad as { reason: string }).reason, (bad as { at: number }).at);
  if (!publishStmts.length) return fail(partialAliasPublish(ctx, fn) ?? `${name}() publishes nothing the migration recognises`, fn.line);
  // Nothing else of the transport is touched (an attribute of it read, a method passed along).
  let other: SyntaxNode | null = null;
  walk(fn.body, (n) => {
    if (other) return false;
    if (n.type === 'function_definition' && n.id !== fn.node.id) return false;
    if (fallbacks.includes(n)) return false;
    const a = n.type === 'attribute' ? selfAttribute(n) : null;
    if (a && transport(a) && !callees.has(n.id)) other = n;
  });
  if (other) return fail(`${name}() uses ${(other as SyntaxNode).text} at line ${line(other as SyntaxNode)} in a way the migration cannot classify`, line(other as SyntaxNode));
  // The list's name: one the method does not use.
  const used = new Set<string>();
  walk(fn.node, (n) => {
    if (n.type === 'identifier') used.add(n.text);
  });
  const list = ['events', 'published', 'collected_events', 'events_out'].find((x) => !used.has(x) && !ctx.module.functions.has(x) && !ctx.module.imports.has(x));
  if (!list) return fail(`${name}() has no free name for its events`, fn.line);
  const last = body[body.length - 1]!;
  const returns: Array<{ node: SyntaxNode; text: string }> = [];
  walk(fn.body, (n) => {
    if (n.type === 'function_definition' && n.id !== fn.node.id) return false;
    if (n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'return_statement') returns.push({ node: n, text: `return ${list}` });
  });
  const at = body.find((s) => !drainStmts.includes(s))!;
  const appends = new Map<number, string>([...appendsText].map(([id, ev]) => [id, `${guardedAppends.has(id) ? `if ${ev.text}: ` : ''}${list}.append(${ev.text})`]));
  return {
    ok: true,
    value: {
      fn, publishStmts, drainStmts, events: list, returns, block: body, append: last.type !== 'return_statement', counters: [],
      // A fallback acted on the publish's answer: a falsy one was a failure, which publish() still sees.
      publishers: [...publishers], resultChecked: fallbacks.length > 0, moduleFns: [], accumulate: { name: list, at, appends },
    },
  };
}

/**
 * The agent's method answers yes or no on every path, as the base's queued publish does: each
 * return is `True`/`False` or returns another such method of the agent (`return
 * self._queue_telemetry(t)` answering False), and no path falls off the end. A count of what
 * the bus took (`return len(acked)`) is not such an answer.
 */
function answersYesNo(ctx: PythonTransformContext, method: string, seen = new Map<string, boolean>()): boolean {
  const fn = ctx.agent.methods.get(method);
  // A method already answered for keeps its answer; one still being read (a cycle) is no answer.
  if (seen.has(method)) return seen.get(method)!;
  if (!fn || fn.isAsync) return false;
  seen.set(method, false);
  let ok = true;
  walk(fn.body, (n) => {
    if (!ok || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'yield') ok = false;
    if (n.type !== 'return_statement') return;
    const v = n.namedChild(0);
    if (v?.type === 'true' || v?.type === 'false') return;
    // `return ack.status == OK`, `return not failed`: a comparison or a negation is a bool too.
    if (v?.type === 'comparison_operator' || v?.type === 'not_operator') return;
    const c = v?.type === 'call' ? v.childForFieldName('function') : null;
    const m = c?.type === 'attribute' ? selfAttribute(c) : null;
    if (!m || !answersYesNo(ctx, m, seen)) ok = false;
  });
  const answer = ok && endsInReturn(statements(fn.body).filter((x) => !isDocstring(x)));
  seen.set(method, answer);
  return answer;
}

/** Every path through the statements ends in a return or a raise. */
function endsInReturn(stmts: SyntaxNode[]): boolean {
  const last = stmts[stmts.length - 1];
  if (!last) return false;
  if (last.type === 'return_statement' || last.type === 'raise_statement') return true;
  const block = (n: SyntaxNode | null | undefined) => endsInReturn(statements(n ?? null).filter((x) => x.type !== 'comment'));
  if (last.type === 'if_statement') {
    const alt = last.namedChildren.filter((c) => c.type === 'elif_clause' || c.type === 'else_clause');
    return block(last.childForFieldName('consequence')) && alt.some((c) => c.type === 'else_clause') && alt.every((c) => block(c.childForFieldName('consequence') ?? c.childForFieldName('body') ?? c.namedChildren.find((x) => x.type === 'block')));
  }
  if (last.type === 'try_statement') {
    if (last.namedChildren.some((c) => c.type === 'finally_clause' || c.type === 'else_clause')) return false;
    const handlers = last.namedChildren.filter((c) => c.type === 'except_clause');
    return block(last.childForFieldName('body')) && handlers.every((h) => block(h.namedChildren.find((x) => x.type === 'block')));
  }
  return false;
}

/**
 * The agent's method holding the reference at `at` (not the cycle itself), when run() refers to it (calls it, hands it to
 * asyncio.run() or a thread): that method and the first statement of run() naming it; else null.
 */
function drivingMethod(ctx: PythonTransformContext, at: number, run: PyFunction | undefined, cycle: string): { method: PyFunction; line: number; statement: SyntaxNode } | null {
  if (!run) return null;
  const method = [...ctx.agent.methods.values()].find((m) => m.name !== cycle && m.name !== run.name && m.outer.startIndex <= at && at < m.outer.endIndex);
  if (!method) return null;
  const use = ctx.refs.of(method.name).find((u) => u.kind === 'attribute' && run.outer.startIndex <= u.start && u.end <= run.outer.endIndex);
  return use ? { method, line: use.line, statement: enclosingStatement(use.node) } : null;
}

function readCollectDirect(ctx: PythonTransformContext, queued = false): Analysis<CollectPlan> {
  const name = cycleMethod(ctx);
  const fn = ctx.agent.methods.get(name);
  const cls = ctx.agent.cls;
  if (!fn) return fail(`no ${name}() method`, cls.line);
  if (fn.isAsync) return fail(`${name}() is async`, fn.line);
  if (fn.params.some((p, i) => i > 0 && p.kind === 'plain')) return fail(`${name}() takes parameters`, fn.line);
  if (fn.decorators.length) return fail(`${name}() is decorated`, fn.line);
  if (ctx.agent.methods.has(HOOK)) return fail(`the class already defines ${HOOK}()`, ctx.agent.methods.get(HOOK)!.line);
  // Callers other than the legacy run() loop would lose collect() when it becomes a hook.
  const run = ctx.agent.methods.get(LEGACY_RUN);
  for (const r of ctx.refs.of(name)) {
    if (r.kind === 'identifier' && r.node.parent?.type === 'function_definition' && r.node.parent.id === fn.node.id) continue;
    if (run && run.outer.startIndex <= r.start && r.end <= run.outer.endIndex) continue;
    // `self.collect()` in the tick of a Timer chain run() starts: it goes with run() when the chain folds (timer-chain).
    const tick = run ? ctx.agent.methods.get(timerChain(ctx, run, name)?.method ?? '') : undefined;
    if (tick && tick.outer.startIndex <= r.start && r.end <= tick.outer.endIndex) continue;
    if (r.kind === 'identifier' && !(cls.node.startIndex <= r.start && r.end <= cls.node.endIndex)) continue; // a module-level name `collect`
    // `self.collect()` in another class of the file with a collect() of its own, neither it nor the agent
    // deriving from the other (SudoWatcher's loop beside SshLoginWatcher): that self is never the agent.
    if (r.kind === 'attribute' && foreignSelf(r.node, name, cls, ctx.module.classes)) continue;
    // `collector.collect()` on a helper object of another class of the file (collection delegated to it).
    if (r.kind === 'attribute' && helperInstanceMember(r.node, name, cls, ctx.module.classes)) continue;
    if (oneShotCycleCall(ctx, fn, r.node)) continue; // `if args.once: agent.collect()`: the base's one pass
    if (oneShotRaisingCycleCall(ctx, fn, r.node)) continue; // the same, then exit 1 when the pass caught a failure
    if (oneShotAnswerCycleCall(ctx, fn, r.node)) continue; // `ok = agent.collect()`: the pass, then what it queued
    const dog = collectorWatchdog(ctx, name);
    if (dog && dog.collector.outer.startIndex <= r.start && r.end <= dog.collector.outer.endIndex) return fail(`${name}() is called by a collector thread at line ${r.line}: ${dog.reason}`, r.line);
    // A one-shot mode whose failed cycle raised (a traceback, exit status 1): the base's one pass never raises.
    const guard = oneShotCall(ctx, r.node) ? enclosingGuard(r.node) : null;
    const once = oneShotCall(ctx, r.node) && ctx.py.cycle_method
      ? guard
        ? `: the entry point's one-shot call sits in the ${guard.type === 'try_statement' ? 'try:' : 'with'} at line ${line(guard)}, which sees a failed ${name}() raise (${name}() catches not every exception); the base's ${ctx.py.cycle_method}() never raises (it logs and counts the failure), so what that ${guard.type === 'try_statement' ? 'try: does with the exception' : 'with does on an exception'} would never happen: decide by hand how that mode reads the pass's failure`
        : `: the entry point's one-shot call lets a failed ${name}() raise (a traceback and exit status 1, as ${name}() catches not every exception), which the base's ${ctx.py.cycle_method}() never does (it logs and counts the failure), so that mode would exit 0 on a failed cycle`
      : '';
    // `n = agent.collect()` outside the class, then `print("%d matches" % n)`: the caller reads what the
    // cycle returns, which the base's one pass does not answer.
    const call = r.kind === 'attribute' && r.node.parent?.type === 'attribute' && r.node.parent.parent?.type === 'call' ? r.node.parent.parent : null;
    const reads = !once && ctx.py.cycle_method && call && !(cls.node.startIndex <= r.start && r.end <= cls.node.endIndex) && call.parent?.type !== 'expression_statement'
      ? `: the caller reads what ${name}() returns (line ${r.line}: ${excerpt(enclosingStatement(call).text, 60)}), which the base's ${ctx.py.cycle_method}() does not answer (it returns nothing); decide by hand what that caller reports instead`
      : '';
    // `found = self.collect()` inside another method of the agent that run() drives (`asyncio.run(self._loop(interval))`,
    // a thread's target): that is the loop, written where the migration does not read one (probe-py68 DNSQueryAgent).
    const driver = !once && !reads ? drivingMethod(ctx, r.start, run, name) : null;
    if (driver) {
      return fail(
        `${name}() is called at line ${r.line} (${head(enclosingStatement(r.node))}) by ${driver.method.name}()${driver.method.isAsync ? ', a coroutine,' : ''} which run() drives (line ${driver.line}: ${head(driver.statement)}): ` +
          `only a loop written in run() itself (or a Timer chain it starts) becomes the base's, so ${name}() stays a method of its own and ${driver.method.name}() keeps calling it`,
        r.line,
      );
    }
    return fail(`${name}() is also used at line ${r.line} (${head(r.node.parent ?? r.node)}); it stays a method of its own${once}${reads}`, r.line);
  }
  const transport = (m: string) => isTransport(ctx, m);
  // Nobody reads what the cycle returns (run() calls it as a statement): a final `return events`
  // or `return len(events)` is a value for nobody, and becomes the events' return like `return True`.
  const unused = ctx.refs.of(name).every((r) => {
    if (r.kind === 'identifier') return true;
    return !!run && run.outer.startIndex <= r.start && r.end <= run.outer.endIndex && isCollectCall(enclosingStatement(r.node), name);
  });
  const constReturn = (n: SyntaxNode) => CONST_RETURN.test(n.text.trim()) || (unused && sideEffectFree(n.namedChild(0)));
  const body = statements(fn.body).filter((s) => !isDocstring(s));
  let block = fn.body;
  let handlers: SyntaxNode[] = [];
  if (body.length === 1 && body[0]!.type === 'try_statement') {
    const t = body[0]!;
    block = t.childForFieldName('body')!;
    handlers = t.namedChildren.filter((c) => c.type === 'except_clause' || c.type === 'except_group_clause');
  }
  const stmts = statements(block).filter((s) => !isDocstring(s));
  const publishStmts: SyntaxNode[] = [];
  const drainStmts: SyntaxNode[] = [];
  const droppedLocals = new Set<string>();
  /** `if success: logger.info(...)` about a publish result (they go with the publish). */
  const statusStmts: SyntaxNode[] = [];
  /** `return success` ending the block: it becomes `return <events>`. */
  let statusReturn: SyntaxNode | null = null;
  /** Publish counters only logs read: they stop counting (the base counts events_published). */
  const counters: string[] = [];
  const events: string[] = [];
  const publishers = new Set<string>();
  const moduleFns = new Set<string>();
  let resultChecked = false;
  let raising = false;
  const returns: Array<{ node: SyntaxNode; text: string }> = [];
  /** Queued mode: publish statements rewritten in place to the base's queued publish (see queuedPublishes). */
  const rewritten = new Map<number, string>();
  /** `if flows: self._publish(self._build(flows))` at the cycle's end: the guard's name -> the event's text. */
  const guardedBuilds = new Map<string, string>();
  /** `return self._publish(event)` ending the cycle (see below): it becomes `return [event]`. */
  let publishReturn: SyntaxNode | null = null;
  const queuedPublish = ctx.base.queuedPublish && !ctx.agent.methods.has(ctx.base.queuedPublish) ? ctx.base.queuedPublish : null;
  for (const [i, s] of stmts.entries()) {
    if (statusStmts.includes(s)) continue;
    if (s === statusReturn) continue;
    // `return self._publish_telemetry(telemetry)` ending the cycle, whose answer nobody reads (run()
    // calls the cycle as a statement): the publish, and `return [telemetry]` in its place. The event may
    // be built in the call (`return self._publish(self._build(rates))` -> `return [self._build(rates)]`):
    // it is still built at the cycle's last statement, as before, when it names nothing of the transport.
    if (!queued && s.type === 'return_statement' && i === stmts.length - 1 && unused) {
      const v = s.namedChild(0);
      const f = v?.type === 'call' ? v.childForFieldName('function') : null;
      const m = f?.type === 'attribute' ? selfAttribute(f) : null;
      const argList = v?.type === 'call' ? v.childForFieldName('arguments') : null;
      const args = argList?.type === 'argument_list' ? argList.namedChildren : [];
      const arg = args.length === 1 ? args[0]! : null;
      const built = !!arg && arg.type !== 'identifier' && !['keyword_argument', 'list_splat', 'dictionary_splat'].includes(arg.type) && !transportMention(arg, transport);
      if (m && transport(m) && isPublish(ctx, m) && arg && (arg.type === 'identifier' || built)) {
        publishStmts.push(s);
        publishers.add(m);
        publishReturn = s;
        const ev = built ? `=[${arg.text}]` : arg.text;
        if (!events.includes(ev)) events.push(ev);
        continue;
      }
    }
    // `flush_backlog(self)` / `ship(self, telemetry)`: a module function handed the agent (see agentModuleCall).
    const handed = queued ? null : agentModuleCall(ctx, s);
    // Only beside a send of the cycle falling back to that same queue (which the base then receives):
    // otherwise nothing would drain it, and the call stays as it was, a statement of the cycle.
    if (handed?.kind === 'drain' && stmts.some((x) => x !== s && agentModuleCall(ctx, x)?.kind === 'send' && agentModuleCall(ctx, x)!.queue === handed.queue)) {
      drainStmts.push(s);
      continue;
    }
    if (handed?.kind === 'send') {
      if (reassignedAfter(stmts.slice(i + 1), handed.event!)) return fail(`${name}() changes ${handed.event} after publishing it (line ${line(s)})`, line(s));
      publishStmts.push(s);
      moduleFns.add(handed.fn.name);
      if (!events.includes(handed.event!)) events.push(handed.event!);
      continue;
    }
    // `try: self._drain_queue() except Exception as e: logger.warning(...)`: the drain, its failure only
    // logged; the base drains first every cycle and logs a drain that stopped itself.
    if (loggedDrain(ctx, s)) {
      drainStmts.push(s);
      continue;
    }
    const own = selfCall(s);
    const mod = own ? null : moduleCall(ctx, s);
    const sc = own ?? mod;
    if (sc && (mod || transport(sc.method))) {
      const target = sc.target;
      if (target && target.type !== 'identifier') return fail(`${name}() stores the result of ${sc.method}() in ${target.text}`, line(s));
      if (!mod && isDrain(ctx, sc.method)) {
        drainStmts.push(s);
        if (target) droppedLocals.add(target.text);
        continue;
      }
      if (!mod && !isPublish(ctx, sc.method)) return fail(`${name}() calls ${sc.method}() directly (line ${line(s)})`, line(s));
      const args = sc.call.childForFieldName('arguments')!.namedChildren;
      // The cycle reads the publish's answer for business (a state file records whether the bus
      // took the report): the base's queued publish gives the same answer at the same moment
      // (True when published, False when kept in its local queue), so the call becomes that one,
      // in place, and the hook hands the base nothing more to publish (see queuedPublishes).
      const single = args.length === 1 && !['keyword_argument', 'list_splat', 'dictionary_splat'].includes(args[0]!.type);
      if (queued) {
        if (!own || !single) return fail(`${name}() publishes with ${sc.method}() in a shape the base's ${queuedPublish}() cannot take (line ${line(s)})`, line(s));
        const gate = duplicatingGate(ctx, fn, s, stmts.slice(i + 1), sc.method, queuedPublish!);
        if (gate) return fail(gate.reason, gate.at);
        // The statement is the call or `<local> = <call>` (statementCall): the call's text occurs once.
        rewritten.set(s.id, s.text.replace(sc.call.text, () => `self.${queuedPublish}([${args[0]!.text}])`));
        publishStmts.push(s);
        publishers.add(sc.method);
        // The cycle acts on the answer: a falsy one (`return ack.status == OK`) is a failure publish() raises on.
        resultChecked = true;
        continue;
      }
      if (own && target && single && queuedPublish && answersYesNo(ctx, sc.method) && !statusUses(ctx, stmts.slice(i + 1), target.text).ok) {
        // Said before the in-place reading, whose refusal would give way to this reading's first obstacle.
        const gate = duplicatingGate(ctx, fn, s, stmts.slice(i + 1), sc.method, queuedPublish);
        if (gate) return fail(gate.reason, gate.at);
        // Read again with the publish in place; when that does not read either, the first obstacle stands.
        const inPlace = readCollectDirect(ctx, true);
        if (inPlace.ok) return inPlace;
      }
      if (args.length !== 1 || args[0]!.type !== 'identifier') {
        return fail(`${name}() publishes ${sc.call.childForFieldName('arguments')!.text}, not one local event (line ${line(s)})`, line(s));
      }
      const ev = args[0]!.text;
      if (reassignedAfter(stmts.slice(i + 1), ev)) return fail(`${name}() changes ${ev} after publishing it (line ${line(s)})`, line(s));
      if (target) {
        // `success = self._publish_x(t)` then only a log about it, or `return success` as the
        // cycle's status: the base logs and counts publishing, so those statements go with it.
        const status = statusUses(ctx, stmts.slice(i + 1), target.text);
        if (!status.ok) {
          return fail(`${name}() uses the result of ${sc.method}() (${target.text}) for a business decision at line ${line(status.at)} (${head(status.at)}); the publish stays where it is`, line(status.at));
        }
        statusStmts.push(...status.logs);
        counters.push(...status.counters);
        if (status.returned) statusReturn = status.returned;
        // A one-shot caller reads that answer (`ok = agent.collect()`): a falsy one (`return ack.status == OK`)
        // is a failure publish() raises on, so the pass counts it queued, as the legacy answer said.
        if (status.returned && ctx.refs.of(name).some((r) => r.kind === 'attribute' && oneShotAnswerCycleCall(ctx, fn, r.node))) resultChecked = true;
      }
      publishStmts.push(s);
      (mod ? moduleFns : publishers).add(sc.method);
      if (!events.includes(ev)) events.push(ev);
      continue;
    }
    // `if not publish(batch): logger.warning("dropped ...")`: a module publish function (or the agent's
    // own publish method, `if not self._publish_telemetry(t): logger.info("queued locally ...")`) whose
    // failure the cycle only logs (the base logs, retries and queues a failed publish now).
    if (s.type === 'if_statement' && !s.childForFieldName('alternative')) {
      const cond = s.childForFieldName('condition');
      const arg = cond?.type === 'not_operator' ? cond.childForFieldName('argument') : null;
      const callee = arg?.type === 'call' ? arg.childForFieldName('function') : null;
      const own = callee?.type === 'attribute' ? selfAttribute(callee) : null;
      const c = callee?.type === 'identifier' && modulePublishers(ctx).has(callee.text)
        ? { call: arg!, method: callee.text, own: false }
        : own && isPublish(ctx, own) && transport(own) ? { call: arg!, method: own, own: true } : null;
      const args = c ? c.call.childForFieldName('arguments')!.namedChildren : [];
      const inner = statements(s.childForFieldName('consequence')).filter((x) => !isDocstring(x));
      const ev = args.length === 1 && args[0]!.type === 'identifier' ? args[0]!.text : null;
      const logOnly = (x: SyntaxNode) => x.type === 'pass_statement' || x.type === 'comment' || isLogCall(expressionOf(x));
      if (c && ev && inner.length && inner.every(logOnly)) {
        if (reassignedAfter(stmts.slice(i + 1), ev)) return fail(`${name}() changes ${ev} after publishing it (line ${line(s)})`, line(s));
        publishStmts.push(s);
        (c.own ? publishers : moduleFns).add(c.method);
        resultChecked = true;
        if (!events.includes(ev)) events.push(ev);
        continue;
      }
    }
    // `for change in changes: self._publish_change(change)`
    if (s.type === 'for_statement') {
      const inner = statements(s.childForFieldName('body')).filter((x) => !isDocstring(x));
      const v = s.childForFieldName('left');
      const it = s.childForFieldName('right');
      let only = inner.length === 1 ? selfCall(inner[0]!) : null;
      // `for e in events: if self._publish_event(e): self.published += 1`: a counter only logs read.
      const counted: string[] = [];
      if (!only && inner.length === 1 && inner[0]!.type === 'if_statement' && !inner[0]!.childForFieldName('alternative')) {
        const cond = inner[0]!.childForFieldName('condition');
        const call = cond?.type === 'call' ? cond : null;
        const fnNode = call?.childForFieldName('function');
        const m = fnNode?.type === 'attribute' ? selfAttribute(fnNode) : null;
        const body = statements(inner[0]!.childForFieldName('consequence'));
        if (call && m && body.length && body.every((x) => counterOnly(ctx, x, counted))) only = { call, method: m, target: null };
      }
      if (only && isPublish(ctx, only.method) && transport(only.method) && !only.target && v?.type === 'identifier' && it?.type === 'identifier' && !s.namedChildren.some((c) => c.type === 'else_clause')) {
        const args = only.call.childForFieldName('arguments')!.namedChildren;
        if (args.length === 1 && args[0]!.text === v.text) {
          if (reassignedAfter(stmts.slice(i + 1), it.text)) return fail(`${name}() changes ${it.text} after publishing it`, line(s));
          publishStmts.push(s);
          publishers.add(only.method);
          events.push(`*${it.text}`);
          counters.push(...counted);
          continue;
        }
      }
    }
    // `self.outq.put(envelope)` / `for e in events: self.outq.put(self._to_envelope(e))`: handed
    // to the sender thread, which publishes it (see senderThread).
    const sender = senderThread(ctx);
    const put = sender ? queuePut(s, sender.queue) : null;
    if (put && sender) {
      if (put.type !== 'identifier') return fail(`${name}() hands ${put.text} to the sender thread, not one local event (line ${line(s)})`, line(s));
      if (reassignedAfter(stmts.slice(i + 1), put.text)) return fail(`${name}() changes ${put.text} after handing it to the sender thread`, line(s));
      publishStmts.push(s);
      publishers.add(sender.send);
      events.push(put.text);
      continue;
    }
    if (sender && s.type === 'for_statement' && !s.namedChildren.some((c) => c.type === 'else_clause')) {
      const inner = statements(s.childForFieldName('body')).filter((x) => !isDocstring(x));
      const v = s.childForFieldName('left');
      const it = s.childForFieldName('right');
      const value = inner.length === 1 ? queuePut(inner[0]!, sender.queue) : null;
      if (value && v?.type === 'identifier' && it?.type === 'identifier') {
        if (reassignedAfter(stmts.slice(i + 1), it.text)) return fail(`${name}() changes ${it.text} after handing it to the sender thread`, line(s));
        if (value.text === v.text) events.push(`*${it.text}`);
        else if (readOnlyBuild(ctx, value, v.text)) events.push(`=[${value.text} for ${v.text} in ${it.text}]`);
        else return fail(`${name}() hands ${value.text} to the sender thread; building it later could change what it does (line ${line(s)})`, line(s));
        publishStmts.push(s);
        publishers.add(sender.send);
        continue;
      }
    }
    // `try: self._publish(batch) except (OSError, PublishError): self._spool(batch)`: the publish
    // signals a failure by raising and the cycle's handlers keep the events in the legacy queue;
    // the base catches the exception, retries and queues what it could not publish.
    const raised = raisingPublish(ctx, s);
    if (raised) {
      if (reassignedAfter(stmts.slice(i + 1), raised.ev)) return fail(`${name}() changes ${raised.ev} after publishing it (line ${line(s)})`, line(s));
      publishStmts.push(s);
      publishers.add(raised.method);
      raising = true;
      if (!events.includes(raised.ev)) events.push(raised.ev);
      continue;
    }
    // `if not self._send(events): self._queue_events(events)`: the cycle's own fallback to the
    // legacy queue when the publish reports a failure; the base queues what it could not publish.
    const fb = fallbackPublish(ctx, s);
    if (fb) {
      if (reassignedAfter(stmts.slice(i + 1), fb.ev)) return fail(`${name}() changes ${fb.ev} after publishing it (line ${line(s)})`, line(s));
      publishStmts.push(s);
      (fb.viaModule ? moduleFns : publishers).add(fb.method);
      resultChecked = true;
      const entry = fb.guarded ? `?${fb.ev}` : fb.ev;
      if (!events.includes(entry)) events.push(entry);
      continue;
    }
    // `for event in events: if not self._post(event): self._persist(event)`: the same fallback per event.
    if (s.type === 'for_statement' && !s.namedChildren.some((c) => c.type === 'else_clause')) {
      const inner = statements(s.childForFieldName('body')).filter((x) => !isDocstring(x));
      const v = s.childForFieldName('left');
      const it = s.childForFieldName('right');
      const each = inner.length === 1 ? fallbackPublish(ctx, inner[0]!) : null;
      if (each && !each.guarded && v?.type === 'identifier' && it?.type === 'identifier' && each.ev === v.text) {
        if (reassignedAfter(stmts.slice(i + 1), it.text)) return fail(`${name}() changes ${it.text} after publishing it`, line(s));
        publishStmts.push(s);
        (each.viaModule ? moduleFns : publishers).add(each.method);
        resultChecked = true;
        events.push(`*${it.text}`);
        continue;
      }
    }
    // `if fresh: self._publish_events(fresh)`: published only when there is something to send.
    if (s.type === 'if_statement' && !s.childForFieldName('alternative')) {
      const cond = s.childForFieldName('condition');
      const inner = statements(s.childForFieldName('consequence')).filter((x) => !isDocstring(x));
      const only = inner.length === 1 ? selfCall(inner[0]!) : null;
      const args = only ? only.call.childForFieldName('arguments')!.namedChildren : [];
      if (cond?.type === 'identifier' && only && isPublish(ctx, only.method) && transport(only.method) && !only.target && args.length === 1 && args[0]!.text === cond.text) {
        if (reassignedAfter(stmts.slice(i + 1), cond.text)) return fail(`${name}() changes ${cond.text} after publishing it`, line(s));
        publishStmts.push(s);
        publishers.add(only.method);
        events.push(`?${cond.text}`);
        continue;
      }
      // `if flows: self._publish_telemetry(self._create_telemetry(flows))`: the event built in the call,
      // only when there is something to send. Returned as `[<build>] if flows else []` where the cycle
      // ends, so only when nothing but a constant return follows: built at the same moment, as before.
      const rest = stmts.slice(i + 1);
      const endsHere = !rest.length || (rest.length === 1 && rest[0]!.type === 'return_statement' && constReturn(rest[0]!));
      if (cond?.type === 'identifier' && only && isPublish(ctx, only.method) && transport(only.method) && !only.target && args.length === 1 && !['keyword_argument', 'list_splat', 'dictionary_splat'].includes(args[0]!.type) && endsHere) {
        publishStmts.push(s);
        publishers.add(only.method);
        events.push(`?${cond.text}`);
        guardedBuilds.set(cond.text, args[0]!.text);
        continue;
      }
    }
    // `if drained: logger.info(...)` about a dropped drain result
    if (s.type === 'if_statement' && droppedLocals.size) {
      const cond = s.childForFieldName('condition');
      const names = cond ? identifiers(cond) : [];
      if (names.length && names.every((n) => droppedLocals.has(n)) && blocksOf(s).every((b) => statements(b).every((x) => isTrivial(x) && !x.text.startsWith('return')))) {
        drainStmts.push(s);
        continue;
      }
    }
    // `if self._publish(t): self.sent += 1 else: self.queued += 1`: the branch on the publish's yes/no answer
    // is kept, the call in its condition becomes the base's queued publish (same answer, same moment).
    const branched = queuedPublish ? branchOnPublish(ctx, s) : null;
    if (branched && answersYesNo(ctx, branched.method)) {
      if (queued) {
        rewritten.set(s.id, s.text.replace(branched.call.text, () => `self.${queuedPublish}([${branched.ev}])`));
        publishStmts.push(s);
        publishers.add(branched.method);
        resultChecked = true;
        continue;
      }
      const inPlace = readCollectDirect(ctx, true);
      if (inPlace.ok) return inPlace;
    }
    const mention = transportMention(s, transport);
    if (mention) {
      // A gate first: a position the cycle moves only behind the publish is state kept of it too, but the
      // gate (its call, its exit, what it holds back) is what a person decides on.
      const gate = publishGate(ctx, fn, s, stmts.slice(i + 1), (m) => transport(m) && isPublish(ctx, m));
      if (gate) return fail(gate.reason, gate.at);
      const kept = publishStateKept(ctx, fn, s, transport);
      if (kept) return fail(kept.reason, kept.at);
      const put = undrainedFallback(ctx, name, s) ?? spooledFallback(ctx, name, s);
      if (put) return fail(put.reason, put.at);
      const answers = answersReadAfter(ctx, name, s, stmts.slice(i + 1), (m) => transport(m) && isPublish(ctx, m));
      if (answers) return fail(answers.reason, answers.at);
      const answered = publishAnswerReadByRun(ctx, name, s, transport);
      if (answered) return fail(answered.reason, answered.at);
      return fail(`${name}() uses ${mention.text} at line ${line(mention)} in a way the migration cannot classify`, line(mention));
    }
    for (const local of droppedLocals) {
      if (usesName(s, local)) return fail(`${name}() uses ${local} (the drain result) at line ${line(s)}`, line(s));
    }
    if (s.type === 'return_statement') {
      if (i !== stmts.length - 1 || !constReturn(s)) {
        const byRun = unused ? null : publishedByRun(ctx, name);
        return fail(byRun ?? `${name}() returns ${head(s)} at line ${line(s)}`, line(s));
      }
    }
  }
  if (publishStmts.length === 0) {
    // It sends through a module function of the file that cannot be proven to be the publish: name it.
    const r = rejectedModulePublisher(ctx);
    if (r) return fail(`${name}() publishes through the module function ${r.fn.name}() (${ctx.file}:${r.fn.line}), which ${r.reason}; hand it to the base as eventbus_publisher by hand`, r.fn.line);
    // It hands its events to a method of the agent that does reach the bus, but not in a shape the
    // migration can move: name that method, where it is, and what stands in the way.
    // A partial alias first: the method the sender search finds may be the drain, not the publish.
    const alias = partialAliasPublish(ctx, fn);
    if (alias) return fail(alias, fn.line);
    const unshaped = unshapedSender(ctx, fn);
    if (unshaped) return fail(`${name}() sends through ${unshaped.fn.name}() (${ctx.file}:${unshaped.fn.line}), which reaches the EventBus but ${unshaped.why}; ${unshaped.hint ?? 'hand it to the base as eventbus_publisher by hand'}`, unshaped.fn.line);
    const thread = unmovedSenderThread(ctx, fn);
    if (thread) return fail(`${name}() ${thread}`, fn.line);
    const unmovable = unmovableSenderThread(ctx, fn);
    if (unmovable) return fail(`${name}() ${unmovable}`, fn.line);
    const imported = importedBusSender(ctx, fn);
    if (imported) return fail(`${name}() publishes through ${imported.callee}() (line ${imported.line}), a function of ${imported.file} (line ${imported.fnLine}) that sends to the EventBus (${imported.wire}() at line ${imported.wireLine} there); the migration does not follow a publish into another file: hand it to the base as eventbus_publisher by hand`, fn.line);
    return fail(`${name}() publishes nothing the migration recognises`, fn.line);
  }
  // Queued mode publishes each report itself: events handed to the base as well would change the order.
  if (queued && events.length) return fail(`${name}() reads a publish result for business and publishes other events the base would send later`, fn.line);
  const guarded = events.filter((e) => e.startsWith('?'));
  if (guarded.length && events.length > 1) return fail(`${name}() publishes ${guarded[0]!.slice(1)} only when it is not empty, and other events as well`, fn.line);
  const rendered =
    events.length === 1 && events[0]!.startsWith('=')
      ? events[0]!.slice(1)
      : events.length === 1 && events[0]!.startsWith('*')
        ? `list(${events[0]!.slice(1)})`
        : guarded.length
          ? `[${guardedBuilds.get(guarded[0]!.slice(1)) ?? guarded[0]!.slice(1)}] if ${guarded[0]!.slice(1)} else []`
          : `[${events.map((e) => (e.startsWith('=') ? `*${e.slice(1)}` : e)).join(', ')}]`;
  // Other returns in collect(): constants only (the base treats them as "no events").
  let bad: SyntaxNode | null = null;
  walk(fn.body, (n) => {
    if (bad || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'return_statement' && n.id !== statusReturn?.id && n.id !== publishReturn?.id && !constReturn(n)) bad = n;
    if (n.type === 'yield') bad = n;
  });
  if (bad) return fail(`${name}() ${(bad as SyntaxNode).type === 'yield' ? 'is a generator' : `returns ${head(bad)}`} (line ${line(bad)})`, line(bad));
  const last = stmts[stmts.length - 1]!;
  let append = false;
  const replaced = new Map<number, string>();
  if (publishReturn) replaced.set(publishReturn.id, `return ${rendered}`);
  else if (last.type === 'return_statement') returns.push({ node: last, text: `return ${rendered}` });
  else append = true;
  // Early `return True` inside the working block (nothing new this cycle): no events.
  for (const s of stmts) {
    walk(s, (n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      if (n.type === 'return_statement' && n.id !== last.id) returns.push({ node: n, text: 'return []' });
    });
  }
  for (const h of handlers) {
    const hs = statements(h.namedChildren.find((c) => c.type === 'block') ?? null);
    for (const x of hs) {
      if (x.type === 'return_statement') returns.push({ node: x, text: 'return []' });
      else if (!isTrivial(x)) return fail(`${name}()'s except handler does more than log (line ${line(x)})`, line(x));
    }
  }
  return {
    ok: true,
    value: {
      fn, publishStmts: [...publishStmts, ...statusStmts], drainStmts, events: rendered, returns, block: stmts, append, counters, publishers: [...publishers], resultChecked, moduleFns: [...moduleFns], raising,
      ...(rewritten.size ? { queued: rewritten } : {}),
      ...(replaced.size ? { replaced } : {}),
    },
  };
}

/**
 * `return self._publish_telemetry(...)` ending the cycle, whose answer run() reads (`if self.collect():`
 * choosing a back-off): under the base the publish runs after collect_data() has returned, so the cycle
 * cannot answer it. Names the return and the reading line, where the review said "cannot classify".
 */
function publishAnswerReadByRun(ctx: PythonTransformContext, name: string, s: SyntaxNode, transport: (m: string) => boolean): { reason: string; at: number } | null {
  const v = s.type === 'return_statement' ? s.namedChild(0) : null;
  const f = v?.type === 'call' ? v.childForFieldName('function') : null;
  const m = f?.type === 'attribute' ? selfAttribute(f) : null;
  const run = ctx.agent.methods.get(LEGACY_RUN);
  if (!m || !transport(m) || !isPublish(ctx, m) || !run) return null;
  const read = ctx.refs.of(name).find((r) => r.kind === 'attribute' && run.outer.startIndex <= r.start && r.end <= run.outer.endIndex && !isCollectCall(enclosingStatement(r.node), name));
  if (!read) return null;
  return {
    reason: `${name}() returns what ${m}() answers (line ${line(s)}: ${head(s)}), and run() reads that answer (line ${read.line}: ${head(enclosingStatement(read.node))}); under the base the publish runs after ${HOOK}() returns (retried, then queued), so the cycle cannot answer it: decide by hand what run()'s use of it becomes`,
    at: line(s),
  };
}

/**
 * The cycle returns its events to run(), which publishes them itself: `events = self.collect()`
 * in run()'s loop, then a call of the agent's transport there (`self._post(self._envelope(events))`,
 * `self.bus.send(events)`). Names both lines, and the store run() keeps refused events in, so the
 * review item says what a person folds into collect_data().
 */
function publishedByRun(ctx: PythonTransformContext, name: string): string | null {
  const run = ctx.agent.methods.get(LEGACY_RUN);
  if (!run) return null;
  let taken: SyntaxNode | null = null;
  let local: string | null = null;
  walk(run.body, (n) => {
    if (taken || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'assignment') return;
    const right = n.childForFieldName('right');
    const left = n.childForFieldName('left');
    const f = right?.type === 'call' ? right.childForFieldName('function') : null;
    if (f?.type === 'attribute' && selfAttribute(f) === name && left?.type === 'identifier') {
      taken = n;
      local = left.text;
    }
  });
  if (!taken || !local) return null;
  // The events, and what run() builds from them (`envelope = self._envelope(events)`).
  const names = new Set<string>([local as string]);
  walk(run.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'assignment' || n.startIndex < taken!.endIndex) return;
    const left = n.childForFieldName('left');
    const right = n.childForFieldName('right');
    if (left?.type === 'identifier' && right && [...names].some((x) => usesName(right, x))) names.add(left.text);
  });
  let send: SyntaxNode | null = null;
  walk(run.body, (n) => {
    if (send || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'call' || n.startIndex < taken!.endIndex) return;
    const f = n.childForFieldName('function');
    const m = f?.type === 'attribute' ? selfAttribute(f) : null;
    const viaClient = busClientCall(ctx, n);
    if (!(viaClient || (m && ctx.agent.methods.has(m) && (isTransport(ctx, m) || reachesBus(ctx, ctx.agent.methods.get(m)!))))) return;
    if ([...names].some((x) => usesName(n.childForFieldName('arguments')!, x))) send = n;
  });
  if (!send) return null;
  const s = send as SyntaxNode;
  return `${name}() returns its events to run() (line ${line(taken)}: ${head(taken)}), which publishes them itself (line ${line(s)}: ${head(enclosingStatement(s))}) and keeps what the bus refuses its own way; ` +
    `a person moves run()'s publish into collect_data(), returning exactly what run() sent (the events or what run() builds from them), and decides whether run()'s backlog can be left to the base's local_queue`;
}

/**
 * A handler statement that keeps `ev` on disk itself: `with open(PATH, "a") as f: f.write(json.dumps(ev) + "\n")`
 * (every statement of the with writes through its file, one of them `ev`). Returns PATH's text (a
 * module constant or a self attribute), or null. `os.makedirs(...)` before it is part of it (see inlineSpoolAux).
 */
function inlineSpoolWrite(x: SyntaxNode, ev: string): string | null {
  if (x.type !== 'with_statement') return null;
  const items = x.namedChildren.find((c) => c.type === 'with_clause')?.namedChildren ?? [];
  if (items.length !== 1) return null;
  const value = items[0]!.childForFieldName('value') ?? items[0]!.namedChild(0);
  const asPattern = value?.type === 'as_pattern' ? value : null;
  const call = asPattern ? asPattern.namedChild(0) : null;
  const alias = asPattern?.childForFieldName('alias')?.text ?? asPattern?.namedChildren[1]?.text ?? null;
  if (!call || call.type !== 'call' || call.childForFieldName('function')?.text !== 'open' || !alias) return null;
  const args = call.childForFieldName('arguments')!.namedChildren;
  const mode = args[1]?.type === 'string' ? args[1]!.text.replace(/^[rbuRBU]*['"]|['"]$/g, '') : null;
  if (!args[0] || !mode || !/^a/.test(mode)) return null;
  const path = args[0]!;
  if (!(path.type === 'identifier' || (path.type === 'attribute' && selfAttribute(path)))) return null;
  const body = statements(x.childForFieldName('body')).filter((s) => !isDocstring(s));
  if (!body.length) return null;
  let holds = false;
  for (const s of body) {
    const e = expressionOf(s);
    const f = e?.type === 'call' ? e.childForFieldName('function') : null;
    if (!f || f.type !== 'attribute' || f.childForFieldName('object')?.text !== alias || !/^(write|writelines)$/.test(f.childForFieldName('attribute')!.text)) return null;
    if (usesName(e!.childForFieldName('arguments')!, ev)) holds = true;
  }
  return holds ? path.text : null;
}

/** `os.makedirs(os.path.dirname(SPOOL) or ".", exist_ok=True)`: making the spool's directory. */
function inlineSpoolAux(x: SyntaxNode): boolean {
  const e = expressionOf(x);
  return e?.type === 'call' && /^os\.makedirs$/.test(e.childForFieldName('function')?.text ?? '') && !e.text.includes('self.');
}

/** Spool paths the cycle's except handlers append a refused event to themselves (inlineSpoolWrite). */
function inlineSpools(ctx: PythonTransformContext): Set<string> {
  const out = new Set<string>();
  const cycle = ctx.agent.methods.get(cycleMethod(ctx));
  if (!cycle) return out;
  walk(cycle.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'try_statement') return;
    for (const x of statements(n.childForFieldName('body'))) {
      const c = selfCall(x);
      const a = c ? c.call.childForFieldName('arguments')!.namedChildren : [];
      if (!c || c.target || !isPublishMethod(ctx, c.method) || a.length !== 1 || a[0]!.type !== 'identifier') continue;
      for (const h of n.namedChildren.filter((k) => k.type === 'except_clause' || k.type === 'except_group_clause')) {
        for (const y of statements(h.namedChildren.find((k) => k.type === 'block') ?? null)) {
          const p = inlineSpoolWrite(y, a[0]!.text);
          if (p) out.add(p);
        }
      }
    }
  });
  return out;
}

/**
 * `try: self._publish(ev) [log lines] except ...: [log lines] self._spool(ev)`: a publish of the
 * agent (by name or shape) called as a statement with one local event, whose every except clause
 * hands that event to the agent's own queue method (not a drain) besides log lines. No else or
 * finally clause, nothing else in the try: the whole statement is the publish with its fallback.
 */
/** An except clause that only logs (or passes): the loss of what the try sent is all it records. */
function logsOnlyHandler(h: SyntaxNode): boolean {
  const hs = statements(h.namedChildren.find((c) => c.type === 'block') ?? null).filter((x) => !isDocstring(x));
  return hs.length > 0 && hs.every((x) => x.type === 'pass_statement' || isLogCall(expressionOf(x)));
}

/** `try: self._drain_queue() except ...: <log lines>`: one drain call of the transport, its handlers only logging. */
function loggedDrain(ctx: PythonTransformContext, s: SyntaxNode): boolean {
  if (s.type !== 'try_statement' || s.namedChildren.some((c) => c.type === 'finally_clause' || c.type === 'else_clause')) return false;
  const body = statements(s.childForFieldName('body')).filter((x) => !isDocstring(x));
  const c = body.length === 1 ? selfCall(body[0]!) : null;
  if (!c || c.target || c.call.childForFieldName('arguments')!.namedChildCount || !isTransport(ctx, c.method) || !isDrain(ctx, c.method)) return false;
  const handlers = s.namedChildren.filter((h) => h.type === 'except_clause' || h.type === 'except_group_clause');
  return handlers.length > 0 && handlers.every(logsOnlyHandler);
}

function raisingPublish(ctx: PythonTransformContext, s: SyntaxNode): { method: string; ev: string } | null {
  if (s.type !== 'try_statement') return null;
  if (s.namedChildren.some((c) => c.type === 'else_clause' || c.type === 'finally_clause')) return null;
  const handlers = s.namedChildren.filter((c) => c.type === 'except_clause' || c.type === 'except_group_clause');
  if (!handlers.length) return null;
  const logLine = (x: SyntaxNode) => isTrivial(x) && !x.text.startsWith('return');
  const body = statements(s.childForFieldName('body')).filter((x) => !isDocstring(x));
  const calls = body.filter((x) => !logLine(x));
  if (calls.length !== 1) return null;
  const c = selfCall(calls[0]!);
  if (!c || c.target || !isPublish(ctx, c.method) || !isTransport(ctx, c.method)) return null;
  const args = c.call.childForFieldName('arguments')!.namedChildren;
  if (args.length !== 1 || args[0]!.type !== 'identifier') return null;
  const ev = args[0]!.text;
  const fallback = (x: SyntaxNode) => {
    const q = selfCall(x);
    const a = q ? q.call.childForFieldName('arguments')!.namedChildren : [];
    return !!q && !q.target && (queueMember(ctx, q.method) || cycleHandOffs(ctx).has(q.method)) && !isDrain(ctx, q.method) && a.length === 1 && a[0]!.text === ev;
  };
  // Or the handler appends the event to a spool file itself (`with open(SPOOL_FILE, "a") as f: ...`),
  // or puts it into the queue the agent's drain re-sends (`self.offline.enqueue(ev, ev.key)`).
  const inline = (x: SyntaxNode) => inlineSpoolWrite(x, ev) !== null || drainedQueuePut(ctx, x, ev);
  // Or every handler only logs the loss (`except grpc.RpcError as e: logger.error("lost: %s", e)`):
  // the events were dropped; the base logs each failed attempt, retries and queues them now.
  if (handlers.every(logsOnlyHandler)) return { method: c.method, ev };
  for (const h of handlers) {
    const hs = statements(h.namedChildren.find((c) => c.type === 'block') ?? null).filter((x) => !isDocstring(x));
    if (!hs.some((x) => fallback(x) || inline(x)) || !hs.every((x) => fallback(x) || logLine(x) || inline(x) || (inlineSpoolAux(x) && hs.some(inline)))) return null;
  }
  return { method: c.method, ev };
}

/**
 * `self.<q>.enqueue(ev[, ev.idempotency_key])` (or put / put_nowait / append / push) as a statement:
 * `ev` put into a queue object built in __init__ that a drain of the agent re-sends
 * (`self.offline.drain(self._publish_batch)`), the store the base receives as its local_queue.
 * Its other arguments only read `ev` or constants (no call): the key the legacy code gave the item.
 */
function drainedQueuePut(ctx: PythonTransformContext, x: SyntaxNode, ev: string): boolean {
  const call = x.type === 'expression_statement' ? x.namedChild(0) : null;
  const f = call?.type === 'call' ? call.childForFieldName('function') : null;
  if (f?.type !== 'attribute' || !/^(enqueue|put|put_nowait|append|push)$/.test(f.childForFieldName('attribute')!.text)) return false;
  const q = selfAttribute(f.childForFieldName('object')!);
  const args = call!.childForFieldName('arguments')!.namedChildren;
  if (!q || ctx.agent.methods.has(q) || args[0]?.text !== ev) return false;
  let callsInArgs = false;
  for (const a of args.slice(1)) walk(a, (n) => { if (n.type === 'call' && !pureKeyCall(ctx, n)) callsInArgs = true; });
  if (callsInArgs || args.slice(1).some((a) => a.type === 'list_splat' || a.type === 'dictionary_splat')) return false;
  if (!ctx.agent.assignments.some((a) => a.attr === q && a.method === '__init__' && a.value?.type === 'call')) return false;
  if (ctx.agent.assignments.some((a) => a.attr === q && a.method !== '__init__')) return false;
  return [...ctx.agent.methods.values()].some((m) => isDrain(ctx, m.name) && readsStore(m, new Set([q])));
}

/**
 * `if self._publish(t):` / `if not self._publish(t):` (one local event, the agent's publish method, with
 * branches reading neither the event nor the transport): the call, its method and the event, else null.
 */
function branchOnPublish(ctx: PythonTransformContext, s: SyntaxNode): { call: SyntaxNode; method: string; ev: string } | null {
  if (s.type !== 'if_statement') return null;
  const cond = s.childForFieldName('condition')!;
  const call = cond.type === 'not_operator' ? cond.childForFieldName('argument') : cond;
  const m = call?.type === 'call' ? selfAttribute(call.childForFieldName('function')!) : null;
  const args = call?.type === 'call' ? call.childForFieldName('arguments')!.namedChildren : [];
  if (!m || args.length !== 1 || args[0]!.type !== 'identifier' || !isPublish(ctx, m) || !isTransport(ctx, m)) return null;
  // A branch that does something with the event itself (keeps it in a queue of its own) is a fallback, not a count.
  for (const b of blocksOf(s)) if (transportMention(b, (x) => isTransport(ctx, x)) || usesName(b, args[0]!.text)) return null;
  return { call: call!, method: m, ev: args[0]!.text };
}

/**
 * `for line in ...: ...; if not self._send(record): self.backlog.append(record)` that no other reading
 * classifies: a per-event publish inside the cycle's loop whose refused event the cycle keeps itself, in a
 * store other methods also use (loaded at start, saved at shutdown). Gathering the event (the base publishing
 * the cycle's events together and queueing a refused batch) is sound only once that store is the base's
 * local_queue with those uses kept: a person's call. Names the loop, the publish, the keep and each other use.
 */
function perEventKeep(ctx: PythonTransformContext): { reason: string; at: number } | null {
  const name = cycleMethod(ctx);
  const fn = ctx.agent.methods.get(name);
  if (!fn) return null;
  let found: { reason: string; at: number } | null = null;
  walk(fn.body, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return n.id === fn.node.id ? undefined : false;
    if (n.type !== 'if_statement' || n.childForFieldName('alternative')) return;
    const cond = n.childForFieldName('condition');
    const call = cond?.type === 'not_operator' ? cond.childForFieldName('argument') : null;
    const m = call?.type === 'call' ? selfAttribute(call.childForFieldName('function')!) : null;
    const args = call?.type === 'call' ? call.childForFieldName('arguments')!.namedChildren : [];
    const ev = args.length === 1 && args[0]!.type === 'identifier' ? args[0]!.text : null;
    // A keep the base's local_queue replaces is gathered (readCollectAccumulating): not this one.
    if (!m || !ev || !isPublish(ctx, m) || !isTransport(ctx, m) || fallbackPublish(ctx, n)) return;
    let loop: SyntaxNode | null = null;
    for (let p = n.parent; p && p.id !== fn.body.id && !loop; p = p.parent) if (p.type === 'for_statement' || p.type === 'while_statement') loop = p;
    if (!loop) return;
    const keepStmt = statements(n.childForFieldName('consequence')).find((x) => !isTrivial(x));
    const kc = keepStmt?.type === 'expression_statement' && keepStmt.namedChild(0)?.type === 'call' ? keepStmt.namedChild(0)! : null;
    const kf = kc?.childForFieldName('function');
    // The store the event is kept in: `self.backlog.append(ev)` -> backlog; `self._spool(ev)` -> _spool.
    const store = kf?.type === 'attribute' ? selfAttribute(kf.childForFieldName('object')!) ?? selfAttribute(kf) : null;
    if (!keepStmt || !store) return;
    // Who re-sends the store (a method reading it that calls the same publish), who else uses it (loads, saves).
    const resends = (f: PyFunction) => isDrain(ctx, f.name) || ctx.refs.of(m).some((r) => r.kind === 'attribute' && f.outer.startIndex <= r.start && r.end <= f.outer.endIndex);
    const others = [...ctx.agent.methods.values()].filter((f) => ![fn.name, m, store, '__init__'].includes(f.name) && readsStore(f, new Set([store])));
    const drains = others.filter(resends).map((f) => `${f.name}() (line ${f.line})`);
    const users = others.filter((f) => !resends(f)).map((f) => `${f.name}() (line ${f.line})`);
    const at = line(keepStmt);
    found = {
      at: line(n),
      reason:
        `${name}() publishes each ${ev} from inside its ${loop.type === 'for_statement' ? 'for' : 'while'} loop (line ${line(loop)}: ${loop.text.split('\n')[0]!.trim()}) ` +
        `and keeps a refused one itself (line ${at}: ${keepStmt.text.split('\n')[0]!.trim()}) in self.${store}` +
        (drains.length ? `, re-sent by ${drains.join(', ')}` : '') +
        (users.length ? `, which ${users.join(', ')} also use` : '') +
        `; under ${ctx.profile.base_class} the events ${HOOK}() returns are published together after the cycle and a refused batch goes to the base's local_queue: ` +
        `gathering each ${ev} there needs self.${store} handed to the base as its local_queue${users.length ? ' with those uses kept' : ''}, decided by hand`,
    };
  });
  return found;
}

/**
 * `if not self._publish(t): self.queue.enqueue(t, key); log` where no method of the agent re-sends
 * self.queue (not drainedQueuePut): the refused event is kept for someone else to send (a module-level
 * queue another class of the file drains). Under the base a failed publish goes to its local_queue
 * instead, so who re-sends that queue is a person's call. Names the put, the queue and its other users.
 */
function undrainedFallback(ctx: PythonTransformContext, name: string, s: SyntaxNode): { reason: string; at: number; put: string } | null {
  // The raising twin: `try: if not self._publish(t): self.queue.enqueue(t, k) except grpc.RpcError: <log>;
  // self.queue.enqueue(t, k)`: the try holds only that branch, and every handler (its log lines aside) puts the
  // same event into the same queue. What it raised on is kept exactly as the refused answer is.
  if (s.type === 'try_statement') {
    const body = statements(s.childForFieldName('body')).filter((x) => !isDocstring(x));
    const handlers = s.namedChildren.filter((c) => c.type === 'except_clause');
    if (body.length !== 1 || !handlers.length || s.namedChildren.some((c) => c.type === 'else_clause' || c.type === 'finally_clause' || c.type === 'except_group_clause')) return null;
    const inner = undrainedFallback(ctx, name, body[0]!);
    if (!inner) return null;
    const put = (x: SyntaxNode) => x.type === 'expression_statement' && x.text.trim() === inner.put.trim();
    const every = handlers.every((h) => {
      const hs = statements(h.namedChildren.find((c) => c.type === 'block') ?? null).filter((x) => !isDocstring(x));
      return hs.some(put) && hs.every((x) => put(x) || (isLogCall(expressionOf(x)) && !x.text.startsWith('return')));
    });
    if (!every) return null;
    const caught = handlers.map((h) => h.namedChildren.find((c) => c.type !== 'block' && c.type !== 'comment')?.text.replace(/\s+as\s+\w+$/, '') ?? 'every exception');
    return { ...inner, reason: inner.reason.replace(' did not send itself ', ` did not send itself (its False answer, and what it raised: ${caught.join(', ')}) `) };
  }
  if (s.type !== 'if_statement' || s.childForFieldName('alternative')) return null;
  const cond = s.childForFieldName('condition');
  const arg = cond?.type === 'not_operator' ? cond.childForFieldName('argument') : null;
  const m = arg?.type === 'call' ? selfAttribute(arg.childForFieldName('function')!) : null;
  const args = arg?.type === 'call' ? arg.childForFieldName('arguments')!.namedChildren : [];
  const ev = args.length === 1 && args[0]!.type === 'identifier' ? args[0]!.text : null;
  if (!m || !ev || !isPublish(ctx, m) || !isTransport(ctx, m)) return null;
  for (const x of statements(s.childForFieldName('consequence'))) {
    const call = x.type === 'expression_statement' ? x.namedChild(0) : null;
    const f = call?.type === 'call' ? call.childForFieldName('function') : null;
    if (f?.type !== 'attribute' || !/^(enqueue|put|put_nowait|append|push)$/.test(f.childForFieldName('attribute')!.text)) continue;
    const q = selfAttribute(f.childForFieldName('object')!);
    if (!q || call!.childForFieldName('arguments')!.namedChildren[0]?.text !== ev) continue;
    if ([...ctx.agent.methods.values()].some((d) => isDrain(ctx, d.name) && readsStore(d, new Set([q])))) return null;
    // `self.queue = SHARED_QUEUE` in __init__: a module-level object, and the other classes of the file using it.
    const init = ctx.agent.assignments.find((a) => a.attr === q && a.method === '__init__' && a.value?.type === 'identifier');
    const shared = init && /^[A-Z_][A-Z0-9_]*$/.test(init.value!.text) ? init.value!.text : null;
    const users = shared
      ? ctx.module.classes.filter((c) => c.name !== ctx.agent.cls.name && c.node.text.includes(shared) && [...c.methods.values()].some((d) => isDrain(ctx, d.name) || readsStore(d, new Set([q]))))
      : [];
    const whose = shared ? `the module's ${shared}` : `self.${q}`;
    const others = users.length ? ` (${users.map((c) => `${c.name} at line ${c.line}`).join('; ')} also ${users.length > 1 ? 'use' : 'uses'} it and may)` : '';
    const at = x.startPosition.row + 1;
    return {
      at,
      put: x.text,
      reason:
        `${name}() keeps what ${m}() did not send itself (line ${at}: ${excerpt(x.text, 70)}) in ${whose}, which no method of ${ctx.agent.cls.name} re-sends${others}; ` +
        `under ${ctx.profile.base_class} a failed publish goes to the base's local_queue instead: decide who drains that queue (hand it to the base through LocalQueueAdapter, or keep the put) by hand`,
    };
  }
  return null;
}

/**
 * `if self._post(batch): self.sent += 1 else: self._spool(batch)` (or `if not self._post(batch): self._spool(batch)`
 * beside other statements): the refused batch handed to a method of the agent that keeps it its own way (files in
 * a spool directory), which no queue shape of the base's matches, re-sent by other methods calling the same publish.
 * Under the base a refused publish goes to its local_queue and is re-sent each cycle: where the batch is kept
 * and when the kept ones are re-sent (a replay run once at start-up, before run()'s loop) are a person's call.
 * Names the keep, its method, each re-sender and where it runs, by line.
 */
function spooledFallback(ctx: PythonTransformContext, name: string, s: SyntaxNode): { reason: string; at: number } | null {
  // The raising twin, `try: self._post(batch); self.sent += 1 except OSError: self._spool(batch)`: the same keep
  // in a handler, of what the publish raised on.
  const tried = s.type === 'try_statement' ? statements(s.childForFieldName('body')).map((x) => selfCall(x)).find((c) => c && !c.target && isPublish(ctx, c.method)) : null;
  if (s.type !== 'if_statement' && !tried) return null;
  if (s.namedChildren.some((c) => c.type === 'elif_clause')) return null;
  const cond = tried ? null : s.childForFieldName('condition')!;
  const negated = cond?.type === 'not_operator';
  const call = tried ? tried.call : negated ? cond!.childForFieldName('argument') : cond;
  const m = call?.type === 'call' ? selfAttribute(call.childForFieldName('function')!) : null;
  const args = call?.type === 'call' ? call.childForFieldName('arguments')!.namedChildren : [];
  const ev = args.length === 1 && args[0]!.type === 'identifier' ? args[0]!.text : null;
  if (!m || !ev || !isPublish(ctx, m) || !isTransport(ctx, m)) return null;
  const handlers = tried ? s.namedChildren.filter((c) => c.type === 'except_clause' || c.type === 'except_group_clause').map((h) => h.namedChildren.find((c) => c.type === 'block') ?? null) : [];
  const refused = tried ? null : negated ? s.childForFieldName('consequence') : s.childForFieldName('alternative')?.childForFieldName('body') ?? null;
  const keep = (tried ? handlers.flatMap((h) => statements(h)) : statements(refused)).find((x) => {
    const c = selfCall(x);
    const a = c ? c.call.childForFieldName('arguments')!.namedChildren : [];
    return !!c && !c.target && c.method !== m && ctx.agent.methods.has(c.method) && a.length === 1 && a[0]!.text === ev;
  });
  if (!keep) return null;
  const keeper = ctx.agent.methods.get(selfCall(keep)!.method)!;
  const run = ctx.agent.methods.get(LEGACY_RUN);
  const inside = (r: { start: number; end: number }, n: SyntaxNode) => n.startIndex <= r.start && r.end <= n.endIndex;
  // Who re-sends what it keeps: the agent's other methods calling the same publish.
  const resenders = [...ctx.agent.methods.values()].filter((f) => f.name !== name && f.name !== m && f.name !== keeper.name &&
    ctx.refs.of(m).some((r) => r.kind === 'attribute' && inside(r, f.outer) && r.node.parent?.parent?.type === 'call'));
  const whenRun = (f: PyFunction): string => {
    const calls = ctx.refs.of(f.name).filter((r) => r.kind === 'attribute' && !inside(r, f.outer));
    if (!calls.length) return 'called by nothing in the file';
    return calls.map((r) => {
      const loop = run ? statements(run.body).find((x) => x.type === 'while_statement' || x.type === 'for_statement') : undefined;
      const atStart = run && inside(r, run.outer) && enclosingStatement(r.node).parent?.id === run.body.id && (!loop || r.end <= loop.startIndex);
      const owner = [...ctx.agent.methods.values()].find((g) => inside(r, g.outer));
      return atStart ? `once, at start-up (line ${r.line}, in ${LEGACY_RUN}() before its loop)` : `from ${owner ? `${owner.name}()` : 'module code'} at line ${r.line}`;
    }).join(', ');
  };
  const resent = resenders.length
    ? resenders.map((f) => `self.${f.name}() (line ${f.line}) re-sends them ${whenRun(f)}`).join('; ')
    : `no method of ${ctx.agent.cls.name} re-sends them`;
  const at = line(keep);
  return {
    at,
    reason:
      `${name}() keeps the ${ev} ${m}() refused with ${head(keep)} (line ${at}; ${keeper.name}() at line ${keeper.line}) and ${resent}; ` +
      `under ${ctx.profile.base_class} a refused publish goes to the base's local_queue, re-sent every cycle and kept in memory unless it is handed a persistent queue: ` +
      `decide by hand where a refused ${ev} is kept and when the kept ones are re-sent (a local_queue over ${keeper.name}()'s store, or its replay kept in setup())`,
  };
}

/**
 * A call in an idempotency key that only reads the clock, the host or a fresh id, or converts
 * (`time.time_ns()`, `socket.gethostname()`, `uuid.uuid4().hex`, `str(...)`): dropping the key
 * (LocalQueueAdapter makes its own) drops nothing the agent would have done.
 */
const PURE_KEY_CALL = /^(time\.(time|time_ns|monotonic|monotonic_ns)|socket\.gethostname|os\.getpid|uuid\.uuid[14]|str|int|repr|len|hex|format)$/;
function pureKeyCall(ctx: PythonTransformContext, call: SyntaxNode): boolean {
  const f = call.childForFieldName('function');
  if (!f) return false;
  const text = f.text;
  if (!PURE_KEY_CALL.test(text)) return false;
  // `time.time_ns()` on the module of that name, not a local or an attribute of the agent.
  const mod = text.includes('.') ? text.split('.')[0]! : null;
  if (mod) return ctx.module.imports.get(mod)?.module === mod && ctx.module.imports.get(mod)?.name === null;
  return !ctx.module.functions.has(text) && !ctx.module.imports.has(text);
}

/**
 * `events and not self._publish(events)` -> `not self._publish(events)`: an emptiness guard on the very
 * events the publish is handed adds nothing under the base, which publishes only a non-empty cycle (and
 * keeping nothing of an empty one changes nothing). Any other condition is returned as it is.
 */
export function unguarded(cond: SyntaxNode | null): SyntaxNode | null {
  if (cond?.type !== 'boolean_operator' || cond.childForFieldName('operator')?.text !== 'and') return cond;
  const left = cond.childForFieldName('left');
  const right = cond.childForFieldName('right');
  const call = right?.type === 'not_operator' ? right.childForFieldName('argument') : null;
  const args = call?.type === 'call' ? call.childForFieldName('arguments')!.namedChildren : [];
  return left?.type === 'identifier' && args.length === 1 && args[0]!.text === left.text ? right : cond;
}

/**
 * `if not self._send(events): self._queue_events(events)` (or a module publish function): the cycle's
 * own fallback to the legacy queue, or to its own unsent store, when the publish reports a failure.
 * The publish method (or function), the event handed to it, and whether it is a module function.
 */
function fallbackPublish(ctx: PythonTransformContext, s: SyntaxNode): { method: string; ev: string; viaModule: boolean; guarded: boolean } | null {
  if (s.type !== 'if_statement' || s.namedChildren.some((c) => c.type === 'elif_clause')) return null;
  const alt = s.childForFieldName('alternative');
  const cond = alt ? s.childForFieldName('condition') : unguarded(s.childForFieldName('condition'));
  // Published only when non-empty: what the cycle hands the base must be empty then too.
  const guarded = cond?.id !== s.childForFieldName('condition')?.id;
  // `if self._post(batch): <log> else: <log>; self._spool(batch)`: the same fallback on the refused answer,
  // written as a branch (what `try: self._post(batch) except ...: self._spool(batch)` is for a raising publish),
  // when the accepted branch only logs (a counter there is business the gathered form would lose).
  const negated = cond?.type === 'not_operator';
  const sent = negated ? alt?.childForFieldName('body') ?? null : s.childForFieldName('consequence');
  const logOnly = (x: SyntaxNode) => x.type === 'pass_statement' || x.type === 'comment' || isLogCall(expressionOf(x));
  if (!negated && !alt) return null;
  if (sent && !statements(sent).filter((x) => !isDocstring(x)).every(logOnly)) return null;
  const arg = negated ? cond!.childForFieldName('argument') : cond;
  const fnNode = arg?.type === 'call' ? arg.childForFieldName('function') : null;
  // `if not publish(batch): self._queue_batch(batch)` with a module publish function too.
  const viaModule = fnNode?.type === 'identifier' && modulePublishers(ctx).has(fnNode.text);
  const m = fnNode?.type === 'attribute' ? selfAttribute(fnNode) : viaModule ? fnNode!.text : null;
  const args = arg?.type === 'call' ? arg.childForFieldName('arguments')!.namedChildren : [];
  const inner = statements(negated ? s.childForFieldName('consequence') : alt!.childForFieldName('body')).filter((x) => !isDocstring(x));
  const ev = args.length === 1 && args[0]!.type === 'identifier' ? args[0]!.text : null;
  if (!m || !ev || !(viaModule || (isPublish(ctx, m) && isTransport(ctx, m)))) return null;
  const fallback = (x: SyntaxNode) => {
    const c = selfCall(x);
    const a = c ? c.call.childForFieldName('arguments')!.namedChildren : [];
    if (c && !c.target && (queueMember(ctx, c.method) || cycleHandOffs(ctx).has(c.method)) && !isDrain(ctx, c.method) && a.length === 1 && a[0]!.text === ev) return true;
    // Or the event put straight into the legacy queue object a drain of the agent re-sends
    // (`self.queue.enqueue(batch, "route-%s-%d" % (self.hostname, time.time_ns()))`).
    return drainedQueuePut(ctx, x, ev);
  };
  // Or the failed event kept in the agent's own unsent store, which only the drain reads
  // (`self.pending[self.next_seq] = t; self.next_seq += 1; if len(self.pending) > N: del ...`).
  const store = !alt && !inner.some(fallback) && unsentStore(ctx, s, inner, ev);
  const queued = inner.some(fallback) && inner.every((x) => fallback(x) || (isTrivial(x) && !x.text.startsWith('return')));
  return store || queued ? { method: m, ev, viaModule, guarded } : null;
}

/**
 * The failure branch of `if not self._publish(ev): ...` keeps `ev` in the agent's own unsent store:
 * every statement (besides log lines) only assigns, deletes or calls methods of attributes that
 * nothing but this branch and the drain methods read or write (outside __init__), with the event,
 * module constants and len/min/max; one of them holds the event. That store is the legacy queue
 * whatever its container (a dict keyed by a sequence number, a list): the base queues instead.
 */
function unsentStore(ctx: PythonTransformContext, branch: SyntaxNode, inner: SyntaxNode[], ev: string): boolean {
  const attrs = new Set<string>();
  let holds = false;
  let ok = true;
  const work = inner.filter((x) => !(isTrivial(x) && !x.text.startsWith('return')));
  if (!work.length) return false;
  for (const x of work) {
    if (!['expression_statement', 'if_statement', 'delete_statement'].includes(x.type)) return false;
    walk(x, (n) => {
      if (!ok) return false;
      if (['return_statement', 'break_statement', 'continue_statement', 'raise_statement', 'yield', 'lambda', 'function_definition', 'else_clause', 'elif_clause'].includes(n.type)) ok = false;
      const a = selfAttribute(n);
      if (a) {
        if (ctx.agent.methods.has(a) || ctx.baseOwned.has(a)) ok = false;
        attrs.add(a);
        return false;
      }
      if (n.type === 'call') {
        const f = n.childForFieldName('function')!;
        const onStore = f.type === 'attribute' && selfAttribute(f.childForFieldName('object')!) !== null && /^(append|extend|appendleft|insert|pop|popitem|popleft|clear|put|put_nowait|enqueue|push)$/.test(f.childForFieldName('attribute')!.text);
        if (!onStore && !(f.type === 'identifier' && /^(len|min|max|sorted)$/.test(f.text)) && !isLogCall(n)) ok = false;
        return;
      }
      if (n.type === 'identifier') {
        const p = n.parent;
        if (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) return;
        if (p?.type === 'call' && p.childForFieldName('function')?.id === n.id) return;
        if (p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === n.id) return;
        if (n.text === ev) holds = true;
        else if (!/^[A-Z_][A-Z0-9_]*$/.test(n.text) && n.text !== 'self') ok = false;
      }
    });
    if (!ok) return false;
  }
  if (!holds || !attrs.size) return false;
  const drains = [...ctx.agent.methods.values()].filter((f) => isDrain(ctx, f.name));
  if (!drains.length) return false;
  const inside = (r: { start: number; end: number }, n: SyntaxNode) => n.startIndex <= r.start && r.end <= n.endIndex;
  for (const a of attrs) {
    for (const r of ctx.refs.of(a)) {
      if (r.kind !== 'attribute') continue;
      const init = ctx.agent.methods.get('__init__');
      if (inside(r, branch) || (init && inside(r, init.outer)) || drains.some((d) => inside(r, d.outer))) continue;
      // Its teardown (`self.spool.close()`, in run()'s finally:) stays with the store: the base's shutdown() runs it.
      if (closeOf(r.node)) continue;
      return false;
    }
  }
  return true;
}

/** `self.<store>.close()` as a statement of its own: `ref` is the store's name in it. */
function closeOf(ref: SyntaxNode): boolean {
  const own = ref.parent;
  const f = own?.parent;
  const call = f?.parent;
  return own?.type === 'attribute' && f?.type === 'attribute' && f.childForFieldName('object')?.id === own.id &&
    f.childForFieldName('attribute')?.text === 'close' && call?.type === 'call' && call.childForFieldName('arguments')!.namedChildren.length === 0 &&
    call.parent?.type === 'expression_statement';
}

/**
 * How a cycle uses the result of its publish call: only in `if <result>:` statements whose
 * branches log, or in a final `return <result>` (the cycle's status). Anything else is a
 * business decision (a snapshot deleted only after a publish succeeded, say): `at` names it.
 */
function statusUses(
  ctx: PythonTransformContext,
  after: SyntaxNode[],
  name: string,
): { ok: true; logs: SyntaxNode[]; returned: SyntaxNode | null; counters: string[] } | { ok: false; at: SyntaxNode } {
  const logs: SyntaxNode[] = [];
  const counters: string[] = [];
  let returned: SyntaxNode | null = null;
  const noted = (x: SyntaxNode) => (isTrivial(x) && x.type !== 'return_statement') || counterOnly(ctx, x, counters);
  for (const [i, s] of after.entries()) {
    if (!usesName(s, name)) continue;
    if (s.type === 'if_statement') {
      const cond = s.childForFieldName('condition');
      const names = cond ? identifiers(cond) : [];
      const onlyResult = names.length > 0 && names.every((n) => n === name);
      const logsOnly = blocksOf(s).every((b) => statements(b).every(noted));
      if (onlyResult && logsOnly) {
        logs.push(s);
        continue;
      }
      const inner = blocksOf(s).flatMap((b) => statements(b)).find((x) => !noted(x));
      return { ok: false, at: onlyResult && inner ? inner : s };
    }
    if (s.type === 'return_statement' && i === after.length - 1 && s.namedChild(0)?.type === 'identifier' && s.namedChild(0)!.text === name) {
      returned = s;
      continue;
    }
    return { ok: false, at: s };
  }
  return { ok: true, logs, returned, counters };
}

/**
 * `self.published += 1`: a counter of publishes that nothing but log lines reads (the base
 * counts events_published itself). Any other read of it (a health payload, a decision) is business.
 */
function counterOnly(ctx: PythonTransformContext, stmt: SyntaxNode, counters: string[]): boolean {
  const e = expressionOf(stmt);
  if (e?.type !== 'augmented_assignment' || e.childForFieldName('right')?.type !== 'integer') return false;
  const attr = selfAttribute(e.childForFieldName('left')!);
  if (!attr || ctx.baseOwned.has(attr)) return false;
  const readOnlyInLogs = ctx.refs.of(attr).every((r) => {
    if (r.kind !== 'attribute') return r.kind === 'string' ? false : true;
    for (let p: SyntaxNode | null = r.node.parent; p; p = p.parent) {
      if (p.type === 'call' && isLogCall(p)) return true;
      if ((p.type === 'assignment' || p.type === 'augmented_assignment') && p.childForFieldName('left')?.id === r.node.parent?.id) return true;
      if (p.type === 'expression_statement' || p.type === 'block') break;
    }
    return false;
  });
  if (!readOnlyInLogs) return false;
  counters.push(attr);
  return true;
}

/** `self.<queue>.put(x)` (put_nowait, append) as a statement: the value handed over. */
function queuePut(stmt: SyntaxNode, queue: string): SyntaxNode | null {
  const e = expressionOf(stmt);
  const f = e?.type === 'call' ? e.childForFieldName('function') : null;
  if (f?.type !== 'attribute' || !/^(put|put_nowait|append)$/.test(f.childForFieldName('attribute')!.text)) return null;
  const obj = f.childForFieldName('object');
  if (!obj || selfAttribute(obj) !== queue) return null;
  const args = e!.childForFieldName('arguments')!.namedChildren;
  return args.length === 1 && args[0]!.type !== 'keyword_argument' ? args[0]! : null;
}

/**
 * `self._to_envelope(event)`: a call of an agent method on the loop variable alone whose body
 * writes no attribute and calls no other method of the agent, so building it at the return
 * instead of in the loop gives the same value.
 */
function readOnlyBuild(ctx: PythonTransformContext, value: SyntaxNode, v: string): boolean {
  if (value.type !== 'call') return false;
  const f = value.childForFieldName('function');
  const m = f?.type === 'attribute' ? selfAttribute(f) : null;
  const fn = m ? ctx.agent.methods.get(m) : undefined;
  const args = value.childForFieldName('arguments')!.namedChildren;
  if (!fn || fn.isAsync || fn.decorators.length || args.length !== 1 || args[0]!.text !== v) return false;
  let ok = true;
  walk(fn.body, (n) => {
    if (!ok) return false;
    const a = selfAttribute(n);
    if (!a) return;
    const p = n.parent;
    if (ctx.agent.methods.has(a)) ok = false;
    else if ((p?.type === 'assignment' || p?.type === 'augmented_assignment') && p.childForFieldName('left')?.id === n.id) ok = false;
    else if (p?.type === 'attribute' && p.parent?.type === 'call') ok = false; // self.x.append(...)
  });
  return ok;
}

/** A sender thread of the agent: the cycle puts events on a queue, a thread loop takes them off and sends them. */
export interface SenderThread {
  /** The thread attribute (`self._sender = threading.Thread(target=self._sender_loop, ...)`). */
  thread: string;
  /** Its target: the loop that takes events off the queue and sends them. */
  loop: string;
  /** The hand-off queue (`self.outq = queue.Queue(...)`). */
  queue: string;
  /** The method the loop sends one event with. */
  send: string;
  /** The loop's stop event (`self._stop = threading.Event()`), if any. */
  stop: string | null;
}

const senderMemo = new WeakMap<PythonTransformContext, SenderThread | null>();

/**
 * The shape: a Thread built in __init__ whose target is a method of the agent without
 * parameters that loops taking items off one queue attribute and sending each with one method
 * of the agent that reaches the EventBus. Everything the thread uses is its own: the loop is
 * named only by the thread, the thread is only started or joined (in run()), the stop event
 * only set and waited on. Then the base's publish replaces the thread: what the cycle put on
 * the queue is what collect_data() returns.
 */
export function senderThread(ctx: PythonTransformContext): SenderThread | null {
  if (senderMemo.has(ctx)) return senderMemo.get(ctx)!;
  const found = readSender(ctx);
  senderMemo.set(ctx, found);
  return found;
}

/**
 * Why the cycle's sender thread is not one the migration moves, when the only thing in the way is that
 * other methods start, stop or join it (`start()` starting it, `stop()` joining it and spooling what is
 * left): the thread, its loop and what uses it outside __init__ and run(), with lines. Null otherwise.
 */
export function unmovedSenderThread(ctx: PythonTransformContext, cycle: PyFunction): string | null {
  let why: string | null = null;
  readSender(ctx, (queue, r) => {
    // Only the thread the cycle feeds: a `self.<queue>.put(...)` in it.
    let puts = false;
    walk(cycle.body, (n) => {
      const f = n.type === 'call' ? n.childForFieldName('function') : null;
      const obj = f?.type === 'attribute' ? f.childForFieldName('object') : null;
      if (obj && selfAttribute(obj) === queue && /^(put|put_nowait|append)$/.test(f!.childForFieldName('attribute')!.text)) puts = true;
    });
    if (puts) why ??= r;
  });
  return why;
}

function readSender(ctx: PythonTransformContext, unowned?: (queue: string, reason: string) => void): SenderThread | null {
  const init = ctx.agent.methods.get('__init__');
  if (!init) return null;
  const inside = (fn: PyFunction | undefined, r: { start: number; end: number }) => !!fn && fn.outer.startIndex <= r.start && r.end <= fn.outer.endIndex;
  for (const a of ctx.agent.assignments) {
    if (a.method !== '__init__' || a.value?.type !== 'call' || !/(^|\.)Thread$/.test(a.value.childForFieldName('function')?.text ?? '')) continue;
    const target = a.value.childForFieldName('arguments')!.namedChildren.find((k) => k.type === 'keyword_argument' && k.childForFieldName('name')!.text === 'target');
    const loopName = target ? selfAttribute(target.childForFieldName('value')!) : null;
    const loop = loopName ? ctx.agent.methods.get(loopName) : undefined;
    if (!loop || loop.isAsync || loop.decorators.length || loop.params.length !== 1) continue;
    const takes = new Set<string>();
    const sends = new Set<string>();
    const events = new Set<string>();
    let loops = 0;
    walk(loop.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'class_definition') return false;
      if (n.type === 'while_statement') loops++;
      if (n.type !== 'call') return;
      const f = n.childForFieldName('function');
      if (f?.type !== 'attribute') return;
      const m = selfAttribute(f);
      if (m && ctx.agent.methods.has(m)) sends.add(m);
      const obj = f.childForFieldName('object');
      const q = obj ? selfAttribute(obj) : null;
      if (q && /^(get|get_nowait|popleft)$/.test(f.childForFieldName('attribute')!.text)) takes.add(q);
      if (q && /^(wait|is_set)$/.test(f.childForFieldName('attribute')!.text)) events.add(q);
    });
    if (loops !== 1 || takes.size !== 1 || sends.size !== 1) continue;
    const queue = [...takes][0]!;
    const send = ctx.agent.methods.get([...sends][0]!)!;
    if (send.isAsync || send.decorators.length || send.params.filter((p, i) => i > 0 && p.kind !== 'separator').length !== 1 || !reachesBus(ctx, send)) continue;
    if (!ctx.agent.assignments.some((x) => x.attr === queue && x.method === '__init__' && x.value?.type === 'call')) continue;
    const stop = [...events].find((e) => ctx.agent.assignments.some((x) => x.attr === e && x.method === '__init__' && /(^|\.)Event$/.test(x.value?.childForFieldName('function')?.text ?? ''))) ?? null;
    // The loop does nothing else: every call in it takes from or puts back on the queue, sends,
    // waits on the stop event, logs or sleeps (anything more would be lost with it).
    let other = false;
    walk(loop.body, (n) => {
      if (other || n.type !== 'call') return;
      const f = n.childForFieldName('function')!;
      const obj = f.type === 'attribute' ? f.childForFieldName('object') : null;
      const on = obj ? selfAttribute(obj) : null;
      const op = f.type === 'attribute' ? f.childForFieldName('attribute')!.text : '';
      if (selfAttribute(f) === send.name) return;
      if (on === queue && /^(get|get_nowait|popleft|put|put_nowait|append|appendleft|task_done|qsize|empty)$/.test(op)) return;
      if (on && on === stop && /^(wait|is_set)$/.test(op)) return;
      if (isLogCall(n) || /^(time\.)?sleep$/.test(f.text)) return;
      other = true;
    });
    if (other) continue;
    const run = ctx.agent.methods.get(LEGACY_RUN);
    const own = (name: string, allowed: Array<PyFunction | undefined>) =>
      ctx.refs.of(name).filter((r) => r.kind === 'attribute').every((r) => allowed.some((fn) => inside(fn, r)));
    if (!own(loop.name, [init, loop]) || !own(send.name, [loop, send])) continue;
    if (!own(a.attr, [init, run]) || (stop && !own(stop, [init, loop, run]))) {
      // Started or stopped outside run(): name where, for the person moving it by hand.
      const where = (name: string, allowed: Array<PyFunction | undefined>) =>
        ctx.refs.of(name).filter((r) => r.kind === 'attribute' && !allowed.some((fn) => inside(fn, r))).map((r) => {
          const m = [...ctx.agent.methods.values()].find((fn) => inside(fn, r));
          return { line: r.line, text: `self.${name} in ${m ? `${m.name}()` : 'the module'} (line ${r.line})` };
        });
      const uses = [...where(a.attr, [init, run]), ...(stop ? where(stop, [init, loop, run]) : [])].sort((x, y) => x.line - y.line).map((x) => x.text);
      unowned?.(
        queue,
        `hands its events to the sender thread ${loop.name}() (${ctx.file}:${loop.line}, taking them off self.${queue} and sending each through ${send.name}()), ` +
          `which is started or stopped outside run(): ${uses.join(', ')}; the migration moves such a thread only when run() alone starts and stops it. ` +
          `By hand: return the events from collect_data() instead of putting them on self.${queue}, and drop the thread with its start, stop and join (what those methods do besides, such as spooling what is left on self.${queue}, stays theirs)`,
      );
      continue;
    }
    return { thread: a.attr, loop: loop.name, queue, send: send.name, stop };
  }
  return null;
}

/** A gRPC / HTTP / socket call in the method and a module constant naming the EventBus in it or a helper it calls. */
export function reachesBus(ctx: PythonTransformContext, fn: PyFunction, callbacks = false): boolean {
  let bus = false;
  let wire = false;
  // With `callbacks`: a function the method defines and hands to its queue's drain
  // (`def one(event): return self.stub.PublishTelemetry(...)`, `self.queue.drain(one)`) is its own code.
  const handed = callbacks ? drainCallbacks(fn) : new Set<number>();
  const visit = (body: SyntaxNode, depth: number) =>
    walk(body, (n) => {
      if (n.type === 'function_definition' && handed.has(n.id)) return;
      if (n.type === 'function_definition' || n.type === 'class_definition') return false;
      if (n.type === 'identifier' && /EVENT_?BUS/i.test(n.text)) bus = true;
      // `self.bus_host` / `self.bus_port`, which __init__ alone sets from the bus's address.
      if (busAddressAttr(ctx, selfAttribute(n))) bus = true;
      // `self.bus.send(event)` on the file's own client class built for the bus in __init__.
      if (n.type === 'call' && busClientCall(ctx, n)) {
        bus = true;
        wire = true;
      }
      if (n.type === 'call') {
        const callee = n.childForFieldName('function');
        const last = callee?.type === 'attribute' ? callee.childForFieldName('attribute')!.text : callee?.text ?? '';
        if (WIRE.test(last)) wire = true;
      }
      const a = depth === 0 ? selfAttribute(n) : null;
      const helper = a ? ctx.agent.methods.get(a) : undefined;
      if (helper && helper !== fn) visit(helper.body, depth + 1);
    });
  visit(fn.body, 0);
  return bus && wire;
}

/** Functions defined at the top of the method's body and handed by name to `self.<store>.drain(...)`. */
function drainCallbacks(fn: PyFunction): Set<number> {
  const defs = new Map<string, SyntaxNode>();
  for (const st of statements(fn.body)) if (st.type === 'function_definition') defs.set(st.childForFieldName('name')!.text, st);
  const out = new Set<number>();
  if (!defs.size) return out;
  walk(fn.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    const d = n.type === 'identifier' ? defs.get(n.text) : undefined;
    if (d && queueDrainArgument(n)) out.add(d.id);
  });
  return out;
}

/** Names, attributes, literals, operators and len(): evaluating it changes nothing. */
export function sideEffectFree(node: SyntaxNode | null): boolean {
  if (!node) return true;
  let ok = true;
  walk(node, (n) => {
    if (!ok) return false;
    if (n.type === 'call' && !/^(len|bool|int|str)$/.test(n.childForFieldName('function')?.text ?? '')) ok = false;
    if (['await', 'yield', 'named_expression', 'lambda', 'list_comprehension', 'generator_expression', 'dictionary_comprehension', 'set_comprehension'].includes(n.type)) ok = false;
  });
  return ok;
}

function identifiers(node: SyntaxNode): string[] {
  const out: string[] = [];
  walk(node, (n) => {
    if (n.type === 'identifier' && n.parent?.type !== 'attribute') out.push(n.text);
    else if (n.type === 'identifier' && n.parent?.childForFieldName('object')?.id === n.id) out.push(n.text);
  });
  return out;
}

function usesName(node: SyntaxNode, name: string): boolean {
  return identifiers(node).includes(name);
}

function reassignedAfter(stmts: SyntaxNode[], name: string): boolean {
  return stmts.some((s) => {
    let hit = false;
    walk(s, (n) => {
      if (hit) return false;
      if (n.type === 'assignment' || n.type === 'augmented_assignment' || n.type === 'for_statement') {
        const left = n.childForFieldName('left');
        if (left && identifiers(left).includes(name) && (left.type === 'identifier' || left.type === 'pattern_list' || left.type === 'tuple_pattern')) hit = true;
      }
    });
    return hit;
  });
}

/** Text of `return <events>` placed after `after`, at its indentation. */
export function returnLine(ctx: PythonTransformContext, after: SyntaxNode, events: string): { at: number; text: string } {
  const indent = indentAt(ctx.source, after.startIndex);
  let at = after.endIndex;
  // After the statement's own line (a trailing comment stays where it was).
  const nl = ctx.source.indexOf('\n', at);
  at = nl === -1 ? ctx.source.length : nl + 1;
  const prefix = nl === -1 ? ctx.layout.eol : '';
  return { at, text: `${prefix}${indent}return ${events}${ctx.layout.eol}` };
}

/**
 * `self.collect()` (the cycle method) as a statement, possibly inside try/except whose handlers only
 * log or sleep; or `n = self.collect()` whose result only log lines read (see resultOnlyLogged).
 */
export function isCollectCall(stmt: SyntaxNode, name: string = COLLECT): boolean {
  const sc = selfCall(stmt);
  if (!sc || sc.method !== name || sc.call.childForFieldName('arguments')!.namedChildCount !== 0) return false;
  return !sc.target || resultOnlyLogged(stmt, sc.target);
}

/**
 * `if n: logger.info("published %d audit events", n)`: an `if` on the name alone (no elif / else)
 * whose body only logs. Like a bare log line, it only tells what the cycle did.
 */
export function resultLogGuard(stmt: SyntaxNode, name: string | null): boolean {
  if (!name || stmt.type !== 'if_statement' || stmt.childForFieldName('alternative')) return false;
  if (stmt.childForFieldName('condition')?.text !== name) return false;
  return logsOnly(stmt.childForFieldName('consequence'));
}

/** A block of log lines only (a docstring aside), at least one. */
function logsOnly(block: SyntaxNode | null): boolean {
  const body = statements(block).filter((x) => !isDocstring(x));
  return body.length > 0 && body.every((x) => x.type === 'expression_statement' && isLogCall(x.namedChild(0)));
}

/**
 * A statement that only logs: a log line, or an `if` whose every branch only logs and whose
 * conditions change nothing (they read names and call only len/min/max/abs/bool/int/isinstance):
 * `if len(self.outbox) % 100 == 0: logger.warning("outbox at %d", len(self.outbox))`.
 */
export function logOnlyStatement(stmt: SyntaxNode): boolean {
  if (stmt.type === 'expression_statement') return isLogCall(expressionOf(stmt));
  if (stmt.type !== 'if_statement') return false;
  const quiet = (cond: SyntaxNode | null): boolean => {
    if (!cond) return false;
    let ok = true;
    walk(cond, (n) => {
      if (n.type === 'named_expression' || n.type === 'lambda' || n.type === 'await' || n.type === 'yield') ok = false;
      if (n.type === 'call' && !/^(len|min|max|abs|bool|int|isinstance)$/.test(n.childForFieldName('function')?.text ?? '')) ok = false;
    });
    return ok;
  };
  if (!quiet(stmt.childForFieldName('condition')) || !logsOnly(stmt.childForFieldName('consequence'))) return false;
  return stmt.namedChildren.every((c) => {
    if (c.type === 'elif_clause') return quiet(c.childForFieldName('condition')) && logsOnly(c.childForFieldName('consequence'));
    if (c.type === 'else_clause') return logsOnly(c.childForFieldName('body'));
    return true;
  });
}

/**
 * `n = self.collect()` then `logger.debug("cycle reported %d events", n)` (or `if n:` around such a
 * log line, see resultLogGuard): the name is bound
 * nowhere else in the method, and every other use of it is a log line standing after the call in
 * the same block. The result is then a value only a log line reads, like a call as a statement.
 */
function resultOnlyLogged(stmt: SyntaxNode, target: SyntaxNode): boolean {
  if (target.type !== 'identifier') return false;
  const name = target.text;
  let fn: SyntaxNode | null = stmt.parent;
  while (fn && fn.type !== 'function_definition') fn = fn.parent;
  const body = fn?.childForFieldName('body');
  const block = stmt.parent;
  if (!body || block?.type !== 'block') return false;
  const later = statements(block).filter((x) => x.startIndex > stmt.endIndex);
  const logs = later.filter((x) => (x.type === 'expression_statement' && isLogCall(x.namedChild(0))) || resultLogGuard(x, name));
  let ok = true;
  walk(body, (n) => {
    if (!ok) return false;
    if (n.type !== 'identifier' || n.text !== name || n.id === target.id) return;
    const p = n.parent;
    if (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) return;
    if (p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === n.id) return;
    if (!logs.some((l) => l.startIndex <= n.startIndex && n.endIndex <= l.endIndex)) ok = false;
  });
  return ok;
}


/**
 * Propose the agent's members of one transport concern (methods by name) and the attributes
 * only transport code uses (set up in __init__, read nowhere else). The removal plan keeps any
 * of them that something left in the file still uses, and reports it.
 */
export function proposeTransport(
  ctx: PythonTransformContext,
  pattern: RegExp,
  finding: 'publish' | 'queue' | 'retry',
  reason: string,
  /** An attribute that stays whatever its users do (the legacy queue the base receives). */
  stays: string | null = null,
  /** Methods of this concern whatever their names (the publisher's own helpers). */
  also: string[] = [],
): void {
  const mine = [...ctx.agent.methods.keys()].filter(
    (m) => (pattern === QUEUE_METHOD ? queueMember(ctx, m) : pattern === PUBLISH_METHOD ? isPublishMethod(ctx, m) && !lastWord(ctx, m) : pattern.test(m)) || also.includes(m),
  );
  for (const name of mine) {
    const fn = ctx.agent.methods.get(name)!;
    // An override of the base's own publish that calls it (a count kept by migrate, see
    // hardened-publisher's countPublished) is no transport of the agent's.
    if (ctx.baseOwned.has(name) && new RegExp(`\\bsuper\\(\\)\\.${name}\\(`).test(fn.body.text)) continue;
    ctx.plan.proposeMember({
      name,
      kind: 'method',
      finding,
      reason,
      // Even when the base has a method of this name, the agent's callers expect the agent's own.
      sharedWithBase: false,
      condition: (scope) => (fn.isAsync ? `${name}() is async; kept` : liveCaller(ctx, name, scope.removed, reason) ?? (pattern === PUBLISH_METHOD ? finalPublish(ctx, name) : null)),
    });
  }
  const transportMethods = [...ctx.agent.methods.values()].filter((m) => isTransport(ctx, m.name));
  const inside = (start: number, end: number) => transportMethods.some((m) => m.outer.startIndex <= start && end <= m.outer.endIndex);
  const init = ctx.agent.methods.get('__init__');
  // What the publisher is handed at the end of __init__ (`EventBusPublisher(timeout=self.timeout)`) stays set there.
  const publisher = analyzePublisher(ctx);
  const handed = new Set(publisher.ok ? publisher.value.shared : []);
  for (const attr of ctx.agent.attributes) {
    if (ctx.baseOwned.has(attr) || ctx.agent.methods.has(attr) || ctx.plan.hasProposal(attr) || attr === stays || handed.has(attr)) continue;
    const refs = ctx.refs.of(attr).filter((r) => r.kind === 'attribute');
    const used = refs.filter((r) => {
      const m = mine.map((n) => ctx.agent.methods.get(n)!).find((f) => f.outer.startIndex <= r.start && r.end <= f.outer.endIndex);
      return !!m;
    });
    if (!used.length) continue;
    const elsewhere = refs.some((r) => !inside(r.start, r.end) && !(init && init.outer.startIndex <= r.start && r.end <= init.outer.endIndex));
    if (elsewhere) continue;
    const users = transportMethods.filter((m) => refs.some((r) => m.outer.startIndex <= r.start && r.end <= m.outer.endIndex)).map((m) => m.name);
    ctx.plan.proposeMember({
      name: attr,
      kind: 'attribute',
      finding,
      reason: `state of the agent's own ${finding} code`,
      sharedWithBase: false,
      // Kept, it keeps its set-up and every use that stays byte for byte: nothing of the agent's
      // behaviour is lost and nothing dangles (what it no longer does is the warning of the
      // transport or queue that went, and a kept method using it is reported itself).
      safeToKeep: true,
      // Its statements would be swept out of a method that stays: it goes only with all its users.
      condition: (scope) => {
        const kept = users.filter((u) => !scope.removed.has(u));
        return kept.length ? `state of the agent's own ${finding} code, used by ${kept.map((k) => `${k}()`).join(', ')}, which stays` : null;
      },
    });
  }
}

/**
 * A call of a transport method from code that stays. The removal plan would sweep a bare
 * `self._publish_event(alert)` statement away with the method; from business code that is
 * lost behaviour, so only calls inside removed methods, or in collect() statements that go
 * (their own conditions met), let the method go.
 */
/**
 * A publish of the agent's own that run()'s `finally:` calls (`self._publish_stopping()`: a last
 * "agent_stopping" event built from the agent's state) and that does not move into EventBusPublisher:
 * it is no transport but the agent's last word. Removed with run(), its call went from the teardown
 * shutdown() takes over and the event was silently never sent; kept, a person maps it onto the base's
 * publish (shutdown() runs before the base closes its publisher). The reason, or null.
 */
function finalPublish(ctx: PythonTransformContext, name: string): string | null {
  const run = ctx.agent.methods.get(LEGACY_RUN);
  if (!run) return null;
  const pub = analyzePublisher(ctx);
  if (pub.ok && (pub.value.entry.name === name || pub.value.moved.some((m) => m.name === name))) return null;
  for (const r of ctx.refs.of(name)) {
    if (r.kind !== 'attribute' || !(run.outer.startIndex <= r.start && r.end <= run.outer.endIndex)) continue;
    let inFinally = false;
    for (let p: SyntaxNode | null = r.node; p && p.id !== run.node.id; p = p.parent) if (p.type === 'finally_clause') inFinally = true;
    if (!inFinally) continue;
    const stmt = enclosingStatement(r.node);
    return `${name}() publishes the agent's own last event from run()'s finally: (line ${r.line}: ${excerpt(stmt.text, 60)}), and does not move into EventBusPublisher: ` +
      `removed with run(), that event would never be sent; ${ctx.profile.base_class} runs shutdown() before it closes its publisher, so call it from shutdown() publishing through the base (${ctx.base.queuedPublish ?? 'its publish'}) by hand`;
  }
  return null;
}

/**
 * run()'s finally: sends the agent's last event through `name` (finalPublish), and each of its sends
 * becomes the base's queued publish (hardened-business-publish): the agent's own code, not transport; it
 * stays, its call moving into shutdown() with the teardown, which the base runs before closing its publisher.
 */
function lastWord(ctx: PythonTransformContext, name: string): boolean {
  const fn = ctx.agent.methods.get(name);
  const pub = analyzePublisher(ctx);
  if (!fn || !pub.ok || !finalPublish(ctx, name)) return false;
  const sends = [pub.value.entry.name, ...pub.value.moved.map((m) => m.name)].flatMap((n) => ctx.refs.of(n))
    .filter((r) => r.kind === 'attribute' && fn.outer.startIndex <= r.start && r.end <= fn.outer.endIndex);
  return sends.length > 0 && sends.every((r) => redirectedPublish(ctx, r.node));
}

function liveCaller(ctx: PythonTransformContext, name: string, removed: Set<string>, reason: string): string | null {
  const own = ctx.agent.methods.get(name)!;
  const collect = analyzeCollect(ctx);
  const goes = (r: { start: number; end: number }): boolean => {
    const m = [...ctx.agent.methods.values()].find((f) => f.outer.startIndex <= r.start && r.end <= f.outer.endIndex);
    if (m && removed.has(m.name)) return true;
    if (!collect.ok) return false;
    const runGoes = !ctx.agent.methods.has(LEGACY_RUN) || removed.has(LEGACY_RUN);
    const inside = (list: SyntaxNode[]) => list.some((s) => s.startIndex <= r.start && r.end <= s.endIndex);
    if (inside(collect.value.publishStmts)) return runGoes;
    if (inside(collect.value.drainStmts)) return runGoes && queueMethods(ctx).every((q) => removed.has(q));
    return false;
  };
  for (const r of ctx.refs.of(name)) {
    if (r.kind === 'identifier') continue;
    if (own.outer.startIndex <= r.start && r.end <= own.outer.endIndex) continue;
    if (goes(r)) continue;
    // Business code publishing at once: it calls the base's queued publish instead (hardened-business-publish).
    if (redirectedPublish(ctx, r.node)) continue;
    // `atexit.register(self._close_conn)` in __init__: registered on the publisher instead (hardened-publisher).
    const pub = analyzePublisher(ctx);
    if (pub.ok && pub.value.exitHooks.some((h) => h.startIndex <= r.start && r.end <= h.endIndex)) continue;
    const stmt = enclosingStatement(r.node);
    return `${reason}, but still called at line ${r.line} (${excerpt(stmt.text, 60)}); business code keeps it`;
  }
  return null;
}

/** The agent's methods that put events in its legacy queue (what a drain would still be needed for). */
export function queueMethods(ctx: PythonTransformContext): string[] {
  return [...ctx.agent.methods.keys()].filter((m) => queueMember(ctx, m) && !isDrain(ctx, m));
}

function enclosingStatement(n: SyntaxNode): SyntaxNode {
  let s = n;
  while (s.parent && s.parent.type !== 'block' && s.parent.type !== 'module') s = s.parent;
  return s;
}

/** Names used by code the hardened transforms move elsewhere in the module (setup(), EventBusPublisher). */
const movedNames = new WeakMap<PythonTransformContext, Set<string>>();

export function noteMovedCode(ctx: PythonTransformContext, node: SyntaxNode): void {
  const names = movedNames.get(ctx) ?? new Set<string>();
  movedNames.set(ctx, names);
  walk(node, (n) => {
    if (n.type === 'identifier') names.add(n.text);
  });
}

/** Does code the hardened transforms moved use this name? */
export function movedCodeUses(ctx: PythonTransformContext, name: string): boolean {
  return movedNames.get(ctx)?.has(name) ?? false;
}

/**
 * Concern: code that moved keeps its imports. prune-imports counts an import unused when all
 * its uses lie in removed code; code the hardened transforms moved out of a removed method
 * (run()'s start-up lines, the transport) still uses it, so that deletion is withdrawn.
 */
export const keepMovedImports: PythonTransform = {
  name: 'hardened-moved-imports',
  phase: 'edit',
  run(ctx) {
    const names = movedNames.get(ctx);
    if (!names?.size) return;
    for (let i = ctx.deletions.length - 1; i >= 0; i--) {
      const d = ctx.deletions[i]!;
      if (!d.symbol.startsWith('import ')) continue;
      const locals = [...ctx.module.imports.entries()].filter(([, imp]) => imp.node.id === d.node.id).map(([local]) => local);
      if (locals.some((n) => names.has(n))) ctx.deletions.splice(i, 1);
    }
  },
};

/**
 * Where code is appended to __init__: after its last statement that stays (not removed, not
 * moved), at that statement's indentation. Null when __init__ keeps nothing.
 */
export function initTail(ctx: PythonTransformContext, skip: (stmt: SyntaxNode) => boolean = () => false): { at: number; indent: string } | null {
  const init = ctx.agent.methods.get('__init__');
  if (!init) return null;
  const body = statements(init.body).filter((x) => !isRemoved(ctx, x) && !skip(x));
  const last = body[body.length - 1];
  if (!last) return null;
  const nl = ctx.source.indexOf('\n', last.endIndex);
  return { at: nl === -1 ? ctx.source.length : nl + 1, indent: indentAt(ctx.source, last.startIndex) };
}

/**
 * `self.<client>.<method>(...)` where __init__ sets `self.<client> = Client(...)` once, `Client` is a
 * class of this file built for the bus (its arguments or its own code name the EventBus), and
 * `Client.<method>` puts bytes on the wire (a gRPC stub, HTTP, a socket call): the agent's own
 * small client wrapper (`self.bus = BusClient(EVENTBUS_URL)`, `self.bus.send(event)`).
 */
export function busClientCall(ctx: PythonTransformContext, call: SyntaxNode): boolean {
  const f = call.childForFieldName('function');
  if (f?.type !== 'attribute') return false;
  const obj = f.childForFieldName('object');
  const attr = obj ? selfAttribute(obj) : null;
  if (!attr || obj!.type !== 'attribute') return false;
  const client = busClientClass(ctx, attr);
  const m = client?.methods.get(f.childForFieldName('attribute')!.text);
  if (!m || m.isAsync) return false;
  let wire = false;
  walk(m.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition') return false;
    if (n.type !== 'call') return;
    const c = n.childForFieldName('function');
    const last = c?.type === 'attribute' ? c.childForFieldName('attribute')!.text : c?.text ?? '';
    if (WIRE.test(last)) wire = true;
  });
  return wire;
}

/**
 * `self.<attr>` is the bus's address: __init__ alone sets it, once, from the module's bus constant
 * (`self.bus_host = url.hostname or "127.0.0.1"` after `url = urlparse(EVENTBUS_URL)`, a local of
 * __init__ bound once at its top level, or `self.target = EVENTBUS_ADDRESS` directly).
 */
export function busAddressAttr(ctx: PythonTransformContext, attr: string | null, depth = 0): boolean {
  if (!attr || ctx.agent.methods.has(attr) || depth > 2) return false;
  const sets = ctx.agent.assignments.filter((a) => a.attr === attr);
  const init = ctx.agent.methods.get('__init__');
  if (sets.length !== 1 || sets[0]!.method !== '__init__' || !sets[0]!.value || !init) return false;
  const locals = new Map<string, SyntaxNode[]>();
  for (const st of statements(init.body)) {
    const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
    const left = e?.type === 'assignment' ? e.childForFieldName('left') : null;
    if (left?.type === 'identifier') locals.set(left.text, [...(locals.get(left.text) ?? []), e!.childForFieldName('right')!]);
  }
  let bus = false;
  walk(sets[0]!.value, (n) => {
    // Built from other state __init__ built for the bus (`self.stub = Stub(self.channel)`, the
    // channel opened on EVENTBUS_ADDRESS).
    const other = selfAttribute(n);
    if (other && other !== attr && busAddressAttr(ctx, other, depth + 1)) bus = true;
    if (n.type !== 'identifier' || n.parent?.type === 'keyword_argument') return;
    if (n.parent?.type === 'attribute' && n.parent.childForFieldName('object')?.id !== n.id) return;
    if (/EVENT_?BUS/i.test(n.text)) bus = true;
    const bound = locals.get(n.text);
    if (bound?.length === 1) walk(bound[0]!, (x) => {
      if (x.type === 'identifier' && /EVENT_?BUS/i.test(x.text)) bus = true;
    });
  });
  return bus;
}

/** The file's class that `self.<attr>` holds, when __init__ alone sets it, to `Class(...)` built for the bus. */
export function busClientClass(ctx: PythonTransformContext, attr: string): PyClass | null {
  const sets = ctx.agent.assignments.filter((a) => a.attr === attr);
  if (sets.length !== 1 || sets[0]!.method !== '__init__') return null;
  const v = sets[0]!.value;
  const callee = v?.type === 'call' ? v.childForFieldName('function') : null;
  if (callee?.type !== 'identifier') return null;
  const cls = ctx.module.classes.find((c) => c.name === callee.text && c.name !== ctx.agent.cls.name);
  if (!cls || cls.node.startPosition.column !== 0) return null;
  const forBus = /EVENT_?BUS/i.test(v!.childForFieldName('arguments')!.text) || /EVENT_?BUS/i.test(cls.body.text);
  return forBus ? cls : null;
}

/** A method the cycle calls that reaches the bus but is no publish by name or shape, and why not. */
/**
 * The cycle publishes through an attribute the agent binds to `functools.partial(<publish>, ...)`
 * (`self._send = functools.partial(self._publish_events, timeout=self.rpc_timeout, source="auth")`,
 * `self.emit = partial(emit, agent=self, deadline=deadline)`), the partial's target reaching the bus:
 * the call `self._send(telemetry)` names no method, so nothing of the publish is recognised. Why, with
 * the alias's line and what it binds, or null when the cycle calls no such alias.
 */
function partialAliasPublish(ctx: PythonTransformContext, cycle: PyFunction): string | null {
  const aliases = new Map<string, { line: number; text: string; target: PyFunction }>();
  for (const m of ctx.agent.methods.values()) {
    walk(m.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      if (n.type !== 'assignment') return;
      const attr = selfAttribute(n.childForFieldName('left')!);
      const right = n.childForFieldName('right');
      if (!attr || ctx.agent.methods.has(attr) || right?.type !== 'call') return;
      const fnText = right.childForFieldName('function')!.text;
      const imp = ctx.module.imports.get(fnText.split('.')[0]!);
      const isPartial = fnText === 'functools.partial' ? imp?.module === 'functools' && imp.name === null : imp?.module === 'functools' && imp.name === 'partial' && !fnText.includes('.');
      const first = right.childForFieldName('arguments')?.namedChildren[0];
      if (!isPartial || !first) return;
      const own = selfAttribute(first);
      const target = own ? ctx.agent.methods.get(own) : first.type === 'identifier' ? ctx.module.functions.get(first.text) : undefined;
      if (target && reachesBus(ctx, target)) aliases.set(attr, { line: n.startPosition.row + 1, text: n.text.replace(/\s+/g, ' '), target });
    });
  }
  if (!aliases.size) return null;
  let found: { attr: string; at: number } | null = null;
  walk(cycle.body, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return n.id === cycle.node.id ? undefined : false;
    if (n.type !== 'call') return;
    const attr = selfAttribute(n.childForFieldName('function')!);
    if (attr && aliases.has(attr)) found = { attr, at: n.startPosition.row + 1 };
  });
  if (!found) return null;
  const { attr, at } = found as { attr: string; at: number };
  const a = aliases.get(attr)!;
  const owner = ctx.agent.methods.has(a.target.name) ? `${a.target.name}()` : `the module function ${a.target.name}()`;
  // Why the alias is not resolved onto the base (a bound value no default can hold, another use of it).
  const why = ctx.agent.methods.has(a.target.name) ? partialAliasBlocker(ctx.module, ctx.agent.cls, attr) : null;
  return `${cycle.name}() publishes through self.${attr} (line ${at}), a functools.partial alias of ${owner} (${ctx.file}:${a.target.line}) bound at line ${a.line} (${a.text.slice(0, 100)}): ` +
    `the migration follows a publish called by name, not through an alias whose bound arguments would have to move with it${why ? ` (${why})` : ''}; call ${a.target.name}() with those arguments at line ${at} (or make them its defaults), then run migrate again`;
}

function unshapedSender(ctx: PythonTransformContext, cycle: PyFunction): { fn: PyFunction; why: string; hint?: string } | null {
  const called: string[] = [];
  walk(cycle.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return n.id === cycle.node.id ? undefined : false;
    if (n.type !== 'call') return;
    const f = n.childForFieldName('function');
    const a = f?.type === 'attribute' ? selfAttribute(f) : null;
    if (a && ctx.agent.methods.has(a) && !called.includes(a)) called.push(a);
  });
  // What the cycle gathers on the agent (`self.batch.extend(events)`, `self.batch.append(e)`): a batch
  // kept across cycles, which a method taking no events sends when the cycle decides to flush it.
  const gathered = new Map<string, SyntaxNode>();
  walk(cycle.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return n.id === cycle.node.id ? undefined : false;
    if (n.type !== 'call') return;
    const f = n.childForFieldName('function');
    const store = f?.type === 'attribute' && /^(append|extend)$/.test(f.childForFieldName('attribute')!.text) ? selfAttribute(f.childForFieldName('object')!) : null;
    if (store && !gathered.has(store)) gathered.set(store, n);
  });
  const sendsBatch = (fn: PyFunction): string | null => {
    let hit: string | null = null;
    walk(fn.body, (n) => {
      if (hit || n.type === 'function_definition' || n.type === 'class_definition') return n.id === fn.node.id ? undefined : false;
      const a = selfAttribute(n);
      if (a && gathered.has(a)) hit = a;
    });
    return hit;
  };
  // The method the cycle hands its events to comes first: a re-send of the backlog the cycle calls
  // before it (no parameters) is not what stands in the way, the publish is (one that takes the
  // events, else one that sends the batch the cycle gathers).
  const takesEvent = (m: string) => takesOneEvent(ctx.agent.methods.get(m)!);
  const rank = (m: string) => (takesEvent(m) ? 2 : sendsBatch(ctx.agent.methods.get(m)!) ? 1 : 0);
  called.sort((x, y) => rank(y) - rank(x));
  for (const name of called) {
    const fn = ctx.agent.methods.get(name)!;
    if (isPublish(ctx, name) || isDrain(ctx, name) || !reachesBusThroughHelpers(ctx, fn)) continue;
    const params = fn.params.filter((p, i) => i > 0 && p.kind !== 'separator');
    const batch = !params.length ? sendsBatch(fn) : null;
    if (batch) {
      // Where the cycle calls it: under the flush rule (`if too_big or too_old:`), or each cycle.
      let call: SyntaxNode | null = null;
      walk(cycle.body, (n) => {
        if (call || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return n.id === cycle.node.id ? undefined : false;
        if (n.type === 'call' && selfAttribute(n.childForFieldName('function')!) === name) call = n;
      });
      let guard: SyntaxNode | null = null;
      for (let p = (call as SyntaxNode | null)?.parent ?? null; p && p.id !== cycle.node.id; p = p.parent) {
        if (p.type === 'if_statement') {
          guard = p;
          break;
        }
      }
      const grown = gathered.get(batch)!;
      const when = guard ? `only when line ${guard.startPosition.row + 1} says so (${excerpt(guard.text, 60)})` : 'at the end of the cycle';
      return {
        fn,
        why: `sends self.${batch}, a batch ${cycle.name}() gathers across cycles (line ${grown.startPosition.row + 1}: ${grown.text.slice(0, 50)}) and flushes ${when}`,
        hint: 'the base publishes what collect_data() returns at the end of every cycle, so how that batching maps onto it (dropped, or kept inside collect_data()) is a person\'s call',
      };
    }
    let failure = false;
    let queues: string | null = null;
    // `return ok` (a local holding the answer): an answer, but not one read as the refusal.
    let computed: SyntaxNode | null = null;
    walk(fn.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'class_definition') return false;
      if (n.type === 'return_statement' && n.namedChild(0)?.type === 'false') failure = true;
      if (!computed && n.type === 'return_statement' && n.namedChild(0) && !['false', 'true', 'none'].includes(n.namedChild(0)!.type)) computed = n;
      if (!queues && n.type === 'call') {
        const f = n.childForFieldName('function');
        const obj = f?.type === 'attribute' ? f.childForFieldName('object') : null;
        const store = obj ? selfAttribute(obj) : null;
        if (store && /^(append|extend|put|enqueue|appendleft)$/.test(f!.childForFieldName('attribute')!.text)) queues = `self.${store}.${f!.childForFieldName('attribute')!.text}() at line ${n.startPosition.row + 1}`;
      }
    });
    // `for start in range(0, len(events), BATCH_SIZE): ... self.breaker.call(self._publish_batch, batch)` with
    // its own fallback per batch: a sender of batches, each through the agent's breaker (named as such).
    const batched = !fn.isAsync && !failure ? batchesThroughBreaker(ctx, fn, cycle) : null;
    if (batched) return { fn, ...batched };
    const why = fn.isAsync
      ? 'is async'
      : !moduleDecorators(ctx, fn)
        ? `is decorated by @${fn.decorators.join(', @')}, not a function of this file`
        : !takesOneEvent(fn)
          ? `takes ${params.length} arguments, not one event`
          : !failure
            ? computed
              ? `answers with \`${excerpt((computed as SyntaxNode).text, 40)}\` (line ${(computed as SyntaxNode).startPosition.row + 1}), never a literal \`return False\` the base's publisher contract reads as a refusal${queues ? `, and keeps what fails itself (${queues})` : ''}`
              : `never answers a failure with \`return False\`${queues ? ` (it keeps what fails itself: ${queues})` : ''}`
            : 'is not the only thing the cycle sends with';
    return { fn, why };
  }
  return null;
}

/**
 * A sender that cuts the events into batches and sends each through the agent's own breaker object
 * (`for start in range(0, len(events), BATCH_SIZE): batch = ...; try: self.breaker.call(self._publish_batch, batch)
 * except ...: self._queue_batch(batch)`): it answers no failure, it keeps what fails itself, batch by batch.
 * The review names the loop, the breaker call, the per-batch fallback and whatever reads the sender's answer.
 */
function batchesThroughBreaker(ctx: PythonTransformContext, fn: PyFunction, cycle: PyFunction): { why: string; hint: string } | null {
  const line = (n: SyntaxNode) => n.startPosition.row + 1;
  const short = (n: SyntaxNode) => excerpt(n.text, 60);
  let loop: SyntaxNode | null = null;
  let through: ReturnType<typeof breakerCall> = null;
  walk(fn.body, (n) => {
    if (through || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return n.id === fn.node.id ? undefined : false;
    if (n.type !== 'for_statement') return;
    walk(n.childForFieldName('body')!, (c) => {
      if (through || c.type === 'function_definition' || c.type === 'lambda') return false;
      const b = c.type === 'call' ? breakerCall(ctx, c) : null;
      if (b) {
        through = b;
        loop = n;
      }
    });
  });
  if (!through || !loop) return null;
  const b = through as NonNullable<ReturnType<typeof breakerCall>>;
  const forLoop = loop as SyntaxNode;
  // What the loop does with a batch that failed: the agent methods its handlers call (`self._queue_batch(batch)`).
  const kept: string[] = [];
  const tries: SyntaxNode[] = [];
  walk(forLoop, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda') return false;
    if (n.type === 'try_statement') tries.push(n);
  });
  for (const t of tries) {
    for (const c of t.namedChildren) {
      if (c.type !== 'except_clause') continue;
      walk(c, (n) => {
        if (n.type !== 'call') return;
        const m = selfAttribute(n.childForFieldName('function')!);
        const text = `${excerpt(n.text, 40)} at line ${line(n)}`;
        if (m && ctx.agent.methods.has(m) && !kept.some((k) => k.startsWith(excerpt(n.text, 40)))) kept.push(text);
      });
    }
  }
  // Where the cycle reads what the sender answers (`sent = self._ship(events)`).
  let read: SyntaxNode | null = null;
  walk(cycle.body, (n) => {
    if (read || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return n.id === cycle.node.id ? undefined : false;
    if (n.type === 'call' && selfAttribute(n.childForFieldName('function')!) === fn.name && n.parent?.type !== 'expression_statement') read = n.parent;
  });
  const stmt = read as SyntaxNode | null;
  return {
    why: `sends the events one batch at a time (line ${line(forLoop)}: ${short(forLoop)}) through its own breaker, ${excerpt(b.call.text, 60)} (line ${line(b.call)})` +
      (kept.length ? `, keeping a failed batch itself (${kept.join(', ')})` : '') +
      (stmt ? `, and ${cycle.name}() reads what it answers (line ${line(stmt)}: ${short(stmt)})` : ''),
    hint: `the base publishes collect_data()'s events in one publish(events) after the cycle, behind its own breaker, answering nothing to the cycle: ` +
      `return the batches from collect_data() and send each with ${b.helper}() in EventBusPublisher.publish() by hand` +
      (stmt ? `, and decide what replaces that answer (/health counts events_published)` : ''),
  };
}

/** reachesBus, following the agent's helper methods to any depth (`_send` → `_write_lines` → `_connect`). */
export function reachesBusThroughHelpers(ctx: PythonTransformContext, fn: PyFunction): boolean {
  let bus = false;
  let wire = false;
  const seen = new Set<string>();
  const visit = (f: PyFunction) => {
    if (seen.has(f.name)) return;
    seen.add(f.name);
    walk(f.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'class_definition') return false;
      if (n.type === 'identifier' && /EVENT_?BUS/i.test(n.text)) bus = true;
      if (busAddressAttr(ctx, selfAttribute(n))) bus = true;
      if (n.type === 'call') {
        if (busClientCall(ctx, n)) bus = wire = true;
        const c = n.childForFieldName('function');
        const last = c?.type === 'attribute' ? c.childForFieldName('attribute')!.text : c?.text ?? '';
        if (WIRE.test(last)) wire = true;
      }
      const a = selfAttribute(n);
      const helper = a ? ctx.agent.methods.get(a) : undefined;
      if (helper) visit(helper);
    });
  };
  visit(fn);
  return bus && wire;
}

/**
 * `agent.collect()` as a statement of the entry point (a `--once` mode: `if args.once: agent.collect();
 * return`), `agent` built there from the agent class: under the base, one cycle is its own one pass
 * (the profile's cycle_method, HardenedAgentBase.run_cycle(): collect_data(), validate, enrich, the
 * queued backlog, the publish with retries and the local-queue fallback), which never raises. The call
 * becomes that one only when nothing reads its answer and the legacy cycle never raised either (its
 * body one `try:` whose handler catches every Exception and raises nothing), so the one-shot mode ends
 * as before, exit status included. Answers the called name's node (to rename), else null.
 */
export function oneShotCycleCall(ctx: PythonTransformContext, cycle: PyFunction, ref: SyntaxNode): SyntaxNode | null {
  return oneShotCall(ctx, ref) && neverRaises(cycle) ? ref : null;
}

/**
 * The entry point's one-shot `agent.collect()` whose cycle may raise (a traceback and exit status 1 on a
 * failed cycle): the base's one pass never raises, but counts what it caught in its health summary's
 * cycle_failures field, so `agent.run_cycle()` followed by `if agent.health_summary().get("errors"):
 * raise SystemExit(1)` exits as the legacy mode did. Only on a named agent (read again after the pass),
 * outside any `try:` of the entry point (a handler there caught the legacy exception, and would not
 * catch SystemExit). The call's receiver node, else null.
 */
/** The innermost `try:` or `with` around the node inside its function (or the module). */
function enclosingGuard(node: SyntaxNode): SyntaxNode | null {
  for (let p: SyntaxNode | null = node.parent; p && p.type !== 'function_definition' && p.type !== 'module'; p = p.parent) {
    if (p.type === 'try_statement' || p.type === 'with_statement') return p;
  }
  return null;
}

export function oneShotRaisingCycleCall(ctx: PythonTransformContext, cycle: PyFunction, ref: SyntaxNode): SyntaxNode | null {
  const failures = ctx.py.cycle_failures;
  const summary = ctx.py.health_hook;
  if (!failures || !summary || !ctx.base.methods.has(summary) || ctx.agent.methods.has(summary)) return null;
  if (!oneShotCall(ctx, ref) || neverRaises(cycle)) return null;
  const attr = ref.parent!;
  if (attr.childForFieldName('object')?.type !== 'identifier' || enclosingGuard(attr)) return null;
  return ref;
}

/**
 * `ok = agent.collect()` in the entry point's one-shot mode (then `return 0 if ok else 3`), where collect()
 * has no `try:` (a failure raises: a traceback, exit status 1) and answers only what its publish answered
 * (`ok = self._publish(t)` ... `return ok`, the publish yes/no on every path: True when the bus took it,
 * False when it was queued). The base's one pass answers nothing, but its health summary counts what it
 * caught (cycle_failures) and what it queued (cycle_queued) in this fresh process: `agent.run_cycle()`,
 * exit 1 when it caught a failure, then `ok = not <queued>`, the same answer. The receiver node, else null.
 */
export function oneShotAnswerCycleCall(ctx: PythonTransformContext, cycle: PyFunction, ref: SyntaxNode): SyntaxNode | null {
  const { cycle_failures: failures, cycle_queued: queued, health_hook: summary } = ctx.py;
  if (!failures || !queued || !summary || !ctx.base.methods.has(summary) || ctx.agent.methods.has(summary)) return null;
  if (!oneShotCall(ctx, ref, true) || enclosingGuard(ref.parent!)) return null;
  if (ref.parent!.childForFieldName('object')?.type !== 'identifier') return null;
  return publishAnswer(ctx, cycle) ? ref : null;
}

/** collect()'s body binds `<local> = self.<publish>(<event>)` once, has no try:, and every return is `return <local>`, last. */
function publishAnswer(ctx: PythonTransformContext, cycle: PyFunction): string | null {
  const body = statements(cycle.body).filter((x) => !isDocstring(x));
  const last = body[body.length - 1];
  const local = last?.type === 'return_statement' && last.namedChild(0)?.type === 'identifier' ? last.namedChild(0)!.text : null;
  if (!local) return null;
  let ok = true;
  let binds = 0;
  walk(cycle.body, (n) => {
    if (!ok || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return n.id === cycle.node.id ? undefined : false;
    if (n.type === 'try_statement' || n.type === 'yield') ok = false;
    if (n.type === 'return_statement' && n.namedChild(0)?.text !== local) ok = false;
    if ((n.type === 'assignment' || n.type === 'augmented_assignment') && n.childForFieldName('left')?.text === local) {
      binds++;
      const right = n.childForFieldName('right');
      const m = right?.type === 'call' ? selfAttribute(right.childForFieldName('function')!) : null;
      const top = n.parent?.type === 'expression_statement' && n.parent.parent?.id === cycle.body.id;
      if (n.type !== 'assignment' || !top || !m || !isPublish(ctx, m) || !isTransport(ctx, m) || !answersYesNo(ctx, m)) ok = false;
    }
  });
  return ok && binds === 1 ? local : null;
}

/** The entry point's `agent.collect()` statement on the agent it builds (whatever the cycle may raise). */
function oneShotCall(ctx: PythonTransformContext, ref: SyntaxNode, assigned = false): boolean {
  const one = ctx.py.cycle_method;
  if (!one || !ctx.base.methods.has(one) || ctx.agent.methods.has(one)) return false;
  const attr = ref.parent;
  if (attr?.type !== 'attribute' || attr.childForFieldName('attribute')?.id !== ref.id) return false;
  const call = attr.parent;
  if (call?.type !== 'call' || call.childForFieldName('function')?.id !== attr.id || call.childForFieldName('arguments')?.namedChildren.length) return false;
  // A statement of its own, or (assigned) `<name> = agent.collect()` as one.
  const asg = assigned && call.parent?.type === 'assignment' && call.parent.childForFieldName('right')?.id === call.id && call.parent.childForFieldName('left')?.type === 'identifier' ? call.parent : null;
  const stmt = assigned ? asg?.parent : call.parent;
  if (stmt?.type !== 'expression_statement' || stmt.namedChildCount !== 1 || (assigned && !asg)) return false;
  const scope = entryScopes(ctx.module).find((sc) => sc.startIndex <= call.startIndex && call.endIndex <= sc.endIndex);
  if (!scope) return false;
  // The receiver is the agent built in that scope: `Agent(...).collect()` or `v = Agent(...)` before it, v bound once there.
  const factories = factoryMethods(ctx.agent.cls);
  const obj = attr.childForFieldName('object')!;
  if (obj.type === 'call') {
    if (!constructsClass(obj, ctx.agent.cls, factories)) return false;
  } else {
    if (obj.type !== 'identifier') return false;
    const binds: SyntaxNode[] = [];
    walk(scope, (n) => {
      if (n.type === 'function_definition' && n.id !== scope.id) return false;
      if (n.type === 'class_definition' || n.type === 'lambda') return false;
      if ((n.type === 'assignment' || n.type === 'augmented_assignment') && n.childForFieldName('left')?.text === obj.text) binds.push(n);
      if ((n.type === 'for_statement' || n.type === 'with_statement' || n.type === 'global_statement') && n.text.includes(obj.text)) binds.push(n);
    });
    const right = binds.length === 1 && binds[0]!.type === 'assignment' ? binds[0]!.childForFieldName('right') : null;
    if (!right || right.type !== 'call' || !constructsClass(right, ctx.agent.cls, factories) || binds[0]!.endIndex > call.startIndex) return false;
  }
  return true;
}

/** The method's body is one `try:` whose handlers catch every Exception (or everything) and raise nothing. */
function neverRaises(fn: PyFunction): boolean {
  const body = statements(fn.body).filter((s) => !isDocstring(s));
  const t = body.length === 1 && body[0]!.type === 'try_statement' ? body[0]! : null;
  if (!t || t.namedChildren.some((c) => c.type === 'else_clause' || c.type === 'except_group_clause')) return false;
  const handlers = t.namedChildren.filter((c) => c.type === 'except_clause');
  const catchesAll = handlers.some((h) => {
    const what = h.namedChildren.find((c) => c.type !== 'block' && c.type !== 'comment');
    const type = what?.type === 'as_pattern' ? what.namedChild(0) : what;
    return !type || /^(Exception|BaseException)$/.test(type.text);
  });
  let raises = false;
  for (const part of [...handlers, ...t.namedChildren.filter((c) => c.type === 'finally_clause')]) {
    walk(part, (n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      if (n.type === 'raise_statement') raises = true;
    });
  }
  return catchesAll && !raises;
}
