// Concern (seed 001): a cycle driven by a timer chain instead of a `while` loop. A method that runs the
// cycle and re-arms itself, `self._timer = threading.Timer(self.interval, self._tick); self._timer.start()`
// or `self.scheduler.enter(self.interval, 1, self._tick)` (run() then `self.scheduler.run()`), calls the
// cycle every interval until stopped, which is what HardenedAgentBase's loop does. The rewrite does not
// fold such a chain into the base's loop yet, so run() stays for review; this names the chain, its line
// and its interval (or why that interval is not one the base's collection_interval can take), where the
// generic "run() does more than loop over collect()" cited an unrelated line of the chain's teardown.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { callee, isDocstring, lineOf, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { isTrivial } from '../../src/analysis/infra.js';
import { moduleBinds } from './hardened-main-loop.js';
import { excerpt } from '../../src/core/excerpt.js';

export interface TimerChain {
  /** The method that runs the cycle and re-arms itself. */
  method: string;
  kind: 'threading.Timer' | 'sched.scheduler';
  /** The re-arming call (`threading.Timer(...)` / `self.scheduler.enter(...)`). */
  rearm: SyntaxNode;
  interval: SyntaxNode;
  /** Why the interval is not one value for the agent's life (null: it is). */
  varying: string | null;
  /** The method that starts the chain when it is not run() (`__init__`, `start`), with the line. */
  startedBy: { method: string; line: number } | null;
}

const TIMER = /^(threading\.)?Timer$/;

/** `Timer(I, self.m)` / `Timer(interval=I, function=self.m)` or `<x>.enter(I, prio, self.m)`: its interval and action. */
function rearmOf(call: SyntaxNode): { kind: TimerChain['kind']; interval: SyntaxNode; action: SyntaxNode } | null {
  const name = callee(call) ?? '';
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  const positional = args.filter((a) => a.type !== 'keyword_argument');
  const keyword = (k: string) => args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === k)?.childForFieldName('value') ?? null;
  if (TIMER.test(name)) {
    const interval = positional[0] ?? keyword('interval');
    const action = positional[1] ?? keyword('function');
    return interval && action ? { kind: 'threading.Timer', interval, action } : null;
  }
  const fn = call.childForFieldName('function');
  if (fn?.type === 'attribute' && fn.childForFieldName('attribute')?.text === 'enter') {
    const interval = positional[0] ?? keyword('delay');
    const action = positional[2] ?? keyword('action');
    return interval && action ? { kind: 'sched.scheduler', interval, action } : null;
  }
  return null;
}

function callsSelf(fn: PyFunction, method: string): boolean {
  let found = false;
  walk(fn.body, (n) => {
    if (found) return false;
    if (n.type === 'call') {
      const f = n.childForFieldName('function');
      if (f?.type === 'attribute' && selfAttribute(f) === method) found = true;
    }
  });
  return found;
}

/** Whether the chain's interval is one value for the agent's life, as collection_interval is; else why not. */
function varyingInterval(ctx: PythonTransformContext, interval: SyntaxNode): string | null {
  if (interval.type === 'integer' || interval.type === 'float') return null;
  if (interval.type === 'identifier' && moduleBinds(ctx, interval.text)) return null;
  const attr = interval.type === 'attribute' ? selfAttribute(interval) : null;
  if (attr) {
    const elsewhere = ctx.agent.assignments.find((a) => a.attr === attr && a.method !== '__init__');
    return elsewhere ? `self.${attr} is set again by ${elsewhere.method}() (line ${elsewhere.line})` : null;
  }
  return `${interval.text} is computed at each tick`;
}

