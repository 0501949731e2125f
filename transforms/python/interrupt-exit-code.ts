// Concern: the exit code of an entry point's Ctrl-C clause. `agent = SweeperAgent(); try: agent.run() except
// KeyboardInterrupt: logger.info("interrupted"); sys.exit(130) finally: agent.cleanup()`: a supervisor or cron
// wrapper reads 130 as an operator's stop. On a base that installs its SIGINT handler in its __init__ (the
// reference BaseAgent), SIGINT runs cleanup() and exits 0, and the clause never runs. When the agent is built by
// a statement of the same block right before that try, and the try's `finally:` runs the agent's teardown (so the
// base's stop path runs on the way out: cleanup() reaches the base's stop()), SIGINT is handed back to Python's
// default handler right after the construction: Ctrl-C raises KeyboardInterrupt in the agent's loop as it did,
// the clause runs (its log line, its code), then the finally's teardown; SIGTERM stays the base's.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { callee, walk } from '../../src/lang/python/syntax.js';
import { indentAt, lineEnd } from '../../src/lang/python/text.js';
import { TEARDOWN } from './remove-teardown.js';
import { moduleImport } from './health-host.js';

const label = 'interrupt-exit-code';

/** Clauses whose Ctrl-C path this concern restored, per rewrite: nothing else moves or warns about them. */
const restored = new WeakMap<PythonTransformContext, Set<number>>();

export function interruptRestored(ctx: PythonTransformContext, clause: SyntaxNode): boolean {
  return restored.get(ctx)?.has(clause.id) ?? false;
}

/** The base installs its SIGINT handler while its __init__ runs (not in its main loop, where a later install would win). */
function baseInstallsAtInit(ctx: PythonTransformContext): boolean {
  return ctx.base.handlesSignals && ctx.base.signalsAtInit && ctx.base.signalCalls.handlers.size > 0;
}

/**
 * Restores the Ctrl-C path of `clause` (an `except KeyboardInterrupt:` of the entry point ending the process with
 * a non-zero code) when that can be proven to keep it; true when done. `constructs` tells a construction of the agent.
 */
export function restoreInterruptExit(ctx: PythonTransformContext, clause: SyntaxNode, constructs: (n: SyntaxNode | null | undefined) => boolean): boolean {
  if (!baseInstallsAtInit(ctx)) return false;
  const t = clause.parent;
  if (t?.type !== 'try_statement') return false;
  // `agent = Agent(...)` right before the try, in the same block.
  const siblings = (t.parent?.namedChildren ?? []).filter((x) => x.type !== 'comment');
  const before = siblings[siblings.findIndex((x) => x.id === t.id) - 1];
  const a = before?.type === 'expression_statement' ? before.namedChild(0) : null;
  const left = a?.type === 'assignment' ? a.childForFieldName('left') : null;
  if (left?.type !== 'identifier' || !constructs(a!.childForFieldName('right'))) return false;
  const agent = left.text;
  // The try's body starts that agent; its finally: runs the agent's teardown.
  let starts = false;
  walk(t.childForFieldName('body')!, (n) => {
    const f = n.type === 'call' ? n.childForFieldName('function') : null;
    if (f?.type === 'attribute' && f.childForFieldName('object')?.text === agent) starts = true;
  });
  const fin = t.namedChildren.find((c) => c.type === 'finally_clause');
  let tears = false;
  if (fin) {
    walk(fin, (n) => {
      const name = n.type === 'call' ? callee(n) ?? '' : '';
      if (name.startsWith(`${agent}.`) && (TEARDOWN.test(name.slice(agent.length + 1)) || name.slice(agent.length + 1) === ctx.py.teardown)) tears = true;
    });
  }
  if (!starts || !tears) return false;
  const sig = moduleImport(ctx, 'signal');
  if (!sig) return false;
  const eol = ctx.layout.eol;
  const indent = indentAt(ctx.source, before!.startIndex);
  if (sig.insert) ctx.edits.insert(sig.insert, `import signal${eol}`, label);
  ctx.edits.insert(
    lineEnd(ctx.source, before!.endIndex),
    `${indent}# Ctrl-C raises KeyboardInterrupt again, so the clause below keeps its exit code; SIGTERM stays ${ctx.profile.base_class}'s (migrate).${eol}` +
      `${indent}${sig.name}.signal(${sig.name}.SIGINT, ${sig.name}.default_int_handler)${eol}`,
    label,
  );
  let set = restored.get(ctx);
  if (!set) restored.set(ctx, (set = new Set()));
  set.add(clause.id);
  return true;
}
