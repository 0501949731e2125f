// Concern (seed 001): the legacy loop `run(interval)` = `while True: collect(); sleep(interval)`.
// HardenedAgentBase.run_forever() runs that loop (with signals, health, the circuit breaker),
// so run() goes when it holds nothing else, collect() becomes collect_data(), and its
// interval reaches the base as `collection_interval`: through super().__init__ when the
// constructor already keeps it, otherwise by passing it where the entry point constructs
// the agent. The entry point's `agent.run(...)` becomes `agent.run_forever()` (the
// entrypoint transform renames the method; this one drops the loop's arguments).
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { noEntryForInterval } from './interval-reason.js';
import { assignInitInterval, initAttributeInterval, initIntervalLocal } from './interval-from-init.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { ASSIGNMENT_TYPE, bindingsOf, isDocstring, lineOf, selfAttribute, statements, statements as allStatements, walk, walkTypes, callee } from '../../src/lang/python/syntax.js';
import { indentAt, lineEnd, lineStart } from '../../src/lang/python/text.js';
import { entryScopes } from '../../src/lang/python/module-model.js';
import { belongsTo, blocksOf, isLogCall, isTrivial } from '../../src/analysis/infra.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { analyzeLoopPublish } from './hardened-loop-publish.js';
import { collectorWatchdog } from './hardened-watchdog.js';
import { SLEEP_CALL, HOOK, analyzeCollect, cycleMethod, initTail, noteMovedCode, isCollectCall, isDrain, isPublish, isTransport, reachesBus, LEGACY_RUN, resultLogGuard, selfCall, senderThread, type Analysis, type CollectPlan, type SenderThread } from './hardened-shapes.js';
import { analyzePublisher } from './hardened-publisher.js';
import { sharedReceiver } from './entrypoint.js';
import { entryCycleRaiseWarnings } from './entry-cycle-raise.js';
import { threadFlagPrelude } from './remove-signal-handlers.js';
import { helperFunctions } from './super-init.js';
import { removedMemberLocalStatements } from './removed-member-local.js';
import { resultLogs } from './hardened-result-log.js';
import { foldTimerChain, timerChain, type TimerChain } from './timer-chain.js';
import { excerpt } from '../../src/core/excerpt.js';
import { narrowHandlers, type NarrowGuard } from './narrow-guard.js';

const label = 'hardened-main-loop';
const KEYWORD = 'collection_interval';

interface EntryCall {
  call: SyntaxNode;
  /** The `Agent(...)` call that constructed the object `run` is called on. */
  construction: SyntaxNode;
}

interface RunPlan {
  calls: EntryCall[];
  /** `collection_interval=<text>` to add to each construction (null: __init__ passes it already). */
  insert: string | null;
  /** The value __init__ ends by setting collection_interval to (run() computed it from the agent's own settings). */
  initInterval?: string;
  /** What the loop did besides collect() and sleep: it moves, it is not dropped. */
  cycle: CycleWork;
  /** The flag or event the loop reads (`while self.running:`), or null for `while True:`. */
  flag?: string | null;
  /** The cycle ran on a Timer chain (timer-chain): its tick method and timer attribute go with run(). */
  chain?: { method: string; timer: string; scheduler?: string; kind: TimerChain['kind']; raiseEnds: boolean; line: number };
  /** The entry point's `agent.<interval> = <value>` is handed to the construction (`insert`): super().__init__ reads it from **kwargs. */
  handed?: boolean;
}

function newWork(param: string | null): CycleWork {
  return { before: [], each: [], after: [], teardown: [], locals: [], param, backoff: [], backoffLogs: [], jitter: null, cadence: [], absorbed: [], interrupted: [], tail: [], head: [], gauge: { stmts: [], pre: [] }, collect: null, sleep: null, overrun: null, skips: [], closing: [] };
}

/**
 * run() starting a Timer chain that runs the cycle every interval until a flag is set: the base's loop when
 * foldTimerChain() proves it one chain on one interval. run()'s set-up moves into setup(), its teardown after
 * the wait into shutdown() (the timer's cancels go with the timer), the Timer's interval is the base's.
 */
function chainPlan(ctx: PythonTransformContext, fn: PyFunction, chain: TimerChain): Analysis<RunPlan> {
  const f = foldTimerChain(ctx, fn, chain, cycleMethod(ctx), (s) => isTrivial(s) || isSelfCall(s) || isSelfMemberCall(s));
  if (!('fold' in f)) return fail(f.reason, f.line);
  const collect = analyzeCollect(ctx);
  if (!collect.ok) return fail(`run() drives ${cycleMethod(ctx)}() through a timer chain, and ${cycleMethod(ctx)}() stays (${collect.reason})`, fn.line);
  const work: CycleWork = { ...newWork(null), before: f.fold.before, teardown: f.fold.teardown, absorbed: f.fold.absorbed, collect: f.fold.cycle };
  if (work.before.length && ctx.agent.methods.has('setup')) return fail('run() starts with statements for setup(), which the class already defines', fn.line);
  if (work.teardown.length && ctx.agent.methods.has('shutdown')) return fail("run() tears down after its wait, and the class already defines shutdown()", fn.line);
  const calls = runCalls(ctx);
  if (!Array.isArray(calls)) return calls;
  const plan = intervalPlan(ctx, fn, calls, work, f.fold.flag, chain.interval, { param: null, pauses: new Set(), fallback: null, constant: null, local: null, fromInit: false });
  return plan.ok ? { ok: true, value: { ...plan.value, chain: { method: chain.method, timer: f.fold.timer, scheduler: f.fold.scheduler, kind: chain.kind, raiseEnds: f.fold.raiseEnds, line: lineOf(chain.rearm) } } } : plan;
}

/**
 * run()'s own statements: before the loop (a start-up banner, `cycle = 0`) they become
 * setup(); inside the loop before collect() (`cycle += 1`, "Cycle #%d") they open
 * collect_data(); after it only log lines may stand ("Next collection in ..."), which the
 * base's own cycle log replaces. The loop's locals become attributes of the agent and its
 * interval parameter the base's collection_interval.
 */
export interface CycleWork {
  before: SyntaxNode[];
  /** `finally:` statements around the loop (the agent's teardown): shutdown() runs them. */
  teardown: SyntaxNode[];
  each: SyntaxNode[];
  after: SyntaxNode[];
  locals: string[];
  param: string | null;
  /** The loop's back-off on consecutive failures of collect() (its counters), which the base replaces. */
  backoff: string[];
  /** The back-off's own log lines in the loop (`if failures: logger.info("recovered ...")`), gone with it. */
  backoffLogs: SyntaxNode[];
  /** The random spread added to each sleep (`random.uniform(0, self.jitter)`), which the base does not add. */
  jitter: string | null;
  /** The loop kept a fixed cadence (slept the interval minus the cycle's time): its clock locals. */
  cadence: string[];
  /**
   * `except OSError as e: logger.error("... retrying next cycle: %s", e)` around collect() in the
   * loop: the base's loop catches a failing collect_data() itself, so these log lines are no
   * longer written (the user is told which, by line).
   */
  absorbed: Array<{ clause: SyntaxNode; logs: SyntaxNode[] }>;
  /** The try: around the cycle's call caught only these exceptions (any other ended the legacy agent). */
  narrow?: NarrowGuard;
  /**
   * `except KeyboardInterrupt: logger.info("interrupted")` around the loop: the base takes SIGINT itself and
   * its loop returns normally, so no KeyboardInterrupt reaches the clause and its log lines are not written
   * on Ctrl-C any more (the user is told which, by line).
   */
  interrupted: Array<{ clause: SyntaxNode; logs: SyntaxNode[] }>;
  /**
   * `self._write_textfile()` in the loop after collect() and its publish, before the sleep: per-cycle
   * business work that reads nothing the publish changed. The base's loop runs run_cycle() then waits,
   * so an override of it runs these after super().run_cycle(), in their order (checked by cycleTail()).
   */
  tail: SyntaxNode[];
  /**
   * `self._maybe_reload_inventory()` opening the loop's body, before collect(): per-cycle work of the same
   * kind (checked by cycleTail()), which the override of run_cycle() runs before super().run_cycle().
   */
  head: SyntaxNode[];
  /**
   * `self.cycle_seconds = time.perf_counter() - t0` after collect(), `t0 = time.perf_counter()` before it in the
   * loop's body: a gauge of how long the cycle (collect and its publish) took. The override of the base's one
   * pass times super().run_cycle() with the same clock (`pre`: the clock's steps), then sets the gauge.
   */
  gauge: { stmts: SyntaxNode[]; pre: SyntaxNode[] };
  /**
   * The loop's `n = self.collect()` and its sleep: where hardened-result-log finds the log lines on what
   * collect() returned (`logger.info("cycle %d: %d events", cycle, n)`), which collect_data() writes.
   */
  collect: SyntaxNode | null;
  sleep: SyntaxNode | null;
  /**
   * `if elapsed > interval: logger.warning("cycle took %.1fs ...", elapsed, interval)` in a loop keeping a
   * fixed cadence: the loop's report of a cycle that overran its interval, on its clock alone. An override
   * of the base's one pass writes it, timing super().run_cycle() with the loop's own clock steps (`pre`
   * before it, `post` after it), as the loop timed collect().
   */
  overrun: { report: SyntaxNode; pre: SyntaxNode[]; post: SyntaxNode[] } | null;
  /**
   * `if os.path.exists(MAINTENANCE_FLAG): self.skipped += 1; logger.info(...); time.sleep(interval); continue`
   * before collect(): a cycle skipped on a condition, after the loop's own pause. collect_data() opens with
   * it, `return []` in place of the sleep and continue (the base waits collection_interval after every cycle).
   * `pause`: the guard's sleep (its argument must be the loop's), `cont`: its continue.
   */
  skips: Array<{ stmt: SyntaxNode; pause: SyntaxNode; cont: SyntaxNode }>;
  /**
   * `try: self.collect(); self.cycles += 1 except Exception: log` in the loop (or the count in the try's
   * `else:`): a count of the cycles whose collect() returned, skipped when it raised. The base's run_cycle()
   * catches a raising collect_data() and ends the pass, so the count ends collect_data() now, before each of
   * its returns (checked by closingExits()): counted when it returns, not when it raises, as before.
   */
  closing: SyntaxNode[];
}

const memo = new WeakMap<PythonTransformContext, Analysis<RunPlan>>();
const memoWithout = new WeakMap<PythonTransformContext, Map<string, Analysis<RunPlan>>>();

function fail(reason: string, line: number): Analysis<RunPlan> {
  return { ok: false, reason, line };
}

function legacyNames(ctx: PythonTransformContext): string[] {
  return ctx.py.super_call.pass_through?.[KEYWORD] ?? [KEYWORD];
}

/** The constructor keeps an interval the super-init transform passes as collection_interval. */
function initKeepsInterval(ctx: PythonTransformContext): string | null {
  const init = ctx.agent.methods.get('__init__');
  if (!init) return null;
  for (const n of legacyNames(ctx)) {
    if (init.params.some((p) => p.name === n && (p.kind === 'plain' || p.kind === 'default'))) return n;
    if (ctx.agent.assignments.some((a) => a.method === '__init__' && a.attr === n && a.value && !a.value.text.includes('self'))) return n;
  }
  return null;
}

/**
 * run() read as the base's loop. When it does not read as one, it is read again without the statements
 * that go with the removed members (`removed`; after the plan, what it removed): the rewrite takes
 * `if self._health_server is not None: ...` out of a kept run() anyway, so neither does it keep run()
 * (a second migration would convert what the first left) nor is it what a review item cites.
 */
export function analyzeRun(ctx: PythonTransformContext, removed?: Set<string>): Analysis<RunPlan> {
  let a = memo.get(ctx);
  if (!a) memo.set(ctx, (a = readRun(ctx)));
  if (a.ok) return a;
  // (run() itself and its cycle are what is being read, never what goes around them)
  const gone = new Set([...(removed ?? ctx.resolved?.members.keys() ?? [])].filter((m) => m !== LEGACY_RUN && m !== cycleMethod(ctx)));
  if (!gone.size) return a;
  const key = [...gone].sort().join(' ');
  let byRemoved = memoWithout.get(ctx);
  if (!byRemoved) memoWithout.set(ctx, (byRemoved = new Map()));
  let b = byRemoved.get(key);
  if (!b) byRemoved.set(key, (b = readRun(ctx, gone)));
  return b;
}

/**
 * The loop's plan, refused when its stop flag is also set from outside the agent while the loop runs: in a
 * function the file installs as the handler of a signal the base does not handle (`agent._shutdown = True`
 * on SIGUSR1), or runs in a thread or timer. The fold drops the loop that read the flag and the base's loop
 * does not read it, so that setter would stop nothing (the agent ran on where the legacy ended); found in
 * the second read of session 71 (proc-tree-flag-loop-drained-by-entry-signal). A handler installed only for
 * SIGTERM/SIGINT is replaced by the base's, which stops the agent (entry-signal-teardown moves its statements).
 */
function readRun(ctx: PythonTransformContext, removed: Set<string> | null = null): Analysis<RunPlan> {
  const a = readLoopPlan(ctx, removed);
  const flag = a.ok ? a.value.flag : null;
  const outside = flag ? outsideFlagSetter(ctx, flag) : null;
  if (!outside) return a;
  return fail(
    `run()'s loop ends on self.${flag}, which is also set from outside the agent (line ${outside.line}: ${excerpt(outside.text, 60)}, in ${outside.how}): ` +
      `the base's loop does not read self.${flag}, so folding the loop would leave that setter stopping nothing; make it call the agent's stop() instead`,
    outside.line,
  );
}

/** A write of the flag through another object than self (`agent.flag = ...`, `agent.flag.set()`) in a function that runs beside the loop. */
function outsideFlagSetter(ctx: PythonTransformContext, flag: string): { line: number; text: string; how: string } | null {
  for (const r of ctx.refs.of(flag)) {
    const attr = r.node.parent;
    if (r.kind !== 'attribute' || attr?.type !== 'attribute' || attr.childForFieldName('object')?.text === 'self') continue;
    const up = attr.parent;
    const assigned = !!up && (up.type === 'assignment' || up.type === 'augmented_assignment') && up.childForFieldName('left')?.id === attr.id;
    const setCall = up?.type === 'attribute' && up.childForFieldName('attribute')?.text === 'set' && up.parent?.type === 'call';
    const how = assigned || setCall ? runsBesideLoop(ctx, attr) : null;
    if (how) return { line: r.line, text: (assigned ? up! : up!.parent!).text, how };
  }
  return null;
}

/**
 * How the function around `n` runs while the agent's loop does: installed as the handler of a signal other
 * than SIGTERM/SIGINT (`signal.signal(signal.SIGUSR1, drain)`), or a thread's or timer's target; null otherwise.
 */
function runsBesideLoop(ctx: PythonTransformContext, n: SyntaxNode): string | null {
  let fn: SyntaxNode | null = n.parent;
  while (fn && fn.type !== 'function_definition') fn = fn.parent;
  const name = fn?.childForFieldName('name')?.text;
  if (!name) return null;
  const other = [...ctx.source.matchAll(new RegExp(`signal\\.signal\\(\\s*(?:signal\\.)?(\\w+)\\s*,\\s*${name}\\s*\\)`, 'g'))].map((m) => m[1]!).find((sig) => sig !== 'SIGTERM' && sig !== 'SIGINT');
  if (other) return `${name}(), the ${other} handler`;
  if (new RegExp(`\\b(?:Thread\\([^)]*\\btarget\\s*=\\s*|Timer\\(\\s*[^,()]+,\\s*)${name}\\b`).test(ctx.source)) return `${name}(), run by a thread or timer`;
  return null;
}

