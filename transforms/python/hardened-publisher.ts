// Concern (seed 001): the transport moves, it is not lost. The legacy publish method that
// collect() called (with the channel helper it uses) leaves the agent class and becomes the
// agent module's own `EventBusPublisher`: the methods' text is moved verbatim, except that
// the publish method's failure paths (`return False`, `return self._queue_x(...)`, the
// fallback HardenedAgentBase now owns) raise instead, so the base sees a failed publish and
// retries, then queues. The agent hands it to the base as `eventbus_publisher`; its legacy
// queue, whose interface differs from the base's, goes to the base as `local_queue` through
// `LocalQueueAdapter` (templates/runtime), so a backlog it already holds is drained too.
// When any part cannot be moved whole (the publish calls other agent methods, writes agent
// state, ...), nothing moves and the base publishes nothing: that is reported.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved, keep } from '../../src/lang/python/transform-context.js';
import { bindingsOf, expressionOf, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { lineEnd, lineStart } from '../../src/lang/python/text.js';
import { isLogCall, isTrivial } from '../../src/analysis/infra.js';
import { importAnchor } from './add-import.js';
import { breakerCall, breakerQuery, otherBreakerUse, classWhere, unwrappedText, type BreakerCall } from './hardened-breaker-call.js';
import { selfRefusals } from './publish-self-refusal.js';
import { handOffClassText, HANDOFF_CLASS, sendsAndKeepsNothing } from './hardened-refusal-handoff.js';
import { agentModuleCall, type AgentModuleCall, analyzeCollect, type CollectPlan, isTransport, contextManagerDecorator, HOOK, initTail, LEGACY_RUN, moduleDecorators, movableHelperDecorators, noteMovedCode, logOnlyStatement, queueMember, isDrain, isPublishMethod, DRAIN, PUBLISH, PUBLISH_METHOD, QUEUE_METHOD, RETRY_METHOD, publishFallbacks, selfCall, takesOneEvent, countingKeepers, cycleHandOffs, type Analysis } from './hardened-shapes.js';
import { excerpt } from '../../src/core/excerpt.js';

const label = 'hardened-publisher';
const CLASS = 'EventBusPublisher';
const ADAPTER_IMPORT = 'from amoskys.agents.common.queue_adapter import LocalQueueAdapter';
const ADAPTER = 'LocalQueueAdapter';

export interface PublisherPlan {
  /** The method collect() published with; `publish(events)` calls it once per event. */
  entry: PyFunction;
  /** Agent methods that move into the publisher (entry first, then its helpers, in file order). */
  moved: PyFunction[];
  /** Return statements of the entry method that report a failure: they raise instead. */
  failures: Array<{ node: SyntaxNode; inHandler: boolean }>;
  /**
   * `self.published += 1` right before the entry's `return True`: a count of what it published that the
   * agent reads elsewhere (a status). Cut from the moved code; the agent keeps counting in an override of
   * the base's queued publish (True when published), adding the events the base published.
   */
  counts?: Array<{ attr: string; stmt: SyntaxNode }>;
  /**
   * Statements that put the event into the legacy queue right before a failure result
   * (`self.queue.enqueue(t, key)` / `self._queue_event(event)`, then `return False`): the base
   * queues what a failed publish did not send, so they go (kept, every failure would be queued twice).
   */
  fallbacks: SyntaxNode[];
  /**
   * The entry reports the bus's answer as its value (`return response.status == 200`) rather
   * than with `return False`: publish() raises when it is falsy.
   */
  checkResult: boolean;
  /** Transport-only attributes: their __init__ assignments move into the publisher's __init__. */
  movedState: Array<{ attr: string; stmt: SyntaxNode }>;
  /** Agent attributes the moved code reads (a queue size in a log line): handed to the publisher. */
  shared: string[];
  /**
   * Agent attributes the moved code only reads while another method of the agent keeps changing them
   * (`"cycle": self.cycles`, which collect() increments): the publisher is handed a callable
   * (`cycles=lambda: self.cycles`) and reads the value through a property at each publish.
   */
  live: Array<{ attr: string; method: string; line: number; stmt: string }>;
  /** The legacy queue attribute the base receives through LocalQueueAdapter, if any. */
  queue: string | null;
  /**
   * The entry's own circuit breaker check (`if time.time() < self.open_until: log; return False`
   * on transport state): the base's breaker pauses publishing now, so it goes with its lines.
   */
  gates: SyntaxNode[];
  /**
   * The entry is a module-level function of the file (`def publish(events)` posting to the bus),
   * not a method: it stays where it is (other code may import it) and publish() calls it,
   * raising when its answer is falsy. Nothing moves.
   */
  module: boolean;
  /**
   * The agent's own teardown of transport state (`if self.channel is not None: self.channel.close()`
   * in cleanup()): the state moves into the publisher, this statement becomes its close(), and the
   * agent's teardown calls `self.eventbus_publisher.close()` in its place.
   */
  closes: SyntaxNode[];
  /**
   * `self.breaker.call(self._send, batch)` on the agent's own pass-through breaker (see
   * hardened-breaker-call): written `self._send(batch)` in the publisher, the base's breaker wrapping it.
   */
  unwrapped: BreakerCall[];
  /**
   * `self._flush_backlog()` as a statement of the moved publish (drain-on-success: the backlog is
   * re-sent once a publish went through): the base drains its local_queue through its breaker at
   * the start of every cycle, before it publishes, so the call goes and the drain is not moved.
   */
  drains: SyntaxNode[];
  /**
   * The entry hands the event it failed to publish to another destination of the agent's on every
   * failure path, then queues it (`self._mirror_to_siem(t)` before each `return self._queue_telemetry(t)`):
   * those calls are cut from the moved code and the method, which stays, is put in front of the base's
   * queue (RefusedEventsHandOff, keep: the legacy queued it too): once per refused event, after the
   * base's retries or at once with its breaker open.
   */
  mirror?: { method: string; stmts: SyntaxNode[] };
  /**
   * `atexit.register(self._close_conn)` in __init__ for a helper that moves: it goes from there and is
   * registered on the publisher right after the agent builds it (`atexit.register(self.eventbus_publisher._close_conn)`).
   */
  exitHooks: SyntaxNode[];
  /**
   * `self._close_connection()` in run()'s `finally:` around its loop, for a helper that moves with the
   * publish (`_send()` closes a broken connection with it too): that teardown becomes shutdown(), and
   * the base closes its publisher itself right after shutdown() (base.closesPublisherAfter), so the
   * statement goes and the publisher's close() calls the helper.
   */
  teardownCloses: SyntaxNode[];
  /**
   * The module function is handed the agent (`ship(self, telemetry)`, see agentModuleCall): its body,
   * without its own queue fallback and reading the handed values through self, is the publisher's method.
   */
  agentSend?: AgentModuleCall;
}

const memo = new WeakMap<PythonTransformContext, Analysis<PublisherPlan>>();

export function analyzePublisher(ctx: PythonTransformContext): Analysis<PublisherPlan> {
  let a = memo.get(ctx);
  if (!a) memo.set(ctx, (a = readPublisher(ctx)));
  return a;
}

/** The legacy queue attribute that stays because the base receives it (see proposeTransport). */
export function handedQueue(ctx: PythonTransformContext): string | null {
  const a = analyzePublisher(ctx);
  return a.ok ? a.value.queue : null;
}

function fail(reason: string, line: number): Analysis<PublisherPlan> {
  return { ok: false, reason, line };
}

/** `self.<attr>` calls, reads and writes in a method's own code (nested defs included: closures share self). */
/**
 * `self.<drain>()` as a whole statement (no arguments, its result unused), the drain being one the
 * base's drain-first stands for: the statement, else null.
 */
function drainStatement(ctx: PythonTransformContext, self: SyntaxNode): SyntaxNode | null {
  const name = selfAttribute(self);
  const call = self.parent;
  if (!name || !isDrain(ctx, name) || call?.type !== 'call' || call.childForFieldName('function')?.id !== self.id) return null;
  if (call.childForFieldName('arguments')!.namedChildren.length) return null;
  return call.parent?.type === 'expression_statement' ? call.parent : null;
}

function selfUses(fn: PyFunction): Array<{ name: string; node: SyntaxNode; called: boolean; written: boolean }> {
  const out: Array<{ name: string; node: SyntaxNode; called: boolean; written: boolean }> = [];
  walk(fn.body, (n) => {
    if (n.type === 'class_definition') return false;
    const name = selfAttribute(n);
    if (!name) return;
    const p = n.parent;
    const called = p?.type === 'call' && p.childForFieldName('function')?.id === n.id;
    const written = (p?.type === 'assignment' || p?.type === 'augmented_assignment') && p.childForFieldName('left')?.id === n.id;
    out.push({ name, node: n, called, written });
  });
  return out;
}

/**
 * A base attribute (not a method) that only the base's __init__ assigns, and that the agent
 * assigns nowhere but in its own __init__: its value once the agent's __init__ has run is its
 * value for good, so the transport may be handed that value.
 */
function fixedAfterInit(ctx: PythonTransformContext, attr: string): boolean {
  if (!ctx.base.attributes.has(attr) || ctx.base.methods.has(attr)) return false;
  // What the migration itself hands the base at the end of __init__, after the publisher is built.
  if (attr === 'eventbus_publisher' || attr === 'local_queue') return false;
  for (const [method, attrs] of ctx.base.assignedIn) if (method !== '__init__' && attrs.has(attr)) return false;
  return ctx.agent.assignments.every((a) => a.attr !== attr || a.method === '__init__');
}

/**
 * `NAME = <literal or module value>` at the top level of the agent's class body, and nothing assigns
 * it again: no `self.NAME = ...` in the class, no `<anything>.NAME = ...` / `del` in the file, and the
 * base does not define it. Read through self, it is the same value at every publish.
 */
/** The standard library's logger registry: the same Logger for the same name, whenever it is asked. */
const LOGGER_FACTORY = /^(logging\.)?getLogger$/;

export function classConstant(ctx: PythonTransformContext, name: string): boolean {
  if (ctx.agent.methods.has(name) || ctx.base.attributes.has(name) || ctx.base.methods.has(name) || ctx.baseOwned.has(name)) return false;
  if (ctx.agent.assignments.some((a) => a.attr === name)) return false;
  const body = ctx.agent.cls.node.childForFieldName('body');
  const defs = statements(body).filter((st) => {
    const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
    return e?.type === 'assignment' && e.childForFieldName('left')?.type === 'identifier' && e.childForFieldName('left')!.text === name;
  });
  if (defs.length !== 1) return false;
  // Its value reads nothing that changes: literals and module-level names only (no calls), or the
  // class's logger (`log = logging.getLogger("kext_agent")`): evaluated once with the class body, a
  // Logger (no descriptor), the very object the agent's self.log reads at every publish.
  let plain = true;
  const right = defs[0]!.namedChild(0)!.childForFieldName('right')!;
  walk(right, (n) => {
    if (n.type === 'call' && n.id === right.id && LOGGER_FACTORY.test(n.childForFieldName('function')?.text ?? '')) return;
    if (n.type === 'call' || n.type === 'lambda' || n.type === 'await' || n.type === 'named_expression') plain = false;
  });
  if (!plain) return false;
  let reassigned = false;
  walk(ctx.module.root, (n) => {
    if (reassigned) return false;
    if (n.type === 'assignment' || n.type === 'augmented_assignment' || n.type === 'delete_statement') {
      const targets = n.type === 'delete_statement' ? n.namedChildren : [n.childForFieldName('left')!];
      for (const t of targets) walk(t, (x) => {
        if (x.type === 'attribute' && x.childForFieldName('attribute')?.text === name) reassigned = true;
      });
    }
    if (n.type === 'call' && /^(setattr|delattr)$/.test(n.childForFieldName('function')?.text ?? '')) {
      const arg = n.childForFieldName('arguments')?.namedChildren[1];
      if (arg?.type === 'string' && arg.text.slice(1, -1) === name) reassigned = true;
    }
  });
  return !reassigned;
}

/**
 * An agent attribute the publisher may read through a property at each publish: a plain data
 * attribute of the agent (not a method, not base-owned), assigned in __init__.
 */
function liveReadable(ctx: PythonTransformContext, attr: string): boolean {
  if (ctx.agent.methods.has(attr) || ctx.baseOwned.has(attr) || ctx.base.attributes.has(attr) || attr.startsWith('__')) return false;
  return ctx.agent.assignments.some((a) => a.attr === attr && a.method === '__init__');
}

/** Operations LocalQueueAdapter can drive (runtime/python/amoskys/agents/common/queue_adapter.py). */
const QUEUE_INTERFACES = [['enqueue', 'drain'], ['push', 'pop'], ['put', 'get_nowait'], ['append', 'popleft']];

/**
 * The legacy queue: the attribute the agent's queue methods call into, built in __init__, used
 * through one of the interfaces the adapter drives. A raw sqlite connection (`execute`) is not
 * a queue object: then the base keeps its own queue.
 */
function legacyQueue(ctx: PythonTransformContext): string | null {
  const ops = new Map<string, Set<string>>();
  for (const m of ctx.agent.methods.values()) {
    // A counting store that stays (countingKeepers) works the queue too.
    if (!queueMember(ctx, m.name) && !countingKeepers(ctx).has(m.name)) continue;
    walk(m.body, (n) => {
      if (n.type !== 'call') return;
      const fn = n.childForFieldName('function');
      const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
      const attr = obj ? selfAttribute(obj) : null;
      if (attr && !ctx.agent.methods.has(attr)) ops.set(attr, (ops.get(attr) ?? new Set()).add(fn!.childForFieldName('attribute')!.text));
    });
  }
  const queues = [...ops.entries()]
    .filter(([a, used]) => QUEUE_INTERFACES.some((pair) => pair.some((op) => used.has(op))) && ![...used].some((op) => op === 'execute' || op === 'executemany'))
    // Built by a queue class (`LocalQueue(...)`, `collections.deque(maxlen=N)`, `queue.Queue()`), not
    // returned by a method of the agent (`self._load_unsent()` unpickling a plain list, which only
    // shares append() with a deque and which the adapter cannot drive).
    .filter(([a]) => ctx.agent.assignments.some((x) => x.attr === a && x.method === '__init__' && x.value?.type === 'call' && queueConstructor(x.value)))
    .map(([a]) => a);
  return queues.length === 1 ? queues[0]! : null;
}

/**
 * A deque backlog re-sent from the end its fallback adds to (`self.backlog.append(batch)` when refused,
 * `batch = self.backlog.pop()` in the drain): newest first, where the base's LocalQueueAdapter drains a
 * deque oldest first. Adds are read outside the drains (a drain's own put-back of what it could not send
 * is not where refused events enter); every add on one end and every take on that same end, else null.
 */
function newestFirstResend(ctx: PythonTransformContext, queue: string): { drain: string; add: SyntaxNode; take: SyntaxNode } | null {
  const built = ctx.agent.assignments.find((x) => x.attr === queue && x.method === '__init__' && x.value?.type === 'call');
  if (!/(^|\.)deque$/.test(built?.value?.childForFieldName('function')?.text ?? '')) return null;
  const adds: Array<{ node: SyntaxNode; left: boolean }> = [];
  const takes: Array<{ node: SyntaxNode; left: boolean; drain: string }> = [];
  for (const m of ctx.agent.methods.values()) {
    if (m.name === '__init__') continue;
    const drain = isDrain(ctx, m.name);
    walk(m.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      if (n.type !== 'call') return;
      const f = n.childForFieldName('function');
      if (f?.type !== 'attribute' || selfAttribute(f.childForFieldName('object')!) !== queue) return;
      const op = f.childForFieldName('attribute')!.text;
      const noArgs = n.childForFieldName('arguments')!.namedChildren.length === 0;
      const stmt = n.parent?.type === 'expression_statement' ? n.parent : n;
      if (!drain && /^(append|extend)$/.test(op)) adds.push({ node: stmt, left: false });
      if (!drain && /^(appendleft|extendleft)$/.test(op)) adds.push({ node: stmt, left: true });
      if (drain && op === 'popleft') takes.push({ node: stmt, left: true, drain: m.name });
      if (drain && op === 'pop' && noArgs) takes.push({ node: stmt, left: false, drain: m.name });
    });
  }
  if (!adds.length || !takes.length) return null;
  const end = adds[0]!.left;
  if (!adds.every((a) => a.left === end) || !takes.every((t) => t.left === end)) return null;
  return { drain: takes[0]!.drain, add: adds[0]!.node, take: takes[0]!.node };
}

/**
 * A count the fallback code keeps on the agent (`self.X += n`, `self.X[k] += n`, directly or in a
 * method of the agent it calls) that some code outside the publish, queue and drain methods reads.
 */
