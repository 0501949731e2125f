// Concern: a business teardown the legacy loop ran when it was interrupted. `try: while self.running: ...
// except KeyboardInterrupt: self.shutdown(); raise` (or a `finally:`) around the loop the entry point runs,
// with an entry point that turns SIGTERM into KeyboardInterrupt, was the agent's whole stop: its teardown
// saved state or logged its last totals there. On the base, SIGTERM and SIGINT go to the base's handler,
// which runs the agent's cleanup() and ends the process with SystemExit: no `except KeyboardInterrupt`
// sees it (and a `finally` sees it only after the base has deregistered). The teardown is wired into the
// base's API: a cleanup() override (the method the base's handler runs) calls it, and the teardown ends
// with the base's own teardown (teardown-super). Where a `finally` (or a clause catching SystemExit) still
// calls it after the base's handler ran, a guard at its top keeps it to once.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { selfAttribute, walk } from '../../src/lang/python/syntax.js';
import { lineStart } from '../../src/lang/python/text.js';
import { TEARDOWN, calledByEntryPoint, entryHandlerCalls, entryInterruptCalls, reachedAtShutdown } from './remove-teardown.js';
import { guardOnce } from './teardown-super.js';
import { teardownHandlerWired, threadFlagPrelude } from './remove-signal-handlers.js';
import { handlerLogLines } from './entry-handler-log-line.js';

/** A `self.<teardown>()` call on the interrupted loop's way out; `survives`: it runs on SystemExit too. */
interface InterruptCall {
  call: SyntaxNode;
  method: string;
  survives: boolean;
  /** 'finally', 'except', or 'handler' (the entry point's signal handler, installed at `line`) */
  clause: string;
  line?: number;
}

/**
 * Calls of self.<name>() in an `except KeyboardInterrupt` (or BaseException, or bare) clause or the
 * `finally` of a try around a loop, in the agent's main loop method or a method the entry point runs:
 * the legacy agent's shutdown path when it was interrupted (Ctrl-C, or SIGTERM turned into KeyboardInterrupt).
 */
export function interruptCalls(ctx: PythonTransformContext, name: string): InterruptCall[] {
  const out: InterruptCall[] = [];
  const mainLoop = ctx.py.main_loop_method ?? 'run';
  for (const [method, fn] of ctx.agent.methods) {
    if (method === name || fn.isAsync || (method !== mainLoop && !calledByEntryPoint(ctx, method))) continue;
    walk(fn.body, (tryStmt) => {
      if (tryStmt.type === 'function_definition' || tryStmt.type === 'class_definition' || tryStmt.type === 'lambda') return false;
      if (tryStmt.type !== 'try_statement' || !containsLoop(tryStmt.childForFieldName('body'))) return;
      for (const clause of tryStmt.namedChildren) {
        const kind = clauseKind(clause);
        if (!kind) continue;
        walk(clause, (n) => {
          if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
          if (n.type === 'call' && selfAttribute(n.childForFieldName('function')!) === name && !n.childForFieldName('arguments')?.namedChildren.length) {
            out.push({ call: n, method, survives: kind === 'survives', clause: clause.type === 'finally_clause' ? 'finally' : 'except' });
          }
        });
      }
    });
  }
  // The entry point's `try: agent.run() except KeyboardInterrupt: agent.shutdown()`: the same path out.
  if (ctx.base.handlesSignals) {
    for (const c of entryInterruptCalls(ctx, name)) out.push({ call: c.call, method: c.started, survives: false, clause: 'except' });
  }
  // The entry point's own SIGTERM/SIGINT handler, installed before the agent is built, which the base's
  // constructor replaces with its own: the handler's agent.shutdown() was the legacy agent's stop.
  if (ctx.base.handlesSignals && ctx.base.signalsAtInit) {
    for (const c of entryHandlerCalls(ctx, name)) out.push({ call: c.call, method: c.handler, survives: false, clause: 'handler', line: c.line });
  }
  return out;
}

/**
 * 'interrupt': an except clause KeyboardInterrupt reaches but SystemExit does not; 'survives': a
 * `finally`, or a clause catching SystemExit too (bare, BaseException, SystemExit); null otherwise.
 */
export function clauseKind(clause: SyntaxNode): 'interrupt' | 'survives' | null {
  if (clause.type === 'finally_clause') return 'survives';
  if (clause.type !== 'except_clause') return null;
  const block = clause.namedChildren.find((c) => c.type === 'block');
  const header = clause.text.slice(0, (block?.startIndex ?? clause.endIndex) - clause.startIndex);
  if (/^except\s*:/.test(header) || /\b(BaseException|SystemExit)\b/.test(header)) return 'survives';
  return /\bKeyboardInterrupt\b/.test(header) ? 'interrupt' : null;
}

export function containsLoop(block: SyntaxNode | null): boolean {
  let found = false;
  if (block) walk(block, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type === 'while_statement' || n.type === 'for_statement') found = true;
  });
  return found;
}