function readLoopPlan(ctx: PythonTransformContext, removed: Set<string> | null = null): Analysis<RunPlan> {
  // The statements of a block that stay (with `removed`, not those serving only removed members).
  const fn = ctx.agent.methods.get(LEGACY_RUN);
  if (!fn) return fail('no run()', ctx.agent.cls.line);
  // (and not those of a local holding what a removed member built, only torn down after: removed-member-local)
  const heldByRemoved = removed ? removedMemberLocalStatements(fn, removed) : null;
  const statements = (block: SyntaxNode | null) => allStatements(block).filter((x) => !removed || (!belongsTo(x, removed) && !heldByRemoved!.has(x.id)));
  if (fn.isAsync) return fail('run() is async', fn.line);
  // A cycle re-armed by threading.Timer / sched: named as such, not as an odd statement of run() (timer-chain).
  const chain = timerChain(ctx, fn, cycleMethod(ctx));
  if (chain) return chainPlan(ctx, fn, chain);
  // A watchdog thread restarting the collector thread: no base equivalent, a person's call (hardened-watchdog).
  const dog = collectorWatchdog(ctx, cycleMethod(ctx));
  if (dog) return fail(`run() keeps the cycle in threads, and ${dog.reason}`, fn.line);
  const params = fn.params.filter((p, i) => i > 0 && p.kind !== 'separator');
  if (params.length > 1 || params.some((p) => p.kind === 'args' || p.kind === 'kwargs')) return fail('run() takes more than an interval', fn.line);
  const param = params[0] ?? null;
  // Shape: locals, logs, one `while True:` (maybe inside try/except KeyboardInterrupt) holding
  // one self.collect() (maybe inside try/except that logs) and one sleep.
  const locals = new Set<string>();
  const work = newWork(param?.name ?? null);
  // `except OSError: failures += 1; delay = min(interval * 2 ** failures, MAX); log; sleep(delay); continue`
  // around collect(): a back-off the base's loop replaces (a failing collect_data() is logged and
  // counted, and the next cycle comes after collection_interval). Its counters go with it.
  const backoff = backoffLocals(ctx, fn, cycleMethod(ctx), param?.name ?? null);
  // `delay = interval` before the loop (reset to it after a good cycle): the pause it sleeps is the interval.
  const pauses = new Set<string>();
  for (const x of statements(fn.body)) {
    const e = x.type === 'expression_statement' ? x.namedChild(0) : null;
    const left = e?.type === 'assignment' ? e.childForFieldName('left') : null;
    if (left?.type === 'identifier' && backoff.has(left.text) && param && e!.childForFieldName('right')?.text === param.name) pauses.add(left.text);
  }
  const sender = senderThread(ctx);
  work.backoff = [...backoff];
  let collectStmt: SyntaxNode | null = null;
  const record = (s: SyntaxNode, inLoop: boolean) => {
    if (!inLoop && loops > 0 && flagLoop && s.parent?.id === flagLoop.parent?.id) work.teardown.push(s); // after a loop that ends when stopped: its teardown
    else if (!inLoop && loops > 0) work.after.push(s); // after the loop (it only ends by an exception)
    else if (!inLoop) work.before.push(s);
    else if (collectStmt) work.after.push(s);
    else work.each.push(s);
  };
  let loops = 0;
  let collects = 0;
  let sleep: SyntaxNode | null = null;
  let bad: SyntaxNode | null = null;
  let fallback: string | null = null;
  // collect() returns its events and the loop publishes them (hardened-loop-publish): the loop body's
  // statements it accounts for become collect_data() or the base's publish, queue and drain.
  const published = analyzeLoopPublish(ctx);
  const accounted = published?.ok ? published.value.accounted : null;
  const visit = (block: SyntaxNode, inLoop: boolean): void => {
    for (const s of statements(block)) {
      if (bad) return;
      if (isDocstring(s)) continue;
      if (inLoop && accounted?.has(s.id) && published?.ok) {
        // The loop's publish after a per-cycle call: that call ran before the publish, the base's override would run it after.
        if (work.tail.length && !isSleepStatement(s)) {
          bad = work.tail[0]!;
          return;
        }
        // The collect() call, or the logging try: guarding it (the base's run_cycle() is that guard).
        const taken = published.value.collectStmt;
        if (s.startIndex <= taken.startIndex && taken.endIndex <= s.endIndex) {
          collects++;
          collectStmt = s;
          if (s.type === 'try_statement') narrow ??= narrowGuard(s, taken);
        }
        // The sleep, whose interval the base takes over (read below).
        const e = s.type === 'expression_statement' ? s.namedChild(0) : null;
        if (e?.type === 'call' && SLEEP_CALL.test(callee(e) ?? '')) sleep = e;
        continue;
      }
      // `interval = CONFIG["interval"]` before the loop, run() taking no interval: the interval read once
      // from module configuration, which the construction passes to the base (see constantInterval).
      if (!inLoop && loops === 0 && !param && !intervalLocal) {
        const local = constantIntervalLocal(ctx, fn, s);
        // `interval = self.cfg.interval_s * 2`: the agent's own settings, the same value once __init__ ran.
        const init = local ? null : initIntervalLocal(ctx, fn, s, (name) => bindsOnce(fn, name));
        if (init?.blocker) initBlocker = init.blocker;
        const fromInit = init?.blocker ? null : init;
        if (local || fromInit) {
          intervalLocal = local ?? fromInit;
          intervalFromInit = !!fromInit;
          work.param = intervalLocal!.name;
          continue;
        }
      }
      // `self.collect()` right before `while not self._stop.wait(interval):` around the same call:
      // the first cycle, before the first wait, as the base's loop runs it.
      if (!inLoop && loops === 0 && isCollectCall(s, cycleMethod(ctx)) && waitLoopAfter(s, cycleMethod(ctx))) continue;
      if (isCollectCall(s, cycleMethod(ctx))) {
        collects++;
        collectStmt = s;
        if (!inLoop) bad = s;
        continue;
      }
      const e = s.type === 'expression_statement' ? s.namedChild(0) : null;
      // `started = time.monotonic()`, `deadline += self.interval`: the clock of a cadence-keeping loop.
      if (clocks.size && isClockStep(s, clocks)) continue;
      // `if elapsed > interval: logger.warning(...)` after collect(): the cadence's overrun report (see CycleWork.overrun).
      if (inLoop && collectStmt && !work.overrun && loopBody && s.parent?.id === loopBody.id && overrunReport(s, clocks, param?.name ?? null, fn)) {
        work.overrun = { report: s, pre: [], post: [] };
        continue;
      }
      // `time.sleep(max(0.0, interval - elapsed))`, `if pause > 0: time.sleep(pause) else: ...`: the
      // interval minus the time the cycle took. The base waits collection_interval after each cycle.
      const paced = clocks.size && inLoop && s.parent?.id === loopBody?.id ? cadenceSleep(s, clocks, param?.name ?? null, loopEvent ? `self.${loopEvent}.wait` : null) : null;
      if (paced) {
        if (sleep) bad = s;
        sleep = paced;
        cadenceSleepStmt = s;
        continue;
      }
      // `for _ in range(interval): if not self.running: break; time.sleep(1)`, `for _ in range(int(interval * 10)):
      // ...; time.sleep(0.1)`: the interval slept a slice at a time so that a stop is seen within one; the base's
      // wait is cut short when stopped too.
      const sliced = inLoop && flagLoop && s.parent?.id === loopBody?.id ? slicedSleep(s, flagLoop) : null;
      if (sliced) {
        if (sleep) bad = s;
        sleep = sliced.range;
        slicedSlept = { ...sliced, stmt: s };
        continue;
      }
      // `deadline = time.monotonic() + interval; while self.running and time.monotonic() < deadline:
      // time.sleep(0.5)`: the same interval slept in slices until a deadline, ended early when the loop would.
      const byDeadline = inLoop && flagLoop && s.parent?.id === loopBody?.id ? deadlineSleep(s, flagLoop, fn.body, clocks) : null;
      if (byDeadline) {
        if (sleep) bad = s;
        sleep = s;
        deadlineSlept = byDeadline;
        continue;
      }
      // `self._stop.wait(self.interval)` in a `while not self._stop.is_set():` loop: the sleep, cut short when stopped.
      const eventWait = e?.type === 'call' && loopEvent && callee(e) === `self.${loopEvent}.wait` && e.childForFieldName('arguments')!.namedChildCount === 1;
      if (eventWait || (e?.type === 'call' && SLEEP_CALL.test(callee(e) ?? ''))) {
        if (inLoop && (s.parent?.id === loopBody?.id || sleepEndingGuardedCycle(s, loopBody ?? null))) {
          if (sleep) bad = s;
          sleep = e;
        }
        continue;
      }
      // `self.last_cycle = time.monotonic()` opening the loop's body, before collect(): a stamp of the
      // cycle's start (a watchdog reads it), which collect_data() now opens with, at the same moment of
      // each of the base's cycles.
      // `if <condition>: <counters, log lines>; time.sleep(interval); continue` before collect(): the cycle
      // skipped (see CycleWork.skips); its sleep is checked below to be the loop's own.
      const skip = inLoop && !collectStmt && loopBody && s.parent?.id === loopBody.id ? skippedCycle(ctx, s, fn) : null;
      if (skip) {
        work.each.push(s);
        work.skips.push(skip);
        continue;
      }
      if (inLoop && !collectStmt && loopBody && s.parent?.id === loopBody.id && (cycleStamp(ctx, s) || cycleCounter(ctx, s, fn) || pendingRequest(ctx, s, fn))) {
        work.each.push(s);
        continue;
      }
      // `self.cycles += 1` right after collect() in the try: around it: counted only when collect() returned.
      if (inLoop && collectStmt && successCount(ctx, s, fn, locals, collectStmt)) {
        work.closing.push(s);
        continue;
      }
      if (isTrivial(s)) {
        if (s.type !== 'pass_statement' && s.type !== 'return_statement') record(s, inLoop);
        continue;
      }
      // `if n: logger.info(...)` on what collect() returned (`n = self.collect()`): its log lines only.
      const target = collectStmt ? selfCall(collectStmt)?.target : null;
      if (inLoop && target?.type === 'identifier' && resultLogGuard(s, target.text)) {
        for (const x of statements(s.childForFieldName('consequence'))) record(x, inLoop);
        continue;
      }
      if (isBackoffStep(s, backoff, param?.name ?? null)) continue;
      // `if self.consecutive_errors: logger.info("recovered after %d failed cycles", ...)`: the back-off's
      // own log line, on its counter alone; it goes with it (warned).
      if (inLoop && backoffLogGuard(s, backoff)) {
        work.backoffLogs.push(s);
        continue;
      }
      // `self._sender.start()`, `self._stop.set()`: the sender thread goes with the loop (hardened-sender).
      if (senderStatement(s, sender)) continue;
      // `interval = interval or self.interval` before the loop: the parameter (default None)
      // falls back to what the constructor kept.
      if (!inLoop && loops === 0 && param && param.default?.type === 'none' && e?.type === 'assignment' && e.childForFieldName('left')?.text === param.name && !fallback) {
        const right = e.childForFieldName('right');
        const [l, r] = right?.type === 'boolean_operator' && right.childForFieldName('operator')?.text === 'or' ? [right.childForFieldName('left'), right.childForFieldName('right')] : [null, null];
        const attr = r ? selfAttribute(r) : null;
        if (l?.type === 'identifier' && l.text === param.name && attr) {
          fallback = attr;
          continue;
        }
      }
      if ((e?.type === 'assignment' || e?.type === 'augmented_assignment') && e.childForFieldName('left')?.type === 'identifier') {
        const right = e.childForFieldName('right');
        if (right && ['integer', 'float', 'true', 'false', 'none'].includes(right.type)) {
          locals.add(e.childForFieldName('left')!.text);
          record(s, inLoop);
          continue;
        }
      }
      if (s.type === 'while_statement' && !inLoop) {
        const cond = s.childForFieldName('condition')!;
        // `while self.running:` or `while not self._shutdown:`: a flag the base's loop replaces.
        const flag = cond.type === 'not_operator' ? cond.childForFieldName('argument') : cond;
        // `while not self._stop.is_set():` reads a threading.Event the same way.
        const event = cond.type === 'not_operator' ? isSetOf(flag) : null;
        // `while not self._stop.wait(self.interval):` waits first and ends when the event is set: the
        // sleep of the loop is its condition.
        const waited = cond.type === 'not_operator' ? waitOf(flag) : null;
        const attr = event ?? waited ?? (flag && !waited ? selfAttribute(flag) : null);
        if (event) loopEvent = event;
        if (waited) {
          loopEvent = waited;
          if (sleep) bad = s;
          sleep = flag;
        }
        if (!/^(True|1)$/.test(cond.text) && !attr) {
          bad = s;
          return;
        }
        loops++;
        if (attr) flagLoop = s;
        loopBody = s.childForFieldName('body');
        visit(loopBody!, true);
        if (s.namedChildren.some((c) => c.type === 'else_clause')) bad = s;
        continue;
      }
      if (s.type === 'try_statement') {
        const loopsBefore = loops;
        const collectBefore = collectStmt;
        visit(s.childForFieldName('body')!, inLoop);
        // The try: around the cycle's call in the loop, when no handler of it catches every exception.
        if (inLoop && collectStmt && collectStmt !== collectBefore) {
          // Inner tries come first: a catch-all of any try around the call (inner or enclosing) catches what a narrower one let through.
          const guard = narrowGuard(s, collectStmt);
          if (guard && !caughtAll) narrow ??= guard;
          else if (!guard && s.namedChildren.some((c) => c.type === 'except_clause' || c.type === 'except_group_clause')) {
            caughtAll = true;
            narrow = null;
          }
        }
        for (const c of s.namedChildren) {
          if (c.type === 'except_clause' || c.type === 'finally_clause' || c.type === 'else_clause') {
            const b = c.namedChildren.find((x) => x.type === 'block');
            if (c.type === 'except_clause' && inLoop && b) {
              const logs = statements(b).filter((x) => x.type === 'expression_statement' && isLogCall(x.namedChild(0)));
              if (logs.length) work.absorbed.push({ clause: c, logs });
            }
            if (c.type === 'except_clause' && !inLoop && b && ctx.base.handlesSignals && /^except\s+\(?\s*KeyboardInterrupt\b/.test(c.text)) {
              const logs = statements(b).filter((x) => x.type === 'expression_statement' && isLogCall(x.namedChild(0)));
              if (logs.length) work.interrupted.push({ clause: c, logs });
            }
            // A guarded teardown (`if self.sampler is not None: self.sampler.join()`) only once the members
            // that go are known, and only of members no concern proposes: `if self._health_server is not
            // None: ...shutdown()` goes with its server, or keeps run() while that server is kept for review.
            // `finally:` around the loop: the agent's own teardown (`self._close_log()`, `self.db.close()`),
            // which shutdown() runs now. Looked at before the trivial clauses are passed over: a finally:
            // holding only a log line (`logger.info("stopped with %d unsent", len(self.backlog))`) is the
            // agent's last word when it stops, and shutdown() still writes it.
            if (b && c.type === 'finally_clause' && !inLoop && loops > loopsBefore && statements(b).every((x) => isTrivial(x) || isSelfCall(x) || isSelfMemberCall(x) || (removed !== null && guardedSelfTeardown(x, (m) => !ctx.plan.hasProposal(m))) || moduleFunctionCall(ctx, x) || teardownFunctionCall(ctx, x, fn) || senderStatement(x, sender))) {
              // Its log lines stay with it (`logger.info("totals: %s", dict(self.totals))`), as they do
              // after a loop that ends when stopped, unless they read a local of run() that shutdown() lacks.
              // Its comments go with it (what the line is for), when anything of it moves.
              // (tree-sitter puts a comment before the clause's first statement beside its block, not in it)
              const leading = c.namedChildren.filter((x) => x.type === 'comment' && x.endIndex <= b.startIndex);
              const moved = [...leading, ...b.namedChildren].filter((x) => x.type === 'comment' || statements(b).some((y) => y.id === x.id)).filter((x) => x.type === 'comment' || (!senderStatement(x, sender) && (!isTrivial(x) || teardownLog(x, fn, locals, param?.name ?? null))));
              if (moved.some((x) => x.type !== 'comment')) work.teardown.push(...moved);
              continue;
            }
            // `else: self.cycles += 1` after `try: self.collect()`: the same count, when collect() returned.
            if (b && c.type === 'else_clause' && inLoop && collectStmt && (collectStmt as SyntaxNode).parent?.id === s.childForFieldName('body')!.id && statements(b).every((x) => isTrivial(x) || successCount(ctx, x, fn, locals, null))) {
              work.closing.push(...statements(b).filter((x) => !isTrivial(x)));
              continue;
            }
            if (!b || statements(b).every((x) => isTrivial(x) || x.type === 'break_statement')) continue;
            if (c.type === 'except_clause' && inLoop && statements(b).every((x) => isTrivial(x) || x.type === 'continue_statement' || isBackoffStep(x, backoff, param?.name ?? null))) continue;
            bad = b;
          }
        }
        continue;
      }
      // `self.running = True` right before `while self.running:`: the loop's own start (checked
      // below to be the flag of the loop that follows, read nowhere but run()).
      if (!inLoop && loops === 0 && e?.type === 'assignment' && ['true', 'false'].includes(e.childForFieldName('right')?.type ?? '')) {
        const attr = selfAttribute(e.childForFieldName('left')!);
        if (attr) {
          flagStarts.push({ stmt: s, attr });
          continue;
        }
      }
      // Before the loop, a check that ends run() early (`if not self._certs_present(): ...; return`)
      // is one-time initialisation that can fail: setup() returns False in its place.
      if (s.type === 'if_statement' && !inLoop && loops === 0 && isStartGuard(s)) {
        work.before.push(s);
        continue;
      }
      // `signal.signal(signal.SIGTERM, self._handle_signal)` before the loop: the base installs its own
      // handler; checked below to only end this loop (it sets the flag or event the loop reads).
      if (!inLoop && loops === 0 && signalInstall(s)) {
        installs.push(s);
        continue;
      }
      // `signal.signal(signal.SIGHUP, self._reload)` before the loop: a signal the base leaves alone
      // (it installs SIGTERM/SIGINT only), handled by the agent's own method: one-time set-up, which
      // setup() runs in the main thread before the base's loop, as run() did before its own.
      if (!inLoop && loops === 0 && businessSignalInstall(ctx, s)) {
        work.before.push(s);
        continue;
      }
      if (!inLoop && loops === 0 && isSelfCall(s)) {
        work.before.push(s);
        continue;
      }
      // `self.cycle_seconds = time.perf_counter() - t0` in the loop body after collect(): the cycle's duration (checked below).
      if (inLoop && collectStmt && loopBody && s.parent?.id === loopBody.id && !work.tail.length && cycleGauge(ctx, s, clocks)) {
        work.gauge.stmts.push(s);
        continue;
      }
      // `self._write_textfile()` in the loop body after collect() (and its publish), before the sleep:
      // per-cycle work the base's run_cycle() override runs after super().run_cycle() (cycleTail() checks it);
      // so does `self.cycles += 1` there, the agent's own count of cycles.
      if (inLoop && collectStmt && loopBody && s.parent?.id === loopBody.id && (isSelfCall(s) || agentCounterStep(s)) && !(sleep && (sleep as SyntaxNode).startIndex > loopBody.startIndex && (sleep as SyntaxNode).startIndex < s.startIndex)) {
        work.tail.push(s);
        continue;
      }
      // `self._maybe_reload_inventory()` in the loop body before collect(), outside any try: per-cycle work
      // the override of run_cycle() runs before super().run_cycle() (cycleTail() checks it), a raise still
      // ending the agent. Only ahead of what opens collect_data() (work.each), so the order stays.
      if (inLoop && !collectStmt && loopBody && s.parent?.id === loopBody.id && isSelfCall(s) && !work.each.length) {
        // Its comments go with it (what the line is for): those right above it in the loop's body (above
        // the body's first statement tree-sitter puts them beside the body, in the loop statement).
        const siblings = loopBody.namedChildren;
        const leading: SyntaxNode[] = [];
        let k = siblings.findIndex((x) => x.id === s.id) - 1;
        for (; k >= 0 && siblings[k]!.type === 'comment'; k--) leading.unshift(siblings[k]!);
        if (k < 0) {
          const body = loopBody;
          const outer = (body.parent?.namedChildren ?? []).filter((x) => x.endIndex <= body.startIndex);
          for (let j = outer.length - 1; j >= 0 && outer[j]!.type === 'comment'; j--) leading.unshift(outer[j]!);
        }
        work.head.push(...leading, s);
        continue;
      }
      // `_sd_notify("READY=1")` before the loop: a function of this module called with constants,
      // once, which setup() calls in the same place (before the first cycle) now.
      if (!inLoop && loops === 0 && moduleFunctionCall(ctx, s)) {
        work.before.push(s);
        continue;
      }
      // `self._status_thread.start()` / `threading.Thread(target=self._status_loop, ...).start()` before
      // the loop: a business thread started once, which setup() starts in the same place now.
      if (!inLoop && loops === 0 && threadStart(ctx, s)) {
        work.before.push(s);
        continue;
      }
      // `self.sock = self._open_socket()`, `self._receiver = threading.Thread(target=self._rx, daemon=True)`
      // before the loop: an attribute of the agent built once from its own method or a thread object,
      // reading nothing run() binds, which setup() builds in the same place (before the first cycle) now.
      if (!inLoop && loops === 0 && onceBuiltAttribute(ctx, s, fn)) {
        work.before.push(s);
        continue;
      }
      // `self.period = float(interval)` before the loop: an attribute of the agent set from run()'s interval
      // alone, which setup() sets in the same place from the interval the base was given (collection_interval).
      if (!inLoop && loops === 0 && param && intervalAttribute(ctx, s, param.name)) {
        work.before.push(s);
        continue;
      }
      // After a loop on a flag (`while not self._shutdown:`), which ends when the agent is stopped: its
      // teardown (`self._metrics_server.shutdown()`), which shutdown() runs now, like a finally: around it.
      if (!inLoop && loops > 0 && flagLoop && s.parent?.id === flagLoop.parent?.id && (isSelfCall(s) || isSelfMemberCall(s))) {
        work.teardown.push(s);
        continue;
      }
      bad = s;
    }
  };
  let loopBody: SyntaxNode | null | undefined = null;
  let flagLoop: SyntaxNode | null = null;
  let loopEvent: string | null = null;
  const installs: SyntaxNode[] = [];
  const flagStarts: Array<{ stmt: SyntaxNode; attr: string }> = [];
  const clocks = clockLocals(fn.body, param?.name ?? null);
  let cadenceSleepStmt: SyntaxNode | null = null;
  let deadlineSlept: SyntaxNode | null = null;
  let slicedSlept: (SlicedSleep & { stmt: SyntaxNode }) | null = null;
  let intervalLocal: { name: string; value: string } | null = null;
  let intervalFromInit = false;
  let initBlocker: string | null = null;
  let narrow: NarrowGuard | null = null;
  let caughtAll = false;
  visit(fn.body, false);
  if (bad) {
    const b = bad as SyntaxNode;
    const at = b.startPosition.row + 1;
    // `if cycle % N == 0: self.baseline() else: self.collect()`: two cadences in one loop. The base
    // runs one collect_data() per collection_interval; how the slow cycle folds into it is a person's call.
    const other = b.type === 'if_statement' ? twoCadences(b, cycleMethod(ctx)) : null;
    if (other) {
      return fail(
        `run() runs two cycles at two cadences (${ctx.file}:${at}: ${excerpt(b.text, 50)} chooses ${other}() or ${cycleMethod(ctx)}()); the base calls collect_data() once every collection_interval: fold ${other}() into it (a cycle counter kept on self) by hand`,
        at,
      );
    }
    // `time.sleep(interval)` where the loop itself re-binds `interval` (FAST_INTERVAL after a cycle that
    // found something): the pause adapts to the cycle. The base waits collection_interval after every cycle.
    const adaptive = adaptivePause(fn.body);
    if (adaptive) {
      return fail(
        `run() changes its own pause between cycles (${ctx.file}:${adaptive.line}: ${adaptive.text}, slept at line ${adaptive.sleepLine}); the base waits collection_interval after every cycle, so how that cadence maps onto it is a person's call`,
        adaptive.line,
      );
    }
    // `interval = float(self.config.get("interval", 120))` before the loop, slept by it: the interval is the
    // agent's own state, known only once its constructor ran, while the base takes it at construction.
    const fromAgent = agentIntervalLocal(fn, b);
    if (fromAgent) {
      return fail(
        `run() sleeps ${fromAgent} (line ${at}: ${excerpt(b.text, 60)}), read from the agent's own state, while ${ctx.profile.base_class} takes its period at construction (${KEYWORD}): ` +
          `compute it in __init__ and pass it to the base's constructor by hand${initBlocker ? ` (not provably the value __init__ ends with: ${initBlocker as string})` : ''}`,
        at,
      );
    }
    // `except E: failures += 1; if failures >= MAX: logger.critical(...); sys.exit(3)`: run() ends the process
    // after too many failed cycles (a supervisor restarts it); the base's loop never stops on failures.
    const quit = b.type === 'block' && b.parent?.type === 'except_clause' ? giveUp(b) : null;
    if (quit) {
      return fail(
        `run() gives up after failed cycles of ${cycleMethod(ctx)}() (line ${quit.line}: ${quit.guard} -> ${quit.exit}), while ${ctx.profile.base_class}'s loop logs and counts a failing collect_data() and never stops by itself: ` +
          `keep the give-up by hand (count failures in collect_data(), call self.stop(), end with the same exit after run_forever()) or decide to drop it`,
        quit.line,
      );
    }
    // `with self._lease(): while True: ...`: the loop runs inside a context manager of the agent's own, entered
    // before the first cycle and left when the loop ends. The base's loop would run outside it; said with the
    // two hooks that take its place.
    // (only when the loop is inside it: a `with` entered and left before the loop says nothing of where the loop runs)
    const held = b.type === 'with_statement' && holdsLoop(b) ? ownContextManager(ctx, b) : null;
    if (held) {
      return fail(
        `run()'s loop runs inside \`${excerpt(b.text.split('\n')[0]!.trim(), 60)}\` (line ${at}), ${held.name}() (line ${held.line}) being a context manager of the agent's own: ` +
          `${ctx.profile.base_class}'s loop would run outside it. By hand: enter it in setup() (\`self._${held.name.replace(/^_+/, '')}_cm = self.${held.name}(${held.args})\`, then its \`__enter__()\`) and leave it in shutdown() (its \`__exit__(None, None, None)\`), then fold the loop`,
        at,
      );
    }
    return fail(`run() does more than loop over ${cycleMethod(ctx)}() (line ${at}: ${excerpt(b.text, 50)})`, fn.line);
  }
  // `self.running = True` before the loop: the loop's own flag (the base's is_running replaces it),
  // and only when nothing but run() reads it (a thread or method reading it would see it stay unset).
  for (const { stmt, attr } of flagStarts) {
    const readElsewhere = ctx.refs.of(attr).some((r) => {
      if (r.kind !== 'attribute') return false;
      if (fn.outer.startIndex <= r.start && r.end <= fn.outer.endIndex) return false;
      const a = r.node.parent;
      const asg = a?.parent;
      return !(asg && (asg.type === 'assignment' || asg.type === 'augmented_assignment') && asg.childForFieldName('left')?.id === a!.id);
    });
    if (!flagLoop || loopFlagOf(flagLoop) !== attr || readElsewhere || ctx.baseOwned.has(attr)) {
      return fail(`run() does more than loop over ${cycleMethod(ctx)}() (line ${stmt.startPosition.row + 1}: ${excerpt(stmt.text, 50)})`, fn.line);
    }
  }
  if (loops !== 1 || collects !== 1 || !sleep) return fail('run() is not `while True: collect(); sleep(interval)`', fn.line);
  // `try: self.collect() except OSError as e: log`: any other exception ended the legacy agent (a traceback,
  // exit status 1, a supervisor's restart), while the base's loop catches every one and goes on: said below.
  if (narrow) work.narrow = narrow;
  // The handlers run() installs may only end this loop: log, and set its flag or event. Anything
  // else (saving state, exiting) is the signal transform's to keep or move, so run() stays then.
  for (const st of installs) {
    const handler = signalInstall(st)!;
    const h = ctx.agent.methods.get(handler);
    const flagAttr = flagLoop ? loopFlagOf(flagLoop) : null;
    if (!h || !flagAttr || h.isAsync || h.decorators.length || ctx.refs.of(handler).some((r) => r.kind === 'attribute' && !(fn.node.startIndex <= r.start && r.end <= fn.node.endIndex))) {
      return fail(`run() installs ${excerpt(st.text, 60)} (line ${st.startPosition.row + 1}), a handler that does not only end its loop`, st.startPosition.row + 1);
    }
    const only = statements(h.body).every((x) => isDocstring(x) || isTrivial(x) || endsFlag(x, flagAttr));
    if (!only && !stopsThenShutdownWork(ctx, h, flagAttr)) return fail(`run() installs the signal handler ${handler}() (line ${st.startPosition.row + 1}), which does more than end its loop`, st.startPosition.row + 1);
  }
  const collect = analyzeCollect(ctx);
  if (!collect.ok) return fail(`run() drives ${cycleMethod(ctx)}(), which stays (${collect.reason})`, fn.line);
  if (work.closing.length) {
    const refused = closingExits(ctx, collect.value, fn, work.closing);
    if (refused) return fail(refused.reason, refused.line);
  }
  // Counters of the loop may only feed its log lines.
  for (const l of locals) if (param && l === param.name) return fail(`run() rebinds ${l}`, fn.line);
  work.locals = [...locals];
  for (const l of work.locals) {
    if (ctx.agent.attributes.has(l) || ctx.agent.methods.has(l) || ctx.baseOwned.has(l)) return fail(`run()'s counter ${l} would clash with self.${l}`, fn.line);
  }
  if (work.before.length && ctx.agent.methods.has('setup')) return fail('run() starts with statements for setup(), which the class already defines', fn.line);
  if (work.teardown.length && ctx.agent.methods.has('shutdown')) return fail("run()'s finally: tears down, and the class already defines shutdown()", fn.line);
  // After collect() only log lines about the cycle (a business step there has no place to go).
  const late = work.after.find((x) => !isTrivial(x) || x.type === 'return_statement');
  if (late) return fail(`run() does more after ${cycleMethod(ctx)}() (line ${late.startPosition.row + 1}: ${excerpt(late.text, 50)})`, late.startPosition.row + 1);

  if (work.gauge.stmts.length) {
    const refused = gaugePlan(ctx, fn, loopBody as unknown as SyntaxNode, collectStmt as unknown as SyntaxNode, work, clocks, !!cadenceSleepStmt);
    if (refused) return fail(refused.reason, refused.line);
  }
  if (work.tail.length) {
    const refused = cycleTail(ctx, fn, loopBody as unknown as SyntaxNode, work.tail);
    if (refused) return fail(refused.reason, refused.line);
  }
  const headCode = work.head.filter((x) => x.type !== 'comment');
  if (headCode.length) {
    const first = headCode[0]!;
    // The gauge and the overrun report time super().run_cycle() in an override of their own.
    if (work.gauge.stmts.length || work.overrun) return fail(`run() does more than loop over ${cycleMethod(ctx)}() (line ${first.startPosition.row + 1}: ${excerpt(first.text, 50)})`, fn.line);
    const refused = cycleTail(ctx, fn, loopBody as unknown as SyntaxNode, headCode, true);
    if (refused) return fail(refused.reason, refused.line);
  }
  // `logger.info("cycle done #%d failed_total=%d", self.cycles, self.failed_total)` after collect(), before
  // the sleep: the cycle's own report, which the base does not write (its loop logs no cycle). Read from
  // the agent alone, it is written after super().run_cycle() as before the legacy sleep, instead of being
  // dropped; where that cannot be (it reads what run() binds, or cycleTail() refuses) it goes as before.
  const cycleBody = loopBody as unknown as SyntaxNode | null;
  const sleepCall = sleep as unknown as SyntaxNode | null;
  const reports = cycleBody ? work.after.filter((x) => x.parent?.id === cycleBody.id && isLogStatement(x) && !(sleepCall && sleepCall.startIndex < x.startIndex) && readsOnlyAgent(fn, x, work.locals)) : [];
  if (reports.length && !cycleTail(ctx, fn, cycleBody!, [...work.tail, ...reports])) {
    work.tail = [...work.tail, ...reports].sort((a, b) => a.startIndex - b.startIndex);
    work.after = work.after.filter((x) => !reports.includes(x));
  }
  work.collect = collectStmt as unknown as SyntaxNode | null;
  work.sleep = sleepCall;

  // Who calls run(): only the entry point, on an agent it constructs.
  const calls = runCalls(ctx);
  if (!Array.isArray(calls)) return calls;

  // The interval the loop slept, and how it reaches the base.
  // Bound inside visit's closure: TypeScript does not see it change.
  const untilDeadline = deadlineSlept as SyntaxNode | null;
  const sliced = slicedSlept as (SlicedSleep & { stmt: SyntaxNode }) | null;
  if (sliced?.refuse) {
    const at = sliced.stmt.startPosition.row + 1;
    return fail(`run() sleeps in slices (line ${at}: ${sliced.stmt.text.split('\n')[0]!.trim()}): ${sliced.refuse}; the base waits one collection_interval after each cycle, so which value that is is a person's call`, at);
  }
  const arg = untilDeadline ? [untilDeadline] : sliced?.seconds ? [sliced.seconds] : sliced?.constant ? [sliced.count] : (sleep as SyntaxNode).childForFieldName('arguments')!.namedChildren;
  if (arg.length !== 1) return fail('run() sleeps an unusual amount', fn.line);
  let slept = arg[0]!;
  // A skipped cycle paused as long as a collected one (the same argument), which the base's wait is.
  for (const k of work.skips) {
    const pause = k.pause.namedChild(0)!.childForFieldName('arguments')!.namedChildren;
    if (untilDeadline || pause.length !== 1 || pause[0]!.text !== slept.text) {
      return fail(`run() skips a cycle (line ${k.stmt.startPosition.row + 1}: ${k.stmt.text.split('\n')[0]!.trim()}) with a pause other than its interval (line ${k.pause.startPosition.row + 1}: ${k.pause.text.trim()})`, k.stmt.startPosition.row + 1);
    }
  }
  // `interval + random.uniform(0, self.jitter)`: the interval, plus a random spread; `interval * (1 +
  // random.uniform(-J, J))`: the interval, scaled by a random factor around 1 (the same spread, relative).
  const op = slept.type === 'binary_operator' ? slept.childForFieldName('operator')?.text : undefined;
  if (op === '+' || op === '*') {
    const l = slept.childForFieldName('left')!;
    const r = slept.childForFieldName('right')!;
    const [interval, spread] = isRandom(ctx, r) && !isRandom(ctx, l) ? [l, r] : isRandom(ctx, l) && !isRandom(ctx, r) ? [r, l] : [null, null];
    if (interval && spread) {
      if ([...work.locals, ...work.backoff].some((n) => mentionsName(spread, n))) return fail(`run()'s random spread ${spread.text} depends on the loop`, fn.line);
      work.jitter = op === '+' ? spread.text : `${slept.text}: a random factor ${spread.text}`;
      slept = interval;
    }
  }
  for (const n of work.backoff) {
    const uses = [...work.before, ...work.each, ...work.after, ...work.teardown].find((x) => mentionsName(x, n));
    if (uses) return fail(`run()'s back-off counter ${n} is also used at line ${uses.startPosition.row + 1}`, uses.startPosition.row + 1);
  }
  if (cadenceSleepStmt) {
    // The interval the cadence is kept at: the one name besides the clock that its steps and sleep read.
    const interval = cadenceInterval(fn.body, clocks, param?.name ?? null, loopEvent ? `self.${loopEvent}.wait` : null);
    if (!interval) return fail('run() keeps a cadence on something other than one interval', fn.line);
    const uses = [...work.before, ...work.each, ...work.after, ...work.teardown].find((x) => [...clocks].some((n) => mentionsName(x, n)));
    if (uses) return fail(`run()'s clock ${[...clocks].find((n) => mentionsName(uses, n))} is also used at line ${uses.startPosition.row + 1}`, uses.startPosition.row + 1);
    work.cadence = [...clocks];
    slept = interval;
  }
  if (work.overrun) {
    const report = work.overrun.report;
    const body = report.parent!;
    const at = collectStmt as unknown as SyntaxNode;
    const cycle = statements(body).find((x) => x.startIndex <= at.startIndex && at.endIndex <= x.endIndex);
    const steps = statements(body).filter((x) => isClockStep(x, clocks));
    work.overrun.pre = steps.filter((x) => cycle && x.startIndex < cycle.startIndex);
    work.overrun.post = steps.filter((x) => cycle && x.startIndex > cycle.endIndex && x.startIndex < report.startIndex);
    const line = report.startPosition.row + 1;
    if (!cadenceSleepStmt || !cycle || !work.overrun.pre.length || !work.overrun.post.length) return fail(`run() reports an overrun of its cycle (line ${line}: ${report.text.split('\n')[0]!.trim()}) on a clock the migration cannot time on the base`, line);
    if (work.tail.length) return fail(`run() reports an overrun of its cycle (line ${line}) and does more work after ${cycleMethod(ctx)}(): both would override the base's ${ctx.py.cycle_method ?? 'cycle'}()`, line);
    if (!ctx.py.cycle_method || ctx.agent.methods.has(ctx.py.cycle_method)) return fail(`run() reports an overrun of its cycle (line ${line}), which only an override of the base's one pass could time`, line);
  }
  // Bound inside visit's closure: TypeScript does not see it change.
  return intervalPlan(ctx, fn, calls, work, flagLoop ? loopFlagOf(flagLoop) : null, slept, { param, pauses, fallback, constant: sliced?.constant ?? null, local: intervalLocal as { name: string; value: string } | null, fromInit: intervalFromInit });
}

/** Who calls run(): only the entry point, on an agent it constructs (each call with that construction). */
function runCalls(ctx: PythonTransformContext): EntryCall[] | Analysis<RunPlan> {
  const cls = ctx.agent.cls;
  const calls: EntryCall[] = [];
  const scopes = entryScopes(ctx.module);
  for (const r of ctx.refs.of(LEGACY_RUN)) {
    if (r.kind !== 'attribute') continue;
    const attr = r.node.parent!;
    // subprocess.run(...), asyncio.run(...): a module's function, not the agent's loop.
    const owner = attr.childForFieldName('object');
    if (owner?.type === 'identifier' && ctx.module.imports.has(owner.text)) continue;
    // self.scheduler.run(), self._worker.run(): a member's own run(), not the agent's loop.
    if (owner && selfAttribute(owner)) continue;
    const call = attr.parent;
    const inEntry = scopes.some((s) => s.startIndex <= r.start && r.end <= s.endIndex);
    const called = inEntry && call?.type === 'call' && call.childForFieldName('function')?.id === attr.id;
    const owner2 = attr.childForFieldName('object')!;
    // `with Agent() as agent: agent.run()`: the agent itself when its own __enter__ returns self.
    const entered = called ? enteredConstruction(ctx, owner2, cls.name) : null;
    if (entered && 'refuse' in entered) return fail(entered.refuse, r.line);
    const construction = entered?.node ?? (called ? constructionOf(owner2, scopes, cls.name) : null);
    if (!construction) {
      // `agent = NdpWatcher() if mode == "ndp" else ArpWatcher(); agent.run(...)`: one call starts either class.
      const shared = called ? sharedReceiver(ctx, owner2) : null;
      const why = shared
        ? `: ${owner2.text} is ${cls.name} or ${shared.others.join(', ')} (line ${shared.construction.startPosition.row + 1}), which does not inherit ${cls.name}, ` +
          `so that call cannot become ${ctx.py.main_loop_method ?? 'the base\'s loop'}() for ${cls.name} alone (${shared.others.join(', ')} has no such method): split the modes by hand`
        : '';
      return fail(`run() is also used at line ${r.line} (${attr.text})${why}`, r.line);
    }
    calls.push({ call: call!, construction });
  }
  return calls;
}

/** How the interval the cycle waited reaches the base: through the constructor, the entry point's construction, or the end of __init__. */
function intervalPlan(ctx: PythonTransformContext, fn: PyFunction, calls: EntryCall[], work: CycleWork, flag: string | null, slept: SyntaxNode,
  o: { param: PyFunction['params'][number] | null; pauses: Set<string>; fallback: string | null; constant: string | null; local: { name: string; value: string } | null; fromInit: boolean }): Analysis<RunPlan> {
  const kept = initKeepsInterval(ctx);
  // The constructor hands the base its value once; a later change of that attribute (a period re-read
  // from a file each cycle, a back-off, a reload) moved the legacy sleep with it, and the base's loop,
  // waiting collection_interval, would never see it. (collection_interval itself is the base's: it does.)
  const moved = kept && kept !== KEYWORD ? ctx.agent.assignments.find((a) => a.attr === kept && a.method !== '__init__') : undefined;
  // Changed from outside the class (`agent.interval = args.interval` after the construction in the entry point).
  const outside = kept && kept !== KEYWORD && !moved ? assignedOutsideClass(ctx, kept) : null;
  // Set by the entry point between the construction and run() (`agent.interval = args.interval`): the value
  // goes to the construction as collection_interval=..., which super().__init__ takes from **kwargs.
  const handed = outside ? handedAtConstruction(ctx, calls, kept!) : null;
  const keptInterval = (): Analysis<RunPlan> => moved
    ? fail(`run() sleeps self.${kept}, which ${moved.method}() changes at line ${moved.line} (${moved.stmt.text.trim().split('\n')[0]}): the base waits ${KEYWORD}, given once by the constructor, so that change would no longer move the period; carry it to self.${KEYWORD} by hand`, fn.line)
    : outside && handed && 'value' in handed
      ? { ok: true, value: { calls, insert: `${KEYWORD}=${handed.value}`, cycle: work, flag: flag, handed: true } }
      : outside
        ? fail(`run() sleeps self.${kept}, which is assigned outside the class at line ${outside.startPosition.row + 1} (${outside.text.trim().split('\n')[0]}) after the constructor gave the base its value as ${KEYWORD}: the base would keep waiting that value and the change would no longer move the period (${handed && 'why' in handed ? handed.why : 'not handed to the construction'}); hand it to the construction as ${KEYWORD}=... by hand`, outside.startPosition.row + 1)
        : { ok: true, value: { calls, insert: null, cycle: work, flag: flag } };
  const localInterval = o.local;
  const { param, pauses, fallback } = o;
  const cls = ctx.agent.cls;
  const sleptAttr = selfAttribute(slept);
  if (sleptAttr) {
    if (sleptAttr === kept) return keptInterval();
    // `collection_interval = 60` in the class body: the period is the class's, which the base's __init__ does not read.
    const constant = classBodyAssignment(ctx, sleptAttr);
    const where = constant ? `, a constant of the class (line ${constant.startPosition.row + 1}: ${constant.text.trim()}),` : '';
    const hand = constant ? `: hand it to the base in ${cls.name}.__init__'s super().__init__(${KEYWORD}=...) by hand` : '';
    // Set once by __init__ from the agent's own settings and only read after: __init__ ends by giving it to the base.
    const fromInit = constant || kept ? null : initAttributeInterval(ctx, sleptAttr);
    if (fromInit && 'value' in fromInit) return { ok: true, value: { calls, insert: null, initInterval: fromInit.value, cycle: work, flag: flag } };
    if (fromInit) return fail(`run() sleeps self.${sleptAttr}, which the constructor does not pass to the base as ${KEYWORD}, and ${fromInit.blocker}`, fn.line);
    return fail(`run() sleeps self.${sleptAttr}${where} which the constructor does not pass to the base as ${KEYWORD}${hand}`, fn.line);
  }
  let value: string | null = null;
  if (o.constant) value = o.constant;
  else if (param && slept.type === 'identifier' && (slept.text === param.name || pauses.has(slept.text))) {
    const given = calls.map((c) => intervalArgument(c.call, param.name));
    const distinct = [...new Set(given.map((g) => g?.text ?? null))];
    if (distinct.length > 1) return fail('the entry point calls run() with different intervals', fn.line);
    const g = given[0] ?? null;
    if (fallback) {
      // Called without an interval, the loop slept self.<fallback>: the constructor's value.
      if (g || !calls.length) return fail(`run() falls back to self.${fallback}, and the entry point ${g ? `gives ${g.text}` : 'does not call it'}`, fn.line);
      if (fallback === kept) return keptInterval();
      return fail(`run() sleeps self.${fallback}, which the constructor does not pass to the base as ${KEYWORD}`, fn.line);
    }
    if (g) {
      // agent.run(interval=agent.collection_interval): the value the constructor keeps.
      const obj = g.type === 'attribute' ? g.childForFieldName('object') : null;
      const viaAgent = obj?.type === 'identifier' && calls.some((c) => assignedName(c.construction) === obj.text);
      if (viaAgent) {
        const name = g.childForFieldName('attribute')!.text;
        if (name === kept) return keptInterval();
        return fail(`the entry point runs the loop every ${g.text}, which the constructor does not pass as ${KEYWORD}`, g.startPosition.row + 1);
      }
      value = g.text;
      if (calls.some((c) => mentionsName(g, assignedName(c.construction)))) return fail(`the interval ${g.text} depends on the agent`, g.startPosition.row + 1);
    } else if (param.default) value = param.default.text;
    else return fail('run() needs an interval the entry point does not give', fn.line);
  } else if (slept.type === 'integer' || slept.type === 'float' || (slept.type === 'identifier' && /^[A-Z_][A-Z0-9_]*$/.test(slept.text))) {
    value = slept.text;
  } else if (localInterval && slept.type === 'identifier' && slept.text === localInterval.name) {
    value = localInterval.value;
  } else if (configText(ctx, slept)) {
    value = configText(ctx, slept)!;
  } else return fail(`run() sleeps ${slept.text}`, fn.line);
  if (kept) return fail(`run() sleeps ${value} while the constructor keeps ${kept}; which one is the collection interval?`, fn.line);
  // Set at the end of __init__ (assignInitInterval): no construction passes it.
  if (o.fromInit) return { ok: true, value: { calls, insert: null, initInterval: value, cycle: work, flag: flag } };
  // A unit's base: each subclass's entry point gives the interval (its own, or this default) to the constructor.
  if (!calls.length && ctx.unit) return { ok: true, value: { calls, insert: null, cycle: work, flag: flag } };
  if (!calls.length) return fail(noEntryForInterval(KEYWORD, value, cls.name), fn.line);
  const init = ctx.agent.methods.get('__init__');
  const forwards = init ? init.params.some((p) => p.kind === 'kwargs') || ctx.py.super_call.forward_kwargs === true : true;
  if (!forwards) return fail(`${cls.name}() cannot take ${KEYWORD}`, fn.line);
  for (const c of calls) {
    if (c.construction.childForFieldName('arguments')!.namedChildren.some((a) => a.type === 'keyword_argument' && a.childForFieldName('name')!.text === KEYWORD)) {
      return fail(`the entry point already passes ${KEYWORD}`, c.construction.startPosition.row + 1);
    }
  }
  return { ok: true, value: { calls, insert: `${KEYWORD}=${value}`, cycle: work, flag: flag } };
}

/** `self._stop.is_set()`: the event's attribute name. */
function isSetOf(node: SyntaxNode | null): string | null {
  if (node?.type !== 'call' || node.childForFieldName('arguments')!.namedChildCount !== 0) return null;
  const fn = node.childForFieldName('function');
  if (fn?.type !== 'attribute' || fn.childForFieldName('attribute')!.text !== 'is_set') return null;
  return selfAttribute(fn.childForFieldName('object')!);
}

/** `self._stop.wait(<interval>)` (one argument): the event's attribute name. */
function waitOf(node: SyntaxNode | null): string | null {
  if (node?.type !== 'call' || node.childForFieldName('arguments')!.namedChildCount !== 1) return null;
  const fn = node.childForFieldName('function');
  if (fn?.type !== 'attribute' || fn.childForFieldName('attribute')!.text !== 'wait') return null;
  return selfAttribute(fn.childForFieldName('object')!);
}

/** The statement after `s` is `while not self.<event>.wait(...):` whose body calls the cycle method. */
function waitLoopAfter(s: SyntaxNode, cycle: string): boolean {
  const siblings = s.parent ? statements(s.parent) : [];
  const next = siblings[siblings.findIndex((x) => x.id === s.id) + 1];
  if (next?.type !== 'while_statement') return false;
  const cond = next.childForFieldName('condition')!;
  if (cond.type !== 'not_operator' || !waitOf(cond.childForFieldName('argument'))) return false;
  let calls = false;
  walk(next.childForFieldName('body')!, (n) => {
    if (calls || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (isCollectCall(n, cycle)) calls = true;
  });
  return calls;
}

/** The flag (or event) a `while self.running:` / `while not self._stop.is_set():` / `while not self._stop.wait(t):` loop reads. */
function loopFlagOf(loop: SyntaxNode): string | null {
  const cond = loop.childForFieldName('condition')!;
  const flag = cond.type === 'not_operator' ? cond.childForFieldName('argument') : cond;
  if (cond.type === 'not_operator' && waitOf(flag)) return waitOf(flag);
  return (cond.type === 'not_operator' ? isSetOf(flag) : null) ?? (flag ? selfAttribute(flag) : null);
}

/** `signal.signal(signal.SIGTERM, self._on_term)` as a statement: the handler method's name. */
function signalInstall(st: SyntaxNode): string | null {
  const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
  if (e?.type !== 'call' || !/^(signal\.)?signal$/.test(callee(e) ?? '')) return null;
  const args = e.childForFieldName('arguments')!.namedChildren;
  if (args.length !== 2 || !/(^|\.)SIG(TERM|INT)$/.test(args[0]!.text)) return null;
  return selfAttribute(args[1]!);
}

/** `signal.signal(signal.SIGHUP, self._reload)`: a signal other than SIGTERM/SIGINT, handled by a method of the agent. */
function businessSignalInstall(ctx: PythonTransformContext, st: SyntaxNode): boolean {
  const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
  if (e?.type !== 'call' || callee(e) !== 'signal.signal' || !ctx.module.imports.has('signal')) return false;
  const args = e.childForFieldName('arguments')!.namedChildren;
  if (args.length !== 2 || !/^signal\.SIG[A-Z0-9]+$/.test(args[0]!.text) || /(^|\.)SIG(TERM|INT)$/.test(args[0]!.text)) return false;
  const handler = selfAttribute(args[1]!);
  return !!handler && ctx.agent.methods.has(handler) && !ctx.base.methods.has(handler);
}

/** `self._stop.set()` or `self.running = False`: what ends the loop reading `flag`. */
export function endsFlag(st: SyntaxNode, flag: string): boolean {
  const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
  if (e?.type === 'call' && e.childForFieldName('arguments')!.namedChildCount === 0) return callee(e) === `self.${flag}.set`;
  if (e?.type === 'assignment') return selfAttribute(e.childForFieldName('left')!) === flag && /^(True|False)$/.test(e.childForFieldName('right')?.text ?? '');
  return false;
}

/**
 * A handler run() installs that ends the loop (`self.running = False`) and then does work of its
 * own (`self._flush()`: the batch still held is written before the process ends), with no exit,
 * return or raise, its signal parameters read only by log lines, where the agent defines no
 * shutdown() and the base calls that hook after its loop: the base's handler ends the loop, and
 * the work moves into shutdown() (remove-signal-handlers' handlerAsShutdown), so run() can go.
 */
function stopsThenShutdownWork(ctx: PythonTransformContext, h: PyFunction, flag: string): boolean {
  if (!ctx.py.hooks?.includes('shutdown') || !ctx.base.methods.has('shutdown') || ctx.agent.methods.has('shutdown')) return false;
  if (h.params.length > 3 || h.params.slice(1).some((p) => p.kind !== 'plain')) return false;
  const names = h.params.slice(1).map((p) => p.name);
  let stops = 0;
  let work = 0;
  for (const st of statements(h.body)) {
    if (isDocstring(st)) continue;
    if (endsFlag(st, flag)) {
      stops++;
      continue;
    }
    let bad = false;
    let readsParam = false;
    walk(st, (c) => {
      if (c.type === 'function_definition' || c.type === 'lambda' || c.type === 'class_definition') return false;
      if (c.type === 'return_statement' || c.type === 'yield' || c.type === 'raise_statement') bad = true;
      if (c.type === 'call' && /^(sys\.exit|os\._exit|exit|quit)$/.test(callee(c) ?? '')) bad = true;
      if (c.type === 'identifier' && names.includes(c.text) && !(c.parent?.type === 'attribute' && c.parent.childForFieldName('attribute')?.id === c.id)) readsParam = true;
    });
    if (bad) return false;
    if (isTrivial(st)) continue;
    if (readsParam) return false;
    work++;
  }
  return stops > 0 && work > 0;
}

/** A call of the random module (`random.uniform(...)`, `uniform(...)` imported from random) in the expression. */
function isRandom(ctx: PythonTransformContext, node: SyntaxNode): boolean {
  let hit = false;
  walk(node, (n) => {
    if (hit || n.type !== 'call') return;
    const name = callee(n) ?? '';
    const head = name.split('.')[0]!;
    const imp = ctx.module.imports.get(head) as { module?: string } | undefined;
    if (/^random\./.test(name) || imp?.module === 'random' || (imp?.module ?? '').startsWith('random.')) hit = true;
  });
  return hit;
}

/**
 * The names a `try: ... self.collect() ... except ...:` in the loop counts failures with: every
 * statement of the handler logs, sleeps, `continue`s or assigns a name from numbers, those
 * names, the interval parameter, module constants, min/max. Empty when there is no such handler.
 */
function backoffLocals(ctx: PythonTransformContext, run: PyFunction, cycle: string, param: string | null): Set<string> {
  const body = run.body;
  const names = new Set<string>();
  walk(body, (n) => {
    if (n.type === 'function_definition' && n.id !== body.parent?.id) return false;
    if (n.type !== 'try_statement') return;
    if (!statements(n.childForFieldName('body')).some((x) => isCollectCall(x, cycle))) return;
    for (const c of n.namedChildren) {
      if (c.type !== 'except_clause') continue;
      const b = c.namedChildren.find((x) => x.type === 'block');
      const assigned = new Set<string>();
      const stmts = statements(b ?? null);
      for (const x of stmts) {
        const e = x.type === 'expression_statement' ? x.namedChild(0) : null;
        const left = e?.type === 'assignment' || e?.type === 'augmented_assignment' ? e.childForFieldName('left') : null;
        if (left?.type === 'identifier' || runOnlyAttribute(ctx, run, left)) assigned.add(left!.text);
      }
      if (assigned.size && stmts.every((x) => isTrivial(x) || x.type === 'continue_statement' || isBackoffStep(x, assigned, param))) {
        for (const a of assigned) names.add(a);
      }
    }
  });
  return names;
}

/** `failures += 1`, `failures = 0`, `delay = min(interval * 2 ** failures, MAX_BACKOFF)`: arithmetic of the back-off. */
/** `if <a back-off name>:` with no elif / else, whose body only logs. */
function backoffLogGuard(stmt: SyntaxNode, names: Set<string>): boolean {
  if (stmt.type !== 'if_statement' || stmt.namedChildren.some((c) => c.type === 'elif_clause' || c.type === 'else_clause')) return false;
  const cond = stmt.childForFieldName('condition');
  const body = statements(stmt.childForFieldName('consequence'));
  return !!cond && names.has(cond.text) && body.length > 0 && body.every((x) => x.type === 'expression_statement' && isLogCall(x.namedChild(0)));
}

function isBackoffStep(stmt: SyntaxNode, names: Set<string>, param: string | null): boolean {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  if (e?.type !== 'assignment' && e?.type !== 'augmented_assignment') return false;
  const left = e.childForFieldName('left');
  const right = e.childForFieldName('right');
  if ((left?.type !== 'identifier' && left?.type !== 'attribute') || !names.has(left.text) || !right) return false;
  let ok = true;
  walk(right, (n) => {
    if (!ok) return false;
    if (n.type === 'attribute' && names.has(n.text)) return false;
    if (n.type === 'call') {
      if (!/^(min|max|int|float)$/.test(callee(n) ?? '')) ok = false;
      return;
    }
    if (n.type === 'identifier') {
      const p = n.parent;
      if (p?.type === 'call' && p.childForFieldName('function')?.id === n.id) return;
      if (!(names.has(n.text) || n.text === param || /^[A-Z_][A-Z0-9_]*$/.test(n.text))) ok = false;
    } else if (n.type === 'attribute') ok = false;
  });
  return ok;
}

/**
 * `self.consecutive_errors` counting failed cycles: an attribute of the agent that only run() reads or
 * writes, besides a literal set in __init__ (`self.consecutive_errors = 0`); it is the back-off's state
 * like a local of run(), and goes out of use with it.
 */
function runOnlyAttribute(ctx: PythonTransformContext, run: PyFunction, node: SyntaxNode | null): boolean {
  const attr = node ? selfAttribute(node) : null;
  if (!attr || ctx.baseOwned.has(attr) || ctx.agent.methods.has(attr)) return false;
  const init = ctx.agent.methods.get('__init__');
  return ctx.refs.of(attr).filter((r) => r.kind === 'attribute').every((r) => {
    if (run.outer.startIndex <= r.start && r.end <= run.outer.endIndex) return true;
    if (!init || r.start < init.outer.startIndex || r.end > init.outer.endIndex) return false;
    const asg = r.node.parent?.parent;
    const lit = asg?.type === 'assignment' && asg.childForFieldName('left')?.id === r.node.parent!.id ? asg.childForFieldName('right') : null;
    return !!lit && ['integer', 'float', 'none', 'true', 'false'].includes(lit.type);
  });
}

function intervalArgument(call: SyntaxNode, param: string): SyntaxNode | null {
  const args = call.childForFieldName('arguments')!.namedChildren;
  const kw = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')!.text === param);
  if (kw) return kw.childForFieldName('value');
  return args.find((a) => a.type !== 'keyword_argument') ?? null;
}

/** `Agent(...)` itself, or the `v = Agent(...)` the identifier `v` was bound to in the same scope. */
function constructionOf(obj: SyntaxNode, scopes: SyntaxNode[], cls: string): SyntaxNode | null {
  if (obj.type === 'call' && callee(obj) === cls) return obj;
  if (obj.type !== 'identifier') return null;
  const scope = scopes.find((s) => s.startIndex <= obj.startIndex && obj.endIndex <= s.endIndex);
  let found: SyntaxNode | null = null;
  let count = 0;
  walk(scope!, (n) => {
    if (n.type === 'assignment' && n.childForFieldName('left')?.text === obj.text) {
      count++;
      const right = n.childForFieldName('right');
      if (right?.type === 'call' && callee(right) === cls && n.startIndex < obj.startIndex) found = right;
    }
  });
  return count === 1 ? found : null;
}

/**
 * `with Agent(...) as v:` around the identifier `v` (v bound nowhere else in the block): the
 * construction when the class's own __enter__ returns self, so `v.run()` runs the agent and the base's
 * run_forever() (setup, loop, teardown with shutdown()) happens inside the block, the class's __exit__
 * after it as before; a refusal naming why when `v` may be something else; null when no such with.
 */
function enteredConstruction(ctx: PythonTransformContext, obj: SyntaxNode, cls: string): { node: SyntaxNode } | { refuse: string } | null {
  if (obj.type !== 'identifier') return null;
  for (let w = obj.parent; w; w = w.parent) {
    if (w.type !== 'with_statement') continue;
    const body = w.childForFieldName('body');
    if (!body || !(body.startIndex <= obj.startIndex && obj.endIndex <= body.endIndex)) continue;
    const item = w.namedChildren.find((c) => c.type === 'with_clause')?.namedChildren.find((i) => {
      const v = i.childForFieldName('value');
      return v?.type === 'as_pattern' && v.childForFieldName('alias')?.text === obj.text;
    });
    const value = item?.childForFieldName('value')?.namedChild(0);
    if (!value) continue;
    if (value.type !== 'call' || callee(value) !== cls) return null;
    let rebound = false;
    walk(body, (n) => {
      if (n.type === 'assignment' && n.childForFieldName('left')?.text === obj.text) rebound = true;
    });
    if (rebound) return { refuse: `run() is called on ${obj.text}, which the with block at line ${w.startPosition.row + 1} binds to ${cls}() and then rebinds` };
    const enter = ctx.agent.methods.get('__enter__');
    if (!enter) return { refuse: `run() is called on what ${cls}().__enter__() returns (with at line ${w.startPosition.row + 1}), and ${cls} defines no __enter__ of its own: whether that is the agent is not known` };
    const returns: SyntaxNode[] = [];
    walk(enter.body, (n) => {
      if (n.type === 'return_statement') returns.push(n);
    });
    const last = statements(enter.body).filter((x) => !isDocstring(x)).pop();
    if (enter.isAsync || !last || last.type !== 'return_statement' || returns.some((x) => x.namedChild(0)?.text !== 'self')) {
      return { refuse: `run() is called on what ${cls}.__enter__() (line ${enter.line}) returns (with at line ${w.startPosition.row + 1}), which is not always self: the base's loop would not run on the agent` };
    }
    return { node: value };
  }
  return null;
}

function assignedName(construction: SyntaxNode): string {
  const p = construction.parent;
  if (p?.type === 'as_pattern') return p.childForFieldName('alias')?.text ?? '';
  return p?.type === 'assignment' ? p.childForFieldName('left')!.text : '';
}

function mentionsName(node: SyntaxNode, name: string): boolean {
  if (!name) return false;
  let hit = false;
  walk(node, (n) => {
    if (n.type === 'identifier' && n.text === name) hit = true;
  });
  return hit;
}

export const hardenedMainLoopPropose: PythonTransform = {
  name: 'hardened-main-loop-propose',
  phase: 'propose',
  run(ctx) {
    if (!ctx.agent.methods.has(LEGACY_RUN)) return;
    ctx.plan.proposeMember({
      name: LEGACY_RUN,
      kind: 'method',
      finding: 'loop',
      reason: 'collection loop (the base\'s run_forever() runs it every collection_interval)',
      condition: (scope) => {
        const a = analyzeRun(ctx, scope.removed);
        return a.ok ? null : `${a.reason}; kept`;
      },
    });
    // A Timer chain folded into the base's loop: its tick and its timer go with run() (their cancels with the timer).
    const a = analyzeRun(ctx);
    const chain = a.ok ? a.value.chain : null;
    if (!chain) return;
    const condition = (scope: { removed: Set<string> }) => (scope.removed.has(LEGACY_RUN) ? null : `it runs the cycle run() started, which stays; kept`);
    ctx.plan.proposeMember({ name: chain.method, kind: 'method', finding: 'loop', reason: `the tick of run()'s ${chain.kind} chain (the base's run_forever() runs the cycle every collection_interval)`, condition });
    const pending = chain.kind === 'threading.Timer' ? 'Timer' : chain.scheduler ? 'event' : 'scheduler';
    ctx.plan.proposeMember({ name: chain.timer, kind: 'attribute', finding: 'loop', reason: `the pending ${pending} of run()'s chain (the base's loop has none to cancel)`, condition });
    if (chain.scheduler) ctx.plan.proposeMember({ name: chain.scheduler, kind: 'attribute', finding: 'loop', reason: `the scheduler of run()'s chain, which nothing else uses (the base's loop runs the cycle)`, condition });
  },
};

/** `with self.m(...):` (one item, no `as`) where m is the agent's own method decorated @contextmanager: its name, line and arguments. */
/** A `with` whose body holds a while or for loop (not one of a function or class defined in it). */
function holdsLoop(w: SyntaxNode): boolean {
  let found = false;
  walk(w.childForFieldName('body') ?? w, (x) => {
    if (found || x.type === 'function_definition' || x.type === 'class_definition' || x.type === 'lambda') return false;
    if (x.type === 'while_statement' || x.type === 'for_statement') found = true;
  });
  return found;
}

function ownContextManager(ctx: PythonTransformContext, w: SyntaxNode): { name: string; line: number; args: string } | null {
  const items = w.namedChildren.find((c) => c.type === 'with_clause')?.namedChildren.filter((c) => c.type === 'with_item') ?? [];
  const value = items.length === 1 ? items[0]!.childForFieldName('value') : null;
  if (value?.type !== 'call') return null;
  const fnNode = value.childForFieldName('function');
  const name = fnNode ? selfAttribute(fnNode) : null;
  const m = name ? ctx.agent.methods.get(name) : undefined;
  if (!m || !m.decorators.some((d) => /^(contextlib\.)?contextmanager$/.test(d))) return null;
  const args = value.childForFieldName('arguments')?.text.replace(/^\(|\)$/g, '') ?? '';
  return { name: name!, line: m.line, args };
}

/**
 * `if elapsed > interval: logger.warning("cycle took %.1fs, longer than %ss", elapsed, interval)`: an `if`
 * without else whose condition reads a clock local of the loop and whose body is only log lines, reading
 * only the loop's clock locals, its interval parameter, the agent and names run() does not bind.
 */
function overrunReport(s: SyntaxNode, clocks: Set<string>, param: string | null, run: PyFunction): boolean {
  if (s.type !== 'if_statement' || s.childForFieldName('alternative') || !clocks.size) return false;
  const cond = s.childForFieldName('condition')!;
  const inner = statements(s.childForFieldName('consequence'));
  if (!inner.length || !inner.every((x) => isLogStatement(x))) return false;
  if (![...clocks].some((c) => mentionsName(cond, c))) return false;
  return readsOnlyAgent(run, s, [...clocks, ...(param ? [param] : [])]);
}

/** A statement's text at another indentation, with the loop's names turned into the agent's. */
export function movedStatement(ctx: PythonTransformContext, stmt: SyntaxNode, indent: string, work: CycleWork, failing = false, replace: Array<{ start: number; end: number; text: string }> = []): string {
  noteMovedCode(ctx, stmt);
  const from = stmt.startPosition.column;
  const renames: Array<{ start: number; end: number; text: string }> = [...replace];
  const inReplaced = (n: SyntaxNode) => replace.some((r) => r.start <= n.startIndex && n.endIndex <= r.end);
  walk(stmt, (n) => {
    // run() gave up here; setup() says so to the base, which then does not start.
    if (n.type === 'return_statement' && failing) {
      renames.push({ start: n.startIndex, end: n.endIndex, text: 'return False' });
      return false;
    }
    if (n.type !== 'identifier' || inReplaced(n)) return;
    const p = n.parent;
    if (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) {
      // A member the class renamed (a constant the base's attribute would hide): the copy reads it too.
      const to = selfAttribute(p) === n.text ? ctx.renames.get(n.text) : undefined;
      if (to) renames.push({ start: n.startIndex, end: n.endIndex, text: to });
      return;
    }
    if (p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === n.id) return;
    if (work.locals.includes(n.text)) renames.push({ start: n.startIndex, end: n.endIndex, text: `self.${n.text}` });
    else if (n.text === work.param) renames.push({ start: n.startIndex, end: n.endIndex, text: `self.${KEYWORD}` });
  });
  let text = stmt.text;
  for (const r of renames.sort((a, b) => b.start - a.start)) {
    text = text.slice(0, r.start - stmt.startIndex) + r.text + text.slice(r.end - stmt.startIndex);
  }
  const lines = text.split(/\r?\n/);
  return lines
    .map((l, i) => (i === 0 ? indent + l : l.startsWith(' '.repeat(from)) ? indent + l.slice(from) : l))
    .join(ctx.layout.eol);
}

/**
 * A log line of run()'s teardown that shutdown() can run as written: it reads no name run() binds
 * (other than its literal counters and its interval parameter, which movedStatement maps to self).
 */
function teardownLog(stmt: SyntaxNode, run: PyFunction, counters: Set<string>, param: string | null): boolean {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  if (e?.type !== 'call' || !isLogCall(e)) return false;
  const bound = bindingsOf(run.node, false);
  let reads = false;
  walk(e, (x) => {
    if (x.type !== 'identifier') return;
    const p = x.parent;
    if (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === x.id) return;
    if (p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === x.id) return;
    if (bound.has(x.text) && !counters.has(x.text) && x.text !== param) reads = true;
  });
  return !reads;
}

/** `self._sender.start()`, `self._stop.set()`, `self._sender.join(2)`: the sender thread's own start and stop. */
function senderStatement(stmt: SyntaxNode, sender: SenderThread | null): boolean {
  if (!sender) return false;
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  const fn = e?.type === 'call' ? e.childForFieldName('function') : null;
  const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
  const attr = obj ? selfAttribute(obj) : null;
  return !!attr && (attr === sender.thread || attr === sender.stop) && /^(start|join|set)$/.test(fn!.childForFieldName('attribute')!.text);
}

/** `self._open_audit_log()`: a call of the agent's own method, as a statement. */
function isSelfCall(stmt: SyntaxNode): boolean {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  const fn = e?.type === 'call' ? e.childForFieldName('function') : null;
  return !!fn && fn.type === 'attribute' && fn.childForFieldName('object')?.text === 'self';
}

/** `self.<member>.<method>(...)` as a statement: a call on one of the agent's objects. */
/**
 * `<thread>.start()` as a statement, the thread being `threading.Thread(...)` built right there or a
 * self attribute the agent assigns only from `threading.Thread(...)`.
 */
function threadStart(ctx: PythonTransformContext, stmt: SyntaxNode): boolean {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  const fn = e?.type === 'call' ? e.childForFieldName('function') : null;
  if (fn?.type !== 'attribute' || fn.childForFieldName('attribute')?.text !== 'start') return false;
  if (e!.childForFieldName('arguments')!.namedChildCount) return false;
  const isThread = (n: SyntaxNode | null | undefined) => n?.type === 'call' && /^(threading\.)?Thread$/.test(callee(n) ?? '');
  const obj = fn.childForFieldName('object');
  if (isThread(obj)) return true;
  const attr = obj ? selfAttribute(obj) : null;
  if (!attr || ctx.baseOwned.has(attr)) return false;
  let assigned = 0;
  let threads = 0;
  for (const m of ctx.agent.methods.values()) {
    walk(m.body, (n) => {
      if (n.type !== 'assignment' || selfAttribute(n.childForFieldName('left')!) !== attr) return;
      // `self._receiver = None` in __init__: a placeholder until the thread is built, never started.
      if (n.childForFieldName('right')?.type === 'none') return;
      assigned++;
      if (isThread(n.childForFieldName('right'))) threads++;
    });
  }
  return assigned > 0 && assigned === threads;
}

/**
 * `self.<attr> = self.<method>(...)` or `self.<attr> = threading.Thread(...)` as a statement of run(),
 * the attribute not the base's and the value reading no parameter or local of run() (only self,
 * module names and constants): one-time set-up that does the same in setup(), which the base runs
 * where run() ran it, before its first cycle.
 */
function onceBuiltAttribute(ctx: PythonTransformContext, stmt: SyntaxNode, run: PyFunction): boolean {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  if (e?.type !== 'assignment') return false;
  const attr = selfAttribute(e.childForFieldName('left')!);
  const right = e.childForFieldName('right');
  if (!attr || ctx.baseOwned.has(attr) || right?.type !== 'call') return false;
  const fnNode = right.childForFieldName('function');
  const ownMethod = fnNode?.type === 'attribute' && fnNode.childForFieldName('object')?.text === 'self' && ctx.agent.methods.has(fnNode.childForFieldName('attribute')!.text);
  const thread = /^(threading\.)?Thread$/.test(callee(right) ?? '');
  if (!ownMethod && !thread) return false;
  // Not the publish side's (`self.channel = self._get_grpc_channel()`): that moves into EventBusPublisher,
  // or goes, with what builds it, and is not business set-up.
  const publishSide = (m: string) => isTransport(ctx, m) || isPublish(ctx, m) || isDrain(ctx, m);
  if (ownMethod) {
    const m = fnNode!.childForFieldName('attribute')!.text;
    if (publishSide(m) || reachesBus(ctx, ctx.agent.methods.get(m)!)) return false;
  }
  for (const m of ctx.agent.methods.values()) {
    if (!publishSide(m.name)) continue;
    let reads = false;
    walk(m.body, (n) => {
      if (selfAttribute(n) === attr) reads = true;
    });
    if (reads) return false;
  }
  // Names run() binds: its parameters, every name it assigns or loops over, and the functions and
  // classes it defines (`def pump(): ...` handed to a Thread as its target).
  const bound = bindingsOf(run.node);
  bound.delete('self');
  let reads = false;
  walk(right, (n) => {
    if (n.type !== 'identifier') return;
    if (n.parent?.type === 'keyword_argument' && n.parent.childForFieldName('name')?.id === n.id) return;
    if (n.parent?.type === 'attribute' && n.parent.childForFieldName('attribute')?.id === n.id) return;
    if (bound.has(n.text)) reads = true;
  });
  return !reads;
}

/** Conversions and bounds an interval attribute may be computed with (`float(interval)`, `max(1, interval)`). */
const INTERVAL_BUILTINS = new Set(['float', 'int', 'round', 'max', 'min', 'abs']);

/**
 * `self.<attr> = <expr of run()'s interval>`: the interval parameter, numbers, module constants and the
 * builtins above, nothing else; an attribute neither the base's nor a method, and not the publish side's.
 */
function intervalAttribute(ctx: PythonTransformContext, stmt: SyntaxNode, param: string): boolean {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  if (e?.type !== 'assignment') return false;
  const attr = selfAttribute(e.childForFieldName('left')!);
  const right = e.childForFieldName('right');
  if (!attr || !right || ctx.baseOwned.has(attr) || ctx.agent.methods.has(attr)) return false;
  let ok = true;
  let usesParam = false;
  walk(right, (n) => {
    if (!ok) return false;
    if (!n.isNamed) return; // punctuation and operators
    if (n.type === 'call') {
      const f = n.childForFieldName('function');
      if (f?.type !== 'identifier' || !INTERVAL_BUILTINS.has(f.text) || ctx.module.functions.has(f.text) || ctx.module.classes.some((c) => c.name === f.text)) ok = false;
      return;
    }
    if (n.type === 'identifier') {
      if (n.parent?.type === 'call' && n.parent.childForFieldName('function')?.id === n.id) return;
      if (n.text === param) usesParam = true;
      else if (!/^[A-Z][A-Z0-9_]*$/.test(n.text)) ok = false;
      return;
    }
    if (!['binary_operator', 'parenthesized_expression', 'argument_list', 'integer', 'float', 'unary_operator'].includes(n.type) && n.id !== right.id) ok = false;
  });
  if (!ok || !usesParam) return false;
  for (const m of ctx.agent.methods.values()) {
    if (!(isTransport(ctx, m.name) || isPublish(ctx, m.name) || isDrain(ctx, m.name))) continue;
    let reads = false;
    walk(m.body, (n) => {
      if (selfAttribute(n) === attr) reads = true;
    });
    if (reads) return false;
  }
  return true;
}

/** `self.<attr> = time.monotonic()` (or time.time(), time.time_ns(), ...): the clock read alone, into an attribute not the base's. */
function cycleStamp(ctx: PythonTransformContext, stmt: SyntaxNode): boolean {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  if (e?.type !== 'assignment') return false;
  const attr = selfAttribute(e.childForFieldName('left')!);
  const right = e.childForFieldName('right');
  if (!attr || ctx.baseOwned.has(attr) || right?.type !== 'call' || right.childForFieldName('arguments')!.namedChildCount) return false;
  return /^time\.(monotonic|time|perf_counter)(_ns)?$/.test(callee(right) ?? '');
}

/**
 * `self.cycle += 1` opening the loop's body, before collect(): the agent's own count of cycles (a SIGUSR1
 * dump or a log line reads it), which collect_data() now opens with, once per base cycle as once per loop
 * turn. Not the base's nor the publish side's (their counts of what was sent go with them).
 */
function cycleCounter(ctx: PythonTransformContext, stmt: SyntaxNode, run: PyFunction): boolean {
  const attr = agentCounterStep(stmt);
  if (!attr || ctx.baseOwned.has(attr) || ctx.agent.methods.has(attr)) return false;
  const side = new Set([...ctx.agent.methods.keys()].filter((m) => m !== LEGACY_RUN && m !== cycleMethod(ctx) && (isTransport(ctx, m) || isDrain(ctx, m))));
  return !publishState(ctx, run, side).has(attr);
}

/**
 * `if self.reload_pending: self.reload_pending = False; self.secrets.load()` opening the loop's body,
 * before collect(): a request a signal handler or another thread left on the agent (a flag of its own),
 * served once per cycle right before the collection. collect_data() opens with it now, at the same moment
 * of each of the base's cycles. Only the agent's own state and objects, never the publish side the base
 * replaces nor what run() binds.
 */
function pendingRequest(ctx: PythonTransformContext, stmt: SyntaxNode, run: PyFunction): boolean {
  if (stmt.type !== 'if_statement' || stmt.namedChildren.some((c) => c.type === 'else_clause' || c.type === 'elif_clause')) return false;
  const cond = stmt.childForFieldName('condition')!;
  const flag = selfAttribute(cond.type === 'not_operator' ? cond.childForFieldName('argument')! : cond);
  if (!flag || ctx.baseOwned.has(flag) || ctx.agent.methods.has(flag)) return false;
  const body = statements(stmt.childForFieldName('consequence'));
  // Not the publish side (its methods, or an object it keeps: `self.queue.flush()`), which the base replaces.
  const side = new Set([...ctx.agent.methods.keys()].filter((m) => m !== LEGACY_RUN && m !== cycleMethod(ctx) && (isTransport(ctx, m) || isDrain(ctx, m))));
  const state = publishState(ctx, run, side);
  const ownMember = (attr: string | null) => !!attr && !ctx.baseOwned.has(attr) && !side.has(attr) && !state.has(attr) && attr !== LEGACY_RUN && attr !== cycleMethod(ctx);
  return body.length > 0 && body.every((x) => {
    if (isTrivial(x) && x.type !== 'return_statement') return true;
    const e = x.type === 'expression_statement' ? x.namedChild(0) : null;
    if (e?.type === 'assignment') return selfAttribute(e.childForFieldName('left')!) === flag && constantArgument(e.childForFieldName('right')!);
    if (e?.type !== 'call' || !e.childForFieldName('arguments')!.namedChildren.every(constantArgument)) return false;
    const fn = e.childForFieldName('function')!;
    const obj = fn.type === 'attribute' ? fn.childForFieldName('object')! : null;
    // self.m() (a method of the agent) or self.member.m() (an object the agent holds)
    if (isSelfCall(x)) return ctx.agent.methods.has(selfAttribute(fn)!) && ownMember(selfAttribute(fn));
    return isSelfMemberCall(x) && ownMember(selfAttribute(obj!)) && !ctx.agent.methods.has(selfAttribute(obj!)!);
  });
}

/**
 * `if <condition>: ...; time.sleep(<x>); continue` (no elif/else): a cycle the loop skips, pausing first. Its
 * other statements are log lines and the agent's own counters (`self.skipped += 1`); neither they nor the
 * condition read a name run() binds (its interval parameter aside, the agent's collection_interval now), call
 * the agent's methods or touch the publish side. The cycle method must be a plain function (no yield) for its
 * `return []`. Null otherwise.
 */
function skippedCycle(ctx: PythonTransformContext, stmt: SyntaxNode, run: PyFunction): { stmt: SyntaxNode; pause: SyntaxNode; cont: SyntaxNode } | null {
  if (stmt.type !== 'if_statement' || stmt.namedChildren.some((c) => c.type === 'else_clause' || c.type === 'elif_clause')) return null;
  const body = statements(stmt.childForFieldName('consequence'));
  const cont = body[body.length - 1];
  const pause = body[body.length - 2];
  if (cont?.type !== 'continue_statement' || !pause) return null;
  const e = pause.type === 'expression_statement' ? pause.namedChild(0) : null;
  if (e?.type !== 'call' || !SLEEP_CALL.test(callee(e) ?? '')) return null;
  if (!body.slice(0, -2).every((x) => isLogStatement(x) || agentCounterStep(x))) return null;
  for (const x of body.slice(0, -2)) {
    const attr = agentCounterStep(x);
    if (attr && (ctx.baseOwned.has(attr) || ctx.agent.methods.has(attr))) return null;
  }
  const cycle = ctx.agent.methods.get(cycleMethod(ctx));
  if (!cycle) return null;
  let yields = false;
  walk(cycle.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'yield') yields = true;
  });
  if (yields) return null;
  // What it reads: no local of run() (its interval parameter aside), no method of the agent.
  const param = run.params.filter((p, i) => i > 0 && p.kind !== 'separator')[0]?.name ?? null;
  const bound = bindingsOf(run.node);
  let ok = true;
  const read = [stmt.childForFieldName('condition')!, ...body.slice(0, -2)];
  for (const r of read) {
    walk(r, (n) => {
      if (!ok) return false;
      if (n.type === 'lambda' || n.type === 'await' || n.type === 'yield') ok = false;
      const attr = n.type === 'attribute' ? selfAttribute(n) : null;
      if (attr && (ctx.agent.methods.has(attr) || ctx.baseOwned.has(attr))) ok = false;
      if (n.type !== 'identifier') return;
      const p = n.parent;
      if (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) return;
      if (p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === n.id) return;
      if (n.text !== 'self' && n.text !== param && bound.has(n.text)) ok = false;
    });
  }
  return ok ? { stmt, pause, cont } : null;
}