/** The timer chain run() starts whose ticks call the cycle, or null. */
export function timerChain(ctx: PythonTransformContext, run: PyFunction, cycle: string): TimerChain | null {
  for (const m of ctx.agent.methods.values()) {
    if (m === run) continue;
    let chain: TimerChain | null = null;
    walk(m.body, (n) => {
      if (chain) return false;
      if (n.type !== 'call') return;
      const r = rearmOf(n);
      if (r && r.action.type === 'attribute' && selfAttribute(r.action) === m.name) {
        chain = { method: m.name, kind: r.kind, rearm: n, interval: r.interval, varying: varyingInterval(ctx, r.interval), startedBy: null };
      }
    });
    if (!chain || !callsSelf(m, cycle)) continue;
    if (mentionsSelf(run, m.name)) return chain;
    // Started elsewhere (the constructor, a start()): the ticks run whether or not run() is called.
    for (const other of ctx.agent.methods.values()) {
      const at = other !== m && other !== run ? selfMention(other, m.name) : null;
      // (run() calling that starter starts it too: `def start(self): self._tick()`)
      if (at) return callsSelf(run, other.name) ? chain : { ...(chain as TimerChain), startedBy: { method: other.name, line: lineOf(at) } };
    }
  }
  return null;
}

/** The first `self.<m>` in fn: a call or a hand-off (`threading.Timer(0, self._tick).start()`, `scheduler.enter(0, 1, self._tick)`). */
function selfMention(fn: PyFunction, method: string): SyntaxNode | null {
  let found: SyntaxNode | null = null;
  walk(fn.body, (n) => {
    if (found) return false;
    if (n.type === 'attribute' && selfAttribute(n) === method) found = n;
  });
  return found;
}

function mentionsSelf(fn: PyFunction, method: string): boolean {
  return selfMention(fn, method) !== null;
}

/** The review reason for run() when its cycle is such a chain. */
export function timerChainReason(chain: TimerChain, cycle: string): { reason: string; line: number } {
  const line = lineOf(chain.rearm);
  const how = `${chain.startedBy ? `${cycle}() runs` : `run() runs ${cycle}()`} through a ${chain.kind} chain: ${chain.method}() calls it and re-arms itself after ${chain.interval.text} (line ${line})`;
  if (chain.startedBy) return { reason: `${how}, and ${chain.startedBy.method}() starts that chain (line ${chain.startedBy.line}), not run(): the base's loop runs only from run_forever()`, line: chain.startedBy.line };
  if (chain.varying) return { reason: `${how}, and ${chain.varying}: the base waits the same collection_interval after every cycle`, line };
  return { reason: `${how}; the migration does not fold a timer chain into the base's loop yet (move ${chain.method}()'s cycle into collect_data(), hand ${chain.interval.text} to collection_interval, drop the chain and its cancel)`, line };
}

/**
 * A Timer chain the base's loop runs as it is: run() = `<set-up>; self.<tick>(); while not self.F: sleep(s);
 * <teardown>`, the tick = `try: self.<cycle>() except ...: <log>` then, while not stopped (`if not self.F:` or
 * `if self.running:`, the flag run() waits on in the same sense), `self.T = threading.Timer(I, self.<tick>); [self.T.daemon = True]; self.T.start()`. The
 * tick is called only by run() and by its own Timer, self.T is read only there, by `self.T.cancel()` (guarded on
 * it or not) and by `self.T = None` in __init__: one chain, cycle then wait I, ending once F is set, which is the
 * base's loop on collection_interval = I. `keep` says which set-up / teardown statements readRun() moves
 * (setup(), shutdown()). Null with a reason when not provable (the review item then names the chain).
 */
export interface ChainFold {
  before: SyntaxNode[];
  teardown: SyntaxNode[];
  /** The `self.<cycle>()` statement in the tick, and the `except` around it (its log lines no longer written). */
  cycle: SyntaxNode;
  absorbed: Array<{ clause: SyntaxNode; logs: SyntaxNode[] }>;
  /** No try: around the cycle: a raise ended the legacy chain (the agent stayed up, cycling no more). */
  raiseEnds: boolean;
  /** The flag run() waited on, the timer attribute. */
  flag: string;
  /** The timer attribute (a sched chain: its event attribute, or the scheduler when the event is not kept). */
  timer: string;
  /** A sched chain: the scheduler attribute, which goes with the chain too. */
  scheduler?: string;
  kind: TimerChain['kind'];
}

