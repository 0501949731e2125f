// Concern: SIGTERM/SIGINT handlers the base installs itself. A handler that does more
// than stop the agent (saves state, notifies peers) stays installed, with its method.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isInfraBlock, isInfraStatement, isTrivial, type InfraScope } from '../../src/analysis/infra.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { walkAgentCode } from '../../src/analysis/agent-model.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { calledByEntryPoint } from './remove-teardown.js';
import { callee, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';

const HANDLED = /(^|\.)SIG(TERM|INT)$/;

export const removeSignalHandlers: PythonTransform = {
  name: 'remove-signal-handlers',
  phase: 'propose',
  run(ctx) {
    // A base that installs no handler of its own needs the agent's (they end the loop so state is saved).
    if (!ctx.base.handlesSignals) return;
    const gentle = new Set<string>();
    for (const fn of ctx.agent.methods.values()) {
      walkAgentCode(fn, (n) => {
        if (n.type !== 'expression_statement') return;
        const call = n.namedChild(0);
        if (call?.type !== 'call' || !/^(signal\.)?signal$/.test(callee(call) ?? '')) return;
        const args = call.childForFieldName('arguments')?.namedChildren ?? [];
        if (args.length !== 2 || !HANDLED.test(args[0]!.text)) return;
        const handler = selfAttribute(args[1]!) ?? lambdaCalling(args[1]!);
        if (!handler || !ctx.agent.methods.has(handler)) return;
        const h = ctx.agent.methods.get(handler)!;
        // The handler ends the loop, and the loop's method then tears down after it (not in a
        // finally:): the base's handler would exit through the loop (SystemExit) and skip that
        // teardown. Installed as before, it still ends the loop gently; the kept teardown then
        // ends with the base's (teardown-super).
        const after = workAfterLoop(ctx);
        const blockedIn = new Set(blockingCalls(ctx, loopMethods(ctx)).map((b) => b.member));
        if (after && onlyEndsMainLoop(ctx, h.body, { removed: new Set(), baseOwned: ctx.baseOwned }, blockedIn)) {
          if (gentle.has(handler)) return;
          gentle.add(handler);
          ctx.warnings.push(
            `${handler}() stays installed as the SIGTERM/SIGINT handler: it ends the loop of ${ctx.py.main_loop_method ?? 'run'}(), which then tears down (line ${after.startPosition.row + 1}: ${after.text.split('\n')[0]!.trim()}); ` +
            `${ctx.profile.base_class}'s own handler would leave through the loop and skip that`,
          );
          return;
        }
        ctx.plan.proposeMember({
          name: handler,
          kind: 'method',
          finding: 'signal',
          reason: 'signal handler (the base handles SIGTERM/SIGINT)',
          condition: (scope) =>
            isInfraBlock(h.body, scope) || onlyEndsMainLoop(ctx, h.body, scope, blockedIn)
              ? null
              : `signal handler does more than stop the agent; kept installed`,
        });
        ctx.plan.proposeStatement({
          node: n,
          symbol: `signal.signal(${args[0]!.text})`,
          finding: 'signal',
          reason: 'the base installs its own handler',
          requires: [handler],
        });
      });
    }
  },
};

/** `lambda signum, frame: self.stop()`: the method a lambda handler only calls. */
function lambdaCalling(arg: SyntaxNode): string | null {
  if (arg.type !== 'lambda') return null;
  const body = arg.childForFieldName('body');
  if (body?.type !== 'call') return null;
  const params = new Set((arg.childForFieldName('parameters')?.namedChildren ?? []).map((p) => p.text.replace(/^\*+/, '')));
  const callArgs = body.childForFieldName('arguments')?.namedChildren ?? [];
  if (!callArgs.every((a) => params.has(a.text.replace(/^\*+/, '')))) return null;
  return selfAttribute(body.childForFieldName('function')!);
}

/** The loops of the agent's main loop method, top level of its body or of a with/try body. */
function mainLoops(ctx: PythonTransformContext, runs: PyFunction[]): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (const run of runs) {
    walk(run.body, (n) => {
      if (n.type === 'while_statement') out.push(n);
      if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda' || n.type === 'while_statement') return false;
    });
  }
  return out;
}

/**
 * The agent's methods that run its main loop: the profile's main loop method, and what the entry
 * point runs on the agent (the legacy run() of an agent moving onto run_forever()).
 */
function loopMethods(ctx: PythonTransformContext): PyFunction[] {
  const main = ctx.py.main_loop_method ?? 'run';
  return [...ctx.agent.methods.values()].filter((m) => m.name === main || (m.name !== '__init__' && calledByEntryPoint(ctx, m.name)));
}

/** Where the main loop method blocks in a member instead of a while loop: `self.scheduler.run()`, `self.server.serve_forever()`. */
function blockingCalls(ctx: PythonTransformContext, runs: PyFunction[]): Array<{ stmt: SyntaxNode; member: string }> {
  const out: Array<{ stmt: SyntaxNode; member: string }> = [];
  for (const run of runs) walk(run.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda' || n.type === 'while_statement') return false;
    const e = n.type === 'expression_statement' ? n.namedChild(0) : null;
    const fn = e?.type === 'call' ? e.childForFieldName('function') : null;
    if (fn?.type !== 'attribute' || !BLOCKING.test(fn.childForFieldName('attribute')!.text)) return;
    const member = selfAttribute(fn.childForFieldName('object')!);
    if (member && !ctx.agent.methods.has(member)) out.push({ stmt: n, member });
  });
  return out;
}