/** `self.cycle_seconds = time.perf_counter() - t0`: an attribute of the agent set to a clock reading minus a clock local. */
function cycleGauge(ctx: PythonTransformContext, stmt: SyntaxNode, clocks: Set<string>): boolean {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  if (e?.type !== 'assignment') return false;
  const attr = selfAttribute(e.childForFieldName('left')!);
  const right = e.childForFieldName('right');
  if (!attr || ctx.baseOwned.has(attr) || ctx.agent.methods.has(attr) || right?.type !== 'binary_operator' || right.childForFieldName('operator')?.text !== '-') return false;
  const [l, r] = [right.childForFieldName('left')!, right.childForFieldName('right')!];
  return l.type === 'call' && CLOCK_CALL.test(callee(l) ?? '') && l.childForFieldName('arguments')!.namedChildCount === 0 && r.type === 'identifier' && clocks.has(r.text);
}

/**
 * The gauge's clock steps (`t0 = time.perf_counter()` in the loop's body before collect()) into work.gauge.pre,
 * or why the gauge cannot time the base's cycle: the clock is also a cadence's or read elsewhere, no cycle method
 * of the base to override, the class defining it already, the gauge's attribute being the publish side's.
 */
function gaugePlan(ctx: PythonTransformContext, run: PyFunction, loopBody: SyntaxNode, collectStmt: SyntaxNode, work: CycleWork, clocks: Set<string>, cadence: boolean): { reason: string; line: number } | null {
  const first = work.gauge.stmts[0]!;
  const line = first.startPosition.row + 1;
  const what = `run() times its cycle into ${first.text.split('=')[0]!.trim()} (line ${line})`;
  const one = ctx.py.cycle_method;
  if (!one || !ctx.base.methods.has(one)) return { reason: `${what}, and the profile names no cycle method of the base to time`, line };
  if (ctx.agent.methods.has(one)) return { reason: `${what}, and the class already defines ${one}()`, line };
  if (cadence || work.overrun) return { reason: `${what} on the clock that also keeps its cadence`, line };
  const read = new Set<string>();
  for (const g of work.gauge.stmts) read.add(g.namedChild(0)!.childForFieldName('right')!.childForFieldName('right')!.text);
  const pre = statements(loopBody).filter((x) => x.startIndex < collectStmt.startIndex && isClockStep(x, clocks));
  const bound = new Set(pre.map((x) => x.namedChild(0)!.childForFieldName('left')!.text));
  if (![...read].every((n) => bound.has(n)) || pre.some((x) => !read.has(x.namedChild(0)!.childForFieldName('left')!.text))) return { reason: `${what} from a clock not set right before ${cycleMethod(ctx)}() in the loop`, line };
  const elsewhere = [...work.before, ...work.each, ...work.after, ...work.teardown, ...work.tail].find((x) => [...read].some((n) => mentionsName(x, n)));
  if (elsewhere) return { reason: `${what}, and its clock is also read at line ${elsewhere.startPosition.row + 1}`, line };
  const side = new Set([...ctx.agent.methods.keys()].filter((m) => m !== LEGACY_RUN && m !== cycleMethod(ctx) && (isTransport(ctx, m) || isDrain(ctx, m))));
  const state = publishState(ctx, run, side);
  const attr = selfAttribute(first.namedChild(0)!.childForFieldName('left')!)!;
  if (state.has(attr)) return { reason: `${what}, and self.${attr} is the publish side's (line ${state.get(attr)})`, line };
  work.gauge.pre = pre;
  return null;
}

