// Concern: a kept method whose main loop ends in the agent's own teardown, part of which went because the
// base does it now (`self.health.shutdown()` after `while not self.stopped():`, or the health listener of
// an `async with relay, health:`). Where the agent's own signal handler (installed after the base's, so it
// replaces it) only ends that loop, the method's tail is the agent's whole shutdown: without the base's
// teardown there, the agent stops serving but stays registered with the registry (and its last metrics
// are never pushed). The base's teardown takes the place of what went, after the tail's statements that
// stay; it runs once however often it is called (checked on the base's code), so a SIGTERM that reached
// the base first makes it a no-op.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { isDocstring, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { lineEnd, lineStart } from '../../src/lang/python/text.js';
import { TEARDOWN } from './remove-teardown.js';
import { signalHandlers } from './teardown-super.js';
import { asyncHealthListeners, healthPortExpressions } from './remove-health.js';

/** Calls that shut a transport down. */
const SHUTDOWN_VERB = /^(shutdown|server_close|close|join|stop|terminate)$/;

export const loopTailTeardown: PythonTransform = {
  name: 'loop-tail-teardown',
  phase: 'edit',
  run(ctx) {
    const target = ctx.py.teardown ?? 'cleanup';
    if (!ctx.base.methods.has(target) || !ctx.base.idempotentTeardown.has(target)) return;
    for (const { name, last } of loopTails(ctx, target)) {
      const src = ctx.source;
      const eol = ctx.layout.eol;
      const anchor = last.type === 'return_statement' ? last : null;
      const indentOf = (n: SyntaxNode) => src.slice(lineStart(src, n.startIndex), n.startIndex);
      const indent = indentOf(last);
      if (!/^[ \t]*$/.test(indent)) continue;
      // The base's teardown reaches its own stop() through self.stop(), which the agent's kept stop() (its
      // SIGTERM handler clearing the loop flag) overrides without calling the base's: super().cleanup() alone
      // would end in the agent's, and the base would never deregister. Its shadowed step is called too.
      const shadowed = shadowedTeardownSteps(ctx, target);
      // The base's teardown is only self.<step>(), and the agent's <step>() is its own signal handler: the
      // signal ran it already, and the legacy's tail never called it. super().<target>() would run its work
      // (a flush, a line appended to a state file) a second time at shutdown; the base's <step>() is what the
      // tail lacks.
      const step = handlerStep(ctx, target);
      const lines = (step ? [step] : [target, ...shadowed]).map((m) => `super().${m}()`);
      const call = lines.map((l) => `${indent}${l}${eol}`).join('');
      if (anchor) ctx.edits.insert(lineStart(src, anchor.startIndex), call, 'loop-tail-teardown');
      else {
        const at = lineEnd(src, last.endIndex);
        if (at < src.length) ctx.edits.insert(at, call, 'loop-tail-teardown');
        else ctx.edits.insert(src.length, lines.map((l) => `${eol}${indent}${l}`).join(''), 'loop-tail-teardown');
      }
      const fn = ctx.agent.methods.get(name)!;
      const gone = (n: SyntaxNode) => isRemoved(ctx, n);
      const lost = statements(fn.body).some((st) => (gone(st) && isShutdownStatement(st)) || emptiedShutdown(ctx, st, gone));
      const own = !lost && (endedByOwnHandler(ctx, fn, gone) || (fn.isAsync && endedByOwnLoopHandler(ctx, fn, gone)));
      ctx.warnings.push(
        (own
          ? `${ctx.agent.cls.name}.${name}()'s loop is ended by the agent's own SIGTERM/SIGINT handler, installed over ${ctx.profile.base_class}'s: it ends with super().${step ?? target}()`
          : `${ctx.agent.cls.name}.${name}() ended its loop by shutting down what ${ctx.profile.base_class} owns now: it ends with super().${step ?? target}() ` +
            `instead`) +
          `, so a stop that only ends the loop (the agent's own signal handler) also deregisters the agent and stops the base ` +
          `(its ${step ?? target}() runs once however often it is called)` +
          (step
            ? `; not super().${target}(): ${ctx.profile.base_class}.${target}() only calls self.${step}(), the agent's own SIGTERM/SIGINT handler, which the signal already ran (super().${target}() would run its work a second time at shutdown; the legacy's tail never called it)`
            : shadowed.length
            ? `; and with super().${shadowed.join('(), super().')}(): ${ctx.profile.base_class}.${target}() calls self.${shadowed.join('(), self.')}(), which the agent's own ${shadowed.join('(), ')}() overrides without calling the base's`
            : ''),
      );
    }
  },
};

