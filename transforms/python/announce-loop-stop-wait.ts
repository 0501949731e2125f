// Concern: a kept loop of the agent's (a heartbeat / re-announce thread) that sleeps and posts the agent's
// record to the registry the base registers with (`while self.running: time.sleep(N); self._announce()`).
// The base deregisters the agent at stop; the loop, asleep then, wakes and posts /register once more (a
// non-daemon thread always does: the interpreter waits for it; a daemon one when it wakes before the
// process ends): the registry keeps a dead agent. The loop's sleep becomes a wait on the event the base's
// stop() sets before it deregisters, ending the loop when it is set, so no post follows the
// deregistration and the thread ends at once (no join outlasts the base's stop grace). A loop whose
// registration went (own-registration: the base's record is the same) posts nothing and is left alone.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { callee, lineOf, selfAttribute, walkTypes } from '../../src/lang/python/syntax.js';
import { lineStart } from '../../src/lang/python/text.js';
import { findRegistryPath, postsTo, sameRegistry } from './own-registration.js';

const LOOPS_AND_SCOPES: ReadonlySet<string> = new Set(['while_statement', 'function_definition', 'class_definition', 'lambda']);
const CALLS_AND_SCOPES: ReadonlySet<string> = new Set(['call', 'function_definition', 'class_definition', 'lambda']);
const REGISTER = /(^|\/)register\/?$/;

export const announceLoopStopWait: PythonTransform = {
  name: 'announce-loop-stop-wait',
  phase: 'edit',
  run(ctx) {
    const event = ctx.base.stopEvent;
    if (!event || ctx.profile.validation?.registry === 'none') return;
    // The agent's own attribute or method of that name is not the base's event.
    if (ctx.agent.methods.has(event) || ctx.agent.assignments.some((a) => a.attr === event)) return;
    const src = ctx.edits.source;
    for (const fn of ctx.agent.methods.values()) {
      if (isRemoved(ctx, fn.outer) || fn.isAsync) continue;
      walkTypes(fn.body, LOOPS_AND_SCOPES, (loop) => {
        if (loop.type === 'class_definition' || loop.type === 'lambda') return false;
        // A nested function taking its own `self` is not the agent's code (a closure without one is).
        if (loop.type === 'function_definition') return /\bself\b/.test(loop.childForFieldName('parameters')?.text ?? '') ? false : undefined;
        const post = registryPost(ctx, loop);
        if (!post) return;
        const sleeps = loopSleeps(ctx, loop).filter((st) => /^[ \t]*$/.test(src.slice(lineStart(src, st.startIndex), st.startIndex)));
        if (!sleeps.length) return;
        for (const st of sleeps) {
          const indent = src.slice(lineStart(src, st.startIndex), st.startIndex);
          const arg = st.namedChild(0)!.childForFieldName('arguments')!.namedChild(0)!.text;
          ctx.edits.replace(st.startIndex, st.endIndex, `if self.${event}.wait(${arg}):${ctx.layout.eol}${indent}${ctx.layout.unit}break`, 'announce-loop-stop-wait');
        }
        const base = ctx.profile.base_class;
        ctx.warnings.push(
          `${fn.name}() (line ${lineOf(loop)}) re-registers the agent with the registry ${ctx.profile.validation?.registry_env ?? 'REGISTRY_URL'} names in a loop (${post}), kept: ` +
            `its sleep (line ${sleeps.map(lineOf).join(', ')}) is now a wait on self.${event}, which ${base}.stop() sets before it deregisters, and the loop ends there; ` +
            'asleep at stop, it posted /register again after the deregistration (the registry kept a dead agent)',
        );
        return false;
      });
    }
  },
};

/**
 * The loop's post of the agent's record to the base's registry: a call of a kept method of the agent whose own
 * body posts to a `/register` path of that registry (`self._announce()`), or such a post written in the loop.
 * A description of it, else null.
 */
function registryPost(ctx: PythonTransformContext, loop: SyntaxNode): string | null {
  let found: string | null = null;
  walkTypes(loop, CALLS_AND_SCOPES, (n) => {
    if (found || n.type !== 'call') return false;
    if (isRemoved(ctx, n)) return;
    const m = selfAttribute(n.childForFieldName('function')!);
    const own = m ? ctx.agent.methods.get(m) : undefined;
    if (own && !isRemoved(ctx, own.outer) && REGISTER.test(postsTo(own) ?? '') && sameRegistry(ctx, own)) found = `self.${m}()`;
  });
  if (found) return found;
  const body = loop.childForFieldName('body');
  return body && REGISTER.test(findRegistryPath(body) ?? '') && sameRegistry(ctx, { body }) ? `a post to "${findRegistryPath(body)}" at line ${lineOf(loop)}` : null;
}

/** The loop's `time.sleep(x)` statements (one argument) whose nearest enclosing loop it is, outside nested scopes. */
function loopSleeps(ctx: PythonTransformContext, loop: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  walkTypes(loop.childForFieldName('body')!, CALLS_AND_SCOPES, (n) => {
    if (n.type !== 'call') return false;
    if (!/^(time\.)?sleep$/.test(callee(n) ?? '') || isRemoved(ctx, n)) return;
    const args = n.childForFieldName('arguments')?.namedChildren ?? [];
    const st = n.parent;
    if (args.length !== 1 || args[0]!.type === 'keyword_argument' || st?.type !== 'expression_statement') return;
    let up: SyntaxNode | null = st.parent;
    while (up && !/^(while_statement|for_statement|function_definition)$/.test(up.type)) up = up.parent;
    if (up?.id === loop.id && !ctx.edits.touches(st.startIndex, st.endIndex)) out.push(st);
  });
  return out;
}