/** `self.cycles += 1`: an attribute of the agent stepped by a number; its name, else null. */
function agentCounterStep(stmt: SyntaxNode): string | null {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  if (e?.type !== 'augmented_assignment' || !['+=', '-='].includes(e.childForFieldName('operator')?.text ?? '')) return null;
  if (!['integer', 'float'].includes(e.childForFieldName('right')?.type ?? '')) return null;
  return selfAttribute(e.childForFieldName('left')!);
}

/**
 * `self.cycles += 1` (a counter of the agent's own, see cycleCounter, or a counter local of run() started from a
 * literal before the loop) after collect() in the body of the try: around it in the loop (`after`: the collect
 * statement it must follow in that body; null for the try's `else:`, which runs only when the body returned).
 */
function successCount(ctx: PythonTransformContext, s: SyntaxNode, run: PyFunction, locals: Set<string>, after: SyntaxNode | null): boolean {
  if (after) {
    const body = s.parent;
    const t = body?.parent;
    if (!body || t?.type !== 'try_statement' || t.childForFieldName('body')?.id !== body.id || after.parent?.id !== body.id || after.startIndex > s.startIndex) return false;
  }
  const e = s.type === 'expression_statement' ? s.namedChild(0) : null;
  const left = e?.type === 'augmented_assignment' ? e.childForFieldName('left') : null;
  if (left?.type === 'identifier') return e!.childForFieldName('operator')?.text === '+=' && e!.childForFieldName('right')?.type === 'integer' && locals.has(left.text);
  return cycleCounter(ctx, s, run);
}

