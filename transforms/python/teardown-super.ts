// Concern: teardown overrides that stay. A kept cleanup()/stop()/shutdown() that saves state or
// tells peers now overrides (or stands beside) the base's, so the base's own teardown (its
// sockets, context, registration) would never run from it: it ends with the base's teardown,
// exactly once — unless it already calls it, or calls another teardown of the agent that does.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { freshName } from '../../src/lang/python/rename.js';
import { isRemoved, keep } from '../../src/lang/python/transform-context.js';
import { callee, selfAttribute, statements, walk, walkTypes } from '../../src/lang/python/syntax.js';
import { lineEnd, lineStart } from '../../src/lang/python/text.js';
import { TEARDOWN, calledByEntryPoint } from './remove-teardown.js';
import { loopTails } from './loop-tail-teardown.js';
import { baseSignalRoute } from './remove-signal-handlers.js';

export const teardownSuper: PythonTransform = {
  name: 'teardown-super',
  phase: 'edit',
  run(ctx) {
    const baseTeardown = ctx.py.teardown ?? 'cleanup';
    // The agent's own SIGTERM handler installed on its event loop (`loop.add_signal_handler(SIGTERM,
    // self._on_signal)`) replaced the base's, whatever its name: the base's stop() runs from nowhere else.
    // Only where nothing else of the agent's own reaches the base's teardown: a kept teardown method (its
    // async shutdown() awaited once the handler's event is set) or a loop tail given it (loop-tail-teardown).
    const loopHandlers = loopSignalHandlers(ctx);
    const othersReachBase = loopTails(ctx).length > 0 || [...ctx.agent.methods.entries()].some(([name, fn]) =>
      !loopHandlers.has(name) && !isRemoved(ctx, fn.outer) && (TEARDOWN.test(name) || name === baseTeardown || callsBaseTeardown(fn.body, baseTeardown)));
    if (othersReachBase) loopHandlers.clear();
    const kept = [...ctx.agent.methods.entries()].filter(([name, fn]) => (TEARDOWN.test(name) || name === baseTeardown || (loopHandlers.has(name) && !fn.isAsync)) && !isRemoved(ctx, fn.outer));
    const handlers = signalHandlers(ctx);
    for (const [name, fn] of kept) {
      // A signal handler only asks the loop to stop; tearing the base down inside it would pull
      // the sockets from under a loop that is still running.
      if (handlers.has(name)) continue;
      // A SIGTERM handler made the base's hook (signal-handler-shutdown) already ends with the base's teardown.
      if (ctx.renames.has(name)) continue;
      // (A loop signal handler named like a base method, `_on_signal`, is renamed away from it: the base's teardown.)
      const own = TEARDOWN.test(name) || name === baseTeardown;
      const target = own && ctx.base.methods.has(name) ? name : ctx.base.methods.has(baseTeardown) ? baseTeardown : null;
      if (!target) continue;
      let callsBase = false;
      walk(fn.body, (n) => {
        if (n.type !== 'call') return;
        const f = n.childForFieldName('function')?.text ?? '';
        if (/^super\(.*\)\.\w+$/s.test(f)) callsBase = true;
        // self.cleanup() from stop(): that teardown ends with the base's
        const other = selfAttribute(n.childForFieldName('function')!);
        if (other && other !== name && kept.some(([k]) => k === other)) callsBase = true;
        if (other === target && !ctx.agent.methods.has(target)) callsBase = true;
      });
      const once = runOnce(ctx, name, fn);
      // An async teardown the base itself would call (`async def cleanup`) is not the base's to end: calling
      // it makes a coroutine nobody awaits. One of the agent's own (`async def shutdown()`, awaited where the
      // agent's own signal handler leads) ends with the base's teardown like any other: a plain call.
      if (callsBase || (fn.isAsync && (target === name || ctx.base.shutdownCalls.has(name)))) {
        const note = once ? ctx.resolved?.notes.find((n) => n.symbol === name) : undefined;
        if (note) note.reason += once;
        continue;
      }
      const body = statements(fn.body).filter((st) => !isRemoved(ctx, st));
      const last = body[body.length - 1];
      if (last && endingExit(last) && endingExitTeardown(ctx, name, fn, last, target)) continue;
      if (!last || last.type === 'return_statement' || last.type === 'raise_statement') continue;
      const indent = ctx.source.slice(lineStart(ctx.source, last.startIndex), last.startIndex);
      if (!/^[ \t]*$/.test(indent)) continue;
      const src = ctx.source;
      const eol = ctx.layout.eol;
      const logEnd = loggingStopTail(ctx, body);
      if (logEnd) {
        // The base's teardown logs its own last line ("<name> stopped"): run it while the agent's logging
        // still writes, before the tail that stops it (a QueueListener's stop(), logging.shutdown()).
        ctx.edits.insert(logEnd.at, `${indent}super().${target}()${eol}`, 'teardown-super');
        const why = `, and calls super().${target}() before it stops its own logging (line ${logEnd.line}) so the base's teardown runs too and its last log line is still written${once}`;
        const note = ctx.resolved?.notes.find((n) => n.symbol === name);
        if (note) note.reason += why;
        else ctx.warnings.push(`${ctx.agent.cls.name}.${name}() kept (it does business work)${why}`);
        continue;
      }
      const at = lineEnd(src, last.endIndex);
      if (at < src.length) ctx.edits.insert(at, `${indent}super().${target}()${eol}`, 'teardown-super');
      // At the end of the file: before its last line break, so an entry point appended there comes after.
      else if (src.endsWith(eol)) ctx.edits.insert(src.length - eol.length, `${eol}${indent}super().${target}()`, 'teardown-super');
      else ctx.edits.insert(src.length, `${eol}${indent}super().${target}()`, 'teardown-super');
      // One line for the kept teardown: the plan's note says why it stayed; it now also says how it ends.
      const note = ctx.resolved?.notes.find((n) => n.symbol === name);
      if (note) note.reason += `, and ends with super().${target}() so the base's teardown runs too${once}`;
      else ctx.warnings.push(`${ctx.agent.cls.name}.${name}() kept (it does business work) and now ends with super().${target}() so the base's teardown runs too${once}`);
    }
  },
};