/**
 * The step the base's teardown `target` is made of (BaseAgent.cleanup() is `self.stop()`) when the agent
 * overrides it with a kept SIGTERM/SIGINT handler of its own: the tail calls the base's step itself.
 */
function handlerStep(ctx: PythonTransformContext, target: string): string | null {
  const step = ctx.base.delegates?.get(target);
  if (!step || !ctx.base.methods.has(step) || !ctx.base.idempotentTeardown.has(step)) return null;
  const fn = ctx.agent.methods.get(step);
  if (!fn || isRemoved(ctx, fn.outer) || ctx.renames.has(step) || !signalHandlers(ctx).has(step)) return null;
  return step;
}

/**
 * Methods the base's teardown `target` calls on self (BaseAgent.cleanup() -> self.stop()) that the agent
 * overrides with a kept signal handler not calling the base's own (`def stop(self, *_): self.running = False`,
 * installed for SIGTERM; teardown-super leaves handlers alone and ends any other kept teardown with the
 * base's): through them super().<target>() ends in the agent's method, never in the base's.
 */
function shadowedTeardownSteps(ctx: PythonTransformContext, target: string): string[] {
  const out: string[] = [];
  // Only the agent's own signal handlers: teardown-super ends any other kept teardown with the base's.
  const handlers = signalHandlers(ctx);
  for (const step of ctx.base.signalCalls.graph.get(target) ?? []) {
    const fn = ctx.agent.methods.get(step);
    if (!fn || !handlers.has(step) || isRemoved(ctx, fn.outer) || ctx.renames.has(step) || !ctx.base.methods.has(step) || !ctx.base.idempotentTeardown.has(step)) continue;
    // `super().stop()` in the agent's stop(): the base's step runs; another base method (`super().flush()`) is not it.
    let callsBase = false;
    walk(fn.body, (n) => {
      if (n.type === 'call' && /^super\(.*\)\.(\w+)$/s.exec(n.childForFieldName('function')?.text ?? '')?.[1] === step) callsBase = true;
    });
    if (!callsBase) out.push(step);
  }
  return out;
}

/**
 * The kept methods whose loop's tail is the agent's shutdown and lost what the base does now: each ends
 * with the base's teardown after its last kept statement (`last`).
 */
export function loopTails(ctx: PythonTransformContext, target = ctx.py.teardown ?? 'cleanup'): Array<{ name: string; last: SyntaxNode }> {
  const out: Array<{ name: string; last: SyntaxNode }> = [];
  if (!ctx.base.methods.has(target) || !ctx.base.idempotentTeardown.has(target)) return out;
  const listeners = asyncHealthListeners(ctx, healthPortExpressions(ctx)).filter((l) => l.withItems.length || l.soleWiths.length || l.collected);
  for (const [name, fn] of ctx.agent.methods) {
    const last = tailEnd(ctx, fn, target, listeners, (n) => isRemoved(ctx, n));
    if (last) out.push({ name, last });
  }
  return out;
}

/**
 * Whether loopTails ends the kept sync method `fn` with the base's teardown, `gone` saying what of the
 * input the rewrite deletes: asked while the plan resolves (a signal handler's condition), before
 * isRemoved can answer.
 */
export function tailGetsBaseTeardown(ctx: PythonTransformContext, fn: PyFunction, gone: (n: SyntaxNode) => boolean): boolean {
  const target = ctx.py.teardown ?? 'cleanup';
  if (!ctx.base.methods.has(target) || !ctx.base.idempotentTeardown.has(target) || fn.isAsync) return false;
  return tailEnd(ctx, fn, target, [], gone) !== null;
}

