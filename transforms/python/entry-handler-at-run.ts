// Concern: a SIGTERM/SIGINT handler the entry point installs that reaches no method of the agent's own: it
// logs and stops the agent through a flag or an Event (`def on_term(signum, frame): logger.info("received
// SIGTERM, shutting down"); agent.stop_event.set()`). On a base that installs its own handlers when its main
// loop starts (HardenedAgentBase.run_forever()), the base's handler replaces that one, so its log line (what
// operators grep to tell a stop from a crash) and whatever else it did were gone with no word (probe-py68
// KernelModuleAgent). entry-signal-teardown moves the handlers that run a method of the agent; this takes the
// others: their call statements that read only the agent and module-level names (the log line, the Event's
// set()) go into a shutdown() override the base runs when it stops, in order, before its own; a statement
// reading the handler's arguments or locals (`signum`), or any when no free shutdown() takes them, is a
// warning naming the line. Flag flips, clean exits and what the base's stop does are nothing lost.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import { bindingsOf, expressionOf, isDocstring, selfAttribute, walk } from '../../src/lang/python/syntax.js';
import { isLogCall } from '../../src/analysis/infra.js';
import { indentAt, lineStart } from '../../src/lang/python/text.js';
import { asSelf, baseDoesIt, cleanExit, entryHandlers, freeShutdown, type EntryHandler } from './entry-signal-teardown.js';
import { aboveHeadingComments, callStatement, moduleNames } from './entry-interrupt-clause.js';
import { excerpt } from '../../src/core/excerpt.js';

const label = 'entry-handler-at-run';
const HOOK = 'shutdown';

/** `agent.running = False`, `agent.stop()` (a method the base's stop stands for), `pass`, a clean exit: nothing the base's handler loses. */
function standsFor(ctx: PythonTransformContext, st: SyntaxNode, h: EntryHandler): boolean {
  if (st.type === 'pass_statement' || st.type === 'global_statement' || st.type === 'nonlocal_statement' || isDocstring(st) || cleanExit(st)) return true;
  const e = st.type === 'expression_statement' ? st.namedChild(0) : st;
  if (e?.type === 'assignment') {
    const left = e.childForFieldName('left');
    const obj = left?.type === 'attribute' ? left.childForFieldName('object') : null;
    return !!obj && h.agent.has(obj.text) && ['true', 'false', 'none', 'integer'].includes(e.childForFieldName('right')?.type ?? '');
  }
  if (e?.type === 'call' && !e.childForFieldName('arguments')?.namedChildren.length) {
    const f = e.childForFieldName('function');
    const obj = f?.type === 'attribute' ? f.childForFieldName('object') : null;
    if (!obj || !h.agent.has(obj.text)) return false;
    const name = f!.childForFieldName('attribute')!.text;
    const own = ctx.agent.methods.get(name);
    if (own) return isRemoved(ctx, own.outer) || baseDoesIt(ctx, own);
    // The base's own stop (agent.stop(), agent.shutdown()): its handler runs that.
    return ctx.base.methods.has(name) && /^(stop|shutdown|close|terminate)$/.test(name);
  }
  return false;
}

/** Every `agent.<member>` the statement reads is still there in the output: a live method or attribute of the agent's, or the base's. */
function membersLive(ctx: PythonTransformContext, st: SyntaxNode, agent: Set<string>): boolean {
  let ok = true;
  walk(st, (n) => {
    if (!ok || n.type !== 'attribute' || !agent.has(n.childForFieldName('object')?.text ?? '')) return;
    const name = n.childForFieldName('attribute')!.text;
    if (ctx.base.methods.has(name) || ctx.base.attributes.has(name)) return;
    const m = ctx.agent.methods.get(name);
    if (m) {
      if (isRemoved(ctx, m.outer)) ok = false;
      return;
    }
    let assigned = false;
    for (const fn of ctx.agent.methods.values()) {
      if (isRemoved(ctx, fn.outer)) continue;
      walk(fn.body, (x) => {
        if (assigned) return false;
        if (x.type === 'assignment' && selfAttribute(x.childForFieldName('left')!) === name && !isRemoved(ctx, x)) assigned = true;
      });
    }
    if (!assigned) ok = false;
  });
  return ok;
}