/**
 * Where a count of the cycles whose collect() returned (CycleWork.closing) can end collect_data(): every exit
 * of it is a return the collect plan rewrites on a line of its own (prefixed with the count), or its end, where
 * the plan appends the return; nothing but run() calls the cycle (a one-shot call would count now). Why not, at
 * which line, otherwise.
 */
function closingExits(ctx: PythonTransformContext, plan: CollectPlan, run: PyFunction, closing: SyntaxNode[]): { reason: string; line: number } | null {
  const fn = plan.fn;
  const count = closing.map((x) => `line ${x.startPosition.row + 1}: ${x.text.split('\n')[0]!.trim()}`).join('; ');
  const refuse = (why: string, at: number) => ({
    reason: `run() counts a cycle only when ${fn.name}() returns (${count}, in the try: around ${fn.name}()), and ${why}: the base's ${ctx.py.cycle_method ?? 'loop'}() catches a raising ${HOOK}() itself, so that count has to end ${HOOK}() before each of its returns; move it there by hand`,
    line: at,
  });
  if (plan.loop) return refuse(`${fn.name}() returns its events to the loop's publish (line ${fn.line})`, fn.line);
  const other = ctx.refs.of(fn.name).find((r) => r.kind === 'attribute' && !(run.outer.startIndex <= r.start && r.end <= run.outer.endIndex));
  if (other) return refuse(`${fn.name}() is also called at line ${other.line}, which did not count`, other.line);
  if (plan.block.some((x) => x.parent?.id !== fn.body.id)) return refuse(`${fn.name}()'s body is one try: whose handlers return for it (line ${fn.line})`, fn.line);
  const rewritten = new Set(plan.returns.map((r) => r.node.id));
  let exit: SyntaxNode | null = null;
  walk(fn.body, (n) => {
    if (exit || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'yield' || (n.type === 'return_statement' && (!rewritten.has(n.id) || ctx.source.slice(lineStart(ctx.source, n.startIndex), n.startIndex).trim() !== ''))) exit = n;
  });
  const at = exit as SyntaxNode | null;
  if (at) return refuse(`${fn.name}() exits at line ${at.startPosition.row + 1} (${excerpt(at.text, 50)}) where the count cannot go before it`, at.startPosition.row + 1);
  const last = statements(fn.body).filter((x) => !isDocstring(x)).pop();
  if (last?.type !== 'return_statement' && !plan.append) return refuse(`${fn.name}() ends without a return the migration writes`, fn.line);
  return null;
}

/**
 * The count of CycleWork.closing at `indent`, one statement a line, for collect_data() to end with before each
 * return (hardened-collect writes it there), when run() goes as the base's loop; null otherwise.
 */
export function closingCount(ctx: PythonTransformContext, indent: string): string | null {
  if (ctx.resolved?.members.get(LEGACY_RUN)?.finding !== 'loop') return null;
  const a = analyzeRun(ctx);
  if (!a.ok || !a.value.cycle.closing.length) return null;
  return a.value.cycle.closing.map((x) => movedStatement(ctx, x, indent, a.value.cycle)).join(ctx.layout.eol);
}

/** `logger.info(...)` alone on its line. */
function isLogStatement(stmt: SyntaxNode): boolean {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  return !!e && isLogCall(e);
}

/** The statement reads no name run() binds (its parameter, its locals), except its counters, which become the agent's. */
function readsOnlyAgent(run: PyFunction, stmt: SyntaxNode, counters: string[]): boolean {
  const bound = bindingsOf(run.node);
  let ok = true;
  walk(stmt, (n) => {
    if (!ok || n.type !== 'identifier') return;
    const p = n.parent;
    if (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) return;
    if (p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === n.id) return;
    if (n.text !== 'self' && bound.has(n.text) && !counters.includes(n.text)) ok = false;
  });
  return ok;
}

/** `<name> = <value>` among the class body's own statements, else null. */
function classBodyAssignment(ctx: PythonTransformContext, name: string): SyntaxNode | null {
  for (const st of ctx.agent.cls.body.namedChildren) {
    const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
    if (a?.type === 'assignment' && a.childForFieldName('left')?.type === 'identifier' && a.childForFieldName('left')!.text === name) return st;
  }
  return null;
}

/**
 * `for _ in range(<n>):` whose body is only `time.sleep(<c>)`, c a constant, and, before or after it, `if <the
 * loop's condition, negated>: break`: n × c seconds slept in slices that end early when the loop would.
 * `seconds`: the node holding those seconds, <n> itself for one-second slices, else the X of `range(X * k)`,
 * `range(int(X * k))`, `range(int(X / c))` (any of int/round/math.ceil/math.floor) with k × c = 1; `constant`:
 * their value when <n> is a number; `refuse`: why the slept time is not one interval (`range(interval)` of
 * 0.5 s slices sleeps half of it). Null when the statement is no sliced sleep.
 */
type SlicedSleep = { range: SyntaxNode; count: SyntaxNode; seconds?: SyntaxNode; constant?: string; refuse?: string };
function slicedSleep(stmt: SyntaxNode, loop: SyntaxNode): SlicedSleep | null {
  if (stmt.type !== 'for_statement' || stmt.namedChildren.some((c) => c.type === 'else_clause')) return null;
  const range = stmt.childForFieldName('right');
  const index = stmt.childForFieldName('left');
  if (range?.type !== 'call' || callee(range) !== 'range' || range.childForFieldName('arguments')!.namedChildCount !== 1 || index?.type !== 'identifier') return null;
  const body = statements(stmt.childForFieldName('body'));
  const isBreak = (x: SyntaxNode) => breaksWhenLoopEnds(x, loop);
  const sliceOf = (x: SyntaxNode): number | null => {
    const e = x.type === 'expression_statement' ? x.namedChild(0) : null;
    const args = e?.type === 'call' && SLEEP_CALL.test(callee(e) ?? '') ? e.childForFieldName('arguments')!.namedChildren : [];
    const n = args.length === 1 ? numberOf(args[0]!) : null;
    return n !== null && n > 0 ? n : null;
  };
  const sleeps = body.filter((x) => sliceOf(x) !== null);
  const breaks = body.filter(isBreak);
  if (sleeps.length !== 1 || breaks.length > 1 || sleeps.length + breaks.length !== body.length) return null;
  if (mentionsName(stmt.childForFieldName('body')!, index.text) || mentionsName(range, index.text)) return null;
  const slice = sliceOf(sleeps[0]!)!;
  const count = range.childForFieldName('arguments')!.namedChild(0)!;
  // range(int(self.interval)) of 1 s: the interval's whole seconds, the interval itself (less than a slice off).
  if (slice === 1) return { range, count, seconds: rounded(count) ?? count };
  const literal = numberOf(count);
  // range(50) of 0.1 s: 5 seconds (rounded off the float product's noise).
  if (literal !== null) return { range, count, constant: String(Number((literal * slice).toFixed(6))) };
  const scaled = unscaled(count, slice);
  if (scaled) return { range, count, seconds: scaled };
  return { range, count, refuse: `${count.text} slices of ${sleeps[0]!.text.trim()}, not ${count.text} seconds nor ${count.text} scaled by 1/${slice}` };
}

/** An integer or float literal's value, else null. */
function numberOf(n: SyntaxNode): number | null {
  return n.type === 'integer' || n.type === 'float' ? Number(n.text.replace(/_/g, '')) : null;
}

const SLICE_COUNT = /^(int|round|math\.ceil|math\.floor)$/;

/** X of `int(X)`, `round(X)`, `math.ceil(X)`, `math.floor(X)` (one argument), else null. */
function rounded(n: SyntaxNode): SyntaxNode | null {
  return n.type === 'call' && SLICE_COUNT.test(callee(n) ?? '') && n.childForFieldName('arguments')!.namedChildCount === 1 ? n.childForFieldName('arguments')!.namedChild(0)! : null;
}

/**
 * The X that `count` scales into slices of `slice` seconds: `X * k`, `k * X` with k × slice = 1, or `X / slice`,
 * maybe inside one int()/round()/math.ceil()/math.floor() (which rounds the count to whole slices, a slice at
 * most off), else null.
 */
function unscaled(count: SyntaxNode, slice: number): SyntaxNode | null {
  let n = rounded(count) ?? count;
  while (n.type === 'parenthesized_expression' && n.namedChildCount === 1) n = n.namedChild(0)!;
  if (n.type !== 'binary_operator') return null;
  const op = n.childForFieldName('operator')?.text;
  const [l, r] = [n.childForFieldName('left')!, n.childForFieldName('right')!];
  const same = (a: number, b: number) => Math.abs(a - b) < 1e-9 * Math.max(1, Math.abs(b));
  if (op === '*') {
    const [x, k] = numberOf(r) !== null ? [l, numberOf(r)!] : numberOf(l) !== null ? [r, numberOf(l)!] : [null, null];
    return x && k !== null && same(k * slice, 1) ? x : null;
  }
  if (op === '/') {
    const d = numberOf(r);
    return d !== null && same(d, slice) ? l : null;
  }
  return null;
}