function lostFallbackCount(ctx: PythonTransformContext, roots: SyntaxNode[]): { attr: string; write: SyntaxNode; read: SyntaxNode } | null {
  const scopes: SyntaxNode[] = [...roots];
  const seen = new Set<string>();
  const writes: Array<{ attr: string; node: SyntaxNode }> = [];
  for (let i = 0; i < scopes.length; i++) {
    walk(scopes[i]!, (n) => {
      if (n.type === 'function_definition' && i < roots.length) return false;
      if (n.type === 'augmented_assignment') {
        let left: SyntaxNode | null = n.childForFieldName('left');
        if (left?.type === 'subscript') left = left.childForFieldName('value');
        const attr = left ? selfAttribute(left) : null;
        if (attr && !ctx.baseOwned.has(attr)) writes.push({ attr, node: n });
      }
      if (n.type === 'call') {
        const f = n.childForFieldName('function');
        const m = f?.type === 'attribute' ? selfAttribute(f) : null;
        const fn = m ? ctx.agent.methods.get(m) : undefined;
        if (fn && !seen.has(m!)) {
          seen.add(m!);
          scopes.push(fn.body);
        }
      }
    });
  }
  const transportScope = [...ctx.agent.methods.values()].filter((m) => isPublishMethod(ctx, m.name) || queueMember(ctx, m.name) || isDrain(ctx, m.name) || m.name === '__init__');
  for (const w of writes) {
    for (const r of ctx.refs.of(w.attr)) {
      if (r.kind !== 'attribute') continue;
      if (transportScope.some((m) => m.outer.startIndex <= r.start && r.end <= m.outer.endIndex)) continue;
      if (writes.some((x) => x.node.startIndex <= r.start && r.end <= x.node.endIndex)) continue;
      // Another count of the same store (`self.counters["cycles"] += 1`): a write, not a read.
      let p: SyntaxNode | null = r.node.parent;
      if (p?.parent?.type === 'subscript') p = p.parent;
      const asg = p?.parent;
      if (asg && (asg.type === 'augmented_assignment' || asg.type === 'assignment') && asg.childForFieldName('left')?.id === p!.id) continue;
      return { attr: w.attr, write: w.node, read: r.node };
    }
  }
  return null;
}

/**
 * The publish method counts in state of its own (`self.seq += 1`, moving with it) and writes that count
 * into what it sends: onto the event (`telemetry.sequence = self.seq`) or beside it in one call
 * (`Envelope(device_telemetry=telemetry, seq=self.seq)`). The legacy numbered each event once, at its
 * one send (its drain re-sent the stored event as it was); behind the base each attempt and each
 * drained re-send runs it again.
 */
function perCallStamp(entry: PyFunction, state: Set<string>): { attr: string; count: SyntaxNode; read: SyntaxNode } | null {
  const event = entry.params[1]?.name;
  if (!event) return null;
  const counts = new Map<string, SyntaxNode>();
  walk(entry.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'augmented_assignment' && n.type !== 'assignment') return;
    const attr = selfAttribute(n.childForFieldName('left')!);
    if (!attr || !state.has(attr) || counts.has(attr)) return;
    let self = n.type === 'augmented_assignment';
    walk(n.childForFieldName('right')!, (x) => {
      if (selfAttribute(x) === attr) self = true;
    });
    if (self) counts.set(attr, n.parent?.type === 'expression_statement' ? n.parent : n);
  });
  if (!counts.size) return null;
  const isEvent = (x: SyntaxNode | null | undefined) => x?.type === 'identifier' && x.text === event;
  let found: { attr: string; count: SyntaxNode; read: SyntaxNode } | null = null;
  walk(entry.body, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    let into: SyntaxNode | null = null;
    if (n.type === 'assignment') {
      const left = n.childForFieldName('left')!;
      const obj = left.type === 'attribute' ? left.childForFieldName('object') : left.type === 'subscript' ? left.childForFieldName('value') : null;
      if (isEvent(obj)) into = n.childForFieldName('right');
    } else if (n.type === 'call' && !isLogCall(n)) {
      const args = n.childForFieldName('arguments')?.namedChildren ?? [];
      if (args.some((a) => isEvent(a) || (a.type === 'keyword_argument' && isEvent(a.childForFieldName('value'))))) into = n.childForFieldName('arguments');
    }
    if (!into) return;
    walk(into, (x) => {
      const attr = selfAttribute(x);
      if (!found && attr && counts.has(attr)) found = { attr, count: counts.get(attr)!, read: n.parent?.type === 'expression_statement' ? n.parent : n };
    });
  });
  return found;
}

/** `LocalQueue(...)`, `collections.deque(...)`, `queue.Queue()`: a class (or deque) built, not a helper's result. */
function queueConstructor(call: SyntaxNode): boolean {
  const fn = call.childForFieldName('function');
  if (!fn || (fn.type === 'attribute' && selfAttribute(fn))) return false;
  const last = fn.type === 'attribute' ? fn.childForFieldName('attribute')!.text : fn.type === 'identifier' ? fn.text : '';
  return /^[A-Z]/.test(last) || last === 'deque';
}