/** The last kept statement of `fn`'s loop tail, after which the base's teardown goes (null: none goes there). */
function tailEnd(ctx: PythonTransformContext, fn: PyFunction, target: string, listeners: ReturnType<typeof asyncHealthListeners>, gone: (n: SyntaxNode) => boolean): SyntaxNode | null {
  // Teardown methods end with the base's own teardown already (teardown-super, exit-teardown).
  if (fn.name === '__init__' || fn.name === '__exit__' || fn.name === target || TEARDOWN.test(fn.name)) return null;
  if (gone(fn.outer) || callsTeardown(fn, target, gone)) return null;
  const block = tailBlock(ctx, fn, listeners, gone);
  const last = block ? statements(block).filter((st) => !gone(st)).pop() : undefined;
  return last && last.type !== 'raise_statement' ? last : null;
}

/** The method calls a teardown already (the base's, or one of the agent's own). */
function callsTeardown(fn: PyFunction, target: string, gone: (n: SyntaxNode) => boolean): boolean {
  let found = false;
  walk(fn.body, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type !== 'call' || gone(n)) return;
    const f = n.childForFieldName('function')!;
    const m = selfAttribute(f) ?? /^super\(.*\)\.(\w+)$/s.exec(f.text)?.[1];
    if (m && (m === target || TEARDOWN.test(m))) found = true;
  });
  return found;
}

/**
 * The block at the end of the method's main loop holding a removed shutdown of a member the base owns
 * now: the method's own body after a top-level loop, or the `finally` of a top-level try around it; for an
 * async method, its body when the health listener it served in an `async with` went.
 */
function tailBlock(ctx: PythonTransformContext, fn: PyFunction, listeners: ReturnType<typeof asyncHealthListeners>, gone: (n: SyntaxNode) => boolean): SyntaxNode | null {
  const top = statements(fn.body);
  if (fn.isAsync) {
    const served = listeners.some((l) => fn.body.startIndex <= l.stmt.startIndex && l.stmt.endIndex <= fn.body.endIndex && gone(l.stmt));
    return served || endedByOwnLoopHandler(ctx, fn, gone) ? fn.body : null;
  }
  let looped = false;
  for (const st of top) {
    if (isLoop(st)) {
      if (!looped && endedByOwnHandler(ctx, fn, gone)) return fn.body;
      looped = true;
    } else if (looped && ((gone(st) && isShutdownStatement(st)) || emptiedShutdown(ctx, st, gone))) return fn.body;
    else if (st.type === 'try_statement' && containsLoop(st.childForFieldName('body'))) {
      const fin = st.namedChildren.find((c) => c.type === 'finally_clause');
      const block = fin?.namedChildren.find((c) => c.type === 'block');
      if (block && statements(block).some((s) => gone(s) && isShutdownStatement(s))) return block;
      looped = true;
    }
  }
  return null;
}

/**
 * `self._stop_health()` after the loop, calling a method of the agent whose every statement goes and
 * one of them a shutdown (`self.health_server.shutdown()`): the call stays, on a method left as `pass`,
 * and the tail lost that shutdown all the same.
 */
function emptiedShutdown(ctx: PythonTransformContext, st: SyntaxNode, gone: (n: SyntaxNode) => boolean): boolean {
  const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
  const f = e?.type === 'call' && (e.childForFieldName('arguments')?.namedChildCount ?? 1) === 0 ? e.childForFieldName('function') : null;
  const m = f?.type === 'attribute' && f.childForFieldName('object')?.text === 'self' ? ctx.agent.methods.get(f.childForFieldName('attribute')!.text) : undefined;
  if (!m || m.isAsync || gone(m.outer)) return false;
  const body = statements(m.body).filter((x) => !isDocstring(x));
  return body.length > 0 && body.every(gone) && body.some(isShutdownStatement);
}

/**
 * The agent installs its own SIGTERM/SIGINT handler over the base's before `fn`'s first top-level loop (in
 * `fn` itself, or in the constructor when `fn` is the main loop method), and the install stays: that
 * handler ends the loop and only the tail runs at stop, so the tail is where the base's teardown goes.
 */
