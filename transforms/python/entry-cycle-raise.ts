// Concern (seed 001): an entry point that acts on a cycle's exception coming out of the legacy run().
// `while True: agent = Agent(); try: agent.run(...); return 0 except Exception: restarts += 1; ... return 3`:
// the legacy loop called collect() with nothing around it, so a failing cycle left run() and the entry
// point restarted the agent, counted it, and gave up with its own exit status. HardenedAgentBase's loop
// catches a failing collect_data() itself (logged, counted on /health) and never raises it: that handler
// is now reached only by what the constructor or setup() raise. Nothing of it is edited (it is the
// entry point's business), but the change is named, never silent.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { statements, walk } from '../../src/lang/python/syntax.js';
import { isLogCall } from '../../src/analysis/infra.js';
import { isCollectCall } from './hardened-shapes.js';
import { excerpt } from '../../src/core/excerpt.js';

/** What only interrupts or exits: a handler of these alone never saw a cycle's failure. */
const NOT_A_FAILURE = /^(KeyboardInterrupt|SystemExit|GeneratorExit)$/;

/**
 * The warning for each entry call of run() (`calls`, the call nodes) that sits in a `try:` whose handler
 * catches what the legacy cycle raised, when run()'s loop let that out (its cycle call inside no `try:` with
 * a handler, in run() itself). Empty otherwise.
 */
export function entryCycleRaiseWarnings(ctx: PythonTransformContext, run: PyFunction, cycle: string, calls: SyntaxNode[]): string[] {
  if (!cycleEscapes(run, cycle)) return [];
  const out: string[] = [];
  const seen = new Set<number>();
  for (const call of calls) {
    for (let p: SyntaxNode | null = call.parent; p && p.type !== 'module'; p = p.parent) {
      if (p.type === 'function_definition' || p.type === 'class_definition') break;
      if (p.type !== 'try_statement' || !inTryBody(p, call)) continue;
      for (const h of p.namedChildren) {
        if (h.type !== 'except_clause' || seen.has(h.id) || !catchesFailure(h)) continue;
        // What it does besides logging (a restart count, `return 3`, `continue`): a bare `pass` acted on nothing.
        const acts = statements(h.namedChildren.find((c) => c.type === 'block') ?? null).filter((s) => s.type !== 'pass_statement' && s.type !== 'comment' && !isLogged(s));
        if (!acts.length) continue;
        seen.add(h.id);
        const head = h.text.split('\n')[0]!.trim();
        const what = acts.map((s) => `line ${s.startPosition.row + 1}: ${excerpt(s.text, 60)}`).join('; ');
        out.push(
          `${ctx.file}:${h.startPosition.row + 1}: the entry point's \`${head}\` around run() (line ${call.startPosition.row + 1}) acted on a failing ${cycle}() (${what}): ` +
            `the legacy run() called ${cycle}() at line ${cycleLine(run, cycle)} with nothing around it, so a failing cycle left run() and reached this handler; ` +
            `${ctx.profile.base_class}'s loop catches a failing collect_data() itself (logged, counted in errors on /health) and never raises it, ` +
            `so this handler now runs only for what the constructor or setup() raise: a cycle that keeps failing no longer restarts the agent or ends it with this handler's exit status; ` +
            `watch errors on /health, or raise out of collect_data() into a run_cycle() override by hand if the restart or the exit status must stay`,
        );
      }
    }
  }
  return out;
}

/** run()'s cycle call sits in no `try:` (with a handler) of run() itself: what the cycle raises leaves run(). */
function cycleEscapes(run: PyFunction, cycle: string): boolean {
  let found = false;
  let guarded = false;
  walk(run.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'expression_statement' || !isCollectCall(n, cycle)) return;
    found = true;
    for (let p: SyntaxNode | null = n.parent; p && p.id !== run.body.id; p = p.parent) {
      if (p.type === 'try_statement' && inTryBody(p, n) && p.namedChildren.some((c) => c.type === 'except_clause')) guarded = true;
    }
  });
  return found && !guarded;
}

function cycleLine(run: PyFunction, cycle: string): number {
  let line = run.line;
  walk(run.body, (n) => {
    if (n.type === 'expression_statement' && isCollectCall(n, cycle)) {
      line = n.startPosition.row + 1;
      return false;
    }
  });
  return line;
}

function inTryBody(t: SyntaxNode, n: SyntaxNode): boolean {
  const body = t.childForFieldName('body');
  return !!body && body.startIndex <= n.startIndex && n.endIndex <= body.endIndex;
}

/** A bare `except:`, or one naming anything but an interrupt or an exit (`except Exception`, `except OSError`). */
function catchesFailure(h: SyntaxNode): boolean {
  const what = h.namedChildren.find((c) => c.type !== 'block' && c.type !== 'comment');
  if (!what) return true;
  const type = what.type === 'as_pattern' ? what.namedChild(0)! : what;
  const names = type.type === 'tuple' || type.type === 'parenthesized_expression' ? type.namedChildren.map((c) => c.text) : [type.text];
  return names.some((x) => !NOT_A_FAILURE.test(x.replace(/^builtins\./, '')));
}

function isLogged(s: SyntaxNode): boolean {
  const e = s.type === 'expression_statement' ? s.namedChild(0) : null;
  return !!e && e.type === 'call' && isLogCall(e);
}