function readPublisher(ctx: PythonTransformContext): Analysis<PublisherPlan> {
  const collect = analyzeCollect(ctx);
  if (!collect.ok) return fail(collect.reason, collect.line);
  if (!ctx.agent.methods.has('__init__')) return fail(`${ctx.agent.cls.name} has no __init__ to hand the publisher to the base`, ctx.agent.cls.line);
  if (ctx.agent.cls.node.startPosition.column !== 0) return fail(`${ctx.agent.cls.name} is not a module-level class`, ctx.agent.cls.line);
  if (ctx.module.classes.some((c) => c.name === CLASS)) return fail(`the module already defines ${CLASS}`, ctx.module.classes.find((c) => c.name === CLASS)!.line);
  // The base has one place for a refused batch (its local_queue): one hand-off fits there, not two, nor one beside a queue.
  const handOffs = [...cycleHandOffs(ctx)];
  if (handOffs.length) {
    const fn = ctx.agent.methods.get(handOffs[0]!)!;
    if (handOffs.length > 1) return fail(`the cycle hands a refused batch to ${handOffs.map((h) => `${h}()`).join(' and ')}, two destinations for the base's one local_queue`, fn.line);
    if (ctx.module.classes.some((c) => c.name === HANDOFF_CLASS)) return fail(`the module already defines ${HANDOFF_CLASS}`, fn.line);
    if (!ctx.base.attributes.has('local_queue')) return fail(`the cycle hands a refused batch to ${fn.name}() (line ${fn.line}), and ${ctx.profile.base_class} keeps no local_queue to put that hand-off in front of`, fn.line);
    const q = legacyQueue(ctx);
    if (q) return fail(`the cycle hands a refused batch to ${fn.name}() (line ${fn.line}), another destination, and the agent also keeps self.${q} as a queue: the base's one local_queue cannot be both`, fn.line);
  }
  // The publish method the cycle called.
  const called = new Set(collect.value.publishers);
  const moduleFns = collect.value.moduleFns;
  if (moduleFns.length) {
    if (called.size || moduleFns.length !== 1) return fail(`collect() publishes through ${called.size + moduleFns.length} functions and methods`, collect.value.fn.line);
    // modulePublishers proved it: one event parameter, `return False` on failure and the bus's
    // answer on every other path, bound once in the file. It stays; publish() checks its answer.
    const fn = ctx.module.functions.get(moduleFns[0]!)!;
    const send = collect.value.publishStmts.map((st) => agentModuleCall(ctx, st)).find((x) => x?.kind === 'send' && x.fn.name === fn.name);
    if (send) {
      // Its drains (`flush_backlog(self)`) work the same queue, which the base receives; its fallback
      // into that queue is cut; the agent keeps every attribute (it hands their values over).
      const other = collect.value.drainStmts.map((st) => agentModuleCall(ctx, st)).find((x) => x && x.queue !== send.queue);
      if (other) return fail(`${other.fn.name}() drains self.${other.queue} and ${fn.name}() falls back to self.${send.queue}: two queues for one local_queue`, other.fn.line);
      if (send.attrs.includes(send.queue)) return fail(`${fn.name}() uses self.${send.queue} other than as its queue`, fn.line);
      return { ok: true, value: { entry: fn, moved: [], failures: [], fallbacks: [], checkResult: true, movedState: [], shared: send.attrs, live: [], queue: send.queue, gates: [], module: true, closes: [], unwrapped: [], drains: [], exitHooks: [], teardownCloses: [], agentSend: send } };
    }
    return { ok: true, value: { entry: fn, moved: [], failures: [], fallbacks: [], checkResult: true, movedState: [], shared: [], live: [], queue: legacyQueue(ctx), gates: [], module: true, closes: [], unwrapped: [], drains: [], exitHooks: [], teardownCloses: [] } };
  }
  if (called.size !== 1) return fail(`collect() publishes through ${called.size} methods`, collect.value.fn.line);
  const entry = ctx.agent.methods.get([...called][0]!)!;
  if (entry.isAsync || !moduleDecorators(ctx, entry)) return fail(`${entry.name}() is async or decorated by something not of this module`, entry.line);
  if (!takesOneEvent(entry)) return fail(`${entry.name}() takes more than the event`, entry.line);

  const queue = legacyQueue(ctx);
  const lifo = queue ? newestFirstResend(ctx, queue) : null;
  if (lifo) {
    return fail(
      `the legacy backlog self.${queue} is re-sent newest first: ${lifo.drain}() takes from the end the refused events are added to (line ${lifo.add.startPosition.row + 1}: ${lifo.add.text.split('\n')[0]!.trim()}; line ${lifo.take.startPosition.row + 1}: ${lifo.take.text.split('\n')[0]!.trim()}), ` +
        `while the base drains its local_queue oldest first (LocalQueueAdapter over a deque): handed to the base, the bus would get the backlog in the opposite order; decide which order the bus needs by hand`,
      lifo.take.startPosition.row + 1,
    );
  }
  const fallbacks = queueFallbacks(ctx, entry, queue);
  const reshaped = backlogOfAnotherShape(ctx, entry, fallbacks, queue);
  if (reshaped) return fail(reshaped.reason, reshaped.line);
  const inFallback = (n: SyntaxNode) => fallbacks.some((f) => f.startIndex <= n.startIndex && n.endIndex <= f.endIndex);
  // The failure mirror's calls go with the move (the base calls the method through its local_queue).
  let mirrored: SyntaxNode[] = [];
  const cut = (n: SyntaxNode) => inFallback(n) || mirrored.some((f) => f.startIndex <= n.startIndex && n.endIndex <= f.endIndex);
  // The fallback goes (the base queues what it could not publish): a count it kept of the failures
  // (`self.counters["queued"] += 1`, `self._bump("queued")`) that the agent reads elsewhere (a status
  // file, a health payload) would silently stop counting. The base counts events_queued itself; which
  // of the two the reader should show is a person's call.
  const queueCalls: SyntaxNode[] = [];
  walk(entry.body, (n) => {
    if (n.type !== 'call') return;
    const f = n.childForFieldName('function');
    const m = f?.type === 'attribute' ? selfAttribute(f) : null;
    if (m && queueMember(ctx, m) && !isDrain(ctx, m)) queueCalls.push(n);
  });
  // A counting store that stays (countingKeepers) still counts: the base hands it what it could not publish.
  const keepers = countingKeepers(ctx);
  const keeperCall = (n: SyntaxNode) => {
    const c = n.type === 'expression_statement' ? n.namedChild(0) : n;
    const f = c?.type === 'call' ? c.childForFieldName('function') : null;
    const m = f?.type === 'attribute' ? selfAttribute(f) : null;
    return !!m && keepers.has(m);
  };
  for (const [m, store] of keepers) {
    if (store !== queue) return fail(`${m}() keeps a refused event in self.${store} and counts, but the base's local_queue would be ${queue ? `self.${queue}` : 'its own queue'}: hand the base a queue over self.${store} by hand`, ctx.agent.methods.get(m)!.line);
  }
  const lost = lostFallbackCount(ctx, [...fallbacks, ...queueCalls].filter((n) => !keeperCall(n)));
  if (lost) {
    return fail(
      `${entry.name}()'s fallback, which goes (the base queues what it could not publish), also counts into self.${lost.attr} (line ${lost.write.startPosition.row + 1}: ${excerpt(lost.write.text, 50)}), ` +
        `read at line ${lost.read.startPosition.row + 1} (${ctx.source.split('\n')[lost.read.startPosition.row]!.trim().slice(0, 50)}): that count would stop; the base counts events_queued on /health and /metrics, so point the reader at health_summary() or keep the count by hand`,
      lost.write.startPosition.row + 1,
    );
  }
  const sides = failureSideSinks(ctx, entry, fallbacks);
  const mirror = failureMirror(ctx, entry, sides);
  if (mirror && (handOffs.length || [...keepers.values()].includes(queue ?? ''))) {
    return fail(`${entry.name}() also hands the event it failed to publish to self.${mirror.method}() (line ${mirror.stmts[0]!.startPosition.row + 1}), and the refusal already goes to ${handOffs.length ? `${handOffs[0]}()` : 'a counting store'}: the base's one local_queue takes one hand-off`, mirror.stmts[0]!.startPosition.row + 1);
  }
  const side = mirror ? undefined : sides.flat()[0];
  mirrored = mirror?.stmts ?? [];
  if (side) {
    return fail(
      `${entry.name}() also hands the event it failed to publish to ${side.callee}() (line ${side.stmt.startPosition.row + 1}: ${excerpt(side.stmt.text, 60)}), a second destination on failure: ` +
        `moved into ${CLASS} it would run on every failed attempt of the base's retries and for every queued event whose re-send fails, and never while the base's circuit breaker is open (no publish is attempted then), so that destination would get duplicates and then nothing for the rest of an outage; decide by hand where that hand-off goes`,
      side.stmt.startPosition.row + 1,
    );
  }
  const moved: PyFunction[] = [entry];
  const failures: PublisherPlan['failures'] = [];
  const counts: NonNullable<PublisherPlan['counts']> = [];
  const shared = new Set<string>();
  const stateAttrs = new Set<string>();
  const closes: SyntaxNode[] = [];
  const unwrapped: BreakerCall[] = [];
  const exitHooks: SyntaxNode[] = [];
  const teardownCloses: SyntaxNode[] = [];
  const live: PublisherPlan['live'] = [];
  const drains: SyntaxNode[] = [];
  // The methods that move with the entry when nothing stops them (the transport's closure).
  const closure: PyFunction[] = [entry];
  for (let i = 0; i < closure.length; i++) {
    for (const u of selfUses(closure[i]!)) {
      if (cut(u.node)) continue;
      const wrapped = breakerCall(ctx, u.node.parent?.parent ?? null);
      const helperName = wrapped && wrapped.attr === u.name ? wrapped.helper : u.name;
      const method = ctx.agent.methods.get(helperName);
      if (!method || closure.includes(method) || (queueMember(ctx, method.name) && !isDrain(ctx, method.name))) continue;
      if (drainStatement(ctx, u.node)) continue;
      if ((isPublishMethod(ctx, method.name) || RETRY_METHOD.test(method.name) || transportHelper(ctx, method, closure, [])) && !method.isAsync && movableHelperDecorators(ctx, method)) closure.push(method);
    }
  }
  // State is classified against every method that moves (closure): a helper found later in the walk
  // (`_connect()`, called by `_send` after it reads `self.conn`) moves too, and what it assigns is then
  // the transport's own state, not a change made by the agent.
  const classify = (fn: PyFunction, u: ReturnType<typeof selfUses>[number]): Analysis<PublisherPlan> | null => {
    if (ctx.baseOwned.has(u.name)) {
      // A value the base sets once in its __init__ and nothing re-assigns later (device_id,
      // agent_name) is fixed by the end of the agent's __init__: the publisher gets it there.
      if (!u.written && !u.called && fixedAfterInit(ctx, u.name)) {
        shared.add(u.name);
        return null;
      }
      return fail(`${fn.name}() uses self.${u.name}, which the base owns (line ${u.node.startPosition.row + 1})`, u.node.startPosition.row + 1);
    }
    // A constant of the agent's class (`MAX_ATTEMPTS = 3` in its body, assigned nowhere else): its
    // value is the same at the end of __init__ as at every publish, so the publisher is handed it.
    if (!u.written && !u.called && classConstant(ctx, u.name)) {
      shared.add(u.name);
      return null;
    }
    if (transportOnlyAttr(ctx, u.name, closure) && u.name !== queue) stateAttrs.add(u.name);
    else if (u.name !== queue && closedElsewhere(ctx, u.name, closure, closes)) stateAttrs.add(u.name);
    else if (u.written && fn === entry && successCount(ctx, entry, u.node, u.name) && !readInCycle(ctx, collect.value.fn, u.name, closure)) {
      if (!counts.some((c) => c.attr === u.name)) counts.push(successCount(ctx, entry, u.node, u.name)!);
    }
    else if (u.written) {
      // Name the code that keeps it (`"sent": self.sent` in a status file the host scrapes): the
      // base counts what it publishes itself, so a person decides what that code reads now.
      const scopes = [...ctx.agent.methods.values()].filter((m) => closure.includes(m) || isPublishMethod(ctx, m.name) || RETRY_METHOD.test(m.name) || queueMember(ctx, m.name) || m.name === '__init__');
      const reader = ctx.refs.of(u.name).find((r) => r.kind === 'attribute' && !scopes.some((m) => m.outer.startIndex <= r.start && r.end <= m.outer.endIndex));
      const owner = reader ? [...ctx.agent.methods.values()].find((m) => m.outer.startIndex <= reader.start && reader.end <= m.outer.endIndex) : undefined;
      const where = reader ? `; ${owner ? `${owner.name}() reads it` : 'it is read'} at line ${reader.line} (${ctx.source.split('\n')[reader.line - 1]!.trim().slice(0, 60)})` : '';
      return fail(`${fn.name}() changes self.${u.name}, which the agent keeps (line ${u.node.startPosition.row + 1})${where}`, u.node.startPosition.row + 1);
    }
    else {
      // Handed over once, when __init__ ends: a value the agent changes later (`self.cycles += 1`
      // in collect()) would reach the moved code frozen at that first value.
      const later = ctx.agent.assignments.find((a) => a.attr === u.name && a.method !== '__init__' && !closure.some((m) => m.name === a.method));
      if (later && liveReadable(ctx, u.name)) {
        if (!live.some((l) => l.attr === u.name)) live.push({ attr: u.name, method: later.method, line: later.line, stmt: excerpt(later.stmt.text, 60) });
        return null;
      }
      if (later) {
        return fail(
          `${fn.name}() reads self.${u.name} (line ${u.node.startPosition.row + 1}), which ${later.method}() changes at line ${later.line} (${excerpt(later.stmt.text, 60)}); a publisher built in __init__ would only ever see its first value`,
          u.node.startPosition.row + 1,
        );
      }
      shared.add(u.name);
    }
    return null;
  };
  for (let i = 0; i < moved.length; i++) {
    const fn = moved[i]!;
    for (const u of selfUses(fn)) {
      if (cut(u.node)) continue;
      // `self.breaker.call(self._send, batch)`: the agent's own pass-through breaker, unwrapped in the
      // publisher (the base's breaker wraps every publish and drain); the helper moves as a call.
      const wrapped = breakerCall(ctx, u.node.parent?.parent ?? null);
      if (wrapped && wrapped.attr === u.name && u.node.parent?.type === 'attribute' && u.node.parent.childForFieldName('object')?.id === u.node.id) {
        const scopes = [...ctx.agent.methods.values()].filter((m) => moved.includes(m) || isPublishMethod(ctx, m.name) || isDrain(ctx, m.name));
        const other = otherBreakerUse(ctx, u.name, scopes);
        if (other) {
          return fail(
            `${fn.name}() sends through the agent's own circuit breaker self.${u.name} (${wrapped.cls.name}, ${classWhere(wrapped)}), which is also used at line ${other.startPosition.row + 1} (${ctx.source.split('\n')[other.startPosition.row]!.trim().slice(0, 60)}); the base's breaker would stand in for it in the publish but not there: decide by hand`,
            other.startPosition.row + 1,
          );
        }
        if (!unwrapped.some((w) => w.call.id === wrapped.call.id)) unwrapped.push(wrapped);
        continue;
      }
      const method = ctx.agent.methods.get(u.name);
      if (method) {
        const drain = drainStatement(ctx, u.node);
        if (drain) {
          if (!drains.some((d) => d.id === drain.id)) drains.push(drain);
          continue;
        }
        if (queueMember(ctx, u.name) && !isDrain(ctx, u.name)) {
          // The fallback the base owns now: only as `return self._queue_x(...)` in the entry.
          const ret = u.node.parent?.parent;
          if (fn === entry && ret?.type === 'return_statement') continue;
          // Or as the statement an except: handler ends with (the fallback without a result).
          if (fn === entry && ret && handlerFallback(ret, fn.body)) continue;
          return fail(`${fn.name}() calls ${u.name}() other than as its failure result (line ${u.node.startPosition.row + 1})`, u.node.startPosition.row + 1);
        }
        if (!(isPublishMethod(ctx, u.name) || RETRY_METHOD.test(u.name) || transportHelper(ctx, method, moved, exitHooks, teardownCloses)) || method.isAsync || !movableHelperDecorators(ctx, method)) {
          return fail(`${fn.name}() calls ${u.name}(), which stays in the agent (line ${u.node.startPosition.row + 1})${otherCaller(ctx, method, moved)}`, u.node.startPosition.row + 1);
        }
        if (!moved.includes(method)) moved.push(method);
        continue;
      }
      const bad = classify(fn, u);
      if (bad) return bad;
    }
  }
  const stamp = perCallStamp(entry, stateAttrs);
  if (stamp) {
    const at = (n: SyntaxNode) => `line ${n.startPosition.row + 1}: ${excerpt(n.text, 60)}`;
    return fail(
      `${entry.name}() stamps each event with self.${stamp.attr} (${at(stamp.read)}), a count it keeps per call (${at(stamp.count)}): the base calls publish() again on every retry and for every queued event it drains, so an event would be numbered per attempt (gaps, renumbered backlog), not once; number the events in collect() or decide by hand`,
      stamp.read.startPosition.row + 1,
    );
  }
  const resent = ownBacklog(ctx, moved, stateAttrs);
  if (resent) {
    const at = (n: SyntaxNode) => `line ${n.startPosition.row + 1}: ${excerpt(n.text, 60)}`;
    return fail(
      `${resent.fn}() keeps its own backlog self.${resent.attr}, sent again with every later batch (${at(resent.read)}) and refilled when a send fails (${at(resent.write)}): moved into ${CLASS} it would re-send each refused batch beside the base's local_queue (twice once the bus is back), and hold it while the base's breaker lets nothing through; drop the backlog for the base's queue by hand (or keep it and say how the two drain)`,
      resent.write.startPosition.row + 1,
    );
  }
  const stray = movedHelperKeptCaller(ctx, entry, moved);
  if (stray) {
    return fail(
      `${stray.helper}() moves into ${CLASS} with ${entry.name}(), but ${stray.caller}() still calls it (line ${stray.line}: ${ctx.source.split('\n')[stray.line - 1]!.trim().slice(0, 60)}) and stays in the agent: ` +
        `the helper would stay for that caller and the publisher could not be built from it, so what collect_data() returned would reach no bus; decide by hand how ${stray.caller}() sends (the base's ${ctx.base.queuedPublish ?? 'publish'} or the publisher)`,
      stray.line,
    );
  }
  moved.sort((a, b) => a.outer.startIndex - b.outer.startIndex);
  for (const a of stateAttrs) shared.delete(a);
  // A value read live must not be written by the moved code (it would write the agent's property),
  // nor be transport state, and its callable's name must be free in the publisher.
  for (const l of live) {
    const taken = (n: string) => stateAttrs.has(n) || shared.has(n) || live.some((x) => x.attr === n) || moved.some((m) => m.name === n || selfUses(m).some((x) => x.name === n));
    const write = moved.flatMap((m) => selfUses(m)).find((x) => x.name === l.attr && x.written);
    if (write || stateAttrs.has(l.attr) || taken(`_${l.attr}`) || l.attr === 'publish' || l.attr === 'close') {
      return fail(
        `${entry.name}() reads self.${l.attr}, which ${l.method}() changes at line ${l.line} (${l.stmt}); a publisher built in __init__ would only ever see its first value`,
        l.line,
      );
    }
    shared.delete(l.attr);
  }
  // Transport state is set once in __init__ from module-level values, or from other transport
  // state set before it (`self.stub = Stub(self.channel)` after `self.channel = grpc.insecure_channel(ADDR)`).
  const movedState: PublisherPlan['movedState'] = [];
  const init = ctx.agent.methods.get('__init__')!;
  const initParams = new Set(init.params.map((p) => p.name));
  // Locals of __init__ (`parsed = urlparse(EVENTBUS_URL)`) that transport state is built from.
  const initLocals = new Map<string, SyntaxNode[]>();
  for (const st of statements(init.body)) {
    const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
    const left = e?.type === 'assignment' ? e.childForFieldName('left') : null;
    if (left?.type === 'identifier') initLocals.set(left.text, [...(initLocals.get(left.text) ?? []), st]);
  }
  // Every other binding of a name in __init__ (inside a branch, a loop or with target, an augmented
  // assignment, a tuple target): such a local is no one plain statement to move, and the state is refused.
  const topLevel = new Set([...initLocals.values()].flat().map((st) => st.namedChild(0)!.id));
  walk(init.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    let target: SyntaxNode | null = null;
    if ((n.type === 'assignment' || n.type === 'augmented_assignment') && !topLevel.has(n.id)) target = n.childForFieldName('left');
    else if (n.type === 'for_statement') target = n.childForFieldName('left');
    else if (n.type === 'as_pattern') target = n.childForFieldName('alias') ?? n.namedChildren[1] ?? null;
    else if (n.type === 'named_expression') target = n.childForFieldName('name');
    if (!target) return;
    walk(target, (x) => {
      if (x.type === 'identifier' && x.parent?.type !== 'attribute') initLocals.set(x.text, [...(initLocals.get(x.text) ?? []), x]);
    });
  });
  const neededLocals = new Set<string>();
  const plainName = (n: SyntaxNode) => {
    const p = n.parent;
    if (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) return false;
    if (p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === n.id) return false;
    return true;
  };
  const pendingState = [...stateAttrs];
  const handed = new Set<string>();
  /** State found only because other moved state is built from it: set before that one. */
  const neededBy = new Map<string, string>();
  for (let i = 0; i < pendingState.length; i++) {
    const attr = pendingState[i]!;
    const sets = ctx.agent.assignments.filter((a) => a.attr === attr && a.method === '__init__');
    if (sets.length !== 1 || sets[0]!.stmt.parent?.parent?.type !== 'function_definition') return fail(`self.${attr} is not set once in __init__`, ctx.agent.methods.get('__init__')!.line);
    let early = true;
    walk(sets[0]!.value ?? sets[0]!.stmt, (n) => {
      const via = selfAttribute(n);
      if (via && n.parent?.type === 'attribute' && n.parent.childForFieldName('object')?.id === n.id) return;
      if (via && via !== attr && !ctx.agent.methods.has(via) && !ctx.baseOwned.has(via) && transportOnlyAttr(ctx, via, moved)) {
        const before = ctx.agent.assignments.some((a) => a.attr === via && a.method === '__init__' && a.stmt.endIndex <= sets[0]!.stmt.startIndex);
        if (!before) early = false;
        else if (!pendingState.includes(via)) {
          pendingState.push(via);
          neededBy.set(via, attr);
        }
        return false;
      }
      if (n.type === 'identifier' && (n.text === 'self' || initParams.has(n.text))) early = false;
      else if (n.type === 'identifier' && plainName(n) && initLocals.has(n.text)) neededLocals.add(n.text);
    });
    if (!early) {
      // Built from the constructor's arguments (`self.timeout = self.config["rpc_timeout"]`), set once in
      // __init__ and only read by the moved code: the agent keeps setting it, the publisher is handed its value.
      const written = moved.some((m) => selfUses(m).some((x) => x.name === attr && x.written));
      if (!written && !neededBy.has(attr) && ctx.agent.assignments.every((a) => a.attr !== attr || a.method === '__init__')) {
        handed.add(attr);
        continue;
      }
      return fail(`self.${attr} (transport state) is built from the constructor's arguments`, sets[0]!.line);
    }
    const dependent = neededBy.get(attr);
    const at = dependent ? movedState.findIndex((m) => m.attr === dependent) : -1;
    movedState.splice(at < 0 ? movedState.length : at, 0, { attr, stmt: sets[0]!.stmt });
  }
  // Such a local moves too, when it is assigned once, from module-level values only, and read
  // by nothing in __init__ but the state that moves: it runs once, in the publisher, as before.
  const movedLocals: PublisherPlan['movedState'] = [];
  for (const name of neededLocals) {
    const sets = initLocals.get(name)!;
    const st = sets[0]!;
    if (sets.length !== 1 || st.type !== 'expression_statement') return fail(`transport state is built from ${name}, which __init__ binds other than once at its top level (line ${st.startPosition.row + 1})`, st.startPosition.row + 1);
    let own = true;
    walk(st.namedChild(0)!.childForFieldName('right')!, (n) => {
      if (n.type === 'identifier' && plainName(n) && (n.text === 'self' || initParams.has(n.text) || initLocals.has(n.text))) own = false;
    });
    if (!own) return fail(`transport state is built from ${name}, which __init__ computes from its own values (line ${st.startPosition.row + 1})`, st.startPosition.row + 1);
    let elsewhere: SyntaxNode | null = null;
    walk(init.body, (n) => {
      if (elsewhere || n.type !== 'identifier' || n.text !== name || !plainName(n)) return;
      if (st.startIndex <= n.startIndex && n.endIndex <= st.endIndex) return;
      if (movedState.some((m) => m.stmt.startIndex <= n.startIndex && n.endIndex <= m.stmt.endIndex)) return;
      elsewhere = n;
    });
    if (elsewhere) return fail(`transport state is built from ${name}, which __init__ also uses at line ${(elsewhere as SyntaxNode).startPosition.row + 1}`, (elsewhere as SyntaxNode).startPosition.row + 1);
    movedLocals.push({ attr: name, stmt: st });
  }
  // The publisher's __init__ runs what moves in __init__'s own order (`self.host = socket.gethostname()`
  // then `url = urlparse(EVENTBUS_URL)`): state built from other state or a local comes after it there too.
  movedState.push(...movedLocals);
  movedState.sort((a, b) => a.stmt.startIndex - b.stmt.startIndex);
  for (const a of handed) shared.add(a);
  for (const attr of [...shared, ...live.map((l) => l.attr)]) {
    if (!ctx.agent.assignments.some((a) => a.attr === attr && a.method === '__init__') && !ctx.base.attributes.has(attr) && !classConstant(ctx, attr)) return fail(`${entry.name}() reads self.${attr}, which __init__ does not set`, entry.line);
  }
  // Failure results: constant False, or the queue fallback, in the entry and in the moved
  // helpers whose result it returns as its own (`return self._send_with_retry(payload)`).
  const reporting = [entry];
  for (let i = 0; i < reporting.length; i++) {
    const fn = reporting[i]!;
    walk(fn.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      if (n.type !== 'return_statement') return;
      const v = n.namedChild(0);
      const target = v?.type === 'call' ? selfAttribute(v.childForFieldName('function')!) : null;
      const helper = target ? moved.find((m) => m.name === target) : undefined;
      if (helper && !reporting.includes(helper)) reporting.push(helper);
      if (v?.type === 'false' || (target && (QUEUE_METHOD.test(target) || publishFallbacks(ctx).has(target)))) failures.push({ node: n, inHandler: insideHandler(n, fn.body) });
    });
  }
  walk(entry.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    const call = n.type === 'expression_statement' ? n.namedChild(0) : null;
    const target = call?.type === 'call' ? selfAttribute(call.childForFieldName('function')!) : null;
    if (target && (QUEUE_METHOD.test(target) || publishFallbacks(ctx).has(target)) && handlerFallback(n, entry.body)) failures.push({ node: n, inHandler: true });
  });
  // `if time.time() < self.open_until: ...; return False` first in the entry: its own breaker, open.
  // A breaker object the agent also keeps (handed to the publisher, the same object) counts as the
  // transport's when the code that stays only reads it (`self.breaker.state` in a health payload): its
  // success()/failure() calls move with the publish and keep it current, only its refusal goes.
  const gateState = new Set([...stateAttrs, ...[...shared].filter((a) => onlyReadElsewhere(ctx, a, moved))]);
  const gates = statements(entry.body).filter((g) => breakerGate(ctx, g, gateState, inFallback));
  for (let i = failures.length - 1; i >= 0; i--) if (gates.some((g) => g.startIndex <= failures[i]!.node.startIndex && failures[i]!.node.endIndex <= g.endIndex)) failures.splice(i, 1);
  let checkResult = false;
  if (entry.decorators.length && collect.value.raising && !failures.length) {
    // Decorated and failing by raising, which the cycle caught (`@retry(times=3)` around a gRPC send
    // that raises RpcError): the decorator sees the same exceptions, and so does the base.
  } else if (entry.decorators.length) {
    // A decorator of the module wraps the entry and may read its answer (`@retry_on_false(attempts=3)`
    // calling it again while it answers falsy): its returns stay as written, so the decorator still sees
    // them, and publish() raises on a falsy final answer. Only when every return is that yes/no answer.
    const rets = ownReturns(entry);
    const kind = (r: SyntaxNode) => r.namedChild(0)?.type ?? '';
    const yesNo = (r: SyntaxNode) => ['comparison_operator', 'boolean_operator', 'not_operator', 'true', 'false'].includes(kind(r));
    if (!rets.length || !rets.every(yesNo) || rets.every((r) => kind(r) === 'true') || failures.some((f) => f.node.type !== 'return_statement')) {
      return fail(`${entry.name}() is decorated (@${entry.decorators.join(', @')}) and does not answer yes/no on every path; the decorator would see another result`, entry.line);
    }
    failures.length = 0;
    checkResult = true;
  } else if (failures.length) {
    // Failures raise now, and the other returns report the bus's answer (`return resp.status == 200`,
    // or True): publish() checks it too. Whether or not the cycle read the answer, a refusing ack
    // (`ack.status != OK`) and a missing channel were the same `False` to it, so the base queues both
    // (a cycle that ignored both lost both; checking only the raised ones counted a refusal as published).
    const rest = ownReturns(entry).filter((r) => !failures.some((f) => f.node.id === r.id));
    const answer = (r: SyntaxNode) => answerReturn(r, moved, failures);
    checkResult = rest.some(answer) && rest.every((r) => answer(r) || r.namedChild(0)?.type === 'true');
  } else if (!failures.length) {
    // Every return gives the bus's answer (a comparison, a boolean expression): publish() checks it.
    const rets = ownReturns(entry);
    checkResult = rets.length > 0 && rets.every((r) => answerReturn(r, moved, failures));
    // Or it fails by raising, which the cycle caught to keep the events (`try: ... except: spool`),
    // and answers nothing else: that is already publish()'s contract with the base.
    const raises = collect.value.raising && rets.every((r) => !r.namedChild(0) || ['true', 'none'].includes(r.namedChild(0)!.type));
    if (!checkResult && !raises) {
      // It keeps a refused event itself and answers nothing (`if not self._send(event): self.outbox.append(event)`
      // in its loop): name that store, since the base would see every publish go through.
      const kept = keptItself(entry, queue);
      return fail(
        kept
          ? `${entry.name}() has no failure result to turn into an exception: it keeps what the bus refuses in self.${kept.store} itself (line ${kept.node.startPosition.row + 1}: ${kept.node.text.trim().slice(0, 60)}) and answers nothing, so the base would count every publish as sent: make it answer False (or raise) for a refused event`
          : `${entry.name}() has no failure result to turn into an exception`,
        kept ? kept.node.startPosition.row + 1 : entry.line,
      );
    }
  }
  // A method of the agent named publish() would be a second `def publish` in the publisher, replacing the
  // publish(events) the base calls (its events handed to the old one-event method, its answer unread).
  const clash = [entry, ...moved].find((m) => m.name === 'publish');
  if (clash) return fail(`${clash.name}() (line ${clash.line}) would move into ${CLASS}, whose own publish(events) the base calls: the second def would replace it; rename ${clash.name}() (and its callers) by hand, then migrate again`, clash.line);
  // The teardowns of moved state must be one statement (it becomes the publisher's close()), and
  // only close state that moves.
  const closeTexts = new Set(closes.map((c) => c.text));
  if (closeTexts.size > 1) return fail(`the agent tears its transport state down in ${closeTexts.size} different ways (line ${closes[0]!.startPosition.row + 1})`, closes[0]!.startPosition.row + 1);
  // The publisher's close() is written from one teardown: the agent's own close of moved state, or its
  // run()'s finally: calling a helper that moves (and no moved method may be called close itself).
  const teardown = [...new Set(teardownCloses)];
  if (teardown.length) {
    const at = teardown[0]!.startPosition.row + 1;
    if (closes.length) return fail(`run()'s finally: closes the transport with ${teardown[0]!.text.trim()} (line ${at}) and ${closes[0]!.text.split('\n')[0]!.trim()} (line ${closes[0]!.startPosition.row + 1}) closes its state too: decide which one EventBusPublisher.close() runs`, at);
    const named = moved.find((m) => m.name === 'close');
    if (named) return fail(`${named.name}() (line ${named.line}) moves into ${CLASS}, whose close() the base calls when it stops: run()'s finally: (line ${at}: ${teardown[0]!.text.trim()}) cannot become it`, at);
  }
  return { ok: true, value: { entry, moved, failures, fallbacks, checkResult, movedState, shared: [...shared].sort(), live, queue, gates, module: false, closes, unwrapped, drains, exitHooks: [...new Set(exitHooks)], teardownCloses: teardown, counts, ...(mirror ? { mirror } : {}) } };
}

