// Concern: a SIGTERM/SIGINT handler the entry point installs (directly, or through a function of the
// file it calls with the agent: `_install_signals(agent)` defining `def on_term(signum, frame):
// agent.close(); sys.exit(0)`). The legacy agent's teardown ran there. On the base, the main loop
// method installs the base's own handler over it, so that teardown never runs at SIGTERM any more:
// the handler's agent calls move into the base's shutdown hook (which its handler's teardown runs,
// read from its source), when the handler is nothing but those calls and a clean exit; anything else
// a handler does (a log line, another exit status) is kept for review, naming the line.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved, keep } from '../../src/lang/python/transform-context.js';
import { constructsClass, entryScopes, factoryMethods } from '../../src/lang/python/module-model.js';
import { bindingsOf, callee, expressionOf, isDocstring, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { callStatement, moduleNames } from './entry-interrupt-clause.js';
import { excerpt } from '../../src/core/excerpt.js';
import { isLogCall } from '../../src/analysis/infra.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { indentAt, lineStart } from '../../src/lang/python/text.js';
import { threadFlagPrelude } from './remove-signal-handlers.js';

const label = 'entry-signal-teardown';
const HOOK = 'shutdown';

export interface EntryHandler {
  /** Does it run a method of the agent's own (one the base's stop does not stand for)? */
  reaches: boolean;
  /** `on_term()`, or 'lambda'. */
  handler: string;
  /** The `signal.signal(...)` call. */
  install: SyntaxNode;
  /** The handler's statements (a def's body, or a lambda's expression). */
  body: SyntaxNode[];
  /** Names that hold the agent inside the handler. */
  agent: Set<string>;
}

/** Names bound to the agent in the entry scope: `v = Agent(...)`, or a parameter every call from the entry point passes the agent to. */
function agentNames(ctx: PythonTransformContext, scope: SyntaxNode, scopes: SyntaxNode[]): Set<string> {
  const factories = factoryMethods(ctx.agent.cls);
  const vars = (s: SyntaxNode) => {
    const out = new Set<string>();
    walk(s, (n) => {
      if (n.type === 'function_definition' && n.id !== s.id) return false;
      if (n.type === 'assignment' && n.childForFieldName('right')?.type === 'call' && constructsClass(n.childForFieldName('right')!, ctx.agent.cls, factories)) {
        const left = n.childForFieldName('left');
        if (left?.type === 'identifier') out.add(left.text);
      }
    });
    return out;
  };
  const names = vars(scope);
  if (scope.type !== 'function_definition') return names;
  const fname = scope.childForFieldName('name')!.text;
  const params = scope.childForFieldName('parameters')!.namedChildren;
  params.forEach((p, i) => {
    if (p.type !== 'identifier') return;
    const calls: SyntaxNode[] = [];
    for (const other of scopes) {
      if (other.id === scope.id) continue;
      walk(other, (n) => {
        if (n.type === 'function_definition' && n.id !== other.id) return false;
        if (n.type === 'call' && callee(n) === fname) calls.push(n);
      });
    }
    const ok = calls.length > 0 && calls.every((c) => {
      const arg = c.childForFieldName('arguments')?.namedChildren[i];
      const s = scopes.find((x) => x.startIndex <= c.startIndex && c.endIndex <= x.endIndex && x.id !== scope.id);
      return arg?.type === 'identifier' && !!s && vars(s).has(arg.text);
    });
    if (ok) names.add(p.text);
  });
  return names;
}

/**
 * The SIGTERM/SIGINT handlers installed by the entry point whose bodies reach the agent (run a method of its
 * own); with `all`, also those that only read it (log, set a flag or an Event of the agent's).
 */
export function entryHandlers(ctx: PythonTransformContext, all = false): EntryHandler[] {
  const scopes = entryScopes(ctx.module);
  const out: EntryHandler[] = [];
  for (const scope of scopes) {
    const agent = agentNames(ctx, scope, scopes);
    if (!agent.size) continue;
    walk(scope, (n) => {
      if ((n.type === 'function_definition' && n.id !== scope.id) || n.type === 'class_definition') return false;
      if (n.type !== 'call' || !/^(signal\.)?signal$/.test(callee(n) ?? '')) return;
      const args = n.childForFieldName('arguments')?.namedChildren ?? [];
      if (args.length !== 2 || !/\bSIG(TERM|INT)$/.test(args[0]!.text)) return;
      const h = args[1]!;
      let body: SyntaxNode[] | null = null;
      if (h.type === 'lambda') body = [h.childForFieldName('body')!];
      else if (h.type === 'identifier') {
        walk(scope, (d) => {
          if (d.type === 'function_definition' && d.id !== scope.id) {
            if (d.childForFieldName('name')?.text === h.text) body = statements(d.childForFieldName('body')).filter((x) => !isDocstring(x));
            return false;
          }
        });
      }
      if (!body) return;
      // Only handlers that run a method of the agent's own (one that only flips its running flag, logs or
      // exits does what the base's handler does: it stops the loop).
      let reaches = false;
      for (const b of body as SyntaxNode[]) walk(b, (x) => {
        const f = x.type === 'call' ? x.childForFieldName('function') : null;
        if (f?.type !== 'attribute' || !agent.has(f.childForFieldName('object')?.text ?? '')) return;
        const m = ctx.agent.methods.get(f.childForFieldName('attribute')!.text);
        if (m && !isRemoved(ctx, m.outer) && !baseDoesIt(ctx, m)) reaches = true;
      });
      if (reaches || all) out.push({ install: n, body, agent, reaches, handler: h.type === 'lambda' ? 'lambda' : `${h.text}()` });
    });
  }
  return out;
}

/** `agent.close()` as the statement (or lambda body): the agent method's name, else null. */
function agentCall(ctx: PythonTransformContext, st: SyntaxNode, agent: Set<string>): string | null {
  const call = st.type === 'expression_statement' ? st.namedChild(0) : st;
  if (call?.type !== 'call' || call.childForFieldName('arguments')?.namedChildren.length) return null;
  const f = call.childForFieldName('function');
  if (f?.type !== 'attribute' || !agent.has(f.childForFieldName('object')?.text ?? '')) return null;
  const m = f.childForFieldName('attribute')!.text;
  return ctx.agent.methods.has(m) ? m : null;
}

/** `sys.exit(0)` / `sys.exit()` / `raise SystemExit(0)`: the clean exit the base's handler ends with too. */
export function cleanExit(st: SyntaxNode): boolean {
  const t = st.text.replace(/\s+/g, '');
  return /^(sys\.exit|exit|raiseSystemExit)(\((0)?\))?$/.test(t);
}

export const entrySignalTeardown: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    const mainLoop = ctx.py.main_loop_method;
    // Only where the legacy loop went and the base's main loop (which installs its own handler) runs now.
    if (!mainLoop || !ctx.base.handlesSignals || ctx.resolved?.members.get('run')?.finding !== 'loop') return;
    const handlers = entryHandlers(ctx);
    if (!handlers.length) return;
    const cls = ctx.agent.cls;
    const globals = moduleNames(ctx);
    // What shutdown() runs, in the handlers' order: the agent's methods, and the handlers' log lines that read
    // only the agent and module names (`logger.info("received SIGTERM, shutting down")`: the line operators grep).
    const steps: Array<{ method: string } | { log: SyntaxNode; lines: string[] }> = [];
    for (const h of handlers) {
      const line = h.install.startPosition.row + 1;
      const def = h.body[0]?.parent?.type === 'block' ? h.body[0].parent.parent : null;
      const bound = def?.type === 'function_definition' ? bindingsOf(def) : null;
      const logLine = (st: SyntaxNode) => !!bound && isLogCall(expressionOf(st)) && [...h.agent].some((v) => callStatement(st, v, globals, bound));
      const logs = h.body.filter(logLine);
      const other = h.body.find((st) => !agentCall(ctx, st, h.agent) && !cleanExit(st) && !logs.includes(st));
      // A shutdown() already there (the agent's own, or written from run()'s finally:) runs them: nothing lost.
      const needed = h.body.map((st) => agentCall(ctx, st, h.agent)).filter((m): m is string => !!m && !baseDoesIt(ctx, ctx.agent.methods.get(m)!));
      const own = ctx.agent.methods.get(HOOK);
      const written = [...(own && !isRemoved(ctx, own.outer) ? [own.body.text] : []), ...ctx.edits.writtenTexts().filter((t) => new RegExp(`\\bdef ${HOOK}\\(`).test(t))];
      if (!other && !logs.length && needed.length && written.length && needed.every((m) => written.some((t) => t.includes(`self.${m}()`)))) continue;
      const wirable = !other && freeShutdown(ctx, mainLoop);
      if (!wirable) {
        const lost = other ?? logs[0];
        keep(ctx, `${cls.name} SIGTERM handler`, line,
          `the entry point installs its own SIGTERM/SIGINT handler (line ${line}: ${h.install.text.split('\n')[0]!.trim()}) that reaches the agent; ${ctx.profile.base_class}.${mainLoop}() installs the base's handler over it, so it no longer runs at SIGTERM` +
            (lost ? ` (it also does line ${lost.startPosition.row + 1}: ${lost.text.split('\n')[0]!.trim()}, which ${HOOK}() cannot take as it is)` : '') +
            `; move what it does into ${HOOK}() by hand`);
        continue;
      }
      for (const st of h.body) {
        const m = agentCall(ctx, st, h.agent);
        if (m && !steps.some((x) => 'method' in x && x.method === m)) steps.push({ method: m });
        else if (logs.includes(st) && !steps.some((x) => 'log' in x && x.log.text === st.text)) steps.push({ log: st, lines: asSelf(ctx, st, h.agent) });
      }
    }
    const live = steps.filter((x) => !('method' in x) || !isRemoved(ctx, ctx.agent.methods.get(x.method)!.outer));
    const methods = live.flatMap((x) => ('method' in x ? [x.method] : []));
    if (!methods.length) return;
    const first = ctx.agent.methods.get(methods[0]!)!;
    const indent = indentAt(ctx.source, first.outer.startIndex);
    if (!/^[ \t]*$/.test(indent)) return;
    const eol = ctx.layout.eol;
    const unit = ctx.layout.unit;
    const text = [
      `${indent}def ${HOOK}(self):`,
      `${indent}${unit}"""What the entry point's SIGTERM/SIGINT handler ran (moved by migrate: the base's handler replaces it)."""`,
      // What a removed SIGTERM handler of the agent set to end a thread's loop, first.
      ...threadFlagPrelude(ctx, HOOK).map((l) => `${indent}${unit}${l}`),
      ...live.flatMap((x) => ('method' in x ? [`self.${x.method}()`] : x.lines)).map((l) => `${indent}${unit}${l}`),
      `${indent}${unit}super().${HOOK}()`,
    ].join(eol);
    ctx.edits.insert(lineStart(ctx.source, first.outer.startIndex), text + eol + eol, label);
    const logged = live.flatMap((x) => ('log' in x ? [`\`${excerpt(x.log.text, 60)}\` (line ${x.log.startPosition.row + 1})`] : []));
    ctx.warnings.push(
      `${cls.name}: the entry point's own SIGTERM/SIGINT handler (line ${handlers[0]!.install.startPosition.row + 1}) ran ${methods.map((m) => `${m}()`).join(', ')}${logged.length ? ` and logged ${logged.join(', ')}` : ''}; ${ctx.profile.base_class}.${mainLoop}() installs the base's handler over it, so ${HOOK}() (which the base runs when it stops) ${logged.length ? 'does that' : `calls ${methods.length > 1 ? 'them' : 'it'}`} now; the install stays and is replaced when ${mainLoop}() starts`,
    );
  },
};