/**
 * `interval = <expression reading self>` among run()'s own statements (not in a loop) whose name a sleep of
 * run() reads: the name, else null.
 */
function agentIntervalLocal(run: PyFunction, stmt: SyntaxNode): string | null {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  const left = e?.type === 'assignment' ? e.childForFieldName('left') : null;
  const right = e?.childForFieldName('right');
  if (left?.type !== 'identifier' || !right || !mentionsName(right, 'self') || stmt.parent?.id !== run.body.id) return null;
  let slept = false;
  walk(run.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'call' && SLEEP_CALL.test(callee(n) ?? '') && mentionsName(n.childForFieldName('arguments')!, left.text)) slept = true;
  });
  return slept ? left.text : null;
}

/**
 * `if not self.running: break` in `while self.running:`, `if self._stop.is_set(): break` in `while not
 * self._stop.is_set():`: a break taken when the loop's own condition no longer holds.
 */
function breaksWhenLoopEnds(x: SyntaxNode, loop: SyntaxNode): boolean {
  const cond = loop.childForFieldName('condition')!;
  const negates = (c: SyntaxNode) =>
    (c.type === 'not_operator' && c.childForFieldName('argument')!.text === cond.text) || (cond.type === 'not_operator' && cond.childForFieldName('argument')!.text === c.text);
  if (x.type !== 'if_statement' || x.namedChildren.some((c) => c.type === 'else_clause' || c.type === 'elif_clause')) return false;
  const then = statements(x.childForFieldName('consequence'));
  return negates(x.childForFieldName('condition')!) && then.length === 1 && then[0]!.type === 'break_statement';
}

/**
 * `while <the loop's condition> and time.monotonic() < deadline: time.sleep(0.5)` (either operand first), or
 * `while time.monotonic() < deadline:` holding `if <the loop's condition, negated>: break` beside the sleep,
 * right after `deadline = time.monotonic() + <interval>` in the loop body: <interval> slept in slices of a
 * constant second or less, ending early when the loop would, as the base's wait does. The deadline is a clock local bound
 * only there and read only by this loop. Its <interval>, else null.
 */
function deadlineSleep(stmt: SyntaxNode, loop: SyntaxNode, body: SyntaxNode, clocks: Set<string>): SyntaxNode | null {
  if (stmt.type !== 'while_statement' || stmt.namedChildren.some((c) => c.type === 'else_clause')) return null;
  const outer = loop.childForFieldName('condition')!;
  const isClockCall = (n: SyntaxNode | null) => n?.type === 'call' && CLOCK_CALL.test(callee(n) ?? '') && n.childForFieldName('arguments')!.namedChildCount === 0;
  // `time.monotonic() < deadline` / `deadline > time.monotonic()`: the deadline's name.
  const before = (c: SyntaxNode): string | null => {
    if (c.type !== 'comparison_operator' || c.namedChildCount !== 2) return null;
    const op = c.children.find((x) => !x.isNamed)?.text;
    const [l, r] = [c.namedChild(0)!, c.namedChild(1)!];
    if ((op === '<' || op === '<=') && isClockCall(l) && r.type === 'identifier') return r.text;
    if ((op === '>' || op === '>=') && isClockCall(r) && l.type === 'identifier') return l.text;
    return null;
  };
  const cond = stmt.childForFieldName('condition')!;
  let deadline: string | null = null;
  let needsBreak = false;
  if (cond.type === 'boolean_operator' && cond.childForFieldName('operator')?.text === 'and') {
    const [l, r] = [cond.childForFieldName('left')!, cond.childForFieldName('right')!];
    deadline = l.text === outer.text ? before(r) : r.text === outer.text ? before(l) : null;
  } else {
    deadline = before(cond);
    needsBreak = true;
  }
  if (!deadline || !clocks.has(deadline)) return null;
  const inner = statements(stmt.childForFieldName('body'));
  const isBreak = (x: SyntaxNode) => breaksWhenLoopEnds(x, loop);
  // A slice of at most a second: a longer one could sleep past the deadline (and past the interval).
  const shortSlice = (n: SyntaxNode) => (n.type === 'integer' || n.type === 'float') && Number(n.text) > 0 && Number(n.text) <= 1;
  // `deadline - time.monotonic()`: what is left until the deadline.
  const leftUntil = (n: SyntaxNode) =>
    n.type === 'binary_operator' && n.childForFieldName('operator')?.text === '-' && n.childForFieldName('left')?.text === deadline && isClockCall(n.childForFieldName('right'));
  let sliceReadsDeadline = false;
  const isSlice = (x: SyntaxNode) => {
    const e = x.type === 'expression_statement' ? x.namedChild(0) : null;
    const args = e?.type === 'call' && SLEEP_CALL.test(callee(e) ?? '') ? e.childForFieldName('arguments')!.namedChildren : [];
    if (args.length !== 1) return false;
    if (shortSlice(args[0]!)) return true;
    // `time.sleep(min(0.2, deadline - time.monotonic()))`: the same slice, the last one trimmed to the deadline.
    const m = args[0]!.type === 'call' && args[0]!.childForFieldName('function')?.text === 'min' ? args[0]!.childForFieldName('arguments')!.namedChildren : [];
    const trimmed = m.length === 2 && ((shortSlice(m[0]!) && leftUntil(m[1]!)) || (leftUntil(m[0]!) && shortSlice(m[1]!)));
    if (trimmed) sliceReadsDeadline = true;
    return trimmed;
  };
  const slices = inner.filter(isSlice);
  const breaks = inner.filter(isBreak);
  if (slices.length !== 1 || breaks.length > 1 || (needsBreak && !breaks.length) || slices.length + breaks.length !== inner.length) return null;
  // The deadline: bound once, by the statement right before this loop, to `<clock>() + <interval>`.
  const siblings = statements(stmt.parent!);
  const prev = siblings[siblings.findIndex((x) => x.id === stmt.id) - 1];
  const a = prev?.type === 'expression_statement' ? prev.namedChild(0) : null;
  if (a?.type !== 'assignment' || a.childForFieldName('left')?.text !== deadline) return null;
  const sum = a.childForFieldName('right');
  if (sum?.type !== 'binary_operator' || sum.childForFieldName('operator')?.text !== '+') return null;
  const [l, r] = [sum.childForFieldName('left')!, sum.childForFieldName('right')!];
  const interval = isClockCall(l) ? r : isClockCall(r) ? l : null;
  if (!interval || [...clocks].some((c) => mentionsName(interval, c))) return null;
  // Read nowhere else in run(): its binding, and this loop's condition.
  let uses = 0;
  walk(body, (n) => {
    if (n.type === 'identifier' && n.text === deadline) uses++;
  });
  return uses === (sliceReadsDeadline ? 3 : 2) ? interval : null;
}

/**
 * `try: self.collect(); ...; time.sleep(interval)` + `except E: ...; time.sleep(delay)` ending the loop's body:
 * the interval slept from inside the try after a good cycle, each handler sleeping its own pause (a back-off)
 * instead, so every pass sleeps once, as `except E: ...; time.sleep(delay); continue` then `time.sleep(interval)`
 * does. A handler that does not sleep would loop again at once after a failure: not this shape.
 */
function sleepEndingGuardedCycle(s: SyntaxNode, loopBody: SyntaxNode | null): boolean {
  const block = s.parent;
  const guard = block?.parent;
  if (!loopBody || block?.type !== 'block' || guard?.type !== 'try_statement' || guard.parent?.id !== loopBody.id) return false;
  if (guard.childForFieldName('body')?.id !== block.id) return false;
  const inTry = allStatements(block);
  const inLoop = allStatements(loopBody);
  if (inTry[inTry.length - 1]?.id !== s.id || inLoop[inLoop.length - 1]?.id !== guard.id) return false;
  const clauses = guard.namedChildren.filter((c) => c.type.endsWith('_clause'));
  return clauses.length > 0 && clauses.every((c) => {
    if (c.type !== 'except_clause') return false;
    const body = allStatements(c.namedChildren.find((x) => x.type === 'block') ?? null);
    const last = body[body.length - 1];
    return body.some(isSleepStatement) && !!last && (isSleepStatement(last) || last.type === 'continue_statement');
  });
}

const EXIT_CALL = /^(sys\.exit|os\._exit|exit|quit)$/;

/**
 * An assignment of `<agent>.<attr>` outside the agent's class (module code, the entry point: `agent.interval =
 * args.interval`), on the class or a name the module binds to its construction: the statement, or null.
 * Augmented assignments count too.
 */
function assignedOutsideClass(ctx: PythonTransformContext, attr: string): SyntaxNode | null {
  return assignmentsOutsideClass(ctx, attr)[0] ?? null;
}

/** Every such assignment (assignedOutsideClass), in source order. */
function assignmentsOutsideClass(ctx: PythonTransformContext, attr: string): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  const cls = ctx.agent.cls.node;
  const inClass = (n: SyntaxNode) => cls.startIndex <= n.startIndex && n.endIndex <= cls.endIndex;
  let root = cls;
  while (root.parent) root = root.parent;
  // The agent is the class itself or a name the module binds to its construction (`agent = Agent(...)`):
  // `args.interval = ...`, a config object's or another class's `self.interval` are not it.
  let instances: Set<string> | null = null;
  const isAgent = (obj: SyntaxNode | null): boolean => {
    if (obj?.type !== 'identifier') return false;
    if (obj.text === ctx.agent.cls.name) return true;
    if (!instances) {
      const found = new Set<string>();
      walkTypes(root, ASSIGNMENT_TYPE, (n) => {
        const left = n.childForFieldName('left');
        const right = n.childForFieldName('right');
        if (left?.type === 'identifier' && right?.type === 'call' && right.childForFieldName('function')?.text === ctx.agent.cls.name && !inClass(n)) found.add(left.text);
      });
      instances = found;
    }
    return instances.has(obj.text);
  };
  for (const r of ctx.refs.of(attr)) {
    if (r.kind !== 'attribute') continue;
    const ref = r.node.parent;
    if (!ref || ref.type !== 'attribute' || inClass(ref) || !isAgent(ref.childForFieldName('object'))) continue;
    const p = ref.parent;
    if ((p?.type === 'assignment' || p?.type === 'augmented_assignment') && p.childForFieldName('left')?.id === ref.id) out.push(p.parent?.type === 'expression_statement' ? p.parent : p);
  }
  return out.sort((a, b) => a.startIndex - b.startIndex);
}

/** Calls a value handed to the construction may make: conversions and bounds of plain reads. */
const HANDED_CALLS = /^(float|int|max|min|abs|round)$/;

/**
 * `agent = NTPDriftAgent(...)`, then `agent.interval = args.interval`, then `agent.run()`, in one block: the
 * value the entry point sets before the loop starts, which the construction can hand the base as
 * collection_interval=<value> (the base reads it in its constructor; super().__init__ takes it from **kwargs,
 * the class's own value the default). Only when that is the one write of the attribute outside the class, on
 * the one construction run() is called on, before every such call; when the value reads neither the agent nor
 * a name the statements between rebind or touch; and when it is a plain read (names, attributes, literals,
 * subscripts, arithmetic, float()/int()/max()/min()/abs()/round() of those), so computing it before the
 * construction computes the same. Otherwise why not.
 */
function handedAtConstruction(ctx: PythonTransformContext, calls: EntryCall[], attr: string): { value: string } | { why: string } {
  const writes = assignmentsOutsideClass(ctx, attr);
  if (writes.length !== 1) return { why: `it is written ${writes.length} times outside the class` };
  const stmt = writes[0]!;
  const assign = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  if (assign?.type !== 'assignment') return { why: 'not a plain assignment' };
  const constructions = [...new Map(calls.map((c) => [c.construction.id, c.construction])).values()];
  if (constructions.length !== 1) return { why: calls.length ? 'run() is called on more than one construction' : 'no run() call on a construction' };
  const construction = constructions[0]!;
  const init = ctx.agent.methods.get('__init__');
  const kw = init?.params.find((p) => p.kind === 'kwargs');
  if (init && !kw && ctx.py.super_call.forward_kwargs !== true) return { why: `${ctx.agent.cls.name}() cannot take ${KEYWORD}` };
  // **kwargs the constructor reads or hands on itself would see the new key before the base takes it.
  if (init && kw && mentionsName(init.body, kw.name)) return { why: `${ctx.agent.cls.name}.__init__ uses its **${kw.name} itself` };
  if (construction.childForFieldName('arguments')!.namedChildren.some((a) => a.type === 'keyword_argument' && a.childForFieldName('name')!.text === KEYWORD)) return { why: `the construction already passes ${KEYWORD}` };
  const name = assignedName(construction);
  const left = assign.childForFieldName('left')!;
  if (!name || construction.parent?.type !== 'assignment' || left.childForFieldName('object')?.text !== name) return { why: 'it is not the object run() is called on' };
  const built = construction.parent.parent;
  if (built?.type !== 'expression_statement' || !built.parent || built.parent.id !== stmt.parent?.id) return { why: 'it is not in the block that constructs the agent' };
  const block = statements(built.parent);
  const at = (n: SyntaxNode) => block.findIndex((x) => x.startIndex <= n.startIndex && n.endIndex <= x.endIndex);
  const ci = at(built);
  const wi = at(stmt);
  if (ci < 0 || wi <= ci) return { why: 'it comes before the construction' };
  if (calls.some((c) => at(c.call) <= wi)) return { why: 'run() is called before it' };
  const value = assign.childForFieldName('right')!;
  if (value.text.includes('\n')) return { why: 'its value spans lines' };
  const names = new Set<string>();
  let plain = true;
  walk(value, (n) => {
    if (n.type === 'call') {
      const f = n.childForFieldName('function');
      if (f?.type !== 'identifier' || !HANDED_CALLS.test(f.text)) plain = false;
    } else if (/^(lambda|await|named_expression|conditional_expression|list_comprehension|generator_expression|dictionary_comprehension|set_comprehension)$/.test(n.type)) plain = false;
    if (n.type === 'identifier' && !(n.parent?.type === 'attribute' && n.parent.childForFieldName('attribute')?.id === n.id) && !(n.parent?.type === 'keyword_argument' && n.parent.childForFieldName('name')?.id === n.id)) names.add(n.text);
  });
  if (names.has(name)) return { why: `its value (${value.text}) reads the agent` };
  if (!plain) return { why: `its value (${value.text}) is more than a plain read` };
  for (const between of block.slice(ci + 1, wi)) {
    if (mentionsName(between, name) || [...names].some((n) => mentionsName(between, n))) return { why: `line ${between.startPosition.row + 1} (${between.text.trim().split('\n')[0]}) comes between the construction and it` };
  }
  return { value: value.text };
}

/**
 * The keyword super().__init__ takes from **kwargs (`collection_interval=kwargs.pop("collection_interval", 300)`)
 * because the entry point hands it to the construction (handedAtConstruction), or null.
 */
export function intervalHandedByEntry(ctx: PythonTransformContext): string | null {
  if (!ctx.py.super_call.pass_through?.[KEYWORD] || ctx.resolved?.members.get(LEGACY_RUN)?.finding !== 'loop') return null;
  const a = analyzeRun(ctx);
  return a.ok && a.value.handed ? KEYWORD : null;
}

/**
 * The try: `t` around the cycle's statement `call` (in its body, not in a handler), when no handler catches
 * every exception: narrowHandlers(t).
 */
function narrowGuard(t: SyntaxNode, call: SyntaxNode): NarrowGuard | null {
  const body = t.childForFieldName('body');
  if (!body || call.startIndex < body.startIndex || call.endIndex > body.endIndex) return null;
  return narrowHandlers(t);
}

/**
 * In a handler around the cycle, `failures += 1` and `if failures >= MAX_FAILURES: ...; sys.exit(3)` (or
 * `raise SystemExit`, `break`, `return`, `raise`): the loop given up on, the process ending, after as many
 * failed cycles as the limit says. The condition compares a failure counter (a name or attribute the handler
 * adds to) with a limit; any other `if <condition>: break` of a handler (a stop flag seen, one kind of error
 * re-raised) is no give-up.
 */
function giveUp(handler: SyntaxNode): { line: number; guard: string; exit: string } | null {
  // What the handler counts: the targets of its `x += ...` or `x = x + ...` (not in a function it defines).
  const counters = new Set<string>();
  walk(handler, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    const left = n.childForFieldName('left');
    const right = n.type === 'assignment' ? n.childForFieldName('right') : null;
    if (n.type === 'augmented_assignment' && n.childForFieldName('operator')?.text === '+=') counters.add(left!.text);
    if (right?.type === 'binary_operator' && right.childForFieldName('operator')?.text === '+' && right.childForFieldName('left')?.text === left?.text) counters.add(left!.text);
  });
  for (const st of allStatements(handler)) {
    if (st.type !== 'if_statement' || !countedPastLimit(st.childForFieldName('condition')!, counters)) continue;
    const body = allStatements(st.childForFieldName('consequence'));
    const last = body[body.length - 1];
    if (!last) continue;
    const e = last.type === 'expression_statement' ? last.namedChild(0) : null;
    const ends = (e?.type === 'call' && EXIT_CALL.test(callee(e) ?? '')) || ['raise_statement', 'break_statement', 'return_statement'].includes(last.type);
    if (!ends) continue;
    const cond = st.childForFieldName('condition')!;
    return { line: st.startPosition.row + 1, guard: `if ${excerpt(cond.text, 60)}`, exit: excerpt(last.text, 40) };
  }
  return null;
}

/** `failures >= MAX_FAILURES`, `failures >= max_failures`, `self.errors > self.max_errors`, `LIMIT <= failures`: one of `counters` compared with a limit that does not read it. */
function countedPastLimit(cond: SyntaxNode, counters: Set<string>): boolean {
  while (cond.type === 'parenthesized_expression' && cond.namedChild(0)) cond = cond.namedChild(0)!;
  if (cond.type !== 'comparison_operator' || cond.namedChildCount !== 2) return false;
  const op = cond.children.find((x) => !x.isNamed)?.text;
  const [l, r] = [cond.namedChild(0)!, cond.namedChild(1)!];
  const pastLimit = (counter: SyntaxNode, limit: SyntaxNode) => counters.has(counter.text) && !reads(limit, counter);
  if (op === '>=' || op === '>' || op === '==') return pastLimit(l, r);
  if (op === '<=' || op === '<') return pastLimit(r, l);
  return false;
}

/**
 * Does `expr` read what `target` names (a name, `self.errors`, `stats["errors"]`)? Whole expressions only: neither
 * `max_errors` nor `self.errors` (an attribute named alike) reads the name `errors`, nor `self.errors_limit` `self.errors`.
 */
function reads(expr: SyntaxNode, target: SyntaxNode): boolean {
  let hit = false;
  walk(expr, (n) => {
    if (hit) return false;
    if (n.type !== target.type || n.text !== target.text) return;
    const p = n.parent;
    if (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) return;
    if (p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === n.id) return;
    hit = true;
    return false;
  });
  return hit;
}

function isSleepStatement(stmt: SyntaxNode): boolean {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  const name = e?.type === 'call' ? callee(e) ?? '' : '';
  return SLEEP_CALL.test(name) || /^self\.\w+\.wait$/.test(name);
}

/**
 * The self attributes the publish side keeps: those its methods (transport, queue, retry, drain) assign
 * or call a method on (`self.sent += 1`, `self.queue.enqueue(...)`), and those the cycle method or run()
 * assign in a statement that calls one of them (`if not send(p): ... else: self.sent_batches += 1`).
 */
function publishState(ctx: PythonTransformContext, run: PyFunction, side: Set<string>): Map<string, number> {
  const out = new Map<string, number>();
  const kept = (root: SyntaxNode) =>
    walk(root, (n) => {
      if (n.type === 'lambda' || n.type === 'class_definition') return false;
      if (n.type === 'assignment' || n.type === 'augmented_assignment') {
        let left = n.childForFieldName('left')!;
        if (left.type === 'subscript') left = left.childForFieldName('value')!;
        const attr = selfAttribute(left);
        if (attr && !out.has(attr)) out.set(attr, n.startPosition.row + 1);
      }
      const fn = n.type === 'call' ? n.childForFieldName('function') : null;
      const obj = fn?.type === 'attribute' ? fn.childForFieldName('object')! : null;
      const attr = obj ? selfAttribute(obj) : null;
      if (attr && !ctx.agent.methods.has(attr) && !out.has(attr)) out.set(attr, n.startPosition.row + 1);
    });
  for (const m of side) kept(ctx.agent.methods.get(m)!.body);
  const callsSide = (x: SyntaxNode) => {
    let hit = false;
    walk(x, (n) => {
      if (hit) return false;
      const f = n.type === 'call' ? n.childForFieldName('function') : null;
      // `send = functools.partial(self._post_json, ...)`: a reference is a call to come.
      if (n.type === 'attribute' && side.has(selfAttribute(n) ?? '')) hit = true;
      if (f?.type === 'identifier' && boundToSide(x, f.text, side)) hit = true;
    });
    return hit;
  };
  const cycle = ctx.agent.methods.get(cycleMethod(ctx));
  for (const f of [cycle, run]) {
    if (!f) continue;
    walk(f.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      if (n.parent?.type === 'block' && callsSide(n)) {
        kept(n);
        return false;
      }
    });
  }
  return out;
}

/** A local of the same function bound to one of `side`'s methods (`send = functools.partial(self._post, ...)`). */
function boundToSide(at: SyntaxNode, local: string, side: Set<string>): boolean {
  let fn: SyntaxNode | null = at;
  while (fn && fn.type !== 'function_definition') fn = fn.parent;
  if (!fn) return false;
  let bound = false;
  walk(fn, (n) => {
    if (bound) return false;
    if (n.type !== 'assignment' || n.childForFieldName('left')?.text !== local) return;
    walk(n.childForFieldName('right')!, (r) => {
      if (r.type === 'attribute' && side.has(selfAttribute(r) ?? '')) bound = true;
    });
  });
  return bound;
}