/** The return statements of a function's own code (not of a nested def, lambda or class). */
function ownReturns(fn: PyFunction): SyntaxNode[] {
  const rets: SyntaxNode[] = [];
  walk(fn.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'return_statement') rets.push(n);
  });
  return rets;
}

/**
 * A return that gives the bus's yes/no answer: a comparison or boolean expression, or the answer of a
 * moved helper returned as the method's own (`return self._post(events)`, `_post` ending
 * `return response.status == 200`): a refusal (False) must reach publish() as an exception there too,
 * or the base counts it published (the legacy cycle kept or re-sent the events on that False).
 */
function answerReturn(r: SyntaxNode, moved: PyFunction[], failures: PublisherPlan['failures'], seen = new Set<string>()): boolean {
  const v = r.namedChild(0);
  if (!v) return false;
  if (['comparison_operator', 'boolean_operator', 'not_operator'].includes(v.type)) return true;
  const target = v.type === 'call' ? selfAttribute(v.childForFieldName('function')!) : null;
  const helper = target ? moved.find((m) => m.name === target) : undefined;
  if (!helper || seen.has(helper.name)) return false;
  seen.add(helper.name);
  // Its failure returns raise already; what it answers otherwise must be that yes/no, at least once.
  const rest = ownReturns(helper).filter((x) => !failures.some((f) => f.node.id === x.id));
  const answers = rest.filter((x) => answerReturn(x, moved, failures, seen));
  return answers.length > 0 && rest.every((x) => answers.includes(x) || x.namedChild(0)?.type === 'true');
}

/**
 * The cycle (or a method of the agent it calls, transitively) reads self.<attr>: counted after the base
 * publishes what the cycle returned, it would read last cycle's count (a status file written each cycle).
 */
function readInCycle(ctx: PythonTransformContext, cycle: PyFunction, attr: string, moving: PyFunction[]): boolean {
  // The code that moves (the publish itself, which bumps it) is not the cycle's any more.
  const seen: PyFunction[] = [cycle];
  for (let i = 0; i < seen.length; i++) {
    let reads = false;
    walk(seen[i]!.body, (n) => {
      const name = n.type === 'attribute' ? selfAttribute(n) : null;
      if (!name) return;
      if (name === attr && !(n.parent?.type === 'assignment' && n.parent.childForFieldName('left')?.id === n.id)) reads = true;
      const m = ctx.agent.methods.get(name);
      if (m && !seen.includes(m) && !moving.includes(m)) seen.push(m);
    });
    if (reads) return true;
  }
  return false;
}

/**
 * `self.<attr> += 1` as a statement directly followed by `return True` in the entry (what it counts is
 * an event published), `<attr>` set elsewhere only by `self.<attr> = 0` in __init__, and a queued publish
 * of the base (True when published) the agent does not override: the statement, else null.
 */
function successCount(ctx: PythonTransformContext, entry: PyFunction, use: SyntaxNode, attr: string): { attr: string; stmt: SyntaxNode } | null {
  const queued = ctx.base.queuedPublish;
  if (!queued || ctx.agent.methods.has(queued) || ctx.baseOwned.has(attr)) return null;
  const aug = use.parent;
  if (aug?.type !== 'augmented_assignment' || aug.childForFieldName('left')?.id !== use.id || aug.childForFieldName('operator')?.text !== '+=' || aug.childForFieldName('right')?.text !== '1') return null;
  const stmt = aug.parent;
  if (stmt?.type !== 'expression_statement' || !stmt.parent) return null;
  const siblings = statements(stmt.parent);
  const next = siblings[siblings.findIndex((x) => x.id === stmt.id) + 1];
  if (next?.type !== 'return_statement' || next.namedChild(0)?.type !== 'true') return null;
  if (!(entry.outer.startIndex <= stmt.startIndex && stmt.endIndex <= entry.outer.endIndex)) return null;
  const others = ctx.agent.assignments.filter((a) => a.attr === attr && a.stmt.id !== stmt.id);
  if (!others.every((a) => a.method === '__init__' && a.value?.text === '0')) return null;
  return { attr, stmt };
}

/**
 * In a publish that answers nothing: the first statement storing an event into an attribute of the
 * agent under a negated send (`if not self._send(event): self.outbox.append(event)`), the legacy queue
 * or another store (`append`, `put`, `enqueue`, ...). Null when there is none.
 */
function keptItself(entry: PyFunction, queue: string | null): { store: string; node: SyntaxNode } | null {
  let out: { store: string; node: SyntaxNode } | null = null;
  walk(entry.body, (n) => {
    if (out || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    const call = n.type === 'expression_statement' ? n.namedChild(0) : null;
    const fn = call?.type === 'call' ? call.childForFieldName('function') : null;
    const store = fn?.type === 'attribute' ? selfAttribute(fn.childForFieldName('object')!) : null;
    if (!store || !/^(enqueue|put|put_nowait|append|push|add|extend)$/.test(fn!.childForFieldName('attribute')!.text)) return;
    const guard = n.parent?.parent;
    const cond = guard?.type === 'if_statement' ? guard.childForFieldName('condition') : null;
    if (store === queue || cond?.type === 'not_operator') out = { store, node: n };
  });
  return out;
}

/**
 * `if time.time() < self.open_until:` (a clock compared with transport state), or `if not
 * self.breaker.allow():` (the transport's own breaker object asked), whose branch only
 * logs and ends `return False`: the publish refusing to try while its own breaker is open.
 */
function breakerGate(ctx: PythonTransformContext, stmt: SyntaxNode, state: Set<string>, inFallback: (n: SyntaxNode) => boolean): boolean {
  if (stmt.type !== 'if_statement' || stmt.childForFieldName('alternative')) return false;
  const cond = stmt.childForFieldName('condition');
  let clock = false;
  let attr = false;
  // `if not self.breaker.allow():` asking the transport's own breaker object (see breakerQuery).
  const asked = cond ? breakerQuery(ctx, cond) : null;
  if (asked) clock = attr = state.has(asked.attr);
  else if (cond?.type !== 'comparison_operator') return false;
  else walk(cond, (n) => {
    if (n.type === 'call' && /^(time\.)?(time|monotonic)$/.test(n.childForFieldName('function')?.text ?? '')) clock = true;
    const a = selfAttribute(n);
    if (a && state.has(a)) attr = true;
  });
  const body = statements(stmt.childForFieldName('consequence'));
  const last = body[body.length - 1];
  // Before its `return False` only log lines, or the fallback into the legacy queue (which goes anyway:
  // the base queues what its breaker refuses).
  return clock && attr && last?.type === 'return_statement' && last.namedChild(0)?.type === 'false' && body.slice(0, -1).every((x) => (isTrivial(x) && x.type !== 'return_statement') || inFallback(x));
}

/**
 * Transport state the moving code uses as a backlog of its own: it is combined with what the call
 * sends (`batch = self.backlog + events`) and re-assigned from that (`self.backlog = batch[-N:]`), so
 * what one call could not send goes out with the next. The base keeps what a publish refused itself.
 */
function ownBacklog(ctx: PythonTransformContext, moved: PyFunction[], state: Set<string>): { fn: string; attr: string; read: SyntaxNode; write: SyntaxNode } | null {
  for (const fn of moved) {
    for (const attr of state) {
      let read: SyntaxNode | null = null;
      let write: SyntaxNode | null = null;
      walk(fn.body, (n) => {
        if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
        if (!read && n.type === 'binary_operator' && n.childForFieldName('operator')?.text === '+' && [n.childForFieldName('left'), n.childForFieldName('right')].some((x) => x && selfAttribute(x) === attr)) read = n;
        const e = n.type === 'expression_statement' ? n.namedChild(0) : null;
        const right = e?.type === 'assignment' && selfAttribute(e.childForFieldName('left')!) === attr ? e.childForFieldName('right') : null;
        // Refilled from something (not emptied: `self.backlog = []` is the success path).
        if (!write && right && !(right.type === 'list' && right.namedChildCount === 0)) write = n;
      });
      if (read && write) return { fn: fn.name, attr, read, write };
    }
  }
  return null;
}

/** Where the agent still reads the breaker the publisher keeps updating (see onlyReadElsewhere). */
function sharedBreakerNote(ctx: PythonTransformContext, attr: string, plan: PublisherPlan): string {
  const scopes = [...ctx.agent.methods.values()].filter((m) => plan.moved.includes(m) || isDrain(ctx, m.name) || m.name === '__init__');
  const reads = ctx.refs.of(attr).filter((r) => r.kind === 'attribute' && !scopes.some((m) => m.outer.startIndex <= r.start && r.end <= m.outer.endIndex));
  if (!reads.length) return '';
  const lines = [...new Set(reads.map((r) => r.line))].map((l) => `line ${l}`).join(', ');
  return `; self.${attr} stays the agent's object, handed to ${CLASS}, whose calls on it still record each attempt's success or failure, so what reads it (${lines}) follows the bus, counting the base's retries and drains as attempts, and it stays open until a publish goes through (nothing asks it to half-open)`;
}

/**
 * Every use of `self.<attr>` outside the methods that move with the publish, the drains that go and
 * __init__ reads one of its members (`self.breaker.state`): no call on it, no assignment to it, and the
 * name nowhere else (a bare name, a string other than a dict key). Such a reader sees the same object the publisher updates.
 */
function onlyReadElsewhere(ctx: PythonTransformContext, attr: string, moved: PyFunction[]): boolean {
  const scopes = [...ctx.agent.methods.values()].filter((m) => moved.includes(m) || isDrain(ctx, m.name) || m.name === '__init__');
  for (const r of ctx.refs.of(attr)) {
    if (scopes.some((m) => m.outer.startIndex <= r.start && r.end <= m.outer.endIndex)) continue;
    // A dict key spelled like it (`"breaker": self.breaker.state`) names nothing.
    if (r.kind === 'string' && r.node.parent?.type === 'pair' && r.node.parent.childForFieldName('key')?.id === r.node.id) continue;
    // Nor does a module path spelled like it (`from amoskys.agents.common.breaker import CircuitBreaker`).
    if (r.node.parent?.type === 'dotted_name' && /^import(_from)?_statement$/.test(r.node.parent.parent?.type ?? '') && r.node.parent.parent!.childForFieldName('module_name')?.id === r.node.parent.id) continue;
    if (r.kind !== 'attribute') return false;
    const own = r.node.parent;
    if (!own || selfAttribute(own) !== attr) return false;
    const member = own.parent;
    if (member?.type !== 'attribute' || member.childForFieldName('object')?.id !== own.id) return false;
    const up = member.parent;
    if (up?.type === 'call' && up.childForFieldName('function')?.id === member.id) return false;
    if ((up?.type === 'assignment' || up?.type === 'augmented_assignment') && up.childForFieldName('left')?.id === member.id) return false;
  }
  return true;
}

/** Every `self.<attr>` in the file lies in code that moves with the publish, the base replaces, or __init__. */
/**
 * Transport state that the rest of the agent only closes: every reference outside the transport's
 * methods and __init__ is inside a top-level statement of another method that is exactly
 * `self.<attr>.close()`, or `if self.<attr>:` / `if self.<attr> is not None:` around only that. Those
 * statements are added to `closes`; the attribute can then move into the publisher, which closes it.
 */
function closedElsewhere(ctx: PythonTransformContext, attr: string, moved: PyFunction[], closes: SyntaxNode[]): boolean {
  const scopes = moved.concat([...ctx.agent.methods.values()].filter((m) => isPublishMethod(ctx, m.name) || RETRY_METHOD.test(m.name) || isDrain(ctx, m.name) || m.name === '__init__'));
  const found: SyntaxNode[] = [];
  const unit = ctx.layout.unit;
  for (const r of ctx.refs.of(attr)) {
    if (r.kind !== 'attribute') continue;
    if (scopes.some((m) => m.outer.startIndex <= r.start && r.end <= m.outer.endIndex)) continue;
    const owner = [...ctx.agent.methods.values()].find((m) => m.outer.startIndex <= r.start && r.end <= m.outer.endIndex);
    if (!owner) return false;
    const top = statements(owner.body).find((x) => x.startIndex <= r.start && r.end <= x.endIndex);
    const st = top && closesAttr(top, attr) && top.startPosition.column === unit.length * 2 ? top : runFinallyClose(ctx, owner, r.start, r.end, attr);
    if (!st) return false;
    // It moves into the publisher's close(): a name of the method (a log line's argument) would not be there.
    const bound = new Set([...bindingsOf(owner.node)].filter((n) => n !== 'self'));
    let local = false;
    walk(st, (n) => {
      if (n.type === 'identifier' && bound.has(n.text) && !(n.parent?.type === 'attribute' && n.parent.childForFieldName('attribute')?.id === n.id)) local = true;
    });
    if (local) return false;
    if (!found.some((f) => f.id === st.id)) found.push(st);
  }
  if (!found.length) return false;
  for (const f of found) if (!closes.some((c) => c.id === f.id)) closes.push(f);
  return true;
}

/**
 * A close of transport state as a whole statement of the `finally:` around run()'s loop
 * (`if self.channel is not None: self.channel.close()` after `while self.running:`): the teardown
 * hardened-main-loop turns into shutdown(). The base closes its publisher right after that hook, so
 * once the state moves the publisher's close() runs this statement and shutdown() leaves it out.
 * Null otherwise (also when the base never closes its publisher after shutdown()).
 */
function runFinallyClose(ctx: PythonTransformContext, owner: PyFunction, start: number, end: number, attr: string): SyntaxNode | null {
  if (owner.name !== LEGACY_RUN || ctx.base.closesPublisherAfter !== 'shutdown') return null;
  const tryStmt = statements(owner.body).find((x) => x.type === 'try_statement' && x.startIndex <= start && end <= x.endIndex);
  const clause = tryStmt?.namedChildren.find((c) => c.type === 'finally_clause');
  const block = clause?.namedChildren.find((c) => c.type === 'block');
  const st = block ? statements(block).find((x) => x.startIndex <= start && end <= x.endIndex) : undefined;
  if (!st || !closesAttr(st, attr)) return null;
  return triesLoop(tryStmt!) ? st : null;
}

/** The try's body holds a `while` loop of its own (not one in a nested def, lambda or class). */
function triesLoop(tryStmt: SyntaxNode): boolean {
  let loops = false;
  walk(tryStmt.childForFieldName('body')!, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'while_statement') loops = true;
  });
  return loops;
}

