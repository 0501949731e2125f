// Concern: the log line of a SIGTERM/SIGINT handler the entry point installs before it builds the agent
// (`def _on_sigterm(signum, frame): logger.info("SIGTERM received: saving manifest"); agent.shutdown(); sys.exit(0)`).
// A base that installs its own handlers in its constructor replaces that handler when the agent is built, so
// the line (what operators grep to tell a stop from a crash) was no longer written, with no word (probe-py57
// CacheJanitorAgent). The handler's teardown calls are interrupt-teardown's; its log lines that read only
// literals, module-level names and the agent go into the cleanup() override the base's handler runs, as they
// are (level and text), before the teardown, once; interrupt-teardown writes them into the override it makes,
// this transform writes the override when nothing else does. A line reading the handler's own arguments or
// locals (signum, frame), or with no free cleanup() to take it, is a warning naming the line.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { bindingsOf, expressionOf, statements, walk } from '../../src/lang/python/syntax.js';
import { isLogCall } from '../../src/analysis/infra.js';
import { lineStart } from '../../src/lang/python/text.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import { entryHandlersBeforeBuild } from './remove-teardown.js';
import { interruptWiringTarget } from './interrupt-teardown.js';
import { aboveHeadingComments, callStatement, moduleNames } from './entry-interrupt-clause.js';

const label = 'entry-handler-log-line';

export interface HandlerLogLine {
  stmt: SyntaxNode;
  /** The statement's lines, the agent read as `self`, without the statement's own indent. */
  lines: string[];
  /** The install's line and text, for the warning. */
  install: SyntaxNode;
  handler: string;
}

/** The override the lines go into, or null when there is none free (the agent's own, or one the file calls). */
function target(ctx: PythonTransformContext): string | null {
  if (!ctx.base.handlesSignals || !ctx.base.signalsAtInit) return null;
  const t = interruptWiringTarget(ctx, '');
  // Whoever calls cleanup() on the agent would write the line outside a signal.
  if (!t || ctx.refs.of(t).some((r) => r.kind === 'attribute')) return null;
  return t;
}

/** The replaced handlers' log lines: those a cleanup() override can write as they are, and the others. */
export function handlerLogLines(ctx: PythonTransformContext): { target: string | null; carried: HandlerLogLine[]; lost: HandlerLogLine[] } {
  const carried: HandlerLogLine[] = [];
  const lost: HandlerLogLine[] = [];
  if (!ctx.base.handlesSignals || !ctx.base.signalsAtInit) return { target: null, carried, lost };
  const to = target(ctx);
  const globals = moduleNames(ctx);
  for (const h of entryHandlersBeforeBuild(ctx)) {
    if (h.body.type !== 'block') continue;
    const bound = bindingsOf(h.body.parent!);
    for (const st of statements(h.body)) {
      if (!isLogCall(expressionOf(st))) continue;
      const agentVar = [...h.vars].find((v) => callStatement(st, v, globals, bound));
      const item: HandlerLogLine = { stmt: st, lines: asSelf(ctx, st, agentVar ?? ''), install: h.install, handler: h.handler };
      (to && agentVar !== undefined ? carried : lost).push(item);
    }
  }
  return { target: to, carried, lost };
}

/** The statement's text with the agent variable read as `self`; continuation lines keep their offset. */
function asSelf(ctx: PythonTransformContext, st: SyntaxNode, agentVar: string): string[] {
  const ids: SyntaxNode[] = [];
  if (agentVar) walk(st, (n) => {
    if (n.type === 'identifier' && n.text === agentVar && !(n.parent?.type === 'attribute' && n.parent.childForFieldName('attribute')?.id === n.id)) ids.push(n);
  });
  let text = st.text;
  for (const id of ids.sort((a, b) => b.startIndex - a.startIndex)) text = text.slice(0, id.startIndex - st.startIndex) + 'self' + text.slice(id.endIndex - st.startIndex);
  const from = ctx.source.slice(lineStart(ctx.source, st.startIndex), st.startIndex);
  return text.split(/\r?\n/).map((l, i) => (i === 0 || !l.startsWith(from) ? (i === 0 ? l : l.trimStart()) : l.slice(from.length)));
}

/** `logger.info(...)` (line 187) in the handler installed at line 192. */
function describe(l: HandlerLogLine): string {
  return `\`${l.lines[0]!.trim().slice(0, 100)}\` (line ${l.stmt.startPosition.row + 1}) of the entry point's SIGTERM/SIGINT handler ${l.handler} (installed at line ${l.install.startPosition.row + 1}, before the agent is built)`;
}

export const entryHandlerLogLine: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    const { target: to, carried, lost } = handlerLogLines(ctx);
    if (!carried.length && !lost.length) return;
    const base = ctx.profile.base_class;
    const written = ctx.edits.writtenTexts().filter((t) => to && new RegExp(`\\bdef ${to}\\(`).test(t));
    const missing = carried.filter((l) => !written.some((t) => t.includes(l.lines[0]!)));
    if (to && !written.length && missing.length) {
      // Nothing else writes the override: one that writes the lines and runs the base's own cleanup.
      const anchor = [...ctx.agent.methods.values()].find((m) => m.name !== '__init__' && !isRemoved(ctx, m.outer));
      const indent = anchor ? ctx.source.slice(lineStart(ctx.source, anchor.outer.startIndex), anchor.outer.startIndex) : null;
      if (anchor && indent !== null && /^[ \t]*$/.test(indent)) {
        const { eol, unit } = ctx.layout;
        const body = [`${indent}def ${to}(self):`, ...missing.flatMap((l) => l.lines.map((x) => `${indent}${unit}${x}`)), `${indent}${unit}super().${to}()`];
        ctx.edits.insert(lineStart(ctx.source, aboveHeadingComments(ctx, anchor.outer).startIndex), body.join(eol) + eol + eol, label);
        missing.length = 0;
      }
    }
    for (const l of carried) {
      if (missing.includes(l)) continue;
      ctx.warnings.push(`${describe(l)} is written from the ${to}() override ${base}'s signal handler runs: ${base}'s constructor installs its own handler over that one`);
    }
    for (const l of [...missing, ...lost]) {
      const why = missing.includes(l)
        ? `the ${to}() override another step wrote does not take it`
        : to
        ? 'the line reads what a cleanup() override does not have (the handler\'s arguments or locals)'
        : `the agent has no free ${ctx.py.teardown ?? 'cleanup'}() override to take it (its own, or one the file calls)`;
      ctx.warnings.push(`${describe(l)} is not written on a signal any more: ${base}'s constructor installs its own handler over that one, and ${why}; move it by hand if operators rely on it`);
    }
  },
};