/**
 * Per-cycle calls after collect() and its publish in run()'s loop (`self._write_textfile()`), which a
 * run_cycle() override runs after super().run_cycle(), in their order. Only when that is the same work at
 * the same moment: the profile names the base's cycle method and the class does not define it, the cycle
 * method is called nowhere else (a one-shot mode running the base's cycle would run these too), no
 * `try:`/`with` in the loop decides whether they run (the base's loop catches nothing around run_cycle(),
 * and the legacy loop caught nothing around them either: a raise ends the agent in both), their arguments
 * are constants, and what they reach (their methods, transitively) neither calls the publish side
 * (transport, queue, retry, drain) nor reads what it keeps (its counters, its queue, the answer the cycle
 * kept): under the base the publish, its queue and its answer are the base's. Null when it holds, else why not.
 */
function cycleTail(ctx: PythonTransformContext, run: PyFunction, loopBody: SyntaxNode, tail: SyntaxNode[], before = false): { reason: string; line: number } | null {
  const first = tail[0]!;
  const at = (n: SyntaxNode) => n.startPosition.row + 1;
  const head = (n: SyntaxNode) => excerpt(n.text, 50);
  const what = `run()'s loop also does line ${at(first)}: ${head(first)} ${before ? 'before' : 'after'} ${cycleMethod(ctx)}()${before ? '' : ' and its publish'}`;
  const one = ctx.py.cycle_method;
  if (!one || !ctx.base.methods.has(one)) return { reason: `${what}, and the profile names no cycle method of the base to run it after`, line: at(first) };
  if (ctx.agent.methods.has(one)) return { reason: `${what}, and the class already defines ${one}()`, line: at(first) };
  const cycle = ctx.agent.methods.get(cycleMethod(ctx));
  const elsewhere = ctx.refs
    .of(cycleMethod(ctx))
    .find((r) => r.kind === 'attribute' && !(run.outer.startIndex <= r.start && r.end <= run.outer.endIndex) && !(cycle && cycle.node.childForFieldName('name')!.startIndex === r.start));
  if (elsewhere) return { reason: `${what}, and ${cycleMethod(ctx)}() is also called at line ${elsewhere.line}, which would not run it`, line: at(first) };
  let guarded: SyntaxNode | null = null;
  // Work before the cycle sits at the top of the loop's body, outside any try: each pass runs it first.
  if (!before) walk(loopBody, (n) => {
    if (guarded || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'try_statement' || n.type === 'with_statement') guarded = n;
  });
  if (guarded) {
    const g = guarded as SyntaxNode;
    return { reason: `${what}; the \`${head(g)}\` in the loop (line ${at(g)}) decides whether it runs, and the base's loop catches nothing around ${one}()`, line: at(first) };
  }
  const side = new Set([...ctx.agent.methods.keys()].filter((m) => m !== LEGACY_RUN && m !== cycleMethod(ctx) && (isTransport(ctx, m) || isDrain(ctx, m))));
  const state = publishState(ctx, run, side);
  for (const s of tail) {
    // A log line of the cycle: what it reads of the agent must be neither the publish side's nor the base's.
    if (isLogStatement(s)) {
      let hit: { reason: string; line: number } | null = null;
      walk(s, (n) => {
        const attr = !hit && n.type === 'attribute' ? selfAttribute(n) : null;
        if (attr && state.has(attr)) hit = { reason: `${what}, and it reads self.${attr}, which the publish side keeps (line ${state.get(attr)})`, line: at(s) };
        else if (attr && (ctx.baseOwned.has(attr) || ctx.agent.methods.has(attr))) hit = { reason: `${what}, and it reads self.${attr}, which it cannot read the same way in ${one}()`, line: at(s) };
      });
      if (hit) return hit;
      continue;
    }
    // `self.cycles += 1`: the agent's own counter, neither the publish side's (its counts of what was sent
    // move with it into the base's publisher or go) nor the base's.
    const counter = agentCounterStep(s);
    if (counter) {
      if (state.has(counter)) return { reason: `${what}, and it counts self.${counter}, which the publish side keeps (line ${state.get(counter)})`, line: at(s) };
      if (ctx.baseOwned.has(counter) || ctx.agent.methods.has(counter)) return { reason: `${what}, and self.${counter} is not the agent's own counter under ${ctx.profile.base_class}`, line: at(s) };
      continue;
    }
    const call = s.namedChild(0)!;
    const name = selfAttribute(call.childForFieldName('function')!)!;
    const m = ctx.agent.methods.get(name);
    if (!m || m.isAsync || name === LEGACY_RUN || name === cycleMethod(ctx)) return { reason: `${what} (line ${at(s)}: ${head(s)} is no plain method of the agent)`, line: at(s) };
    const args = call.childForFieldName('arguments')!;
    if (!args.namedChildren.every(constantArgument)) return { reason: `${what} (line ${at(s)} passes what the loop has: ${args.text.slice(0, 40)})`, line: at(s) };
    // What it reaches, transitively through the agent's own methods.
    const seen = new Set<string>();
    const todo = [name];
    while (todo.length) {
      const cur = todo.pop()!;
      if (seen.has(cur)) continue;
      seen.add(cur);
      if (side.has(cur)) return { reason: `${what}, and ${cur === name ? `${name}()` : `${name}() reaches ${cur}(), which`} is the publish side the base replaces`, line: at(s) };
      let hit: { reason: string; line: number } | null = null;
      walk(ctx.agent.methods.get(cur)!.body, (n) => {
        if (hit) return false;
        // `write_prom(self)`, `getattr(self, name)`: what it reads through the agent is out of sight.
        if (n.type === 'identifier' && n.text === 'self' && !(n.parent?.type === 'attribute' && n.parent.childForFieldName('object')?.id === n.id)) {
          hit = { reason: `${what}, and ${cur}() hands the agent itself on (line ${at(n)}: ${head(n.parent ?? n)}), so what it reads cannot be told`, line: at(s) };
          return false;
        }
        const attr = n.type === 'attribute' ? selfAttribute(n) : null;
        if (!attr) return;
        if (ctx.agent.methods.has(attr)) todo.push(attr);
        else if (state.has(attr))
          hit = {
            reason: `${what}, and ${cur}() reads self.${attr} (line ${at(n)}), which the publish side keeps (line ${state.get(attr)}): under ${ctx.profile.base_class} the publish, its queue and its answer are the base's, so what it would write is a person's call`,
            line: at(s),
          };
        else if (ctx.baseOwned.has(attr)) hit = { reason: `${what}, and ${cur}() reads self.${attr} (line ${at(n)}), which is ${ctx.profile.base_class}'s own`, line: at(s) };
      });
      if (hit) return hit;
    }
  }
  return null;
}

function isSelfMemberCall(stmt: SyntaxNode): boolean {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  const fn = e?.type === 'call' ? e.childForFieldName('function') : null;
  const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
  return !!obj && obj.type === 'attribute' && obj.childForFieldName('object')?.text === 'self';
}

/**
 * `if self.sampler is not None: self.sampler.join(timeout=2)`: a member call (or the agent's own method)
 * made only when the agent holds the member, no else. The condition reads the agent's attributes and
 * calls nothing, so in shutdown() it asks the same question of the same objects as in run()'s `finally:`.
 * Every member it names must be `own` (the agent's, not one a concern moves, removes or reviews).
 */
function guardedSelfTeardown(stmt: SyntaxNode, own: (member: string) => boolean): boolean {
  if (stmt.type !== 'if_statement' || stmt.namedChildren.some((c) => c.type === 'else_clause' || c.type === 'elif_clause')) return false;
  let plain = true;
  walk(stmt, (n) => {
    const member = selfAttribute(n);
    if (member && !own(member)) plain = false;
  });
  walk(stmt.childForFieldName('condition')!, (n) => {
    if (n.type === 'call' || n.type === 'await' || n.type === 'named_expression' || n.type === 'lambda') plain = false;
    if (n.type === 'identifier' && n.text !== 'self' && n.text !== 'None' && !(n.parent?.type === 'attribute' && n.parent.childForFieldName('attribute')?.id === n.id)) plain = false;
  });
  const body = statements(stmt.childForFieldName('consequence'));
  return plain && body.length > 0 && body.every((x) => isSelfMemberCall(x) || isSelfCall(x) || (isTrivial(x) && x.type !== 'return_statement'));
}

/** `if <cond>: <log lines>; return` with no else: run() gives up before its loop. */
function isStartGuard(stmt: SyntaxNode): boolean {
  if (stmt.namedChildren.some((c) => c.type === 'else_clause' || c.type === 'elif_clause')) return false;
  const body = statements(stmt.childForFieldName('consequence'));
  const last = body[body.length - 1];
  return !!last && last.type === 'return_statement' && /^return(\s+(None|False))?$/.test(last.text.trim()) && body.slice(0, -1).every((x) => isTrivial(x) && x.type !== 'return_statement');
}

/** `cycle = 0`: a counter of the loop starting from a literal. */
function isCounterInit(stmt: SyntaxNode, work: CycleWork): boolean {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  return e?.type === 'assignment' && work.locals.includes(e.childForFieldName('left')?.text ?? '');
}

/**
 * `notify("READY=1")` alone on its line: a call of a function defined at this module's top level whose
 * arguments are constants (literals or module-level names, nothing run() binds), so it does the same
 * wherever the agent calls it once: in setup() before the first cycle, or in shutdown() after the last.
 */
function moduleFunctionCall(ctx: PythonTransformContext, stmt: SyntaxNode): boolean {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  const fn = e?.type === 'call' ? e.childForFieldName('function') : null;
  if (fn?.type !== 'identifier' || !ctx.module.functions.has(fn.text)) return false;
  const f = ctx.module.functions.get(fn.text)!;
  if (f.isAsync) return false;
  return e!.childForFieldName('arguments')!.namedChildren.every(constantArgument);
}

/**
 * `stop_process(self.stream)` in the finally: around the loop: a function of this module or one it
 * imports by name (`from .proc import stop_process`), called on the agent's attributes and constants.
 * shutdown() reaches the same function and the same attributes, so it runs the same teardown (here:
 * the collector child the agent started, which would otherwise outlive it).
 */
function teardownFunctionCall(ctx: PythonTransformContext, stmt: SyntaxNode, run: PyFunction): boolean {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  const fn = e?.type === 'call' ? e.childForFieldName('function') : null;
  if (fn?.type !== 'identifier' || !helperFunctions(ctx).has(fn.text) || ctx.module.functions.get(fn.text)?.isAsync) return false;
  // A name run() binds itself (a parameter, a local) is not the module's function.
  if (bindingsOf(run.node).has(fn.text)) return false;
  return e!.childForFieldName('arguments')!.namedChildren.every((n) => {
    const v = n.type === 'keyword_argument' ? n.childForFieldName('value')! : n;
    return constantArgument(v) || (v.type === 'attribute' && selfAttribute(v) !== null);
  });
}

/** A literal or a module constant (`"READY=1"`, `30`, `TEXTFILE_DIR`, `timeout=5`): the same wherever it is passed. */
function constantArgument(n: SyntaxNode): boolean {
  if (['string', 'integer', 'float', 'true', 'false', 'none'].includes(n.type)) return true;
  if (n.type === 'concatenated_string') return n.namedChildren.every(constantArgument);
  if (n.type === 'keyword_argument') return constantArgument(n.childForFieldName('value')!);
  if (n.type === 'identifier') return /^[A-Z][A-Z0-9_]*$/.test(n.text);
  return false;
}

/** `self.m(...)` alone on its line, m a method of the agent that the resolved plan removes (not run() itself). */
function callsRemovedMethod(ctx: PythonTransformContext, stmt: SyntaxNode): boolean {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  const fn = e?.type === 'call' ? e.childForFieldName('function') : null;
  const name = fn ? selfAttribute(fn) : null;
  if (!name || name === LEGACY_RUN || !ctx.agent.methods.has(name)) return false;
  const m = ctx.resolved?.members.get(name);
  return !!m && m.kind === 'method';
}

/** run()'s start-up statements become setup(), its per-cycle ones open collect_data(). */
/**
 * Where run()'s teardown came from, as the docstring and the warning say it: the `finally:` around its loop,
 * the statements after a loop that ends when stopped (`while not self._stop.is_set(): ...` then
 * `logger.info("stopped")`), or both.
 */
function teardownPlace(teardown: SyntaxNode[]): { doc: string; said: string } {
  const inFinally = (x: SyntaxNode) => {
    for (let p = x.parent; p && p.type !== 'function_definition'; p = p.parent) if (p.type === 'finally_clause') return true;
    return false;
  };
  const code = teardown.filter((x) => x.type !== 'comment');
  const after = code.filter((x) => !inFinally(x));
  if (!after.length) return { doc: "of the legacy run() loop's finally:", said: "in run()'s finally:" };
  const line = `line ${after[0]!.startPosition.row + 1}: ${after[0]!.text.split('\n')[0]!.trim()}`;
  if (after.length === code.length) return { doc: 'after the legacy run() loop', said: `after run()'s loop (${line})` };
  return { doc: "of the legacy run() loop's finally: and after it", said: `in run()'s finally: and after its loop (${line})` };
}

/** A skipped cycle's pause and continue (its last two statements), which end collect_data() at once instead. */
function skipEnd(work: CycleWork, stmt: SyntaxNode): Array<{ start: number; end: number; text: string }> {
  const k = work.skips.find((x) => x.stmt.id === stmt.id);
  return k ? [{ start: k.pause.startIndex, end: k.cont.endIndex, text: 'return []' }] : [];
}

function moveCycleWork(ctx: PythonTransformContext, work: CycleWork): void {
  const collect = analyzeCollect(ctx);
  if (!collect.ok) return;
  const eol = ctx.layout.eol;
  const fn = collect.value.fn;
  const first = statements(fn.body).find((x) => !isDocstring(x));
  if (!first) return;
  const bodyIndent = indentAt(ctx.source, first.startIndex);
  if (work.each.length) {
    const text = work.each.map((x) => movedStatement(ctx, x, bodyIndent, work, false, skipEnd(work, x))).join(eol) + eol;
    ctx.edits.insert(lineStart(ctx.source, first.startIndex), text, label);
  }
  const cls = ctx.agent.cls.name;
  // The loop's counters start in __init__ (state of the agent from its construction on).
  // A start-up call into code another concern removes (the ad-hoc health server the base replaces) goes with it.
  work = { ...work, before: work.before.filter((x) => !callsRemovedMethod(ctx, x)) };
  // `self._close_connection()` in the finally: for a helper that moved into EventBusPublisher: the base
  // closes the publisher (which runs it) right after shutdown(), so shutdown() does not call it.
  const publisher = analyzePublisher(ctx);
  // So does the finally:'s own close of state that moved (`if self.channel: self.channel.close()`).
  const closed = publisher.ok ? [...publisher.value.teardownCloses.filter((c) => callsRemovedMethod(ctx, c)), ...publisher.value.closes] : [];
  work = { ...work, teardown: work.teardown.filter((x) => !closed.some((c) => c.id === x.id)) };
  const counters = work.before.filter((x) => isCounterInit(x, work));
  const tail = counters.length ? initTail(ctx) : null;
  if (tail) {
    ctx.edits.insert(tail.at, counters.map((x) => movedStatement(ctx, x, tail.indent, work)).join(eol) + eol, label);
    work = { ...work, before: work.before.filter((x) => !counters.includes(x)) };
  }
  if (work.before.length) {
    const methodIndent = indentAt(ctx.source, fn.outer.startIndex);
    const lines = [
      `${methodIndent}def setup(self):`,
      `${bodyIndent}"""Start-up work of the legacy run() loop (moved by migrate)."""`,
      ...work.before.map((x) => movedStatement(ctx, x, bodyIndent, work, true)),
      `${bodyIndent}return True`,
    ];
    ctx.edits.insert(lineEnd(ctx.source, fn.outer.endIndex), eol + lines.join(eol) + eol, label);
    ctx.warnings.push(`${cls}: run()'s start-up statements moved into setup()${work.locals.length ? `; its counter ${work.locals.join(', ')} is now self.${work.locals.join(', self.')}` : ''}`);
  }
  if (work.teardown.length) {
    const methodIndent = indentAt(ctx.source, fn.outer.startIndex);
    const where = teardownPlace(work.teardown);
    const lines = [
      `${methodIndent}def shutdown(self):`,
      `${bodyIndent}"""Teardown ${where.doc} (moved by migrate)."""`,
      // What a removed SIGTERM handler set to end a thread's loop, first (as the handler did before the finally: ran).
      ...threadFlagPrelude(ctx, 'shutdown').map((l) => `${bodyIndent}${l}`),
      ...work.teardown.map((x) => movedStatement(ctx, x, bodyIndent, work)),
      // As teardown-super does for every kept teardown: the base's own shutdown runs too.
      ...(ctx.base.methods.has('shutdown') ? [`${bodyIndent}super().shutdown()`] : []),
    ];
    ctx.edits.insert(lineEnd(ctx.source, fn.outer.endIndex), eol + lines.join(eol) + eol, label);
    ctx.warnings.push(`${cls}: the teardown ${where.said} moved into shutdown()`);
  }
  // `def run_cycle(self):` overriding the base's one pass: `pre`, super().run_cycle(), `post` (moved from run()'s loop).
  const cycleOverride = (doc: string, pre: SyntaxNode[], post: SyntaxNode[]) => {
    const methodIndent = indentAt(ctx.source, fn.outer.startIndex);
    const one = ctx.py.cycle_method!;
    const lines = [
      `${methodIndent}def ${one}(self):`,
      `${bodyIndent}"""${doc} (moved by migrate)."""`,
      ...pre.map((x) => movedStatement(ctx, x, bodyIndent, work)),
      `${bodyIndent}super().${one}()`,
      ...post.map((x) => movedStatement(ctx, x, bodyIndent, work)),
    ];
    ctx.edits.insert(lineEnd(ctx.source, fn.outer.endIndex), eol + lines.join(eol) + eol, label);
  };
  if (work.overrun) {
    const { report, pre, post } = work.overrun;
    const one = ctx.py.cycle_method!;
    cycleOverride("The legacy run() loop's report of a cycle longer than its interval, timing the base's cycle", pre, [...post, report]);
    ctx.warnings.push(
      `${cls}: run()'s report of a cycle longer than its interval (line ${report.startPosition.row + 1}: ${excerpt(report.text, 60)}) now runs in ${one}(), ` +
        `timing super().${one}() (collect_data() and the base's publish) with the loop's own clock, as the loop timed ${fn.name}() and its publish`,
    );
  }
  if (work.gauge.stmts.length) {
    const { stmts, pre } = work.gauge;
    const one = ctx.py.cycle_method!;
    cycleOverride(`The legacy run() loop's timing of a cycle, timing the base's cycle${work.tail.length ? ', and its per-cycle work after it' : ''}`, pre, [...stmts, ...work.tail]);
    ctx.warnings.push(
      `${cls}: run()'s timing of the cycle (${stmts.map((x) => `line ${x.startPosition.row + 1}: ${excerpt(x.text, 60)}`).join('; ')}) now runs in ${one}(), ` +
        `timing super().${one}() (collect_data(), the base's drain and publish) with the loop's own clock, as the loop timed ${fn.name}() and its publish; while the bus is down it also counts the base's retry pauses`,
    );
  }
  if ((work.tail.length || work.head.length) && !work.gauge.stmts.length) {
    const doc = work.tail.length ? (work.head.length ? 'Per-cycle work of the legacy run() loop, before the cycle and after it and its publish' : 'Per-cycle work of the legacy run() loop, after the cycle and its publish') : 'Per-cycle work of the legacy run() loop, before the cycle';
    cycleOverride(doc, work.head, work.tail);
  }
  if (work.head.length) {
    const one = ctx.py.cycle_method!;
    ctx.warnings.push(
      `${cls}: run()'s per-cycle ${work.head.filter((x) => x.type !== 'comment').map((x) => `line ${x.startPosition.row + 1}: ${excerpt(x.text, 60)}`).join('; ')} before ${fn.name}() now runs in ${one}() before super().${one}(), each cycle; ` +
        `a raise there ends the agent as it ended the legacy loop`,
    );
  }
  if (work.tail.length) {
    const one = ctx.py.cycle_method!;
    ctx.warnings.push(
      `${cls}: run()'s per-cycle ${work.tail.map((x) => `line ${x.startPosition.row + 1}: ${excerpt(x.text, 60)}`).join('; ')} after ${fn.name}() and its publish now runs in ${one}() after super().${one}(), each cycle before the base's wait; ` +
        `a raise there ends the agent as it ended the legacy loop; it also runs after a cycle whose collect_data() failed (the base logs that and goes on, where the legacy loop ended)`,
    );
  }
  if (work.each.length) ctx.warnings.push(`${cls}: run()'s per-cycle statements before collect() now open ${fn.name === 'collect' ? 'collect_data' : fn.name}()`);
  if (work.closing.length) {
    ctx.warnings.push(
      `${cls}: run()'s count of the cycles whose ${fn.name}() returned (${work.closing.map((x) => `line ${x.startPosition.row + 1}: ${x.text.split('\n')[0]!.trim()}`).join('; ')}) now ends ${HOOK}(), before each of its returns: ` +
        `a cycle whose ${HOOK}() raises is still not counted (the base's ${ctx.py.cycle_method ?? 'loop'}() catches it and ends the pass); the publish is the base's now, after ${HOOK}() returns, and never raises (it retries, then queues), so the count no longer waits for it`,
    );
  }
  for (const k of work.skips) {
    ctx.warnings.push(
      `${cls}: run()'s skipped cycle (line ${k.stmt.startPosition.row + 1}: ${k.stmt.text.split('\n')[0]!.trim()}) now opens ${fn.name === 'collect' ? 'collect_data' : fn.name}(), which returns no events then ` +
        `(return [] in place of its pause and continue: the base waits collection_interval after every cycle); the base still counts that cycle and drains its local_queue in it, which the legacy skip did not`,
    );
  }
  if (work.backoff.length) {
    ctx.warnings.push(`${cls}: run()'s back-off on consecutive failures of ${fn.name}() (${work.backoff.join(', ')}) dropped: the base logs and counts a failing collect_data() (errors, last_error on /health) and runs the next cycle after collection_interval`);
    if (work.backoffLogs.length) {
      ctx.warnings.push(`${cls}: run()'s log line${work.backoffLogs.length > 1 ? 's' : ''} on that back-off ${work.backoffLogs.map((x) => `line ${x.startPosition.row + 1}: ${excerpt(statements(x.childForFieldName('consequence'))[0]!.text, 80)}`).join('; ')} no longer written (there is no back-off to recover from): change a log search or alert that matches on it`);
    }
  }
  for (const { clause, logs } of work.absorbed) {
    const head = clause.text.split('\n')[0]!.trim();
    const lines = logs.map((x) => `line ${x.startPosition.row + 1}: ${excerpt(x.text, 90)}`).join('; ');
    ctx.warnings.push(
      `${cls}: run()'s \`${head}\` around ${fn.name}() (line ${clause.startPosition.row + 1}) is gone with the loop, and its log line${logs.length > 1 ? 's are' : ' is'} no longer written (${lines}): ` +
        `the base's loop catches a failing collect_data() itself and logs "collect_data failed" with the traceback (counted in errors, last_error on /health); move the line into collect_data() by hand if operators or alerts match on it`,
    );
  }
  if (work.narrow) {
    const g = work.narrow;
    const types = g.types.join(', ');
    ctx.warnings.push(
      `${cls}: run() caught only ${types} around ${fn.name}() (line ${g.line}: ${g.text}): any other exception from it ended the legacy agent (a traceback, exit status 1, a restart by its supervisor); ` +
        `${ctx.profile.base_class}'s loop catches every exception from collect_data(), logs "collect_data failed" with the traceback and runs the next cycle, so such a failure no longer stops the agent: ` +
        `if it must, catch what is not ${types} in collect_data() and end the process there (raise SystemExit(1), which the base's loop does not catch)`,
    );
  }
  for (const { clause, logs } of work.interrupted) {
    const lines = logs.map((x) => `line ${x.startPosition.row + 1}: ${excerpt(x.text, 90)}`).join('; ');
    ctx.warnings.push(
      `${cls}: run()'s \`except KeyboardInterrupt:\` (line ${clause.startPosition.row + 1}) is gone with the loop, and its log line${logs.length > 1 ? 's are' : ' is'} no longer written on Ctrl-C (${lines}): ` +
        `${ctx.profile.base_class} takes SIGINT itself and its loop returns normally; move the line into shutdown() if operators or alerts match on it`,
    );
  }
  if (work.cadence.length) {
    const floor = cadenceFloor(work.sleep);
    ctx.warnings.push(
      `${cls}: run() kept a fixed cadence (it slept the interval minus the time the cycle took, with ${work.cadence.join(', ')}); the base waits collection_interval after each cycle, so the period grows by the cycle's own duration` +
        (floor ? `; its least pause of ${floor} s is the base's too only while collection_interval is at least that` : ''),
    );
  }
  if (work.jitter) {
    ctx.warnings.push(`${cls}: run() slept a random spread on top of its interval (${work.jitter}); the base runs every collection_interval without it, so agents started together stay in step (stagger their start or set COLLECTION_INTERVAL per host)`);
  }
  // Lines on what collect() returned that collect_data() writes at its returns (hardened-result-log) are not dropped.
  const moved = resultLogs(ctx)?.logs ?? [];
  const dropped = work.after.filter((x) => !moved.some((m) => m.startIndex <= x.startIndex && x.endIndex <= m.endIndex));
  if (dropped.length) {
    // (HardenedAgentBase's loop writes no line per cycle: whoever matched on these is told so.)
    ctx.warnings.push(
      `${cls}: run()'s log lines after collect() dropped: ${dropped.map((x) => excerpt(x.text, 60)).join('; ')} ` +
        `(they read what run() kept of the cycle, which no method of the base has; the base writes no line per cycle): change a log search or alert that matches on them`,
    );
  }
}

