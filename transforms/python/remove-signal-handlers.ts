// Concern: SIGTERM/SIGINT handlers the base installs itself. A handler that does more
// than stop the agent (saves state, notifies peers) stays installed, with its method.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isInfraBlock, isInfraStatement, isTrivial, type InfraScope } from '../../src/analysis/infra.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { walkAgentCode } from '../../src/analysis/agent-model.js';
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
        if (after && onlyEndsMainLoop(ctx, h.body, { removed: new Set(), baseOwned: ctx.baseOwned })) {
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
            isInfraBlock(h.body, scope) || onlyEndsMainLoop(ctx, h.body, scope)
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
function mainLoops(ctx: PythonTransformContext): SyntaxNode[] {
  const run = ctx.agent.methods.get(ctx.py.main_loop_method ?? 'run');
  if (!run) return [];
  const out: SyntaxNode[] = [];
  walk(run.body, (n) => {
    if (n.type === 'while_statement') out.push(n);
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda' || n.type === 'while_statement') return false;
  });
  return out;
}

/**
 * The first statement after the main loop, in the loop's own block, that does work (not a log
 * line, a sleep or a bare return): what only runs when the loop ends by its condition.
 */
function workAfterLoop(ctx: PythonTransformContext): SyntaxNode | null {
  for (const loop of mainLoops(ctx)) {
    const block = loop.parent;
    if (!block) continue;
    const siblings = statements(block);
    const after = siblings.slice(siblings.findIndex((s) => s.id === loop.id) + 1);
    const work = after.find((s) => !isTrivial(s));
    if (work) return work;
  }
  return null;
}

/**
 * The handler only ends the main loop: it sets the event or flag the loop's condition reads
 * (`self.stop_event.set()` for `while not self.stop_event.is_set()`). The base's own handler
 * ends the process instead (SystemExit through the loop), and the entry point's teardown follows.
 */
function onlyEndsMainLoop(ctx: PythonTransformContext, body: SyntaxNode, scope: InfraScope): boolean {
  const run = ctx.agent.methods.get(ctx.py.main_loop_method ?? 'run');
  if (!run) return false;
  const loopReads = new Set<string>();
  walk(run.body, (n) => {
    if (n.type === 'while_statement') {
      const cond = n.childForFieldName('condition');
      if (cond) walk(cond, (c) => {
        const a = selfAttribute(c);
        if (a) loopReads.add(a);
      });
    }
  });
  return statements(body).every((st) => {
    if (isInfraStatement(st, scope)) return true;
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