/** The statement's text with the agent's names read as `self`, its continuation lines relative to its own indent. */
export function asSelf(ctx: PythonTransformContext, st: SyntaxNode, agent: Set<string>): string[] {
  const ids: SyntaxNode[] = [];
  walk(st, (n) => {
    if (n.type === 'identifier' && agent.has(n.text) && !(n.parent?.type === 'attribute' && n.parent.childForFieldName('attribute')?.id === n.id)) ids.push(n);
  });
  let text = st.text;
  for (const id of ids.sort((a, b) => b.startIndex - a.startIndex)) text = text.slice(0, id.startIndex - st.startIndex) + 'self' + text.slice(id.endIndex - st.startIndex);
  const from = ctx.source.slice(lineStart(ctx.source, st.startIndex), st.startIndex);
  return text.split(/\r?\n/).map((l, i) => (i === 0 ? l : l.startsWith(from) ? l.slice(from.length) : l.trimStart()));
}

/** Does the base's `from` method call self.<to>() (directly or through its own methods), read from its source? */
export function baseRuns(ctx: PythonTransformContext, from: string, to: string): boolean {
  const graph = ctx.base.signalCalls.graph;
  const seen = new Set<string>();
  const todo = [from];
  while (todo.length) {
    const m = todo.pop()!;
    if (m === to) return true;
    if (seen.has(m)) continue;
    seen.add(m);
    todo.push(...(graph.get(m) ?? []));
  }
  return false;
}