function closesAttr(st: SyntaxNode, attr: string): boolean {
  const isClose = (x: SyntaxNode) => {
    const e = x.type === 'expression_statement' ? x.namedChild(0) : null;
    const fn = e?.type === 'call' && e.childForFieldName('arguments')!.namedChildCount === 0 ? e.childForFieldName('function') : null;
    return fn?.type === 'attribute' && fn.childForFieldName('attribute')!.text === 'close' && selfAttribute(fn.childForFieldName('object')!) === attr;
  };
  if (isClose(st)) return true;
  if (st.type !== 'if_statement' || st.childForFieldName('alternative')) return false;
  const cond = st.childForFieldName('condition')!;
  const guard = cond.type === 'comparison_operator' && /^self\.\w+\s+is\s+not\s+None$/.test(cond.text) ? cond.namedChildren[0]! : cond;
  const inner = statements(st.childForFieldName('consequence'));
  // `self.<attr> = None` after the close (so a later publish reconnects): part of the same teardown.
  const reset = (x: SyntaxNode | undefined) => {
    const e = x?.type === 'expression_statement' ? x.namedChild(0) : null;
    return e?.type === 'assignment' && selfAttribute(e.childForFieldName('left')!) === attr && e.childForFieldName('right')?.type === 'none';
  };
  // `logger.info("gRPC channel closed")` after them, reading nothing of the agent: it moves with the close.
  const logOnly = (x: SyntaxNode) => isLogCall(expressionOf(x)) && !mentions(x, 'self');
  const rest = inner.slice(reset(inner[1]) ? 2 : 1);
  return selfAttribute(guard) === attr && inner.length > 0 && isClose(inner[0]!) && rest.every(logOnly);
}

function transportOnlyAttr(ctx: PythonTransformContext, attr: string, moved: PyFunction[]): boolean {
  const scopes = moved.concat([...ctx.agent.methods.values()].filter((m) => isPublishMethod(ctx, m.name) || RETRY_METHOD.test(m.name) || isDrain(ctx, m.name) || m.name === '__init__'));
  return ctx.refs
    .of(attr)
    .filter((r) => r.kind === 'attribute')
    .every((r) => scopes.some((m) => m.outer.startIndex <= r.start && r.end <= m.outer.endIndex));
}


/**
 * In the publish method: a statement putting the event into the legacy queue (a call on the
 * queue object, or of a queue method of the agent) directly followed by `return False`.
 */
function queueFallbacks(ctx: PythonTransformContext, entry: PyFunction, queue: string | null): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  walk(entry.body, (node) => {
    if (node.type === 'function_definition' || node.type === 'lambda' || node.type === 'class_definition') return false;
    // `try: self.outbox.put_nowait(message) except queue.Full: logger.error(...)`: the store guarded
    // against a full queue, its handlers only logging; the try is the fallback statement.
    const guarded = guardedStore(node);
    if (node.type !== 'expression_statement' && !guarded) return;
    if (node.type === 'expression_statement' && node.parent?.parent?.type === 'try_statement' && guardedStore(node.parent.parent)) return;
    const n = node;
    const inner = guarded ?? node;
    const call = inner.namedChild(0);
    const fn = call?.type === 'call' ? call.childForFieldName('function') : null;
    if (fn?.type !== 'attribute') return;
    const method = selfAttribute(fn);
    const obj = fn.childForFieldName('object');
    // Between the store and `return False`, only trims of that store (`del self.unsent[:-N]`).
    const siblings = n.parent?.namedChildren ?? [];
    let at = siblings.findIndex((x) => x.id === n.id) + 1;
    const store = obj ? selfAttribute(obj) : null;
    const trims: SyntaxNode[] = [];
    while (store && siblings[at] && trimsStore(siblings[at]!, store)) trims.push(siblings[at++]!);
    // And log lines about the store (`logger.warning("backlog now %d", len(self.backlog))`, or such a line
    // under an `if` that only reads, `if len(self.outbox) % 100 == 0:`): they go with it (warned with their lines).
    while (siblings[at] && logOnlyStatement(siblings[at]!)) trims.push(siblings[at++]!);
    const next = siblings[at];
    if (next?.type !== 'return_statement' || next.namedChild(0)?.type !== 'false') return;
    const onQueue = !!queue && !!obj && selfAttribute(obj) === queue && /^(enqueue|put|put_nowait|append|push)$/.test(fn.childForFieldName('attribute')!.text);
    // Or the event itself put into a store of the agent (`self.outbox.add(envelope)`), or the
    // batch it was handed (`self.outbox.extend(events)`): the base's local_queue now.
    const args = call!.childForFieldName('arguments')!.namedChildren;
    const param = entry.params.filter((p, i) => i > 0 && p.kind !== 'separator')[0]?.name;
    const storesEvent = !!obj && !!selfAttribute(obj) && /^(enqueue|put|put_nowait|append|push|add|extend|update)$/.test(fn.childForFieldName('attribute')!.text) && args[0]?.text === param;
    const keeper = !!method && countingKeepers(ctx).has(method);
    if ((method && queueMember(ctx, method) && !isDrain(ctx, method)) || keeper || onQueue || storesEvent) out.push(n, ...trims);
  });
  return out;
}

/**
 * A statement on a failure path of the publish, before its fallback (`self._mirror_to_siem(telemetry)`
 * then `return self._queue_telemetry(telemetry)`), calling something other than a logger or the legacy
 * queue with the event itself: the failed event also goes to another destination. Failure paths are the
 * blocks ending in a fallback statement, `return False` or `return self.<queue method>(...)`.
 */
function failureSideSinks(ctx: PythonTransformContext, entry: PyFunction, fallbacks: SyntaxNode[]): Array<Array<{ stmt: SyntaxNode; callee: string; method: string | null }>> {
  const param = entry.params.filter((p, i) => i > 0 && p.kind !== 'separator')[0]?.name;
  if (!param) return [];
  const ends: SyntaxNode[] = [...fallbacks];
  walk(entry.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return n.id === entry.node.id ? undefined : false;
    if (n.type !== 'return_statement') return;
    const v = n.namedChild(0);
    const f = v?.type === 'call' ? v.childForFieldName('function') : null;
    const m = f?.type === 'attribute' ? selfAttribute(f) : null;
    if ((v?.type === 'false' || (m && queueMember(ctx, m) && !isDrain(ctx, m))) && !ends.some((e) => e.id === n.id)) ends.push(n);
  });
  // Per failure end, the calls before it in its block handed the event (the publish's parameter).
  return ends.map((end) => {
    const out: Array<{ stmt: SyntaxNode; callee: string; method: string | null }> = [];
    const siblings = end.parent?.type === 'block' ? statements(end.parent) : [];
    for (const x of siblings) {
      if (x.startIndex >= end.startIndex) break;
      if (fallbacks.some((f) => f.id === x.id)) continue;
      const call = x.type === 'expression_statement' ? x.namedChild(0) : null;
      if (call?.type !== 'call' || isLogCall(call)) continue;
      const f = call.childForFieldName('function')!;
      const m = f.type === 'attribute' ? selfAttribute(f) : null;
      if (m && queueMember(ctx, m)) continue;
      const args = call.childForFieldName('arguments')?.namedChildren ?? [];
      if (args.some((a) => a.type === 'identifier' && a.text === param)) out.push({ stmt: x, callee: m ? `self.${m}` : f.text, method: m });
    }
    return out;
  });
}

/**
 * The failure side sinks are provably "hand the refused event to X": every failure end of the publish
 * is preceded by exactly one such call, `self.X(event)` with the event alone, the same X each time, and
 * X is a method of the agent (not the base's) that sends what it is handed elsewhere and keeps nothing
 * (sendsAndKeepsNothing). Then the base's refusal, which lands once per refused event in its
 * local_queue, reaches X at the moment the legacy reached it. Null otherwise (a person decides).
 */
function failureMirror(ctx: PythonTransformContext, entry: PyFunction, sides: ReturnType<typeof failureSideSinks>): { method: string; stmts: SyntaxNode[] } | null {
  if (!sides.length || sides.some((s) => s.length !== 1)) return null;
  const method = sides[0]![0]!.method;
  if (!method || sides.some((s) => s[0]!.method !== method) || ctx.base.methods.has(method)) return null;
  const fn = ctx.agent.methods.get(method);
  const only = sides.every((s) => s[0]!.stmt.namedChild(0)!.childForFieldName('arguments')!.namedChildren.length === 1);
  if (!fn || !only || !sendsAndKeepsNothing(fn, ctx.agent.methods)) return null;
  // The legacy's re-send going through the same publish (`_flush_backlog()` calling it) reached the
  // method on every failed re-send too; the base's drain does not hand anything off.
  const resent = [...ctx.agent.methods.values()].some((m) => {
    if (m === entry || !isDrain(ctx, m.name)) return false;
    let calls = false;
    walk(m.body, (n) => {
      if (n.type === 'call' && selfAttribute(n.childForFieldName('function')!) === entry.name) calls = true;
    });
    return calls;
  });
  if (resent) return null;
  // Two failure ends in one block (a fallback store, then `return False`) share the call before them.
  const stmts = [...new Map(sides.map((s) => [s[0]!.stmt.id, s[0]!.stmt])).values()];
  return { method, stmts };
}

/** Queues that live in the process only: nothing they held survives the migration's restart. */
const IN_MEMORY_QUEUE = /^((collections\.)?deque|(queue\.)?(Queue|SimpleQueue|LifoQueue|PriorityQueue)|list|set)$/;

/**
 * The fallback stores something other than the event the publish is handed (`_publish_batch(batch)`
 * builds `telemetry` from the batch and queues that) on a queue that outlives the process (the
 * fleet's sqlite LocalQueue, a spool the agent's own class writes): the base queues the event it
 * handed the publisher, and drains the queue through that publisher, so the backlog the legacy agent
 * left (the built values) would be handed to publish() as if each were an event (wrapped a second
 * time, or refused on every drain). A person decides how the old backlog is carried over. Null when
 * the fallback queues the event itself, or the queue is in memory only (nothing in it survives).
 */
function backlogOfAnotherShape(ctx: PythonTransformContext, entry: PyFunction, fallbacks: SyntaxNode[], queue: string | null): { reason: string; line: number } | null {
  const param = entry.params.filter((p, i) => i > 0 && p.kind !== 'separator')[0]?.name;
  if (!param) return null;
  for (const f of fallbacks) {
    const inner = f.type === 'try_statement' ? statements(f.childForFieldName('body'))[0] : f;
    const call = inner?.type === 'expression_statement' ? inner.namedChild(0) : null;
    const fn = call?.type === 'call' ? call.childForFieldName('function') : null;
    if (fn?.type !== 'attribute') continue;
    const obj = fn.childForFieldName('object')!;
    const method = selfAttribute(fn);
    const store = method && ctx.agent.methods.has(method) ? queue : selfAttribute(obj);
    if (!store) continue;
    const arg = call!.childForFieldName('arguments')!.namedChildren[0];
    if (!arg || arg.type === 'keyword_argument' || arg.text === param) continue;
    const built = ctx.agent.assignments.find((x) => x.attr === store && x.method === '__init__' && x.value?.type === 'call');
    const ctor = built?.value?.childForFieldName('function')?.text ?? '';
    if (built && IN_MEMORY_QUEUE.test(ctor)) continue;
    const at = f.startPosition.row + 1;
    return {
      line: at,
      reason:
        `${entry.name}()'s fallback queues ${arg.text} (line ${at}: ${call!.text.split('\n')[0]!.trim()}), not the event it is handed (${param}): ` +
        `the base would queue ${param} and drain self.${store} through the publisher, so the backlog self.${store} already holds (${arg.text} values) would be handed to publish() as if each were a ${param}; ` +
        `carry that backlog over by hand (or queue ${param} itself) before handing ${entry.name}() to the base`,
    };
  }
  return null;
}

/** A try whose body is one expression statement and whose handlers only log or pass (no else/finally): that statement. */
function guardedStore(n: SyntaxNode): SyntaxNode | null {
  if (n.type !== 'try_statement') return null;
  const body = statements(n.childForFieldName('body'));
  if (body.length !== 1 || body[0]!.type !== 'expression_statement' || body[0]!.namedChild(0)?.type !== 'call') return null;
  const clauses = n.namedChildren.filter((c) => c.type !== 'block');
  if (!clauses.length || clauses.some((c) => c.type !== 'except_clause')) return null;
  for (const c of clauses) {
    const block = c.namedChildren.find((x) => x.type === 'block');
    if (!block || !statements(block).every((x) => x.type === 'pass_statement' || (x.type === 'expression_statement' && isLogCall(expressionOf(x))))) return null;
  }
  return body[0]!;
}

/** `del self.<store>[:-N]` / `self.<store> = self.<store>[-N:]`: bounding the store, nothing else. */
function trimsStore(stmt: SyntaxNode, store: string): boolean {
  const onlyStore = (node: SyntaxNode | null): boolean => {
    if (!node) return false;
    let ok = node.type === 'subscript' && selfAttribute(node.childForFieldName('value')!) === store;
    if (ok) walk(node.childForFieldName('subscript') ?? node, (c) => {
      if (c.type === 'call' || c.type === 'attribute') ok = false;
    });
    return ok;
  };
  if (stmt.type === 'delete_statement') return stmt.namedChildren.length > 0 && stmt.namedChildren.every((c) => onlyStore(c));
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  return e?.type === 'assignment' && selfAttribute(e.childForFieldName('left')!) === store && onlyStore(e.childForFieldName('right'));
}

/**
 * A helper of the transport whatever its name (`_retry(fn, *args)`, `_send_batch`, `_post`):
 * every reference to it in the file lies inside code that moves with the publish or that the
 * base replaces (publish and retry methods), so no caller is left behind once it moves.
 */
function transportHelper(ctx: PythonTransformContext, method: PyFunction, moved: PyFunction[], exitHooks: SyntaxNode[] = [], teardownCloses: SyntaxNode[] = []): boolean {
  if (method.name.startsWith('__') || ctx.base.methods.has(method.name)) return false;
  // A drain re-sending through the helper goes too (the base drains its local_queue); if a business
  // caller keeps the drain, the removal plan keeps the helper with it and nothing moves.
  const transport = [...ctx.agent.methods.values()].filter((m) => m !== method && (moved.includes(m) || isPublishMethod(ctx, m.name) || RETRY_METHOD.test(m.name) || isDrain(ctx, m.name)));
  const refs = ctx.refs.of(method.name).filter((r) => !(method.outer.startIndex <= r.start && r.end <= method.outer.endIndex));
  const hooks: SyntaxNode[] = [];
  const teardowns: SyntaxNode[] = [];
  const ok =
    refs.length > 0 &&
    refs.every((r) => {
      if (r.kind !== 'attribute') return false;
      if (transport.some((m) => m.outer.startIndex <= r.start && r.end <= m.outer.endIndex)) return true;
      const hook = exitHook(ctx, r.node);
      if (hook) hooks.push(hook);
      const close = hook ? null : teardownClose(ctx, r.node, method);
      if (close) teardowns.push(close);
      return !!hook || !!close;
    });
  if (ok) {
    exitHooks.push(...hooks);
    teardownCloses.push(...teardowns);
  }
  return ok;
}

/**
 * `self.<helper>()` (the `<helper>` name node given) as a whole statement of the `finally:` around the
 * loop of the agent's run(), the helper taking no argument: the teardown hardened-main-loop turns into
 * shutdown(). The base closes its publisher right after that hook when it stops, so once the helper
 * moves into the publisher, the publisher's close() calls it and this statement goes. Null otherwise
 * (also when the base never closes its publisher).
 */
function teardownClose(ctx: PythonTransformContext, name: SyntaxNode, method: PyFunction): SyntaxNode | null {
  if (ctx.base.closesPublisherAfter !== 'shutdown' || method.isAsync || method.params.slice(1).some((p) => p.kind !== 'separator')) return null;
  const attr = name.parent;
  const call = attr?.parent;
  const stmt = call?.parent;
  if (attr?.type !== 'attribute' || attr.childForFieldName('attribute')?.id !== name.id || attr.childForFieldName('object')?.text !== 'self') return null;
  if (call?.type !== 'call' || call.childForFieldName('function')?.id !== attr.id || call.childForFieldName('arguments')?.namedChildCount !== 0) return null;
  if (stmt?.type !== 'expression_statement') return null;
  const clause = stmt.parent?.parent;
  const tryStmt = clause?.parent;
  const run = ctx.agent.methods.get(LEGACY_RUN);
  if (clause?.type !== 'finally_clause' || tryStmt?.type !== 'try_statement' || !run || tryStmt.parent?.id !== run.body.id) return null;
  return triesLoop(tryStmt) ? stmt : null;
}

