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
import { callee, lineOf, selfAttribute, walk } from '../../src/lang/python/syntax.js';
import { moduleBinds } from './hardened-main-loop.js';

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