function where(h: EntryHandler): string {
  return `the entry point's SIGTERM/SIGINT handler ${h.handler} (installed at line ${h.install.startPosition.row + 1})`;
}

export const entryHandlerAtRun: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    const mainLoop = ctx.py.main_loop_method;
    // Only a base that installs its handlers when its main loop starts (one installing them in its
    // constructor is entry-handler-log-line's), where the legacy loop went and the base's main loop runs now.
    if (!mainLoop || !ctx.base.handlesSignals || ctx.base.signalsAtInit || ctx.resolved?.members.get('run')?.finding !== 'loop') return;
    // The handlers that run a method of the agent are entry-signal-teardown's.
    const handlers = entryHandlers(ctx, true).filter((h) => !h.reaches);
    if (!handlers.length) return;
    const globals = moduleNames(ctx);
    const carried: Array<{ st: SyntaxNode; lines: string[]; h: EntryHandler }> = [];
    const lost: Array<{ st: SyntaxNode; h: EntryHandler; why: string }> = [];
    const seen = new Set<number>();
    for (const h of handlers) {
      // One handler installed for SIGTERM and SIGINT is one body.
      if (h.body.some((st) => seen.has(st.id))) continue;
      for (const st of h.body) seen.add(st.id);
      const def = h.body[0]?.parent?.type === 'block' ? h.body[0].parent.parent : null;
      const bound = def?.type === 'function_definition' ? bindingsOf(def) : new Set<string>();
      for (const st of h.body) {
        if (standsFor(ctx, st, h)) continue;
        const agentVar = [...h.agent].find((v) => callStatement(st, v, globals, bound));
        if (def?.type === 'function_definition' && agentVar !== undefined && membersLive(ctx, st, h.agent)) carried.push({ st, lines: asSelf(ctx, st, h.agent), h });
        else lost.push({ st, h, why: agentVar === undefined ? 'it reads what a shutdown() override does not have (the handler\'s arguments or locals, or names of the entry point)' : 'it reads a member of the agent the migration removed' });
      }
    }
    if (!carried.length && !lost.length) return;
    const base = ctx.profile.base_class;
    const free = freeShutdown(ctx, mainLoop);
    const anchor = [...ctx.agent.methods.values()].find((m) => m.name !== '__init__' && !isRemoved(ctx, m.outer));
    const indent = anchor ? indentAt(ctx.source, anchor.outer.startIndex) : null;
    if (carried.length && free && anchor && indent !== null && /^[ \t]*$/.test(indent)) {
      const { eol, unit } = ctx.layout;
      const body = [
        `${indent}def ${HOOK}(self):`,
        `${indent}${unit}"""What the entry point's SIGTERM/SIGINT handler did (moved by migrate: ${base}.${mainLoop}() installs the base's handler over it)."""`,
        ...carried.flatMap((c) => c.lines.map((x) => `${indent}${unit}${x}`)),
        `${indent}${unit}super().${HOOK}()`,
      ];
      ctx.edits.insert(lineStart(ctx.source, aboveHeadingComments(ctx, anchor.outer).startIndex), body.join(eol) + eol + eol, label);
      const lines = carried.map((c) => `\`${excerpt(c.st.text, 60)}\` (line ${c.st.startPosition.row + 1})`).join(', ');
      ctx.warnings.push(
        `${ctx.agent.cls.name}: ${where(carried[0]!.h)} no longer runs at SIGTERM: ${base}.${mainLoop}() installs the base's handler over it; ` +
          `what it did, ${lines}, is done by a ${HOOK}() override now, which the base runs when it stops (also when it stops for another reason than a signal); the install stays and is replaced when ${mainLoop}() starts`,
      );
    } else {
      for (const c of carried) lost.push({ st: c.st, h: c.h, why: `the agent has no free ${HOOK}() override to take it (its own, or one another step wrote)` });
    }
    for (const l of lost) {
      ctx.warnings.push(
        `${ctx.agent.cls.name}: \`${excerpt(l.st.text, 80)}\` (line ${l.st.startPosition.row + 1}) of ${where(l.h)} no longer runs at SIGTERM: ` +
          `${base}.${mainLoop}() installs the base's handler over that one, and ${l.why}; move it by hand if operators or the agent's threads rely on it`,
      );
    }
  },
};