/** `self.cleanup()` as a statement: the method's name. */
function selfCallOf(st: SyntaxNode): string | null {
  const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
  return e?.type === 'call' && (e.childForFieldName('arguments')?.namedChildCount ?? 0) === 0 ? selfAttribute(e.childForFieldName('function')!) : null;
}

const BLOCKING = /^(run|serve_forever|run_forever|join|wait)$/;
/** What tells a member the main loop blocks in to return (a scheduler's events cancelled, a server shut down). */
const STOPPING = /^(cancel|shutdown|stop|set|clear|close|cancel_all)$/;

/**
 * The first statement after the main loop, in the loop's own block, that does work (not a log
 * line, a sleep or a bare return): what only runs when the loop ends by its condition.
 */
function workAfterLoop(ctx: PythonTransformContext): SyntaxNode | null {
  // Only an override of the base's own main loop method stays as it is; a legacy loop under another
  // name (run() of an agent moving onto run_forever()) goes, its teardown moved by its own transform.
  const main = ctx.agent.methods.get(ctx.py.main_loop_method ?? 'run');
  const runs = main ? [main] : [];
  for (const loop of [...mainLoops(ctx, runs), ...blockingCalls(ctx, runs).map((b) => b.stmt)]) {
    const block = loop.parent;
    if (!block) continue;
    const siblings = statements(block);
    const after = siblings.slice(siblings.findIndex((s) => s.id === loop.id) + 1);
    // A call of a teardown the base's own handler makes too (self.cleanup()) is not skipped by it.
    const work = after.find((s) => !isTrivial(s) && !ctx.base.shutdownCalls.has(selfCallOf(s) ?? ''));
    if (work) return work;
  }
  return null;
}

/**
 * The handler only ends the main loop: it sets the event or flag the loop's condition reads
 * (`self.stop_event.set()` for `while not self.stop_event.is_set()`). The base's own handler
 * ends the process instead (SystemExit through the loop), and the entry point's teardown follows.
 */
function onlyEndsMainLoop(ctx: PythonTransformContext, body: SyntaxNode, scope: InfraScope, blockedIn: Set<string> = new Set()): boolean {
  // A legacy loop under another name only counts when it goes (the base's loop replaces it and the
  // base's handler stops that): kept, it still needs the handler that ends it.
  const main = ctx.py.main_loop_method ?? 'run';
  const runs = loopMethods(ctx).filter((m) => m.name === main || scope.removed.has(m.name));
  if (runs.length === 0) return false;
  const loopReads = new Set<string>();
  for (const run of runs) walk(run.body, (n) => {
    if (n.type === 'while_statement') {
      const cond = n.childForFieldName('condition');
      if (cond) walk(cond, (c) => {
        const a = selfAttribute(c);
        if (a) loopReads.add(a);
      });
    }
  });
  // `for event in list(self.scheduler.queue): try: self.scheduler.cancel(event) except ValueError: pass`
  const unblocks = (st: SyntaxNode): boolean => {
    if (st.type === 'pass_statement' || isTrivial(st)) return true;
    if (st.type === 'for_statement') {
      const right = st.childForFieldName('right');
      let over = false;
      if (right) walk(right, (c) => {
        if (selfAttribute(c) && blockedIn.has(selfAttribute(c)!)) over = true;
      });
      return over && statements(st.childForFieldName('body')).every(unblocks) && !st.namedChildren.some((c) => c.type === 'else_clause');
    }
    if (st.type === 'try_statement') {
      return st.namedChildren.every((c) => {
        if (c.type === 'block') return statements(c).every(unblocks);
        if (c.type === 'except_clause') return statements(c.namedChildren.find((x) => x.type === 'block') ?? null).every((x) => x.type === 'pass_statement' || isTrivial(x));
        return c.type !== 'finally_clause' && c.type !== 'else_clause';
      });
    }
    const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
    const fn = e?.type === 'call' ? e.childForFieldName('function') : null;
    const member = fn?.type === 'attribute' ? selfAttribute(fn.childForFieldName('object')!) : null;
    return !!member && blockedIn.has(member) && STOPPING.test(fn!.childForFieldName('attribute')!.text);
  };
  return statements(body).every((st) => {
    if (isInfraStatement(st, scope)) return true;
    if (blockedIn.size && unblocks(st)) return true;
    const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
    if (e?.type === 'call') {
      const fn = e.childForFieldName('function');
      const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
      const a = obj ? selfAttribute(obj) : null;
      return !!a && loopReads.has(a) && fn!.childForFieldName('attribute')!.text === 'set';
    }
    if (e?.type === 'assignment') {
      const a = selfAttribute(e.childForFieldName('left')!);
      return !!a && loopReads.has(a) && /^(False|True|None)$/.test(e.childForFieldName('right')?.text ?? '');
    }
    return false;
  });
}