/**
 * Why a helper of the publish stays: its first use outside the publish and the transport
 * (`; run() also calls it at line 144: self._close_connection()`), or '' when there is none.
 */
/**
 * A helper that moves with the publish (`_get_grpc_channel()`), also called by a method of the agent that
 * stays whatever the migration removes (`_final_flush()` sending a last report from run()'s finally:): the
 * removal plan keeps the helper for that caller, so it cannot move and no publisher is built, while
 * collect() would already be the hook. The entry's own business callers are the kept-publisher path's.
 */
function movedHelperKeptCaller(ctx: PythonTransformContext, entry: PyFunction, moved: PyFunction[]): { helper: string; caller: string; line: number } | null {
  const inside = (m: PyFunction, r: { start: number; end: number }) => m.outer.startIndex <= r.start && r.end <= m.outer.endIndex;
  const cycle = analyzeCollect(ctx);
  for (const helper of moved) {
    if (helper === entry) continue;
    for (const r of ctx.refs.of(helper.name)) {
      if (r.kind !== 'attribute' || moved.some((m) => inside(m, r))) continue;
      const owner = [...ctx.agent.methods.values()].find((m) => inside(m, r));
      if (!owner || owner.name === '__init__' || owner.name === LEGACY_RUN) continue;
      if (isTransport(ctx, owner.name) || isDrain(ctx, owner.name) || queueMember(ctx, owner.name)) continue;
      if (cycle.ok && owner === cycle.value.fn) continue;
      return { helper: helper.name, caller: owner.name, line: r.line };
    }
  }
  return null;
}

function otherCaller(ctx: PythonTransformContext, method: PyFunction, moved: PyFunction[]): string {
  const inside = (m: PyFunction, r: { start: number; end: number }) => m.outer.startIndex <= r.start && r.end <= m.outer.endIndex;
  const own = (r: { start: number; end: number }) => inside(method, r) || moved.some((m) => inside(m, r));
  const ref = ctx.refs.of(method.name).find((r) => r.kind === 'attribute' && !own(r));
  if (!ref) return '';
  const owner = [...ctx.agent.methods.values()].find((m) => inside(m, ref));
  return `; ${owner ? `${owner.name}()` : 'the module'} also calls it at line ${ref.line} (${ctx.source.split('\n')[ref.line - 1]!.trim().slice(0, 60)}), so it cannot move into ${CLASS} alone: decide where that call goes (${ctx.base.closesPublisherAfter ? `the base calls the publisher's close() when it stops, after ${ctx.base.closesPublisherAfter}()` : `${ctx.base.className} never closes its publisher`})`;
}

/**
 * `atexit.register(self._close_conn)` as a top-level statement of __init__ (the `_close_conn` name
 * node given): the helper registered to run when the interpreter exits. It moves with the helper:
 * registered on the publisher once the agent has built it, it still runs at exit, as before.
 */
export function exitHook(ctx: PythonTransformContext, name: SyntaxNode): SyntaxNode | null {
  const attr = name.parent;
  const args = attr?.parent;
  const call = args?.parent;
  const stmt = call?.parent;
  const init = ctx.agent.methods.get('__init__');
  if (attr?.type !== 'attribute' || attr.childForFieldName('object')?.text !== 'self' || args?.type !== 'argument_list' || args.namedChildCount !== 1) return null;
  if (call?.type !== 'call' || call.childForFieldName('function')?.text !== 'atexit.register' || !ctx.module.imports.has('atexit')) return null;
  if (stmt?.type !== 'expression_statement' || !init || stmt.parent?.id !== init.body.id) return null;
  return stmt;
}

/** `stmt` is the last statement of an except: handler of `body` (not of a nested def). */
function handlerFallback(stmt: SyntaxNode, body: SyntaxNode): boolean {
  if (stmt.type !== 'expression_statement') return false;
  const block = stmt.parent;
  const clause = block?.parent;
  if (block?.type !== 'block' || (clause?.type !== 'except_clause' && clause?.type !== 'except_group_clause')) return false;
  const last = statements(block).at(-1);
  return last?.id === stmt.id && insideHandler(stmt, body);
}

function insideHandler(n: SyntaxNode, stop: SyntaxNode): boolean {
  for (let p = n.parent; p && p.id !== stop.id; p = p.parent) {
    if (p.type === 'except_clause' || p.type === 'except_group_clause') return true;
    if (p.type === 'function_definition') return false;
  }
  return false;
}

/** A statement with the comment lines right above it (they speak of it: they go where it goes). */
function leadingComments(stmt: SyntaxNode): SyntaxNode {
  const siblings = stmt.parent?.children ?? [];
  let first = stmt;
  for (let i = siblings.findIndex((c) => c.id === stmt.id) - 1; i >= 0; i--) {
    const p = siblings[i]!;
    if (p.type !== 'comment' || p.endPosition.row !== first.startPosition.row - 1 || p.startPosition.column !== stmt.startPosition.column) break;
    first = p;
  }
  return first;
}

/** The text of a member (decorators and its own lines) with the failure returns raising. */
function movedText(ctx: PythonTransformContext, fn: PyFunction, plan: PublisherPlan): string {
  const start = lineStart(ctx.source, fn.outer.startIndex);
  const end = lineEnd(ctx.source, fn.outer.endIndex);
  const edits = plan.failures
    .filter((f) => start <= f.node.startIndex && f.node.endIndex <= end)
    .sort((a, b) => b.node.startIndex - a.node.startIndex);
  let text = ctx.source.slice(start, end);
  const cuts = [
    ...edits.map((f) => ({ from: f.node.startIndex, to: f.node.endIndex, text: f.inHandler ? 'raise' : `raise RuntimeError("EventBus did not take the event (${fn.name})")` })),
    // The queue fallback, and the own breaker's open check, go with their own line(s).
    ...plan.gates.filter((g) => start <= g.startIndex && g.endIndex <= end).map((g) => ({ from: lineStart(ctx.source, g.startIndex), to: lineEnd(ctx.source, g.endIndex), text: '' })),
    ...plan.unwrapped.filter((b) => start <= b.call.startIndex && b.call.endIndex <= end).map((b) => ({ from: b.call.startIndex, to: b.call.endIndex, text: unwrappedText(b) })),
    ...plan.fallbacks.filter((f) => start <= f.startIndex && f.endIndex <= end && !plan.gates.some((g) => g.startIndex <= f.startIndex && f.endIndex <= g.endIndex)).map((f) => ({ from: lineStart(ctx.source, f.startIndex), to: lineEnd(ctx.source, f.endIndex), text: '' })),
    ...plan.drains.filter((d) => start <= d.startIndex && d.endIndex <= end).map((d) => ({ from: lineStart(ctx.source, d.startIndex), to: lineEnd(ctx.source, d.endIndex), text: '' })),
    ...(plan.mirror?.stmts ?? []).filter((d) => start <= d.startIndex && d.endIndex <= end).map((d) => ({ from: lineStart(ctx.source, leadingComments(d).startIndex), to: lineEnd(ctx.source, d.endIndex), text: '' })),
    ...(plan.counts ?? []).filter((c) => start <= c.stmt.startIndex && c.stmt.endIndex <= end).map((c) => ({ from: lineStart(ctx.source, c.stmt.startIndex), to: lineEnd(ctx.source, c.stmt.endIndex), text: '' })),
  ].sort((a, b) => b.from - a.from);
  for (const c of cuts) text = text.slice(0, c.from - start) + c.text + text.slice(c.to - start);
  return text.replace(/\r?\n$/, '');
}

/**
 * The module function handed the agent, as a method of the publisher: `def ship(self, telemetry):`, each
 * `agent.<attr>` read as `self.<attr>` (handed at construction), its queue fallback's line cut (its
 * `return False` stays: publish() raises on it, and the base queues the batch once), indented one level.
 */
function agentSendText(ctx: PythonTransformContext, send: AgentModuleCall): string {
  const fn = send.fn;
  const start = lineStart(ctx.source, fn.outer.startIndex);
  const end = lineEnd(ctx.source, fn.outer.endIndex);
  const params = fn.parameters.namedChildren.filter((p) => (p.type === 'identifier' ? p.text : p.childForFieldName('name')?.text ?? p.namedChild(0)?.text) !== send.param);
  const cuts: Array<{ from: number; to: number; text: string }> = [{ from: fn.parameters.startIndex, to: fn.parameters.endIndex, text: `(${['self', ...params.map((p) => p.text)].join(', ')})` }];
  walk(fn.body, (n) => {
    if (n.type === 'identifier' && n.text === send.param && n.parent?.type === 'attribute') cuts.push({ from: n.startIndex, to: n.endIndex, text: 'self' });
  });
  cuts.push({ from: lineStart(ctx.source, send.fallback!.startIndex), to: lineEnd(ctx.source, send.fallback!.endIndex), text: '' });
  let text = ctx.source.slice(start, end);
  for (const c of cuts.filter((c) => !cuts.some((o) => o !== c && o.from <= c.from && c.to <= o.to && (o.from !== c.from || o.to !== c.to))).sort((a, b) => b.from - a.from)) {
    text = text.slice(0, c.from - start) + c.text + text.slice(c.to - start);
  }
  const u = ctx.layout.unit;
  return text.replace(/\r?\n$/, '').split(/\r?\n/).map((l) => (l.trim() ? u + l : l)).join(ctx.layout.eol);
}

/**
 * The counts the entry kept of what it published (plan.counts), kept by the agent: an override of the
 * base's queued publish (True when the batch was published, False when queued) adding the batch's size,
 * its lines, written after __init__. The backlog the base drains was never counted, nor is it now.
 */
function countPublished(ctx: PythonTransformContext, plan: PublisherPlan): string[] {
  const u = ctx.layout.unit;
  const queued = ctx.base.queuedPublish!;
  const counts = plan.counts!;
  const lines = [
    '',
    `${u}def ${queued}(self, events):`,
    `${u}${u}# ${plan.entry.name}() counted each event it published (migrate): the base publishes them now.`,
    `${u}${u}published = super().${queued}(events)`,
    `${u}${u}if published:`,
    ...counts.map((c) => `${u}${u}${u}self.${c.attr} += len(events)`),
    `${u}${u}return published`,
  ];

  for (const c of counts) {
    ctx.warnings.push(`${ctx.agent.cls.name}: ${plan.entry.name}() counted each event it published into self.${c.attr} (line ${c.stmt.startPosition.row + 1}); ${CLASS} publishes now, so the agent's ${queued}() override adds each batch ${ctx.profile.base_class} published (a failed one is queued and not counted, as before)`);
  }
  return lines;
}

function classText(ctx: PythonTransformContext, plan: PublisherPlan): string {
  const eol = ctx.layout.eol;
  const u = ctx.layout.unit;
  // The loop variable must not shadow publish()'s own parameter (a publish method taking `events`),
  // nor the module function it calls (`def batch(...)`).
  const param = plan.agentSend ? plan.agentSend.eventParam! : plan.entry.params[plan.module ? 0 : 1]!.name;
  const event = [param === 'events' ? 'batch' : param, 'batch', 'event', 'item'].find((n) => n !== 'events' && n !== plan.entry.name)!;
  const lines: string[] = [
    `class ${CLASS}:`,
    plan.module
      ? `${u}"""${ctx.agent.cls.name}'s own EventBus transport, the module's ${plan.entry.name}(), handed to the base by migrate.`
      : `${u}"""${ctx.agent.cls.name}'s own EventBus transport, moved out of the agent by migrate.`,
    '',
    `${u}HardenedAgentBase calls publish(events); an exception is a failed publish, which the`,
    `${u}base retries and then queues locally."""`,
    '',
  ];
  if (plan.shared.length || plan.movedState.length || plan.live.length) {
    lines.push(`${u}def __init__(self${[...plan.shared, ...plan.live.map((l) => l.attr)].map((s) => `, ${s}=None`).join('')}):`);
    for (const s of plan.shared) lines.push(`${u}${u}self.${s} = ${s}`);
    for (const l of plan.live) lines.push(`${u}${u}self._${l.attr} = ${l.attr}`);
    for (const m of plan.movedState) lines.push(`${u}${u}${m.stmt.text}`);
    lines.push('');
  }
  for (const l of plan.live) {
    lines.push(
      `${u}@property`,
      `${u}def ${l.attr}(self):`,
      `${u}${u}"""The agent's self.${l.attr}, read at each publish (its ${l.method}() changes it)."""`,
      `${u}${u}return self._${l.attr}()`,
      '',
    );
  }
  lines.push(`${u}def publish(self, events):`, `${u}${u}for ${event} in events:`);
  if (plan.agentSend) {
    lines.push(`${u}${u}${u}if not self.${plan.entry.name}(${event}):`, `${u}${u}${u}${u}raise RuntimeError("EventBus did not take the event (${plan.entry.name})")`);
    return `${lines.join(eol)}${eol}${eol}${agentSendText(ctx, plan.agentSend)}${eol}`;
  }
  if (plan.module) {
    lines.push(`${u}${u}${u}if not ${plan.entry.name}(${event}):`, `${u}${u}${u}${u}raise RuntimeError("EventBus did not take the event (${plan.entry.name})")`);
    return lines.join(eol) + eol;
  }
  if (plan.checkResult) {
    lines.push(`${u}${u}${u}if not self.${plan.entry.name}(${event}):`, `${u}${u}${u}${u}raise RuntimeError("EventBus did not take the event (${plan.entry.name})")`);
  } else lines.push(`${u}${u}${u}self.${plan.entry.name}(${event})`);
  const body = lines.join(eol);
  const moves = plan.moved.map((m) => movedText(ctx, m, plan));
  // The agent's own teardown of the moved state: the base's shutdown() path calls it through the agent.
  if (plan.closes.length) {
    const c = plan.closes[0]!;
    // Its inner lines keep their depth relative to the statement (a finally:'s close sits deeper than close()'s body).
    const extra = c.startPosition.column - u.length * 2;
    const text = ctx.source.slice(c.startIndex, c.endIndex).split(/\r?\n/).map((l, i) => (i && extra > 0 && l.startsWith(' '.repeat(extra)) ? l.slice(extra) : l)).join(eol);
    moves.push([`${u}def close(self):`, `${u}${u}${text}`].join(eol));
  }
  // run()'s finally: closed the transport through a helper that moved: the base calls close() when it stops.
  if (plan.teardownCloses.length) {
    moves.push([`${u}def close(self):`, ...[...new Set(plan.teardownCloses.map((c) => c.text.trim()))].map((t) => `${u}${u}${t}`)].join(eol));
  }
  const methods = moves.join(eol + eol);
  return `${body}${eol}${eol}${methods}${eol}`;
}

/**
 * The publish stays in the agent (business code calls it too: `raise_alert()` publishing at once),
 * yet the cycle's own call of it went and collect_data() returns that event: without a publisher
 * the base would only count it as unpublished. When the cycle called it as a plain statement with
 * one event (`self._publish_event(summary)`, its answer unread), the base is handed a publisher
 * that makes that same call for each event: the event reaches the bus as before, and the kept
 * method's own fallback (its legacy queue, still drained by the kept drain) keeps what the bus refuses.
 */
/**
 * The cycle's publish has the shape the kept-publisher path hands the base (before the removal
 * plan is known): one agent method, called as a plain statement (`self._publish(t)`, or under
 * `if t:` / in `for e in t:` with the call alone inside, which collect_data()'s return reproduces
 * event by event), or as `if not self._publish(t): <keep t>` when the cycle acts on its answer
 * and the method keeps nothing in a legacy queue itself.
 */
export function keptPublisherShape(ctx: PythonTransformContext, plan: CollectPlan): boolean {
  if (plan.moduleFns.length || plan.publishers.length !== 1) return false;
  if (plan.raising || plan.accumulate || plan.loop) return false;
  if (ctx.module.classes.some((c) => c.name === CLASS)) return false;
  const entry = ctx.agent.methods.get(plan.publishers[0]!);
  if (!entry || !ctx.agent.methods.has('__init__')) return false;
  const stmts = plan.publishStmts;
  if (!stmts.length) return false;
  const plain = (st: SyntaxNode) => {
    const c = selfCall(st);
    return !!c && !c.target && c.method === entry.name;
  };
  const plainCall = (st: SyntaxNode) => {
    if (plain(st)) return true;
    if (st.type !== 'if_statement' && st.type !== 'for_statement') return false;
    if (st.namedChildren.some((c) => c.type === 'else_clause' || c.type === 'elif_clause')) return false;
    const inner = statements(st.childForFieldName(st.type === 'if_statement' ? 'consequence' : 'body'));
    return inner.length === 1 && plain(inner[0]!);
  };
  // `if not self._publish(t): <keep t>` (its fallback went with the legacy store and drain): a
  // falsy answer raises, so the base keeps that event in its local_queue instead.
  const checkedCall = (st: SyntaxNode) => {
    const cond = st.type === 'if_statement' ? st.childForFieldName('condition') : null;
    const arg = cond?.type === 'not_operator' ? cond.childForFieldName('argument') : null;
    const f = arg?.type === 'call' ? arg.childForFieldName('function') : null;
    return !!f && f.type === 'attribute' && selfAttribute(f) === entry.name;
  };
  const checked = plan.resultChecked;
  if (!stmts.every((st) => (checked ? checkedCall(st) : plainCall(st)))) return false;
  // A publish keeping its own failures in a legacy queue would then have them kept twice.
  if (checked) {
    let own = false;
    walk(entry.body, (n) => {
      const a = n.type === 'call' ? selfAttribute(n.childForFieldName('function')!) : null;
      if (a && queueMember(ctx, a)) own = true;
    });
    if (own) return false;
  }
  return true;
}