export function foldTimerChain(ctx: PythonTransformContext, run: PyFunction, chain: TimerChain, cycle: string, keep: (s: SyntaxNode) => boolean): { fold: ChainFold } | { reason: string; line: number } {
  const no = (why: string, at: SyntaxNode | number) => ({ reason: `${timerChainReason(chain, cycle).reason.replace(/; the migration does not fold.*$/, '')}, not folded into the base's loop: ${why}`, line: typeof at === 'number' ? at : lineOf(at) });
  if (chain.startedBy || chain.varying) return timerChainReason(chain, cycle);
  if (run.params.some((p, i) => i > 0 && p.kind !== 'separator')) return no('run() takes parameters', run.line);
  const tick = ctx.agent.methods.get(chain.method)!;
  if (tick.params.length !== 1 || tick.isAsync || tick.decorators.length) return no(`${tick.name}() takes arguments`, tick.line);
  // The tick: the cycle (in a try: whose handlers only log), then the re-arm under the flag.
  const body = statements(tick.body).filter((s) => !isDocstring(s));
  const isCycle = (s: SyntaxNode) => selfCallName(s) === cycle;
  let cycleStmt: SyntaxNode | null = null;
  const absorbed: ChainFold['absorbed'] = [];
  const first = body[0];
  if (first && isCycle(first)) cycleStmt = first;
  else if (first?.type === 'try_statement') {
    const inner = statements(first.childForFieldName('body'));
    const clauses = first.namedChildren.filter((c) => c.type === 'except_clause');
    if (inner.length === 1 && isCycle(inner[0]!) && clauses.length === first.namedChildren.length - 1) {
      cycleStmt = inner[0]!;
      for (const c of clauses) {
        const logs = statements(c.namedChildren.find((x) => x.type === 'block') ?? null);
        if (!logs.every(isTrivial)) return no(`${tick.name}()'s \`${c.text.split('\n')[0]!.trim()}\` does more than log`, c);
        absorbed.push({ clause: c, logs: logs.filter((x) => x.type === 'expression_statement') });
      }
    }
  }
  if (!cycleStmt) {
    // (the first statement that is not the cycle, or the try: around it, named: what a reviewer has to weigh)
    const inner = first?.type === 'try_statement' ? statements(first.childForFieldName('body')) : [];
    const odd = first?.type === 'try_statement' ? inner.find((s) => !isCycle(s)) ?? first.namedChildren.find((c) => c.type === 'finally_clause' || c.type === 'else_clause') ?? first : first;
    const what = odd ? ` (line ${lineOf(odd)}: ${excerpt(odd.text, 50)})` : '';
    return no(`${tick.name}() does more than run ${cycle}() then re-arm${what}`, odd ?? tick.node);
  }
  const guard = body[1];
  const cond = guard?.type === 'if_statement' && !guard.childForFieldName('alternative') ? guard.childForFieldName('condition') : null;
  // (`if not self._shutdown:` / `if self.running:`, the wait in run() below on the same flag and sense)
  const negated = cond?.type === 'not_operator';
  const flag = cond ? selfAttribute(negated ? cond.childForFieldName('argument')! : cond) : null;
  if (body.length !== 2 || !flag) return no(`${tick.name}() re-arms other than once, at its end, under \`if [not] self.<flag>:\``, guard ?? tick.node);
  if (chain.kind === 'sched.scheduler') return foldSchedChain(ctx, run, chain, tick, guard!, flag, keep, no, { cycle: cycleStmt, absorbed, raiseEnds: cycleStmt === first });
  // The re-arm: `self.T = threading.Timer(I, self.tick)`, `self.T.daemon = True`, `self.T.start()`.
  const arm = statements(guard!.childForFieldName('consequence'));
  const made = arm[0]?.type === 'expression_statement' ? arm[0].namedChild(0) : null;
  const timer = made?.type === 'assignment' && made.childForFieldName('right')?.id === chain.rearm.id ? selfAttribute(made.childForFieldName('left')!) : null;
  const rest = arm.slice(1).map((s) => s.text.replace(/\s+/g, ''));
  if (!timer || !rest.length || rest[rest.length - 1] !== `self.${timer}.start()` || !rest.slice(0, -1).every((t) => t === `self.${timer}.daemon=True`)) return no(`${tick.name}()'s re-arm is not \`self.<timer> = threading.Timer(...); self.<timer>.start()\``, guard!);
  // run(): set-up, the first tick, a wait on that same flag, the teardown.
  const stmts = statements(run.body).filter((s) => !isDocstring(s));
  const at = stmts.findIndex((s) => selfCallName(s) === tick.name);
  const wait = stmts[at + 1];
  const wcond = wait?.type === 'while_statement' ? wait.childForFieldName('condition') : null;
  const waits = !!wcond && (wcond.type === 'not_operator') === negated && selfAttribute(negated ? wcond.childForFieldName('argument')! : wcond) === flag && !wait!.namedChildren.some((c) => c.type === 'else_clause') && statements(wait!.childForFieldName('body')).every((s) => isTrivial(s));
  if (at < 0 || !waits) return no(`run() does not start the chain and then wait on self.${flag}`, at < 0 ? run.line : wait ?? run.node);
  const before = stmts.slice(0, at);
  const teardown = stmts.slice(at + 2).filter((s) => !cancels(s, timer));
  const odd = [...before, ...teardown].find((s) => !keep(s));
  if (odd) return no(`run() does more than start the chain (line ${lineOf(odd)}: ${excerpt(odd.text, 50)})`, odd);
  // One chain: the tick is started by run() and its own Timer alone, the timer read by nothing but its arming and cancels.
  const ticks = ctx.refs.of(tick.name).filter((r) => r.kind === 'attribute' && !inside(r.start, chain.rearm) && !inside(r.start, stmts[at]!));
  if (ticks.length || ctx.external(tick.name).length) return no(`${tick.name}() is also called at line ${ticks[0]?.line ?? '?'}, which arms another chain`, ticks[0]?.line ?? tick.line);
  const init = ctx.agent.methods.get('__init__');
  for (const r of ctx.refs.of(timer)) {
    if (r.kind !== 'attribute') continue;
    const st = enclosingStatement(r.node);
    const ok = (st && (cancels(st, timer) || arm.some((a) => a.id === st.id))) || (init && inside(r.start, init.node) && st?.text.replace(/\s+/g, '') === `self.${timer}=None`);
    if (!ok) return no(`self.${timer} is also used at line ${r.line}`, r.line);
  }
  if (ctx.external(timer).length) return no(`another file uses self.${timer}`, chain.rearm);
  return { fold: { before, teardown, cycle: cycleStmt, absorbed, raiseEnds: cycleStmt === first, flag, timer, kind: 'threading.Timer' } };
}

