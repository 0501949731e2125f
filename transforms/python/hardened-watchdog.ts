// Concern (probe-hard7, DiskIOAgent): a watchdog thread that restarts a dead or hung collector.
// run() starts a collector thread (`threading.Thread(target=self._collector_loop)`, whose loop
// calls collect()) and a watchdog thread whose loop, under a test (`not alive or hung`), starts
// the collector again. HardenedAgentBase runs collect_data() in its own loop and has nothing
// that restarts a dead or hung cycle, so this is a person's call; the review items on run() and
// collect() say so with file:line instead of the symptoms (collect() called from another method,
// run() doing more than a loop).
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { callee, selfAttribute, walk } from '../../src/lang/python/syntax.js';

export interface CollectorWatchdog {
  /** The watchdog thread's target. */
  watchdog: PyFunction;
  /** The collector thread's target (its loop calls the cycle). */
  collector: PyFunction;
  /** The `if` in the watchdog's loop under which it starts the collector again. */
  test: SyntaxNode;
  /** The call of the cycle in the collector's loop. */
  cycleCall: SyntaxNode;
  reason: string;
}

const memo = new WeakMap<PythonTransformContext, CollectorWatchdog | null>();

export function collectorWatchdog(ctx: PythonTransformContext, cycle: string): CollectorWatchdog | null {
  if (!memo.has(ctx)) memo.set(ctx, read(ctx, cycle));
  return memo.get(ctx)!;
}

const opaque = (n: SyntaxNode) => n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition';

/** `threading.Thread(target=self.<m>, ...)` / `Thread(target=self.<m>)`: "<m>". */
function threadTarget(call: SyntaxNode): string | null {
  if (!/^(threading\.)?Thread$/.test(callee(call) ?? '')) return null;
  for (const a of call.childForFieldName('arguments')?.namedChildren ?? []) {
    if (a.type !== 'keyword_argument' || a.childForFieldName('name')?.text !== 'target') continue;
    const v = a.childForFieldName('value');
    return v ? selfAttribute(v) : null;
  }
  return null;
}

/** Loops directly in the method (not in nested defs). */
function loopsOf(fn: PyFunction): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  walk(fn.body, (n) => {
    if (opaque(n)) return false;
    if (n.type === 'while_statement' || n.type === 'for_statement') out.push(n);
  });
  return out;
}

function read(ctx: PythonTransformContext, cycle: string): CollectorWatchdog | null {
  const methods = ctx.agent.methods;
  // Methods started as threads, and where.
  const targets = new Map<string, PyFunction[]>(); // target -> methods starting it
  for (const fn of methods.values()) {
    walk(fn.body, (n) => {
      if (opaque(n)) return false;
      const t = n.type === 'call' ? threadTarget(n) : null;
      if (t && methods.has(t)) targets.set(t, [...(targets.get(t) ?? []), fn]);
    });
  }
  const inLoop = (fn: PyFunction, pick: (n: SyntaxNode) => boolean): SyntaxNode | null => {
    let hit: SyntaxNode | null = null;
    for (const loop of loopsOf(fn)) {
      walk(loop.childForFieldName('body') ?? loop, (n) => {
        if (hit || opaque(n)) return false;
        if (pick(n)) hit = n;
      });
    }
    return hit;
  };
  for (const [c, starters] of targets) {
    const collector = methods.get(c)!;
    if (c === cycle || c === 'run') continue;
    // The collector thread's loop calls the cycle.
    const cycleCall = inLoop(collector, (n) => n.type === 'call' && selfAttribute(n.childForFieldName('function')!) === cycle);
    if (!cycleCall) continue;
    // Starting the collector again: its Thread(target=...) in place, or a call of a method that builds it.
    const restarts = (n: SyntaxNode): boolean => {
      if (n.type !== 'call') return false;
      if (threadTarget(n) === c) return true;
      const m = selfAttribute(n.childForFieldName('function')!);
      return !!m && starters.some((s) => s.name === m);
    };
    for (const [w] of targets) {
      const watchdog = methods.get(w)!;
      if (w === c || w === cycle || w === 'run') continue;
      const restart = inLoop(watchdog, restarts);
      if (!restart) continue;
      let test: SyntaxNode | null = null;
      for (let p = restart.parent; p && p.id !== watchdog.body.id; p = p.parent) {
        if (p.type === 'if_statement') {
          test = p;
          break;
        }
      }
      if (!test) continue;
      const at = (n: SyntaxNode) => `${ctx.file}:${n.startPosition.row + 1}`;
      const cond = test.childForFieldName('condition')?.text.replace(/\s+/g, ' ').slice(0, 60) ?? '';
      const reason =
        `a watchdog thread restarts the collector: ${w}() (${at(watchdog.node)}) starts ${c}() (${at(collector.node)}, calling ${cycle}() at line ${cycleCall.startPosition.row + 1}) again ` +
        `when \`${cond}\` (${at(test)}); HardenedAgentBase runs collect_data() in its own loop and has no watchdog restarting a dead or hung cycle: ` +
        `decide by hand whether that supervision can go (the base logs and counts a failing collect_data() and goes on) or must stay beside run_forever()`;
      return { watchdog, collector, test, cycleCall, reason };
    }
  }
  return null;
}