/**
 * The method does nothing the base's own stop does not: each statement sets a flag of the agent
 * (`self.stopping = True`, the legacy loop's), logs, calls super(), or is code the migration removed
 * or rewrote (closing the transport that moved into EventBusPublisher, which the base closes itself).
 */
export function baseDoesIt(ctx: PythonTransformContext, fn: PyFunction): boolean {
  const flag = (st: SyntaxNode) => {
    const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
    return a?.type === 'assignment' && !!selfAttribute(a.childForFieldName('left')!) && ['true', 'false', 'none', 'integer'].includes(a.childForFieldName('right')?.type ?? '');
  };
  return statements(fn.body).filter((st) => !isDocstring(st)).every((st) =>
    flag(st) || isLogCall(expressionOf(st)) || /^super\(\)\.\w+\(\)$/.test(st.text.trim()) || isRemoved(ctx, st) || ctx.edits.covered(st.startIndex, st.endIndex));
}

/**
 * A shutdown() override can be written: the profile lists it as a hook the base's main loop runs when it
 * stops, and neither the agent (a live method of its own) nor another step (a written `def shutdown(`) has one.
 */
export function freeShutdown(ctx: PythonTransformContext, mainLoop: string): boolean {
  const own = ctx.agent.methods.get(HOOK);
  return (ctx.py.hooks ?? []).includes(HOOK) && ctx.base.methods.has(HOOK) && baseRuns(ctx, mainLoop, HOOK) &&
    !(own && !isRemoved(ctx, own.outer)) && !ctx.edits.writtenTexts().some((t) => new RegExp(`\\bdef ${HOOK}\\(`).test(t));
}