/**
 * The kept publish keeps what the bus refuses in the agent's own queue (`return self._queue_telemetry(t)`):
 * handed to the base as it stands, it never raises, so the base counts every event published and never
 * queues one, and what it parked is re-sent only by the legacy drain (out of the base's sight, or not at
 * all when the cycle's call of it goes). That output could only fail the bus-down check: the agent stays for
 * review with nothing written, the item naming the caller that keeps the publish, the fallback and the drain.
 */
function refuseOwnFallback(ctx: PythonTransformContext, entry: PyFunction, plan: CollectPlan): boolean {
  let fallback: SyntaxNode | null = null;
  walk(entry.body, (n) => {
    if (fallback || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    const m = n.type === 'call' ? selfAttribute(n.childForFieldName('function')!) : null;
    if (m && queueMember(ctx, m) && !isDrain(ctx, m)) fallback = n;
  });
  if (!fallback) return false;
  const fb = fallback as SyntaxNode;
  const at = (n: SyntaxNode) => `line ${n.startPosition.row + 1}: ${ctx.source.split('\n')[n.startPosition.row]!.trim().slice(0, 60)}`;
  const callerOf = (name: string): string | null => {
    const ext = ctx.external(name)[0];
    if (ext) return `${ext.file}:${ext.line} (${ext.text.trim().slice(0, 60)})`;
    const own = ctx.agent.methods.get(name)!;
    const r = ctx.refs.of(name).find((x) => x.kind === 'attribute' && !(own.outer.startIndex <= x.start && x.end <= own.outer.endIndex) && !isRemoved(ctx, x.node));
    return r ? `line ${r.line} (${ctx.source.split('\n')[r.line - 1]!.trim().slice(0, 60)})` : null;
  };
  const drain = plan.drainStmts[0];
  const drainName = drain ? selfCall(drain)?.method : undefined;
  const drainCaller = drainName && ctx.agent.methods.has(drainName) && !ctx.resolved?.members.has(drainName) ? callerOf(drainName) : null;
  const drained = !drain
    ? 'nothing in the cycle drains that queue, so what it parks would never be re-sent'
    : isRemoved(ctx, drain)
      ? `the cycle's own drain (${at(drain)}) goes with collect()${drainCaller ? `, ${drainName}() staying only for ${drainCaller}` : ''}, so what it parks would never be re-sent`
      : `only the cycle's own drain (${at(drain)}), which stays in collect_data(), re-sends what it parks, out of the base's sight`;
  const item = keep(
    ctx,
    entry.name,
    fb.startPosition.row + 1,
    `${entry.name}() stays for ${callerOf(entry.name) ?? 'code that still calls it'}, and it keeps what the bus refuses in the agent's own queue itself (${at(fb)}): ` +
      `handed to the base as its publisher it never raises, so the base would count every refused event as published and queue none (/health shows no queue while the bus is down: validation's bus-down check fails), ` +
      `and ${drained}. ` +
      `Decide by hand: that caller publishing through the base (self._publish_with_retry([event])) lets ${entry.name}() move into EventBusPublisher with its fallback raising`,
  );
  ctx.unstartable = { ...item, because: `and ${entry.name}() kept as the base's publisher would hide every refused event from the base's queue` };
  return true;
}

function keptPublisher(ctx: PythonTransformContext): boolean {
  const collect = analyzeCollect(ctx);
  if (!collect.ok || !keptPublisherShape(ctx, collect.value)) return false;
  const entry = ctx.agent.methods.get(collect.value.publishers[0]!)!;
  if (ctx.resolved?.members.has(entry.name)) return false;
  const stmts = collect.value.publishStmts;
  if (!stmts.every((st) => ctx.resolved!.statements.some((x) => x.node.id === st.id && x.replacement === undefined))) return false;
  const checked = collect.value.resultChecked;
  if (!checked && refuseOwnFallback(ctx, entry, collect.value)) return true;
  const tail = initTail(ctx);
  if (!tail) return false;
  const eol = ctx.layout.eol;
  const u = ctx.layout.unit;
  const cls = ctx.agent.cls;
  const text = [
    `class ${CLASS}:`,
    `${u}"""${cls.name}'s own publish, ${entry.name}(), which stays in the agent for its other callers (migrate).`,
    '',
    `${u}HardenedAgentBase calls publish(events) with what collect_data() returns; each event goes`,
    ...(checked
      ? [`${u}through ${entry.name}() as the legacy cycle sent it; a falsy answer raises, and the base`, `${u}retries and then queues the event locally."""`]
      : [`${u}through ${entry.name}() as the legacy cycle sent it, and that method's own fallback keeps`, `${u}what the bus refuses."""`]),
    '',
    `${u}def __init__(self, send):`,
    `${u}${u}self._send = send`,
    '',
    `${u}def publish(self, events):`,
    `${u}${u}for event in events:`,
    ...(checked
      ? [`${u}${u}${u}if not self._send(event):`, `${u}${u}${u}${u}raise RuntimeError("EventBus did not take the event (${entry.name})")`]
      : [`${u}${u}${u}self._send(event)`]),
  ].join(eol);
  ctx.edits.insert(lineStart(ctx.source, cls.outer.startIndex), `${text}${eol}${eol}${eol}`, label);
  const wiring = [`${tail.indent}# HardenedAgentBase publishes through the agent's own ${entry.name}() (migrate).`, `${tail.indent}self.eventbus_publisher = ${CLASS}(self.${entry.name})`];
  ctx.edits.insert(tail.at, wiring.map((l) => l + eol).join(''), label);
  ctx.warnings.push(
    `${cls.name}: ${entry.name}() stays for the code that still calls it, and the base publishes what ${HOOK}() returns through it (${CLASS}(self.${entry.name}), one call per event as ${collect.value.fn.name}() made); ` +
      (checked
        ? `a falsy answer raises, so the base retries and queues that event in its local_queue where ${collect.value.fn.name}() kept it itself`
        : `its own fallback, not the base's retries and local_queue, keeps what the bus refuses, and /health counts those events as published`),
  );
  return true;
}

/**
 * run()'s loop sent each cycle's events through the agent's own bus client (`self.bus.send(events)`,
 * raising when the bus is down) and kept them in a list of its own: the client stays in the agent,
 * and the base is handed a publisher making that same call for each batch collect_data() returns; a
 * failure raises as before, so the base retries and queues the batch in its local_queue.
 */
function clientPublisher(ctx: PythonTransformContext, client: string, store: string): void {
  if (ctx.module.classes.some((c) => c.name === CLASS)) {
    keep(ctx, 'eventbus_publisher', ctx.agent.cls.line, `run() sent through self.${client}() and the module already defines ${CLASS}; hand the base a publisher by hand`);
    return;
  }
  const tail = initTail(ctx);
  if (!tail) {
    keep(ctx, 'eventbus_publisher', ctx.agent.cls.line, `${ctx.agent.cls.name}.__init__ keeps no statement to hand ${CLASS} to the base after; do it by hand`);
    return;
  }
  const eol = ctx.layout.eol;
  const u = ctx.layout.unit;
  const cls = ctx.agent.cls;
  const text = [
    `class ${CLASS}:`,
    `${u}"""${cls.name}'s own bus client, self.${client}(), which stays in the agent (migrate).`,
    '',
    `${u}HardenedAgentBase calls publish(events) with what collect_data() returns; each batch goes`,
    `${u}through the client as the legacy run() loop sent it; an exception is a failed publish, which`,
    `${u}the base retries and then queues locally."""`,
    '',
    `${u}def __init__(self, send):`,
    `${u}${u}self._send = send`,
    '',
    `${u}def publish(self, events):`,
    `${u}${u}for event in events:`,
    `${u}${u}${u}self._send(event)`,
  ].join(eol);
  ctx.edits.insert(lineStart(ctx.source, cls.outer.startIndex), `${text}${eol}${eol}${eol}`, label);
  const wiring = [`${tail.indent}# HardenedAgentBase publishes through the agent's own bus client (migrate).`, `${tail.indent}self.eventbus_publisher = ${CLASS}(self.${client})`];
  ctx.edits.insert(tail.at, wiring.map((l) => l + eol).join(''), label);
  ctx.warnings.push(
    `${cls.name}: the base publishes what ${HOOK}() returns through self.${client}() (${CLASS}(self.${client}), one call per batch as run() made); ` +
      `a failure raises, so the base retries and queues the batch in its own local_queue: self.${store} is no longer filled nor re-sent (anything in it lived in memory only)`,
  );
}

export const hardenedPublisher: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    // run() sent through the agent's own bus client, which stays: the base publishes through its send.
    const cycle = analyzeCollect(ctx);
    if (cycle.ok && cycle.value.loop?.client) {
      if (ctx.resolved?.members.get('run')?.finding === 'loop') clientPublisher(ctx, cycle.value.loop.client, cycle.value.loop.store ?? "");
      return;
    }
    const a = analyzePublisher(ctx);
    if (!a.ok) {
      // collect() became collect_data() and its publish left the class, but nothing carries
      // the events to the bus: the base has no eventbus_publisher.
      const gone = [...(ctx.resolved?.members.values() ?? [])].filter((m) => m.kind === 'method' && m.finding === 'publish');
      // The publish stayed (business code calls it): the base publishes through it, as the cycle did.
      if (!gone.length && keptPublisher(ctx)) return;
      if (analyzeCollect(ctx).ok && gone.length) {
        keep(ctx, 'eventbus_publisher', a.line, `${gone.map((m) => `${m.name}()`).join(', ')} removed but no ${CLASS} could be built from them (${a.reason}); pass a publisher to the base by hand, or its events are never published`);
      }
      return;
    }
    const plan = a.value;
    // Only when the plan really removed the transport (no business caller kept it); otherwise the
    // base publishes through the publish that stays, as the legacy cycle did.
    if (!plan.moved.every((m) => ctx.resolved?.members.has(m.name))) {
      keptPublisher(ctx);
      return;
    }
    const eol = ctx.layout.eol;
    const cls = ctx.agent.cls;
    // Hand the publisher (and the legacy queue) to the base at the end of __init__, where
    // everything they read has been set.
    const tail = initTail(ctx, (x) => plan.movedState.some((m) => m.stmt.id === x.id) || plan.exitHooks.some((h) => h.id === x.id));
    if (!tail) {
      keep(ctx, 'eventbus_publisher', ctx.agent.methods.get('__init__')!.line, `${cls.name}.__init__ keeps no statement to hand ${CLASS} to the base after; do it by hand`);
      return;
    }
    const handOff = [...cycleHandOffs(ctx)][0];
    const fronted = handOff || plan.mirror || [...countingKeepers(ctx).values()].some((store) => store === plan.queue);
    ctx.edits.insert(lineStart(ctx.source, cls.outer.startIndex), `${classText(ctx, plan)}${eol}${eol}${fronted ? `${handOffClassText(eol)}${eol}${eol}${eol}` : ''}`, label);
    const indent = tail.indent;
    // Read where the class now keeps it (a constant renamed because the base's attribute would hide it).
    const own = (a: string) => ctx.renames.get(a) ?? a;
    const args = [...plan.shared.map((s) => `${s}=self.${own(s)}`), ...plan.live.map((l) => `${l.attr}=lambda: self.${own(l.attr)}`)].join(', ');
    const wiring = [`${indent}# HardenedAgentBase publishes through the agent's own transport (migrate).`, `${indent}self.eventbus_publisher = ${CLASS}(${args})`];
    const keeper = [...countingKeepers(ctx)].find(([, store]) => store === plan.queue)?.[0];
    if (plan.queue && keeper) {
      wiring.push(
        `${indent}# The base hands what the EventBus refuses to ${keeper}(), which keeps it in self.${plan.queue} and counts (migrate).`,
        `${indent}self.local_queue = ${HANDOFF_CLASS}(self.${keeper}, ${ADAPTER}(self.${plan.queue}, agent_name=self.agent_name), keep=False)`,
      );
      const fn = ctx.agent.methods.get(keeper)!;
      ctx.warnings.push(
        `${cls.name}: ${keeper}() (line ${fn.line}) stays: the base's local_queue is ${HANDOFF_CLASS}(self.${keeper}, ${ADAPTER}(self.${plan.queue}), keep=False), so each event the base could not publish is kept by ${keeper}() in self.${plan.queue}, counted as before, and drained from there by the base`,
      );
    } else if (plan.queue) wiring.push(`${indent}self.local_queue = ${ADAPTER}(self.${plan.queue}, agent_name=self.agent_name)`);
    if (plan.mirror) {
      const m = plan.mirror.method;
      wiring.push(`${indent}# What the EventBus refuses is handed to ${m}() too, then kept, as the legacy publish did (migrate).`, `${indent}self.local_queue = ${HANDOFF_CLASS}(self.${m}, self.local_queue)`);
      ctx.warnings.push(
        `${cls.name}: ${plan.entry.name}() handed the event it failed to publish to ${m}() on every failure path (line${plan.mirror.stmts.length > 1 ? 's' : ''} ${plan.mirror.stmts.map((x) => x.startPosition.row + 1).join(', ')}), then queued it: ${m}() stays and the base's local_queue is ${HANDOFF_CLASS}(self.${m}, <the base's queue>), ` +
          `so each event the base could not publish (after its retries, or at once while its breaker is open) goes there once, then waits in the queue the base drains; a failed re-send of a queued event does not reach ${m}() (nor did the legacy drain's)`,
      );
    }
    if (handOff) {
      const fn = ctx.agent.methods.get(handOff)!;
      wiring.push(`${indent}# What the EventBus refuses goes to ${handOff}() instead, as the legacy cycle sent it, and nowhere else (migrate).`, `${indent}self.local_queue = ${HANDOFF_CLASS}(self.${handOff}, self.local_queue, keep=False)`);
      ctx.warnings.push(
        `${cls.name}: the cycle sent a batch the bus refused to ${handOff}() (line ${fn.line}), which sends it elsewhere and keeps nothing to re-send: it stays, and the base's local_queue is ${HANDOFF_CLASS}(self.${handOff}, <the base's queue>), ` +
          `so each batch the base could not publish (after its retries, or at once while its breaker is open) goes there once, as before, and is not kept for the bus (keep=False: the legacy never re-posted it); the base still counts it in events_queued`,
      );
    }
    for (const h of plan.exitHooks) {
      const helper = selfAttribute(h.namedChild(0)!.childForFieldName('arguments')!.namedChild(0)!)!;
      wiring.push(`${indent}atexit.register(self.eventbus_publisher.${helper})`);
      noteMovedCode(ctx, h);
      ctx.warnings.push(`${cls.name}: ${helper}() moved into ${CLASS}; its exit hook (line ${h.startPosition.row + 1}: ${h.text.trim()}) is registered on the publisher once __init__ has built it`);
    }
    // The override keeping the entry's count follows __init__, written with its last lines.
    if (plan.counts?.length) wiring.push(...countPublished(ctx, plan));
    ctx.edits.insert(tail.at, wiring.map((l) => l + eol).join(''), label);
    for (const l of plan.live) {
      ctx.warnings.push(
        `${cls.name}: ${CLASS} reads self.${l.attr} from the agent at each publish (${l.attr}=lambda: self.${l.attr}), since ${l.method}() changes it (line ${l.line}: ${l.stmt}); an event the base re-sends from its local_queue carries the value current when it is re-sent, as the legacy re-send did`,
      );
    }
    for (const m of plan.movedState) if (!isRemoved(ctx, m.stmt)) ctx.deletions.push({ node: m.stmt, symbol: `${m.attr} (moved into ${CLASS})` });
    for (const c of plan.closes) {
      if (isRemoved(ctx, c)) {
        // The finally: around a removed run() loop: shutdown() leaves it out (hardened-main-loop).
        if (c.parent?.parent?.type === 'finally_clause') {
          ctx.warnings.push(`${cls.name}: run()'s finally: closed the transport state that moved into ${CLASS} (line ${c.startPosition.row + 1}: ${c.text.split('\n')[0]!.trim()}); that is ${CLASS}.close() now, which the base calls when it stops, right after shutdown() (so after the rest of that teardown, no longer before it)`);
        }
        continue;
      }
      ctx.edits.replace(c.startIndex, c.endIndex, 'self.eventbus_publisher.close()', label);
      const owner = [...ctx.agent.methods.values()].find((m) => m.outer.startIndex <= c.startIndex && c.endIndex <= m.outer.endIndex);
      ctx.warnings.push(`${cls.name}: ${owner?.name ?? 'the teardown'}() closed the transport state that moved into ${CLASS} (line ${c.startPosition.row + 1}: ${c.text.split('\n')[0]!.trim()}); it calls self.eventbus_publisher.close() there now`);
    }
    for (const c of plan.teardownCloses) {
      ctx.warnings.push(
        `${cls.name}: run()'s finally: closed the transport with ${c.text.trim()} (line ${c.startPosition.row + 1}); that helper moved into ${CLASS}, whose close() runs it, and the base calls close() when it stops, right after shutdown() (so after the rest of that teardown, no longer before it)`,
      );
    }
    if (plan.agentSend) {
      const send = plan.agentSend;
      const fb = send.fallback!;
      const callers = (name: string) => {
        const local = ctx.refs.of(name).filter((r) => r.kind === 'identifier' && r.node.parent?.type === 'call' && !isRemoved(ctx, r.node));
        const ext = ctx.external(name);
        return [...local.map((r) => `line ${r.line}`), ...ext.slice(0, 2).map((e) => `${e.file}:${e.line}`)];
      };
      const still = callers(send.fn.name);
      ctx.warnings.push(
        `${cls.name}: the module function ${send.fn.name}() (line ${send.fn.line}), handed the agent, is ${CLASS}.${send.fn.name}() now: its body as written, ${send.attrs.map((a) => `${send.param}.${a}`).join(', ') || 'nothing of the agent'} read through the publisher (${send.attrs.map((a) => `${a}=self.${a}`).join(', ')}, set once in __init__), ` +
          `without its own fallback (line ${fb.startPosition.row + 1}: ${fb.text.trim().split("(")[0]}(...)): publish() raises when it answers False, and the base retries and queues that batch once, in self.${send.queue} through ${ADAPTER}; ` +
          `${send.fn.name}() stays in the module${still.length ? ` for ${still.join(', ')}` : ', called by nothing in this file now'}`,
      );
      const collect = analyzeCollect(ctx);
      for (const st of collect.ok ? collect.value.drainStmts : []) {
        const d = agentModuleCall(ctx, st);
        if (d?.kind !== 'drain' || !isRemoved(ctx, st)) continue;
        const left = callers(d.fn.name);
        ctx.warnings.push(`${cls.name}: ${st.text.trim()} (line ${st.startPosition.row + 1}) went: the base drains self.${d.queue}, its local_queue, first every cycle, through its breaker; ${d.fn.name}() stays in the module${left.length ? ` for ${left.join(', ')}` : ', called by nothing in this file now'}`);
      }
    } else ctx.warnings.push(
      plan.module
        ? `${cls.name}: the module function ${plan.entry.name}() (line ${plan.entry.line}) stays where it is${plan.entry.decorators.length ? ` with ${plan.entry.decorators.map((d) => `@${d}`).join(', ')} (its wrapper hands back the function's answer)` : ''}; ${CLASS} (the base's eventbus_publisher) calls it and raises when it answers falsy, so the base retries and queues a failed batch`
        : plan.failures.length || !plan.checkResult
          ? `${cls.name}: ${plan.moved.map((m) => `${m.name}()`).join(', ')} moved into ${CLASS} (the base's eventbus_publisher); its failure results now raise`
          : `${cls.name}: ${plan.moved.map((m) => `${m.name}()`).join(', ')} moved into ${CLASS} (the base's eventbus_publisher) as written; publish() raises when ${plan.entry.name}() answers falsy`,
    );
    if (!plan.module) {
      for (const g of selfRefusals(plan.entry.body, plan.failures, new Set(plan.movedState.map((m) => m.attr)))) {
        const at = g.childForFieldName('condition')!;
        ctx.warnings.push(
          `${cls.name}: ${plan.entry.name}() refuses an event itself before trying the bus (line ${g.startPosition.row + 1}: if ${at.text}:); that refusal raises now, ` +
            `so the base takes it for a failed publish: it retries it after a back-off within the cycle, and its circuit breaker counts it (refusals in a row open it, and every publish and drain waits CIRCUIT_RECOVERY_TIMEOUT), where the legacy only queued the refused event`,
        );
      }
    }
    for (const b of plan.unwrapped) {
      ctx.warnings.push(
        `${cls.name}: ${plan.entry.name}()'s own circuit breaker (line ${b.call.startPosition.row + 1}: ${b.call.text.split('\n')[0]!.trim()}) went: ${CLASS} calls ${unwrappedText(b)} and the base's breaker stops publishing after its failures (CircuitBreaker, CIRCUIT_RECOVERY_TIMEOUT) and queues meanwhile; ${b.file ? `${b.cls.name} (${classWhere(b)}) stays in that module, no longer called by this agent` : `${b.cls.name} (line ${b.cls.line}) stays in the module`}, and its threshold and cool-down are the base's now`,
      );
    }
    for (const g of plan.gates) {
      const cond = g.childForFieldName('condition');
      const asked = cond ? breakerQuery(ctx, cond) : null;
      ctx.warnings.push(
        `${cls.name}: ${plan.entry.name}()'s own circuit breaker check (line ${g.startPosition.row + 1}: ${g.text.split('\n')[0]!.trim()}) went: the base's breaker stops publishing after its failures (CircuitBreaker, CIRCUIT_RECOVERY_TIMEOUT) and queues meanwhile; the counters it kept in ${CLASS} no longer stop anything, and its threshold and pause are the base's now${asked ? (asked.file ? `; ${asked.cls.name}.${asked.method.name}() (${asked.file}:${asked.method.line}) stays in that module, no longer called by this agent` : `; ${asked.cls.name}.${asked.method.name}() (line ${asked.method.line}) stays in the module, no longer called`) : ''}${asked && plan.shared.includes(asked.attr) ? sharedBreakerNote(ctx, asked.attr, plan) : ''}`,
      );
    }
    if (plan.queue) {
      ctx.warnings.push(`${cls.name}: the legacy queue self.${plan.queue} is the base's local_queue through ${ADAPTER}`);
      // `self.queue.drain(send, limit=max_batch)` in a removed drain: its own batch size (often from the
      // environment) no longer bounds a cycle's drain; the base's does.
      for (const m of ctx.agent.methods.values()) {
        if (!isDrain(ctx, m.name) || !ctx.resolved?.members.has(m.name)) continue;
        walk(m.body, (n) => {
          if (n.type !== 'call' || n.childForFieldName('function')?.type !== 'attribute' || n.childForFieldName('function')!.childForFieldName('attribute')?.text !== 'drain') return;
          const limit = n.childForFieldName('arguments')!.namedChildren.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === 'limit');
          const value = limit?.childForFieldName('value');
          if (!value || value.text === '100') return;
          ctx.warnings.push(
            `${cls.name}: ${m.name}() drained at most ${value.text} queued items per call (line ${n.startPosition.row + 1}: limit=${value.text}); the base drains its local_queue up to 100 events per cycle, so that limit (and whatever sets it) no longer applies`,
          );
        });
      }
      // Beside the base's import: after the sys.path set-up the project's imports rely on.
      const anchor = importAnchor(ctx.module.root);
      if (!ctx.source.includes(ADAPTER_IMPORT)) ctx.edits.insert(anchor ? lineEnd(ctx.source, anchor.endIndex) : 0, ADAPTER_IMPORT + eol, label);
    }
    if (plan.drains.length) {
      ctx.warnings.push(
        `${cls.name}: ${plan.entry.name}() no longer re-sends the backlog after a publish that went through (${plan.drains.map((d) => `line ${d.startPosition.row + 1}: ${d.text.trim()}`).join(', ')}): ` +
          `the base drains its local_queue (up to 100 events, oldest first, through its breaker) at the start of every cycle, before it publishes`,
      );
    }
    if (plan.fallbacks.length) {
      ctx.warnings.push(`${cls.name}: ${plan.entry.name}() no longer queues a failed event itself (${plan.fallbacks.map((f) => `line ${f.startPosition.row + 1}`).join(', ')}): the base queues what it could not publish, once`);
      // A store of unsent events other than the queue the base receives: nothing fills or drains it now.
      const stores = new Set<string>();
      for (const f of plan.fallbacks) {
        const fn = f.namedChild(0)?.childForFieldName('function');
        const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
        const attr = obj ? selfAttribute(obj) : null;
        if (attr && attr !== plan.queue && !ctx.agent.methods.has(attr)) stores.add(attr);
      }
      for (const attr of stores) {
        ctx.warnings.push(
          ctx.resolved?.members.has(attr)
            ? `${cls.name}: self.${attr} (what ${plan.entry.name}() could not send) went with the code that re-sent it: the base queues in its own local_queue, and what self.${attr} still holds from before the migration is not re-sent; drain it once before the cut-over`
            : `${cls.name}: self.${attr} stays (used elsewhere) but ${plan.entry.name}() no longer puts unsent events in it; the base's local_queue holds them`,
        );
      }
    }
    for (const m of plan.moved) noteMovedCode(ctx, m.outer);
    // The transport state built in __init__ (`self.host = socket.gethostname()`) keeps its imports too.
    for (const m of plan.movedState) noteMovedCode(ctx, m.stmt);
    // Its own retry loop moved as it was: each of the base's attempts now runs it.
    for (const m of plan.moved.filter((x) => RETRY_METHOD.test(x.name))) {
      ctx.warnings.push(`${cls.name}: ${m.name}() retries inside each of the base's attempts (the base retries with back-off too); drop its loop when reviewing ${CLASS}`);
    }
    // A retry loop written inside the publish itself (`for attempt in range(...): ...; time.sleep(...)`).
    for (const m of plan.moved.filter((x) => !RETRY_METHOD.test(x.name) && sleepsInLoop(x.body))) {
      ctx.warnings.push(`${cls.name}: ${m.name}() retries in its own loop (it sleeps between attempts) inside each of the base's attempts (the base retries with back-off too); drop its loop when reviewing ${CLASS}`);
    }
    // A retry helper of the module the moved code calls (`backoff_retry(lambda: self._post_once(e))`,
    // sleeping between attempts in its loop): it stays where it is and still retries inside each attempt.
    const helpers = new Map<string, PyFunction>();
    for (const m of plan.moved) {
      walk(m.body, (n) => {
        if (n.type !== 'call') return;
        const f = n.childForFieldName('function');
        const fn = f?.type === 'identifier' ? ctx.module.functions.get(f.text) : undefined;
        if (fn && fn !== plan.entry && sleepsInLoop(fn.body) && !helpers.has(fn.name)) helpers.set(fn.name, m);
      });
    }
    for (const [name, m] of helpers) {
      ctx.warnings.push(
        `${cls.name}: ${m.name}() calls the module's ${name}() (line ${ctx.module.functions.get(name)!.line}), which retries in its own loop (it sleeps between attempts): in ${CLASS} it runs inside each of the base's attempts (the base retries with back-off too), and what ${m.name}() logs or counts when ${name}() gives up now happens per attempt, not per event lost (the base queues the event); drop the helper's retries when reviewing ${CLASS}`,
      );
    }
    // A decorator of the module moved with its method (`@retry(times=3)`): it still wraps each call.
    // (`@contextmanager` from contextlib only makes it a `with` target, and `@staticmethod` binds it to no
    // instance, there as before: nothing to say.)
    const wraps = (d: string) => !contextManagerDecorator(ctx, d) && d.trim() !== 'staticmethod';
    for (const m of plan.moved.filter((x) => x.decorators.some(wraps))) {
      const ds = m.decorators.filter(wraps);
      ctx.warnings.push(`${cls.name}: ${m.name}() keeps its decorator${ds.length > 1 ? 's' : ''} ${ds.map((d) => `@${d}`).join(', ')} in ${CLASS}; a retrying one now runs inside each of the base's attempts (the base retries with back-off too)`);
    }
    // A queue the adapter cannot drive (a raw sqlite outbox) went with its methods: the base
    // queues in memory from now on, and rows the old outbox still holds are not re-sent.
    if (!plan.queue) {
      const gone = [...(ctx.resolved?.members.values() ?? [])].filter((m) => m.kind === 'attribute' && m.finding === 'queue').map((m) => `self.${m.name}`);
      if (gone.length) ctx.warnings.push(`${cls.name}: the legacy queue ${gone.join(', ')} is no queue object LocalQueueAdapter can drive; it went with its methods, so the base queues in its own local_queue and what it still holds on disk is not re-sent`);
      // A store the queue methods worked that stays for other code (an sqlite connection opened
      // in __init__ and closed in shutdown()): nothing writes to it or re-sends from it any more.
      const members = ctx.resolved?.members;
      const queueFns = [...(members?.values() ?? [])].filter((m) => m.kind === 'method' && m.finding === 'queue').map((m) => ctx.agent.methods.get(m.name)).filter((f): f is PyFunction => !!f);
      const kept = [...ctx.agent.attributes].filter(
        (a) => !members?.has(a) && !ctx.agent.methods.has(a) && !ctx.baseOwned.has(a) && ctx.refs.of(a).some((r) => r.kind === 'attribute' && queueFns.some((f) => f.outer.startIndex <= r.start && r.end <= f.outer.endIndex)),
      );
      // A spool named by a module constant (`SPOOL_FILE = ...`, opened, listed or joined by the
      // queue methods that went): the file or directory stays on disk with what it holds.
      for (const w of spoolConstants(ctx, queueFns)) ctx.warnings.push(w);
      if (kept.length) {
        ctx.warnings.push(
          `${cls.name}: ${kept.map((a) => `self.${a}`).join(', ')} stay${kept.length > 1 ? '' : 's'} (still used outside ${queueFns.map((f) => `${f.name}()`).join(', ')}, which went) but no longer hold${kept.length > 1 ? '' : 's'} unsent events: the base queues in its own local_queue, and what ${kept.length > 1 ? 'they' : 'it'} still hold${kept.length > 1 ? '' : 's'} from before the migration is not re-sent; drain it once before the cut-over`,
        );
      }
    }
  },
};