function endedByOwnHandler(ctx: PythonTransformContext, fn: PyFunction, gone: (n: SyntaxNode) => boolean): boolean {
  if (!ctx.base.handlesSignals) return false;
  const kept = (st: SyntaxNode) => !gone(st) && installsStopHandler(st);
  const init = ctx.agent.methods.get('__init__');
  if (fn.name === (ctx.py.main_loop_method ?? 'run') && init && statements(init.body).some(kept)) return true;
  const top = statements(fn.body);
  const loop = top.findIndex(isLoop);
  return loop > 0 && top.slice(0, loop).some(kept);
}

/**
 * The coroutine installs a SIGTERM/SIGINT handler on its own event loop (`loop.add_signal_handler(sig,
 * self._stopping.set)`, in a statement that stays, before its last one) that is no method of the agent:
 * asyncio puts it in place of the base's handler, so the stop only wakes the coroutine and its tail is
 * the agent's whole shutdown. (A handler that is a method of the agent gets the base's teardown itself:
 * teardown-super.)
 */
function endedByOwnLoopHandler(ctx: PythonTransformContext, fn: PyFunction, gone: (n: SyntaxNode) => boolean): boolean {
  if (!ctx.base.handlesSignals) return false;
  const top = statements(fn.body);
  return top.slice(0, -1).some((st) => {
    let found = false;
    if (!gone(st)) walk(st, (n) => {
      if (found || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
      if (n.type !== 'call' || gone(n) || !/(^|\.)add_signal_handler$/.test(n.childForFieldName('function')!.text)) return;
      const args = n.childForFieldName('arguments')?.namedChildren ?? [];
      const method = args[1] ? selfAttribute(args[1]) : null;
      if (args.length < 2 || (method && ctx.agent.methods.has(method))) return;
      let stops = STOP_SIGNAL.test(args[0]!.text);
      for (let p = n.parent; p && !stops && p.id !== fn.body.id; p = p.parent) {
        if (p.type === 'for_statement' && /\bSIG(TERM|INT)\b/.test(p.childForFieldName('right')?.text ?? '')) stops = true;
      }
      if (stops) found = true;
    });
    return found;
  });
}

/** The signals that stop an agent, as a handler's install names them (`signal.SIGTERM`, `SIGINT`). */
export const STOP_SIGNAL = /(^|\.)SIG(TERM|INT)$/;

/** `signal.signal(signal.SIGTERM, ...)` (or SIGINT) as a statement. */
function installsStopHandler(st: SyntaxNode): boolean {
  const call = st.type === 'expression_statement' ? st.namedChild(0) : null;
  if (call?.type !== 'call' || !/^(signal\.)?signal$/.test(call.childForFieldName('function')!.text)) return false;
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  return args.length === 2 && STOP_SIGNAL.test(args[0]!.text);
}

function isLoop(st: SyntaxNode): boolean {
  return st.type === 'while_statement' || st.type === 'for_statement';
}

function containsLoop(block: SyntaxNode | null): boolean {
  return !!block && statements(block).some(isLoop);
}

/**
 * A statement that only shuts members down: `self.<member>.shutdown()`, or such calls under a guard
 * (`if self.httpd:` with no else) or a try whose handlers only log (`try: self.x.close() except ...`).
 */
function isShutdownStatement(st: SyntaxNode): boolean {
  if (isShutdownCall(st)) return true;
  const only = (block: SyntaxNode | null | undefined) => {
    const body = block ? statements(block) : [];
    return body.length > 0 && body.every(isShutdownStatement);
  };
  if (st.type === 'if_statement') {
    return !st.childForFieldName('alternative') && only(st.childForFieldName('consequence'));
  }
  if (st.type === 'try_statement') {
    return !st.namedChildren.some((c) => c.type === 'finally_clause' || c.type === 'else_clause') && only(st.childForFieldName('body'));
  }
  return false;
}

/** `self.<member>.shutdown()` (or close/join/...) as a statement. */
function isShutdownCall(st: SyntaxNode): boolean {
  if (st.type !== 'expression_statement') return false;
  const call = st.namedChild(0);
  if (call?.type !== 'call') return false;
  const f = call.childForFieldName('function');
  if (f?.type !== 'attribute' || !SHUTDOWN_VERB.test(f.childForFieldName('attribute')!.text)) return false;
  return selfAttribute(f.childForFieldName('object')!) !== null;
}