export const hardenedMainLoop: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    if (ctx.resolved?.members.get(LEGACY_RUN)?.finding !== 'loop') return;
    const a = analyzeRun(ctx);
    if (!a.ok) return;
    moveCycleWork(ctx, a.value.cycle);
    const chain = a.value.chain;
    if (chain?.raiseEnds && chain.kind === 'sched.scheduler') {
      ctx.warnings.push(`${ctx.agent.cls.name}: ${chain.method}() re-armed its event (line ${chain.line}) only after ${cycleMethod(ctx)}() returned, so a raising cycle went out of the scheduler's run() and ended the legacy process with its traceback; the base's loop logs a failing collect_data() (errors, last_error on /health) and runs the next cycle after collection_interval`);
    } else if (chain?.raiseEnds) {
      ctx.warnings.push(`${ctx.agent.cls.name}: ${chain.method}() re-armed its Timer (line ${chain.line}) only after ${cycleMethod(ctx)}() returned, so a raising cycle ended the legacy chain for good (the process stayed up, cycling no more); the base's loop logs a failing collect_data() (errors, last_error on /health) and runs the next cycle after collection_interval`);
    }
    const run = ctx.agent.methods.get(LEGACY_RUN);
    if (run) ctx.warnings.push(...entryCycleRaiseWarnings(ctx, run, cycleMethod(ctx), a.value.calls.map((c) => c.call)));
    for (const c of a.value.calls) {
      const args = c.call.childForFieldName('arguments')!;
      ctx.edits.replace(args.startIndex, args.endIndex, '()', label);
    }
    if (a.value.initInterval) assignInitInterval(ctx, KEYWORD, a.value.initInterval, label);
    if (!a.value.insert) return;
    const done = new Set<number>();
    for (const c of a.value.calls) {
      if (done.has(c.construction.id)) continue;
      done.add(c.construction.id);
      const args = c.construction.childForFieldName('arguments')!;
      const has = args.namedChildren.length > 0;
      ctx.edits.insert(args.endIndex - 1, has ? `, ${a.value.insert}` : a.value.insert, label);
    }
  },
};

/** The other method an `if ...: self.a() else: self.collect()` in the loop calls instead of the cycle (or null). */
function twoCadences(stmt: SyntaxNode, cycle: string): string | null {
  const calls: string[] = [];
  for (const block of blocksOf(stmt)) {
    const body = statements(block).filter((x) => !isTrivial(x));
    const c = body.length === 1 ? selfCallName(body[0]!) : null;
    if (!c) return null;
    calls.push(c);
  }
  const others = calls.filter((c) => c !== cycle);
  return calls.length >= 2 && calls.includes(cycle) && others.length ? others[0]! : null;
}

/**
 * The loop's sleep takes a local name (`time.sleep(interval)`) that the loop body assigns itself
 * (`interval = FAST_INTERVAL` under a branch on the cycle's result): the first such assignment.
 */
function adaptivePause(body: SyntaxNode): { line: number; text: string; sleepLine: number } | null {
  let found: { line: number; text: string; sleepLine: number } | null = null;
  walk(body, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'while_statement') return;
    const loop = n.childForFieldName('body')!;
    for (const st of statements(loop)) {
      const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
      if (e?.type !== 'call' || !SLEEP_CALL.test(callee(e) ?? '')) continue;
      const arg = e.childForFieldName('arguments')!.namedChildren;
      if (arg.length !== 1 || arg[0]!.type !== 'identifier') continue;
      const name = arg[0]!.text;
      walk(loop, (x) => {
        if (found) return false;
        if ((x.type === 'assignment' || x.type === 'augmented_assignment') && x.childForFieldName('left')?.text === name) {
          found = { line: x.startPosition.row + 1, text: excerpt(x.text, 50), sleepLine: st.startPosition.row + 1 };
        }
      });
    }
    return false;
  });
  return found;
}

function selfCallName(stmt: SyntaxNode): string | null {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  const f = e?.type === 'call' ? e.childForFieldName('function') : null;
  return f?.type === 'attribute' && f.childForFieldName('object')?.text === 'self' ? f.childForFieldName('attribute')!.text : null;
}

const CLOCK_CALL = /^(time\.)?(monotonic|time|perf_counter)$/;

/** `time.monotonic()`, a clock local, the interval, a number, and + / - / parentheses of those. */
function clockExpression(n: SyntaxNode, clocks: Set<string>, param: string | null, sawClock: { v: boolean }): boolean {
  switch (n.type) {
    case 'call': {
      const ok = CLOCK_CALL.test(callee(n) ?? '') && n.childForFieldName('arguments')!.namedChildren.length === 0;
      if (ok) sawClock.v = true;
      return ok;
    }
    case 'identifier':
      if (clocks.has(n.text)) sawClock.v = true;
      return clocks.has(n.text) || n.text === param || /^[A-Z_][A-Z0-9_]*$/.test(n.text);
    case 'attribute':
      return !!selfAttribute(n);
    case 'integer':
    case 'float':
      return true;
    case 'parenthesized_expression':
      return n.namedChildren.length === 1 && clockExpression(n.namedChild(0)!, clocks, param, sawClock);
    case 'unary_operator':
      return clockExpression(n.childForFieldName('argument')!, clocks, param, sawClock);
    case 'binary_operator':
      return ['+', '-'].includes(n.childForFieldName('operator')?.text ?? '') &&
        clockExpression(n.childForFieldName('left')!, clocks, param, sawClock) && clockExpression(n.childForFieldName('right')!, clocks, param, sawClock);
    default:
      return false;
  }
}

/**
 * run()'s clock locals: names only ever bound (`=`, `+=`) to arithmetic of the clock, other clock
 * locals, the interval and numbers (`started = time.monotonic()`, `elapsed = time.monotonic() - started`,
 * `deadline += self.interval`), each reading the clock somewhere.
 */
function clockLocals(body: SyntaxNode, param: string | null): Set<string> {
  const binds = new Map<string, SyntaxNode[]>();
  const other = new Set<string>();
  walk(body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'assignment' || n.type === 'augmented_assignment') {
      const left = n.childForFieldName('left');
      const right = n.childForFieldName('right');
      if (left?.type === 'identifier' && right && n.parent?.type === 'expression_statement') {
        const op = n.type === 'augmented_assignment' ? n.childForFieldName('operator')?.text : '=';
        if (op === '=' || op === '+=' || op === '-=') binds.set(left.text, [...(binds.get(left.text) ?? []), right]);
        else other.add(left.text);
      } else if (left) walk(left, (x) => { if (x.type === 'identifier') other.add(x.text); });
    }
    if (n.type === 'for_statement' || n.type === 'with_statement' || n.type === 'except_clause') {
      const l = n.type === 'for_statement' ? n.childForFieldName('left') : null;
      if (l) walk(l, (x) => { if (x.type === 'identifier') other.add(x.text); });
    }
  });
  const clocks = new Set<string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, rights] of binds) {
      if (clocks.has(name) || other.has(name) || name === param) continue;
      const saw = { v: false };
      const trial = new Set([...clocks, name]);
      if (rights.every((r) => clockExpression(r, trial, param, saw)) && rights.some((r) => { const s = { v: false }; clockExpression(r, clocks, param, s); return s.v; })) {
        clocks.add(name);
        grew = true;
      }
    }
  }
  return clocks;
}

function isClockStep(stmt: SyntaxNode, clocks: Set<string>): boolean {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  const left = e && (e.type === 'assignment' || e.type === 'augmented_assignment') ? e.childForFieldName('left') : null;
  return left?.type === 'identifier' && clocks.has(left.text);
}

/**
 * `sleep(pause)` or `sleep(max(0, <clock arithmetic>))`: the sleep call, else null. The bound may be
 * another number (`max(1.0, interval - (time.time() - started))`, a least pause after an overrun: see
 * cadenceFloor). `wait` is the stop event's wait (`self._stop.wait`) of a `while not self._stop.is_set():`
 * loop: the same sleep, cut short when stopped.
 */
function clockSleepCall(stmt: SyntaxNode, clocks: Set<string>, param: string | null, wait: string | null = null): SyntaxNode | null {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  if (e?.type !== 'call' || !(SLEEP_CALL.test(callee(e) ?? '') || (wait !== null && callee(e) === wait))) return null;
  const args = e.childForFieldName('arguments')!.namedChildren;
  if (args.length !== 1) return null;
  const a = args[0]!;
  if (a.type === 'identifier' && clocks.has(a.text)) return e;
  if (a.type === 'call' && callee(a) === 'max') {
    const m = a.childForFieldName('arguments')!.namedChildren;
    const bound = m.find((x) => /^\d+(\.\d*)?$/.test(x.text));
    const rest = m.filter((x) => x !== bound);
    const saw = { v: false };
    return bound && rest.length === 1 && clockExpression(rest[0]!, clocks, param, saw) && saw.v ? e : null;
  }
  return null;
}

/**
 * The least pause of a cadence sleep (`1.0` in `time.sleep(max(1.0, interval - elapsed))`), or null when
 * it is 0. The base's wait is the whole collection_interval, never shorter than such a pause unless the
 * interval itself is: then the base cycles more often than the legacy did, which the warning says.
 */
function cadenceFloor(sleep: SyntaxNode | null): string | null {
  const a = sleep?.childForFieldName('arguments')?.namedChildren[0];
  if (a?.type !== 'call' || callee(a) !== 'max') return null;
  const bound = a.childForFieldName('arguments')!.namedChildren.find((x) => /^\d+(\.\d*)?$/.test(x.text));
  return bound && Number(bound.text) > 0 ? bound.text : null;
}

/**
 * The loop's sleep, keeping its cadence: a clock sleep, or `if <clock test>: sleep(pause) else:
 * <logs and clock steps>` (a cycle that overran its interval starts the next at once).
 */
function cadenceSleep(stmt: SyntaxNode, clocks: Set<string>, param: string | null, wait: string | null = null): SyntaxNode | null {
  const direct = clockSleepCall(stmt, clocks, param, wait);
  if (direct) return direct;
  if (stmt.type !== 'if_statement') return null;
  const cond = stmt.childForFieldName('condition')!;
  let onlyClock = true;
  walk(cond, (n) => {
    if (n.type === 'identifier' && !clocks.has(n.text)) onlyClock = false;
    if (n.type === 'call' || n.type === 'attribute') onlyClock = false;
  });
  if (!onlyClock || ![...clocks].some((c) => mentionsName(cond, c))) return null;
  const branches = stmt.namedChildren.filter((c) => c.type === 'else_clause' || c.type === 'elif_clause');
  if (branches.some((b) => b.type === 'elif_clause')) return null;
  const blocks = [stmt.childForFieldName('consequence')!, ...branches.map((b) => b.namedChildren.find((x) => x.type === 'block')!)];
  let found: SyntaxNode | null = null;
  for (const b of blocks) {
    for (const x of statements(b)) {
      const sl = clockSleepCall(x, clocks, param, wait);
      if (sl) {
        if (found) return null;
        found = sl;
        continue;
      }
      if (isClockStep(x, clocks) || (isTrivial(x) && x.type !== 'return_statement')) continue;
      return null;
    }
  }
  return found;
}

/** The one interval (the run() parameter or a self attribute) the cadence's arithmetic reads. */
function cadenceInterval(body: SyntaxNode, clocks: Set<string>, param: string | null, wait: string | null = null): SyntaxNode | null {
  const found = new Map<string, SyntaxNode>();
  walk(body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    const e = n.type === 'assignment' || n.type === 'augmented_assignment' ? n : null;
    const left = e?.childForFieldName('left');
    let scope: SyntaxNode | null = null;
    if (left?.type === 'identifier' && clocks.has(left.text)) scope = e!.childForFieldName('right');
    if (n.type === 'call' && (SLEEP_CALL.test(callee(n) ?? '') || (wait !== null && callee(n) === wait))) scope = n.childForFieldName('arguments');
    if (!scope) return;
    walk(scope, (x) => {
      if (x.type === 'attribute' && selfAttribute(x)) {
        found.set(x.text, x);
        return false;
      }
      if (x.type === 'identifier' && (x.text === param || /^[A-Z_][A-Z0-9_]*$/.test(x.text)) && x.parent?.type !== 'attribute') found.set(x.text, x);
    });
  });
  return found.size === 1 ? [...found.values()][0]! : null;
}

/**
 * `interval = CONFIG["interval"]` (or a literal, or a module constant), bound once in run() and run()
 * taking no interval: the loop's interval, the same value at construction as in run(). Null otherwise.
 */
function constantIntervalLocal(ctx: PythonTransformContext, fn: PyFunction, s: SyntaxNode): { name: string; value: string } | null {
  const a = s.type === 'expression_statement' ? s.namedChild(0) : null;
  if (a?.type !== 'assignment' || a.childForFieldName('type')) return null;
  const left = a.childForFieldName('left');
  const right = a.childForFieldName('right');
  if (left?.type !== 'identifier' || !right) return null;
  const config = configText(ctx, right);
  if (!(right.type === 'integer' || right.type === 'float' || config || (right.type === 'identifier' && /^[A-Z_][A-Z0-9_]*$/.test(right.text) && moduleBinds(ctx, right.text)))) return null;
  return bindsOnce(fn, left.text) ? { name: left.text, value: config ?? right.text } : null;
}

/** run() binds the local `name` exactly once. */
function bindsOnce(fn: PyFunction, name: string): boolean {
  let binds = 0;
  walk(fn.body, (n) => {
    if (n.type === 'lambda' || n.type === 'class_definition' || (n.type === 'function_definition' && n.id !== fn.node.id)) return false;
    if ((n.type === 'assignment' || n.type === 'augmented_assignment') && n.childForFieldName('left')?.text === name) binds++;
    if ((n.type === 'for_statement' || n.type === 'with_statement' || n.type === 'global_statement' || n.type === 'nonlocal_statement') && mentionsName(n.childForFieldName('left') ?? n, name) && n.type !== 'with_statement') binds++;
  });
  return binds === 1;
}

/**
 * `self.cfg["agent"]["interval"]` where __init__ binds `self.cfg = SETTINGS` once (nothing else assigns
 * self.cfg) and self.cfg is only ever read by subscript (never changed through it, never handed on):
 * the same value as `SETTINGS["agent"]["interval"]`, which is what the construction is given. Else the
 * key path into the module dict as written (constantConfig), or null.
 */
function configText(ctx: PythonTransformContext, node: SyntaxNode): string | null {
  let root: SyntaxNode = node;
  while (root.type === 'subscript') root = root.childForFieldName('value')!;
  const attr = root.type === 'attribute' ? selfAttribute(root) : null;
  if (!attr) return constantConfig(ctx, node) ? node.text : null;
  const sets = ctx.agent.assignments.filter((a) => a.attr === attr);
  const value = sets.length === 1 && sets[0]!.method === '__init__' ? sets[0]!.value : null;
  if (value?.type !== 'identifier' || ctx.baseOwned.has(attr) || ctx.base.attributes.has(attr)) return null;
  const rooted = value.text + node.text.slice(root.text.length);
  // Every read of self.<attr> is `self.<attr>[...]` read (not assigned, deleted or called on), nowhere handed on.
  for (const r of ctx.refs.of(attr)) {
    if (r.kind !== 'attribute') continue;
    if (sets[0]!.stmt.startIndex <= r.start && r.end <= sets[0]!.stmt.endIndex) continue;
    const ref = r.node.type === 'attribute' ? r.node : r.node.parent!;
    const sub = ref.parent;
    if (sub?.type !== 'subscript' || sub.childForFieldName('value')?.id !== ref.id) return null;
    let top: SyntaxNode = sub;
    while (top.parent?.type === 'subscript' && top.parent.childForFieldName('value')?.id === top.id) top = top.parent;
    const p = top.parent;
    if ((p?.type === 'assignment' || p?.type === 'augmented_assignment') && p.childForFieldName('left')?.id === top.id) return null;
    if (p?.type === 'delete_statement') return null;
    if (p?.type === 'attribute' && p.parent?.type === 'call' && /^(update|setdefault|pop|popitem|clear|append|extend|insert|remove|add|discard)$/.test(p.childForFieldName('attribute')!.text)) return null;
  }
  return constantConfigPath(ctx, value.text, node) ? rooted : null;
}

/**
 * `CONFIG["interval"]`, `SETTINGS["agent"]["interval"]`: a literal key path into a dict the module binds
 * once at its top level and never changes (no item assignment, no update()/setdefault()/pop() on it).
 */
function constantConfig(ctx: PythonTransformContext, node: SyntaxNode): boolean {
  let root: SyntaxNode = node;
  while (root.type === 'subscript') root = root.childForFieldName('value')!;
  return root.type === 'identifier' && constantConfigPath(ctx, root.text, node);
}

/** constantConfig for the key path of `node` read from the module dict `name` (node's own root may be an alias). */
function constantConfigPath(ctx: PythonTransformContext, name: string, node: SyntaxNode): boolean {
  let root: SyntaxNode = node;
  let depth = 0;
  while (root.type === 'subscript') {
    const keys = root.namedChildren.slice(1);
    if (keys.length !== 1 || !['string', 'integer'].includes(keys[0]!.type) || keys[0]!.text.startsWith('f')) return false;
    root = root.childForFieldName('value')!;
    depth++;
  }
  if (!depth || !/^[A-Z_][A-Z0-9_]*$/.test(name) || !moduleBinds(ctx, name)) return false;
  let changed = false;
  walk(ctx.module.root, (n) => {
    if (changed) return false;
    if (n.type === 'assignment' || n.type === 'augmented_assignment' || n.type === 'delete_statement') {
      const l = n.type === 'delete_statement' ? n : n.childForFieldName('left');
      if (l && l.type !== 'identifier' && new RegExp(`(^|[^\\w.])${name}\\s*\\[`).test(l.text)) changed = true;
    }
    if (n.type === 'call') {
      const f = n.childForFieldName('function');
      if (f?.type === 'attribute' && /^(update|setdefault|pop|popitem|clear)$/.test(f.childForFieldName('attribute')!.text) && new RegExp(`^${name}\\b`).test(f.childForFieldName('object')!.text)) changed = true;
    }
  });
  return !changed;
}

/** The module binds the name exactly once, at its top level. */
export function moduleBinds(ctx: PythonTransformContext, name: string): boolean {
  let n = 0;
  for (const s of ctx.module.root.namedChildren) {
    const a = s.type === 'expression_statement' ? s.namedChild(0) : null;
    if (a?.type === 'assignment' && a.childForFieldName('left')?.text === name) n++;
  }
  let rebound = false;
  walk(ctx.module.root, (x) => {
    if (rebound) return false;
    if (x.type === 'global_statement' && x.namedChildren.some((c) => c.text === name)) rebound = true;
  });
  return n === 1 && !rebound;
}