/**
 * The same fold for a sched.scheduler chain: the tick re-arms with `[self.E =] self.S.enter(I, P, self.<tick>)`
 * alone under the flag; run() = `<set-up>; [self.E =] self.S.enter(0, P, self.<tick>)` (or `self.<tick>()`), then
 * `self.S.run()`, then `<teardown>`. S's run() returns once its queue is empty: when the tick, finding the flag set,
 * does not re-arm, or when the pending event is cancelled. It is the chain's alone when S is used by nothing else
 * (built in __init__ as `self.S = sched.scheduler(...)`, read only by the chain's enter()s, its run() and the
 * cancels of self.E): the base's loop on collection_interval = I. Every method setting the flag must also cancel
 * self.E (else the legacy ran one more cycle after it, when the pending event fell due, which the base does not).
 */
function foldSchedChain(ctx: PythonTransformContext, run: PyFunction, chain: TimerChain, tick: PyFunction, guard: SyntaxNode, flag: string, keep: (s: SyntaxNode) => boolean,
  no: (why: string, at: SyntaxNode | number) => { reason: string; line: number }, got: Pick<ChainFold, 'cycle' | 'absorbed' | 'raiseEnds'>): { fold: ChainFold } | { reason: string; line: number } {
  const fn = chain.rearm.childForFieldName('function')!;
  const sched = selfAttribute(fn.childForFieldName('object')!);
  if (!sched) return no(`the scheduler ${fn.childForFieldName('object')!.text} is not an attribute of the agent`, chain.rearm);
  const args = chain.rearm.childForFieldName('arguments')!.namedChildren;
  if (args.length !== 3 || args.some((a) => a.type === 'keyword_argument' && !/^(delay|priority|action)$/.test(a.childForFieldName('name')?.text ?? ''))) return no(`${chain.rearm.text} passes the tick arguments`, chain.rearm);
  // `[self.E =] self.S.enter(...)` whose call is `call`: the event attribute (null: not kept).
  const entered = (s: SyntaxNode | undefined, call: (c: SyntaxNode) => boolean): { event: string | null } | null => {
    const e = s?.type === 'expression_statement' ? s.namedChild(0) : null;
    if (e?.type === 'call') return call(e) ? { event: null } : null;
    const right = e?.type === 'assignment' ? e.childForFieldName('right') : null;
    const event = right && call(right) ? selfAttribute(e!.childForFieldName('left')!) : null;
    return event ? { event } : null;
  };
  const arm = statements(guard.childForFieldName('consequence'));
  const armed = arm.length === 1 ? entered(arm[0], (c) => c.id === chain.rearm.id) : null;
  if (!armed) return no(`${tick.name}()'s re-arm is not \`[self.<event> =] self.${sched}.enter(...)\` alone`, guard);
  const event = armed.event;
  // run(): set-up, the first tick (now), the scheduler's run(), the teardown.
  const stmts = statements(run.body).filter((s) => !isDocstring(s));
  const firstTick = (c: SyntaxNode) => {
    const r = rearmOf(c);
    const f = c.childForFieldName('function');
    return !!r && r.kind === 'sched.scheduler' && f?.type === 'attribute' && selfAttribute(f.childForFieldName('object')!) === sched && /^0(\.0*)?$/.test(r.interval.text) && r.action.type === 'attribute' && selfAttribute(r.action) === tick.name;
  };
  const at = stmts.findIndex((s) => selfCallName(s) === tick.name || entered(s, firstTick) !== null);
  const started = at >= 0 ? entered(stmts[at], firstTick) : null;
  if (started?.event && started.event !== event) return no(`run() keeps the first event in self.${started.event}, the tick in self.${event ?? '(nothing)'}`, stmts[at]!);
  // The scheduler is the chain's alone: built in __init__, entered, run and cancelled by the chain, nothing else
  // (checked first: another event entered on it is what keeps the chain, more than run()'s shape).
  const init = ctx.agent.methods.get('__init__');
  const drives = (n: SyntaxNode) => inside(n.startIndex, run.node) && enclosingStatement(n)?.text.replace(/\s+/g, '') === `self.${sched}.run()`;
  const inInit = (at: number) => !!init && inside(at, init.node);
  const isCancel = (n: SyntaxNode) => {
    const st = enclosingCancel(n);
    return !!event && !!st && schedCancels(st, sched, event);
  };
  for (const r of ctx.refs.of(sched)) {
    if (r.kind !== 'attribute') continue;
    const st = enclosingStatement(r.node);
    const built = inInit(r.start) && st?.type === 'expression_statement' && /^self\.\w+=(sched\.)?scheduler\(/.test(st.text.replace(/\s+/g, ''));
    const ok = built || inside(r.start, chain.rearm) || (at >= 0 && inside(r.start, stmts[at]!)) || drives(r.node) || isCancel(r.node);
    if (!ok) return no(`self.${sched} is also used at line ${r.line} (${excerpt((st ?? r.node).text.split('\n')[0]!.trim(), 60)}), and its run() drives every event it holds, not only the chain's`, r.line);
  }
  if (ctx.external(sched).length) return no(`another file uses self.${sched}`, chain.rearm);
  const drive = stmts[at + 1];
  if (at < 0 || !drive || drive.text.replace(/\s+/g, '') !== `self.${sched}.run()`) return no(`run() does not start the chain and then drive self.${sched}.run()`, at < 0 ? run.line : drive ?? run.node);
  const before = stmts.slice(0, at);
  const teardown = stmts.slice(at + 2).filter((s) => !(event && schedCancels(s, sched, event)));
  const odd = [...before, ...teardown].find((s) => !keep(s));
  if (odd) return no(`run() does more than start the chain (line ${lineOf(odd)}: ${excerpt(odd.text, 50)})`, odd);
  // One chain: the tick is started by run() and its own re-arm alone.
  const ticks = ctx.refs.of(tick.name).filter((r) => r.kind === 'attribute' && !inside(r.start, chain.rearm) && !inside(r.start, stmts[at]!));
  if (ticks.length || ctx.external(tick.name).length) return no(`${tick.name}() is also called at line ${ticks[0]?.line ?? '?'}, which arms another chain`, ticks[0]?.line ?? tick.line);
  if (event) {
    for (const r of ctx.refs.of(event)) {
      if (r.kind !== 'attribute') continue;
      const st = enclosingStatement(r.node);
      const ok = inside(r.start, arm[0]!) || inside(r.start, stmts[at]!) || isCancel(r.node) || (inInit(r.start) && st?.text.replace(/\s+/g, '') === `self.${event}=None`);
      if (!ok) return no(`self.${event} is also used at line ${r.line}`, r.line);
    }
    if (ctx.external(event).length) return no(`another file uses self.${event}`, chain.rearm);
  }
  // Whoever sets the flag cancels the pending event too (the legacy's scheduler would otherwise run it: a cycle after the stop).
  for (const a of ctx.agent.assignments) {
    if (a.attr !== flag || a.method === '__init__') continue;
    const m = ctx.agent.methods.get(a.method);
    let cancelled = false;
    if (m && event) walk(m.body, (n) => {
      if (cancelled) return false;
      if (n.type === 'attribute' && selfAttribute(n) === event && isCancel(n)) cancelled = true;
    });
    if (!cancelled) return no(`${a.method}() sets self.${flag} (line ${a.line}) without cancelling the pending ${event ? `self.${event}` : 'event'}, so the legacy ran one more cycle when it fell due`, a.line);
  }
  return { fold: { before, teardown, ...got, flag, timer: event ?? sched, scheduler: event ? sched : undefined, kind: 'sched.scheduler' } };
}

/**
 * `self.S.cancel(self.E)`, under `if self.E [is not None]:` and/or in `try: ... except ValueError: pass` (an event
 * already run or cancelled raises ValueError).
 */
function schedCancels(s: SyntaxNode, sched: string, event: string): boolean {
  const flat = s.text.replace(/\s+/g, '');
  const call = `self.${sched}.cancel(self.${event})`;
  const guarded = [call, `ifself.${event}:${call}`, `ifself.${event}isnotNone:${call}`];
  return guarded.some((g) => flat === g || flat === `try:${g}exceptValueError:pass` || flat === `ifself.${event}isnotNone:try:${call}exceptValueError:pass` || flat === `ifself.${event}:try:${call}exceptValueError:pass`);
}

/**
 * The innermost statement around n holding a cancel (`.cancel(`): the call's own statement, or the `if self.E:` /
 * `try:` whose test reads n. Not the outermost: a `with self._lock:` (or any block) around a valid cancel is no
 * part of it, and read whole it would make the cancel "another use" of the scheduler.
 */
function enclosingCancel(n: SyntaxNode): SyntaxNode | null {
  for (let p: SyntaxNode | null = n; p && p.type !== 'function_definition'; p = p.parent) {
    if (p.parent?.type === 'block' && /\.cancel\(/.test(p.text)) return p;
  }
  return null;
}

/** `self.T.cancel()`, or it under `if self.T:` / `if self.T is not None:` alone. */
function cancels(s: SyntaxNode, timer: string): boolean {
  const flat = s.text.replace(/\s+/g, '');
  return flat === `self.${timer}.cancel()` || flat === `ifself.${timer}:self.${timer}.cancel()` || flat === `ifself.${timer}isnotNone:self.${timer}.cancel()`;
}

function selfCallName(s: SyntaxNode): string | null {
  const e = s.type === 'expression_statement' ? s.namedChild(0) : null;
  if (e?.type !== 'call' || e.childForFieldName('arguments')!.namedChildCount) return null;
  const f = e.childForFieldName('function');
  return f?.type === 'attribute' ? selfAttribute(f) : null;
}

function inside(at: number, n: SyntaxNode): boolean {
  return n.startIndex <= at && at < n.endIndex;
}

/** The statement of a block a node is in, outermost up to its method's body. */
function enclosingStatement(n: SyntaxNode): SyntaxNode | null {
  let p: SyntaxNode | null = n;
  while (p && p.parent && p.parent.type !== 'block') p = p.parent;
  // (up through an `if` whose block holds it: the guard is the statement)
  const parentStmt = p?.parent?.parent;
  if (parentStmt?.type === 'if_statement' && statements(p!.parent).length === 1) return parentStmt;
  return p;
}