/** Calls that name a file or directory by their first argument. */
const PATH_CALL = /^(open|io\.open|os\.(path\.\w+|listdir|scandir|remove|unlink|replace|rename|makedirs|stat)|sqlite3\.connect|shelve\.open|dbm\.open|pathlib\.Path|Path|glob\.glob)$/;

/**
 * Module constants (`SPOOL_FILE = os.environ.get(..., "data/spool/x.jsonl")`) that the queue
 * methods which went used as a file or directory: where the legacy agent kept what the bus
 * refused. The base queues in its own local_queue now, so what that spool holds at the cut-over
 * is not re-sent by anything: one warning per constant, naming its file:line and the methods.
 */
export function spoolConstants(ctx: PythonTransformContext, queueFns: PyFunction[]): string[] {
  if (!queueFns.length) return [];
  const constants = new Map<string, SyntaxNode>();
  for (const st of ctx.module.root.namedChildren) {
    const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
    const left = e?.type === 'assignment' ? e.childForFieldName('left') : null;
    if (left?.type === 'identifier' && /^[A-Z][A-Z0-9_]*$/.test(left.text)) constants.set(left.text, st);
  }
  const used = new Map<string, Set<string>>();
  for (const fn of queueFns) {
    walk(fn.body, (n) => {
      if (n.type !== 'call' || !PATH_CALL.test(callName(n))) return;
      const first = n.childForFieldName('arguments')?.namedChildren[0];
      if (!first) return;
      walk(first, (c) => {
        if (c.type === 'identifier' && constants.has(c.text)) {
          if (!used.has(c.text)) used.set(c.text, new Set());
          used.get(c.text)!.add(fn.name);
        }
      });
    });
  }
  const cls = ctx.agent.cls.name;
  return [...used].map(([name, fns]) => {
    const at = constants.get(name)!.startPosition.row + 1;
    // Uses in statements that go (the cycle's own inline spool write in its except handler) do not count.
    const keptUse = (body: SyntaxNode) => {
      let found = false;
      walk(body, (n) => {
        if (!found && n.type === 'identifier' && n.text === name && !isRemoved(ctx, n)) found = true;
      });
      return found;
    };
    const still = [...ctx.agent.methods.values()].some((m) => !fns.has(m.name) && !isRemoved(ctx, m.outer) && keptUse(m.body));
    return `${cls}: ${name} (${ctx.file}:${at}) is the spool where ${[...fns].map((f) => `${f}()`).join(', ')} kept and re-sent what the bus refused; ${fns.size > 1 ? 'they' : 'it'} went, so batches still in it at the cut-over are never re-sent (the base queues in its own local_queue from now on)${still ? `; ${name} is still used elsewhere in ${cls}` : ''}: re-send or archive it before switching over`;
  });
}

function callName(call: SyntaxNode): string {
  return call.childForFieldName('function')?.text ?? '';
}

function mentions(node: SyntaxNode, name: string): boolean {
  let hit = false;
  walk(node, (c) => {
    if (c.type === 'identifier' && c.text === name) hit = true;
  });
  return hit;
}

/** A for/while loop of the method (not of a nested function) that sleeps. */
function sleepsInLoop(body: SyntaxNode): boolean {
  let hit = false;
  walk(body, (n) => {
    if (hit || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'for_statement' && n.type !== 'while_statement') return;
    walk(n, (c) => {
      if (c.type === 'function_definition' || c.type === 'lambda') return false;
      if (c.type === 'call' && /^(time\.)?sleep$/.test(c.childForFieldName('function')?.text ?? '')) hit = true;
    });
  });
  return hit;
}