/**
 * The statements ending a teardown that stop the agent's logging: `self.<listener>.stop()` of a
 * logging.handlers.QueueListener the agent made, or `logging.shutdown()`, with the comment lines right
 * above them. What the teardown runs after them logs nowhere (a QueueHandler's records are never
 * written once its listener stopped). Where that tail starts (the offset of its first line, a comment's
 * if one is right above it) and its statement's line, or null when the teardown does not end so.
 */
function loggingStopTail(ctx: PythonTransformContext, body: SyntaxNode[]): { at: number; line: number } | null {
  const listeners = new Set(ctx.agent.assignments.filter((a) => a.value?.type === 'call' && /(^|\.)QueueListener$/.test(a.value.childForFieldName('function')?.text ?? '')).map((a) => a.attr));
  const stopsLogging = (st: SyntaxNode): boolean => {
    const call = st.type === 'expression_statement' ? st.namedChild(0) : null;
    if (call?.type !== 'call' || call.childForFieldName('arguments')?.namedChildren.length) return false;
    const f = call.childForFieldName('function')!;
    if (f.text === 'logging.shutdown') return true;
    const owner = f.type === 'attribute' && f.childForFieldName('attribute')?.text === 'stop' ? f.childForFieldName('object') : null;
    const attr = owner ? selfAttribute(owner) : null;
    return !!attr && listeners.has(attr);
  };
  let i = body.length;
  while (i > 0 && stopsLogging(body[i - 1]!)) i--;
  if (i === body.length) return null;
  // Comment lines directly above the tail say why it is last: they stay with it. (Read from the text: the
  // parser does not always give a comment before a statement as that statement's sibling.)
  const src = ctx.source;
  let at = lineStart(src, body[i]!.startIndex);
  const indent = src.slice(at, body[i]!.startIndex);
  while (at > 0) {
    const prev = lineStart(src, at - 1);
    const line = src.slice(prev, at).replace(/\r?\n$/, '');
    if (!line.startsWith(indent) || !/^#/.test(line.slice(indent.length))) break;
    at = prev;
  }
  return { at, line: body[i]!.startPosition.row + 1 };
}

/**
 * The legacy entry point called the teardown once, when the agent's loop ended; now the base
 * calls it at shutdown too (its signal handler, its run loop's finally), so on SIGTERM it would
 * run twice (saving state twice, telling peers twice). A guard at its top keeps it to once.
 * Returns the text the note gets ('' when no guard was needed).
 */
function runOnce(ctx: PythonTransformContext, name: string, fn: { body: SyntaxNode; isAsync: boolean }): string {
  if (fn.isAsync || !ctx.base.shutdownCalls.has(name)) return '';
  // The entry point calls it, or a kept method the entry point runs does (`run()`'s `finally: self.cleanup()`).
  const caller = calledByEntryPoint(ctx, name) ? null : keptCallerRunByEntryPoint(ctx, name);
  const twice = caller === undefined ? baseCallsTwice(ctx, name) : null;
  // Another file's entry point calls it on this agent (a package's __main__.py building the class:
  // `finally: agent.cleanup()`); not a file whose own class calls its method of that name, nor one
  // defining a class of this agent's name (another agent's module of the same name).
  const cls = ctx.agent.cls.name;
  const buildsAgent = (file: string) => {
    const text = ctx.repoFile?.(file) ?? '';
    return new RegExp(`\\b${cls}\\s*\\(`).test(text) && !new RegExp(`^class\\s+${cls}\\b`, 'm').test(text);
  };
  const elsewhere =
    caller === undefined && !twice
      ? ctx.external(name).find((u) => new RegExp(`(?<!\\bself|\\bcls|super\\(\\))\\.${name}\\s*\\(`).test(u.text) && buildsAgent(u.file))
      : undefined;
  if (caller === undefined && !twice && !elsewhere) return '';
  if (!guardOnce(ctx, name, fn)) return '';
  if (elsewhere) return `; it runs once (${ctx.profile.base_class} also calls ${name}() at shutdown, after which the call at ${elsewhere.file}:${elsewhere.line} returns at once)`;
  if (twice) return `; it runs once (${ctx.profile.base_class} calls ${name}() from its signal handler (${twice.join('() -> ')}()) and again from the finally: of its ${ctx.py.main_loop_method ?? 'run'}(), which a stop or a signal ends)`;
  return `; it runs once (${ctx.profile.base_class} also calls ${name}() at shutdown, after which ${caller ? `${caller}()'s` : "the entry point's"} call returns at once)`;
}

/**
 * The base itself calls the agent's teardown override twice: its signal handler reaches it (through
 * base methods the agent does not override: `_on_signal` -> cleanup() -> stop()) and its main loop,
 * which the agent now runs (it keeps no loop method of its own), calls it again in its `finally:`
 * when that handler's exit (or a stop() from elsewhere, a supervisor's) ends the loop. The route, else null.
 */
function baseCallsTwice(ctx: PythonTransformContext, name: string): string[] | null {
  if (!ctx.base.loopFinallyCalls.has(name)) return null;
  const loop = ctx.agent.methods.get(ctx.py.main_loop_method ?? 'run');
  if (loop && !isRemoved(ctx, loop.outer)) return null;
  return baseSignalRoute(ctx, name);
}

/**
 * A guard at the top of the teardown (after its docstring) so its work runs once however often it is
 * called: `if getattr(self, "_<name>_done", False): return`. False when it is guarded already (an
 * `if ...: return` first) or has nothing to guard.
 */
export function guardOnce(ctx: PythonTransformContext, name: string, fn: { body: SyntaxNode }, by = 'teardown-super'): boolean {
  const body = statements(fn.body).filter((st) => !isRemoved(ctx, st));
  const docstring = body[0]?.type === 'expression_statement' && body[0].namedChild(0)?.type === 'string' ? body[0] : null;
  const first = body.find((st) => st !== docstring);
  if (!first) return false;
  // Already guarded (`if self._stopped: return` first): nothing to add.
  if (first.type === 'if_statement' && /^\s*return\b/.test(first.childForFieldName('consequence')?.text ?? '')) return false;
  const indent = ctx.source.slice(lineStart(ctx.source, first.startIndex), first.startIndex);
  if (!/^[ \t]*$/.test(indent)) return false;
  const flag = freshName(ctx, `${name}_done`, '_');
  const unit = ctx.layout.unit;
  const eol = ctx.layout.eol;
  ctx.edits.insert(lineStart(ctx.source, first.startIndex),
    `${indent}if getattr(self, "${flag}", False):${eol}${indent}${unit}return${eol}${indent}self.${flag} = True${eol}`, by);
  return true;
}

/** A kept method of the agent that calls self.<name>() and that the entry point calls; undefined when none. */
function keptCallerRunByEntryPoint(ctx: PythonTransformContext, name: string): string | undefined {
  for (const [m, fn] of ctx.agent.methods) {
    if (m === name || fn.isAsync || isRemoved(ctx, fn.outer) || !calledByEntryPoint(ctx, m)) continue;
    let calls = false;
    walk(fn.body, (n) => {
      if (calls || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
      if (n.type === 'call' && selfAttribute(n.childForFieldName('function')!) === name && !isRemoved(ctx, n)) calls = true;
    });
    if (calls) return m;
  }
  return undefined;
}

/** `super().<teardown>()` somewhere in the body (a loop tail given it by an earlier run, say). */
function callsBaseTeardown(body: SyntaxNode, teardown: string): boolean {
  let hit = false;
  // Made once per body, not once per call in it.
  const superTeardown = new RegExp(`^super\\(\\s*\\)\\.(${teardown}|stop)$`);
  walkTypes(body, CALL, (n) => {
    if (superTeardown.test(n.childForFieldName('function')?.text ?? '')) hit = true;
  });
  return hit;
}

/**
 * Methods the agent installs as its SIGTERM handler on its asyncio loop, in code that stays:
 * `loop.add_signal_handler(signal.SIGTERM, self.m)`, or inside `for sig in (..., SIGTERM):` /
 * `for name in ("SIGINT", "SIGTERM"):` with the loop variable as the signal. Unlike a signal.signal
 * handler, it runs as a callback of the loop, between its tasks, not in the middle of one.
 */
function loopSignalHandlers(ctx: PythonTransformContext): Set<string> {
  const out = new Set<string>();
  walkTypes(ctx.agent.cls.node, CALL, (n) => {
    if (!/(^|\.)add_signal_handler$/.test(callee(n) ?? '') || isRemoved(ctx, n)) return;
    const args = n.childForFieldName('arguments')?.namedChildren ?? [];
    const handler = args[1] ? selfAttribute(args[1]) : null;
    if (!handler || !ctx.agent.methods.has(handler)) return;
    let sigterm = /\bSIGTERM\b/.test(args[0]?.text ?? '');
    for (let p = n.parent; p && !sigterm && p.type !== 'function_definition'; p = p.parent) {
      if (p.type === 'for_statement' && /\bSIGTERM\b/.test(p.childForFieldName('right')?.text ?? '')) sigterm = true;
    }
    if (sigterm) out.add(handler);
  });
  return out;
}

/** Methods installed with signal.signal(..., self.m) anywhere in the agent. */
const CALL: ReadonlySet<string> = new Set(['call']);
export function signalHandlers(ctx: PythonTransformContext): Set<string> {
  const out = new Set<string>();
  walkTypes(ctx.agent.cls.node, CALL, (n) => {
    if (n.type !== 'call' || !/^(signal\.)?signal$/.test(n.childForFieldName('function')?.text ?? '') || isRemoved(ctx, n)) return;
    for (const a of n.childForFieldName('arguments')?.namedChildren ?? []) {
      const m = selfAttribute(a);
      if (m) out.add(m);
    }
  });
  return out;
}

/** `sys.exit(...)`, `os._exit(...)`, `exit(...)`, `quit(...)` or `raise SystemExit[(...)]` as a statement: its status argument text ('' for none); null when it is no exit. */
function endingExit(st: SyntaxNode): { status: string } | null {
  if (st.type === 'raise_statement') {
    const v = st.namedChild(0);
    if (v?.type === 'identifier' && v.text === 'SystemExit') return { status: '' };
    if (v?.type === 'call' && v.childForFieldName('function')?.text === 'SystemExit') return { status: exitArgs(v) };
    return null;
  }
  const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
  if (e?.type !== 'call' || !/^(sys\.exit|os\._exit|exit|quit)$/.test(callee(e) ?? '')) return null;
  return { status: exitArgs(e) };
}

function exitArgs(call: SyntaxNode): string {
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  return args.length === 1 ? args[0]!.text : args.length ? '?' : '';
}

/**
 * A kept teardown that ends the process (`...; sys.exit(0)`, the legacy SIGTERM handler's end) and
 * that the base now calls inside its own teardown (the profile's shutdown hook, or what its loop's
 * finally calls): the exit would leave the base's teardown half done (its publisher, registration,
 * metrics and health server are closed after the hook returns) while the process still ends with
 * status 0. When the exit ends it with status 0, is its only way out, and nothing but SIGTERM/SIGINT
 * installs outside the agent (the entry point's, which the base's own handler replaces) names the
 * method, the exit becomes the base's own teardown call: the base ends the process with status 0
 * once its teardown is done. Otherwise the exit stays, the base's call goes before it, and a warning
 * says what the exit skips. True when it handled the method.
 */
function endingExitTeardown(ctx: PythonTransformContext, name: string, fn: { body: SyntaxNode; node: SyntaxNode }, last: SyntaxNode, target: string): boolean {
  const exit = endingExit(last)!;
  const indent = ctx.source.slice(lineStart(ctx.source, last.startIndex), last.startIndex);
  if (!/^[ \t]*$/.test(indent)) return false;
  const inBaseTeardown = ctx.base.shutdownCalls.has(name) || (!!ctx.py.hooks?.includes(name) && ctx.base.methods.has(name));
  const cls = ctx.agent.cls.name;
  const base = ctx.profile.base_class;
  const at = `line ${last.startPosition.row + 1}: ${last.text.split('\n')[0]!.trim()}`;
  let escapes = false;
  walk(fn.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.id === last.id) return false;
    if (n.type === 'return_statement' || n.type === 'raise_statement' || n.type === 'yield') escapes = true;
    if (n.type === 'call' && /^(sys\.exit|os\._exit|exit|quit)$/.test(callee(n) ?? '')) escapes = true;
  });
  const clean = /^(|0|None)$/.test(exit.status) && !/^os\._exit$/.test(callee(last.namedChild(0)!) ?? '');
  if (inBaseTeardown && clean && !escapes && onlyEntrySignalInstalls(ctx, name, fn.node)) {
    ctx.edits.replace(last.startIndex, last.endIndex, `super().${target}()`, 'teardown-super');
    ctx.warnings.push(
      `${cls}.${name}() kept (it does business work); its exit (${at}) is now super().${target}(): ${base} calls ${name}() inside its own teardown, ` +
        `which that exit would cut short (the rest of the base's teardown never ran); the base ends the process with status 0 once it is done`,
    );
    return true;
  }
  ctx.edits.insert(lineStart(ctx.source, last.startIndex), `${indent}super().${target}()${ctx.layout.eol}`, 'teardown-super');
  const kept = `${cls}.${name}() kept (it does business work) and now calls super().${target}() before its exit (${at})`;
  // Inside the base's teardown the exit still skips what follows the call (its deregistration among
  // it, which validation's deregister check sees): behaviour lost, not a hazard resolved.
  if (inBaseTeardown) {
    keep(ctx, name, last.startPosition.row + 1, `${kept}; ${base} calls ${name}() inside its own teardown, so that exit still cuts the rest of the base's teardown short: decide whether ${name}() should end the process`);
  } else ctx.warnings.push(kept);
  return true;
}