/** The base method its signal handler runs that a cleanup override can take, or null when the agent cannot get one. */
export function interruptWiringTarget(ctx: PythonTransformContext, name: string): string | null {
  const target = ctx.py.teardown ?? 'cleanup';
  if (name === target || ctx.agent.methods.has(target)) return null;
  if (!ctx.base.handlesSignals || !ctx.base.methods.has(target) || !ctx.base.shutdownCalls.has(target)) return null;
  return target;
}

/** Will the teardown be wired into the base's cleanup() override (so it still runs at shutdown)? */
export function wiredAtInterrupt(ctx: PythonTransformContext, name: string): boolean {
  const fn = ctx.agent.methods.get(name);
  if (!fn || fn.isAsync || fn.params.some((p) => p.name !== 'self' && p.kind === 'plain')) return false;
  const target = interruptWiringTarget(ctx, name);
  // A teardown that calls self.cleanup() itself (the base's, today) would call the override back.
  if (!target || reaches(ctx, name, target, new Set())) return false;
  return interruptCalls(ctx, name).length > 0 || teardownHandlerWired(ctx, name);
}

/** Does the agent's method call self.<target>(), itself or through the agent's other methods? */
export function reaches(ctx: PythonTransformContext, from: string, target: string, seen: Set<string>): boolean {
  if (seen.has(from)) return false;
  seen.add(from);
  const fn = ctx.agent.methods.get(from);
  if (!fn) return false;
  let found = false;
  walk(fn.body, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    const m = n.type === 'call' ? selfAttribute(n.childForFieldName('function')!) : null;
    if (m && (m === target || reaches(ctx, m, target, seen))) found = true;
  });
  return found;
}

export const interruptTeardown: PythonTransform = {
  name: 'interrupt-teardown',
  phase: 'edit',
  run(ctx) {
    const teardowns = new Set([...ctx.agent.methods.keys()].filter((n) => TEARDOWN.test(n) || n === ctx.py.teardown));
    // Only where nothing else runs it at shutdown on the base (the base itself, the entry point, a handler).
    const kept = [...ctx.agent.methods.entries()].filter(
      ([name, fn]) => teardowns.has(name) && !isRemoved(ctx, fn.outer) && wiredAtInterrupt(ctx, name) &&
        !reachedAtShutdown(ctx, name, teardowns, new Set(), true, false, false),
    );
    // A teardown another wired one calls runs from there.
    const wired = kept.filter(([name]) => !kept.some(([other]) => other !== name && reaches(ctx, other, name, new Set())));
    if (!wired.length) return;
    const target = interruptWiringTarget(ctx, wired[0]![0])!;
    const first = wired[0]![1];
    const indent = ctx.source.slice(lineStart(ctx.source, first.outer.startIndex), first.outer.startIndex);
    if (!/^[ \t]*$/.test(indent)) return;
    const eol = ctx.layout.eol;
    const unit = ctx.layout.unit;
    // What a removed SIGTERM handler set to end a thread's loop, first.
    // The replaced entry-point handler's own log lines, first, as it wrote them before its teardown (entry-handler-log-line).
    const logged = handlerLogLines(ctx);
    const lines = logged.target === target ? logged.carried.flatMap((l) => l.lines) : [];
    const body = [...lines, ...threadFlagPrelude(ctx, target), ...wired.map(([name]) => `self.${name}()`)].map((l) => `${indent}${unit}${l}${eol}`).join('');
    ctx.edits.insert(lineStart(ctx.source, first.outer.startIndex), `${indent}def ${target}(self):${eol}${body}${eol}`, 'interrupt-teardown');
    for (const [name, fn] of wired) {
      const calls = interruptCalls(ctx, name).filter((c) => !isRemoved(ctx, c.call));
      const again = calls.find((c) => c.survives);
      const once = again && guardOnce(ctx, name, fn, 'interrupt-teardown')
        ? `; it runs once (${again.method}()'s ${again.clause} calls it again after the base's handler ran)`
        : '';
      const handler = interruptCalls(ctx, name).find((c) => c.clause === 'handler');
      const loops = [...new Set(interruptCalls(ctx, name).filter((c) => c.clause !== 'handler').map((c) => c.method))];
      const how = handler && !loops.length
        ? `, from the ${target}() override ${ctx.profile.base_class}'s signal handler runs: the entry point's own SIGTERM/SIGINT handler ` +
          `(${handler.method}, installed at line ${handler.line}, before the agent is built) called it, and ${ctx.profile.base_class}'s constructor ` +
          `installs its own handler over that one${once}`
        : loops.length
        ? `, from the ${target}() override ${ctx.profile.base_class}'s signal handler runs: the legacy agent ran it when the loop in ` +
          `${loops.join('(), ')}() was interrupted, and SIGTERM/SIGINT now end the agent ` +
          `with SystemExit, which no \`except KeyboardInterrupt\` sees${once}`
        : `, from the ${target}() override ${ctx.profile.base_class}'s signal handler runs: the legacy agent installed it as its own ` +
          `SIGTERM/SIGINT handler, and ${ctx.profile.base_class} installs its own, which calls ${target}()${once}`;
      const note = ctx.resolved?.notes.find((n) => n.symbol === name);
      if (note) note.reason += how;
      else ctx.warnings.push(`${ctx.agent.cls.name}.${name}() runs at shutdown${how}`);
    }
  },
};
