// Concern: the main loop the base runs. A `run()` that only keeps the process alive
// (sleeps while `running`, polls health) goes; one that holds business — request
// dispatch, business threads, hourly jobs — stays as an override of the base's run().
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isInfraBlock, isInfraStatement, isLogCall, memberSet } from '../../src/analysis/infra.js';
import { CALL_TYPE, callee, expressionOf, statements, walk, walkTypes } from '../../src/lang/python/syntax.js';

// The types the typed walks below act on (see walkTypes): every other position is passed over.
/** A while loop, and the scopes heartbeatLine does not enter. */
const WHILE_OR_SCOPE: ReadonlySet<string> = new Set(['while_statement', 'function_definition', 'class_definition', 'lambda']);
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { excerpt } from '../../src/core/excerpt.js';

export const removeMainLoop: PythonTransform = {
  name: 'remove-main-loop',
  phase: 'propose',
  run(ctx) {
    const name = ctx.py.main_loop_method ?? 'run';
    const fn = ctx.agent.methods.get(name);
    if (!fn) return;
    ctx.plan.proposeMember({
      name,
      kind: 'method',
      finding: 'loop',
      reason: `main loop (the base's ${name}() runs it)`,
      safeToKeep: keptLoopIsSafe(ctx, fn.body),
      condition: (scope) => keptLoopReason(ctx, fn, name, scope),
    });
  },
};

/** Why the legacy main loop stays (null: it is infrastructure the base's loop replaces). */
export function keptLoopReason(ctx: import('../../src/lang/python/transform-context.js').PythonTransformContext, fn: NonNullable<ReturnType<typeof ctx.agent.methods.get>>, name: string, scope: Parameters<typeof isInfraStatement>[1]): string | null {
  const extraParams = fn.params.filter((p) => p.name !== 'self' && p.kind !== 'separator');
  if (fn.isAsync) return `${name}() is async; kept`;
  if (extraParams.some((p) => p.kind === 'plain')) return `${name}() takes parameters; kept`;
  const beat = heartbeatLine(fn.body, scope);
  if (beat) {
    return `${name}() logs a line on every turn of its loop (line ${beat.startPosition.row + 1}: ${excerpt(beat.text, 60)}), which the base's ${name}() would not: kept as an override of the base's ${name}()${
      ctx.base.requestLoop ? '' : `; the base's ${name}() only loops a hook this agent does not define, and SIGTERM still stops the agent`}`;
  }
  if (isInfraBlock(fn.body, { ...scope, transportLocals: new Set() })) return null;
  const first = firstBusiness(fn.body, { ...scope, transportLocals: new Set() });
  return `${name}() holds business logic${first ? ` (line ${first.startPosition.row + 1}: ${excerpt(first.text, 50)})` : ''}: kept as an override of the base's ${name}()${
    !keptLoopIsSafe(ctx, fn.body)
      ? `, so the base's request loop no longer serves self.${ctx.base.requestLoop?.socket ?? 'socket'}`
      : ctx.base.requestLoop
        ? `; it serves the base's request socket itself (or the agent never had one)`
        : `; the base's ${name}() only loops a hook this agent does not define, and SIGTERM still stops the agent`}`;
}

/**
 * A log line the loop of run() writes on every turn (`logger.info("heartbeat: %d posted", self.posted)`
 * after the keep-alive sleep): what operators watch to see the agent alive, which a loop the base
 * runs instead would no longer write. Log lines only under an `except` or `if` are not every turn's;
 * one that reads a member that goes (and is not the base's) goes with it.
 */
export function heartbeatLine(body: SyntaxNode, scope: Parameters<typeof isInfraStatement>[1]): SyntaxNode | null {
  let found: SyntaxNode | null = null;
  walkTypes(body, WHILE_OR_SCOPE, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    const turn = (block: SyntaxNode | null): void => {
      for (const s of statements(block)) {
        if (found) return;
        if (s.type === 'try_statement') turn(s.childForFieldName('body'));
        const e = expressionOf(s);
        if (e && isLogCall(e) && [...memberSet(e)].every((m) => !scope.removed.has(m) || scope.baseOwned.has(m))) found = s;
      }
    };
    turn(n.childForFieldName('body'));
  });
  return found;
}

function firstBusiness(block: SyntaxNode, scope: Parameters<typeof isInfraStatement>[1]): SyntaxNode | null {
  for (const s of statements(block)) {
    if (isInfraStatement(s, scope)) continue;
    // `relay = self`, `class Health(...)`: an alias or a definition is no work of its own (what uses it is),
    // and it goes when its users do.
    const e = s.type === 'expression_statement' && s.namedChildCount === 1 ? s.namedChild(0) : null;
    if (e?.type === 'assignment' && e.childForFieldName('left')?.type === 'identifier' && e.childForFieldName('right')?.text === 'self') continue;
    if (s.type === 'class_definition' || s.type === 'function_definition' || s.type === 'decorated_definition') continue;
    if (['while_statement', 'try_statement', 'if_statement', 'for_statement', 'with_statement'].includes(s.type)) {
      for (const c of s.namedChildren) {
        const b = c.type === 'block' ? c : c.namedChildren.find((x) => x.type === 'block');
        if (b) {
          const inner = firstBusiness(b, scope);
          if (inner) return inner;
        }
      }
    }
    return s;
  }
  return null;
}

/**
 * Does an override of the base's run() lose nothing? Decided from the base's run(): when it
 * does not serve requests (it loops a periodic hook and stops), or when the agent's own loop
 * serves the very socket the base would, or when the agent never had requests through it.
 */
export function keptLoopIsSafe(ctx: import('../../src/lang/python/transform-context.js').PythonTransformContext, body: SyntaxNode): boolean {
  const loop = ctx.base.requestLoop;
  if (!loop) return !ctx.base.periodicHook || !ctx.agent.methods.has(ctx.base.periodicHook.hook);
  let serves = false;
  walkTypes(body, CALL_TYPE, (n) => {
    if (new RegExp(`^self\\.${loop.socket}\\.recv`).test(callee(n) ?? '')) serves = true;
  });
  if (serves) return true;
  return !ctx.agent.methods.has(loop.hook) && !ctx.agent.assignments.some((a) => a.attr === loop.socket);
}