/**
 * Nothing names the method but its def and SIGTERM/SIGINT installs outside the agent class
 * (`signal.signal(signal.SIGTERM, agent.shutdown)` in the entry point, which the base's handler
 * replaces once its loop starts), and no other file of the repository reaching the agent names
 * it. Attribute accesses on another object (`self.server.shutdown()`)
 * are not the agent's method.
 */
function onlyEntrySignalInstalls(ctx: PythonTransformContext, name: string, def: SyntaxNode): boolean {
  // Another file of the repository that reaches the agent and calls it (a rotation hook ending the
  // agent through it) relies on the exit too.
  if (ctx.external(name).length) return false;
  const cls = ctx.agent.cls.node;
  for (const r of ctx.refs.of(name)) {
    if (r.kind === 'identifier' && r.node.parent?.id === def.id) continue;
    if (r.kind === 'string') return false;
    if (r.kind === 'identifier') return false;
    const attr = r.node.parent!;
    const obj = attr.childForFieldName('object');
    if (obj?.type === 'attribute' || obj?.type === 'call' || obj?.type === 'subscript') continue;
    const args = attr.parent;
    const call = args?.type === 'argument_list' ? args.parent : null;
    if (call?.type !== 'call' || !/^(signal\.)?signal$/.test(callee(call) ?? '')) return false;
    if (call.startIndex >= cls.startIndex && call.endIndex <= cls.endIndex) return false;
    if (!/(^|\.)SIG(TERM|INT)$/.test(args!.namedChildren[0]?.text ?? '')) return false;
  }
  return true;
}
