// Shared by the transforms that swap an older base for the target (inherit-base,
// hardened-old-base): members the agent uses through self that neither it nor the new
// base defines — only the old base had them — are reported with their line.
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { keep } from '../../src/lang/python/transform-context.js';
import { walkAgentCode } from '../../src/analysis/agent-model.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PyClass, PyFunction } from '../../src/lang/python/module-model.js';
import { isTrivial } from '../../src/analysis/infra.js';
import { moduleReadsOfAgent } from '../../src/analysis/lost-member-reads.js';
import { callee, expressionOf, isDocstring, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { lineEnd, lineStart, renderBlock } from '../../src/lang/python/text.js';
import { callsSuper, earlyRenamed } from './early-overrides.js';
import { findSuperCall } from './super-init.js';
import { START_CALL } from './entrypoint.js';
import { moveOldBaseHealthPayload } from './old-base-health-hook.js';
import { moveOldBaseTeardown } from './old-base-teardown-move.js';
import { pointOldTeardownAtBase } from './old-base-teardown-alias.js';
import { carryOldBaseMethods } from './old-base-carry-methods.js';
import { excerpt } from '../../src/core/excerpt.js';

/** Names the class body itself binds (`C2_PATTERNS = [...]`, `timeout: int = 5`): the class defines them. */
function classLevelNames(ctx: PythonTransformContext): Set<string> {
  const out = new Set<string>();
  for (const s of statements(ctx.agent.cls.body)) {
    const e = s.type === 'expression_statement' ? s.namedChild(0) : null;
    const left = e?.type === 'assignment' ? e.childForFieldName('left') : null;
    const targets = left?.type === 'pattern_list' || left?.type === 'tuple_pattern' ? left.namedChildren : left ? [left] : [];
    for (const t of targets) if (t.type === 'identifier') out.add(t.text);
  }
  return out;
}

export function reportOldBaseMembers(ctx: PythonTransformContext, oldBase: string): void {
  const seen = new Set<string>();
  const ownClassNames = classLevelNames(ctx);
  // Only bound by the agent through `self.polls += 1`: the old base's __init__ gave it its first value.
  const bound = new Set(ctx.agent.assignments.filter((a) => (a.stmt.type === 'expression_statement' ? a.stmt.namedChild(0) : a.stmt)?.type !== 'augmented_assignment').map((a) => a.attr));
  for (const m of ctx.agent.methods.values()) {
    walkAgentCode(m, (n) => {
      const attr = selfAttribute(n, m.params[0]?.name ?? 'self');
      if (!attr || seen.has(attr) || attr.startsWith('__')) return;
      if (ctx.agent.methods.has(attr) || bound.has(attr) || ctx.baseOwned.has(attr) || ownClassNames.has(attr)) return;
      if (ctx.resolved?.ranges.contains(n.startIndex, n.endIndex)) return;
      seen.add(attr);
      if (carryOldBaseStart(ctx, oldBase, attr) || carryOldBaseMethods(ctx, oldBase).has(attr)) return;
      keep(ctx, attr, n.startPosition.row + 1,
        `used through self but defined by neither ${ctx.agent.cls.name} nor the new ${ctx.profile.base_class}: only the old base (${oldBase}) provided it`);
    });
  }
  // The module's own code calling one on the agent (an entry point's `scheduler.shutdown()` in its finally:)
  // raises AttributeError there just the same. A start call (`scheduler.serve_forever()`) the entrypoint
  // transform points at the base's entry point is not one.
  const ownAttributes = new Set(ctx.agent.assignments.map((a) => a.attr));
  const unanswered = (attr: string) => !seen.has(attr) && !attr.startsWith('__') && !ctx.agent.methods.has(attr) && !ownAttributes.has(attr) && !ctx.baseOwned.has(attr) && !ownClassNames.has(attr);
  const reads = moduleReadsOfAgent(ctx.module.tree, ctx.agent.cls, unanswered);
  for (const r of reads) {
    if (seen.has(r.name) || START_CALL.test(r.name)) continue;
    seen.add(r.name);
    if (pointOldTeardownAtBase(ctx, oldBase, r.name, reads.filter((x) => x.name === r.name).length)) continue;
    keep(ctx, r.name, r.line,
      `the module's code reads ${r.route} (line ${r.line}), but neither ${ctx.agent.cls.name} nor the new ${ctx.profile.base_class} defines it: only the old base (${oldBase}) provided it`);
  }
}

/**
 * The other way round: methods of the agent that only the old base called on it (`self.tick()` in its run
 * loop, `self.health_info()` in its health loop). The new base does not define them, so nothing calls the
 * agent's override any more and its work silently stops: each is reported with the old base's caller.
 */
export function reportOldBaseHooks(ctx: PythonTransformContext, oldBase: string): void {
  const name = oldBase.split('.').pop()!;
  const parent = ctx.inherited().find((p) => p.cls.name === name);
  if (!parent) return;
  reportHooksOf(ctx, parent, name);
}

/** reportOldBaseHooks for the old base's class read from its file (`parent`), named `name`. */
export function reportHooksOf(ctx: PythonTransformContext, parent: { cls: PyClass; file: string }, name: string): void {
  const seen = new Set<string>();
  let mapped = false;
  // The agent's __init__ calling super().__init__() ran the old base's, and so the hooks that one calls.
  const agentInit = ctx.agent.methods.get('__init__');
  const chained = agentInit ? findSuperCall(ctx, agentInit) : null;
  const rewired: Array<{ call: string; hook: string; line: number }> = [];
  for (const [caller, fn] of parent.cls.methods) {
    walk(fn.body, (n) => {
      const hook = selfAttribute(n, fn.params[0]?.name ?? 'self');
      if (!hook || seen.has(hook) || !ctx.agent.methods.has(hook)) return;
      const throughSuper = caller === '__init__' && chained !== null;
      // A hook the new base calls too, unless early-overrides renames the agent's away from it. One the new
      // base only defines (handle_request() where the old base's run() served a socket with it) has no caller left.
      const renamed = throughSuper ? earlyRenamed(ctx, hook) : null;
      if (ctx.base.methods.has(hook) && ctx.base.selfCalls.has(hook) && !renamed) return;
      // (an agent override of the caller replaced the old base's call already)
      if (ctx.agent.methods.has(caller) && !throughSuper) return;
      // Still called by the agent's own code (outside its definition): it runs as before.
      const own = ctx.agent.methods.get(hook)!;
      if (ctx.refs.of(hook).some((r) => r.kind === 'attribute' && !(own.outer.startIndex <= r.start && r.end <= own.outer.endIndex))) return;
      seen.add(hook);
      if (caller === (ctx.py.main_loop_method ?? 'run') && !mapped && periodicCall(ctx, parent.cls, fn, n, hook, name)) {
        mapped = true;
        return;
      }
      if (throughSuper) {
        const at = `${name}.__init__(), ${parent.file}:${n.startPosition.row + 1}`;
        // An override extending the old base's own (super().<hook>()) has nothing left to extend.
        if (callsSuper(own.body, hook)) {
          keep(ctx, hook, own.line,
            `${hook}() was called by the old base's constructor (${at}) through super().__init__(), and it extends the old base's own ${hook}() ` +
              `(super().${hook}()), which ${ctx.profile.base_class} does not have: move what the old one did into it, then call it after super().__init__()`);
          return;
        }
        if (unconditionalCall(n, fn)) {
          rewired.push({ call: renamed ?? hook, hook, line: n.startPosition.row + 1 });
          return;
        }
      }
      const oldState = oldStateRead(ctx, own, parent);
      if (moveOldBaseHealthPayload(ctx, parent, fn, n, hook, oldState !== '')) return;
      keep(ctx, hook, own.line,
        `${hook}() was called by the old base (${name}.${caller}(), ${parent.file}:${n.startPosition.row + 1}); ` +
          `${ctx.profile.base_class} never calls it, so it no longer runs: call it from the agent's own code (a hook of ${ctx.profile.base_class}'s) or drop it` +
          oldState);
    });
  }
  if (rewired.length && chained) callAfterSuper(ctx, chained.stmt, rewired, parent.file, name);
}

/** `self.<hook>()` with no arguments, a statement of its own directly in the method's body (not under an if or a try). */
function unconditionalCall(attr: SyntaxNode, fn: PyFunction): boolean {
  const call = attr.parent;
  if (call?.type !== 'call' || call.childForFieldName('function')?.id !== attr.id) return false;
  if ((call.childForFieldName('arguments')?.namedChildCount ?? 1) !== 0) return false;
  return call.parent?.type === 'expression_statement' && call.parent.parent?.id === fn.body.id;
}

/**
 * The old base's constructor called the agent's hooks (`self._on_start()`) inside the agent's
 * super().__init__(); the new base's does not. They are called right after that statement, where the
 * legacy super call stood, so they run once, in the old base's order, after what the agent set before it.
 */
function callAfterSuper(ctx: PythonTransformContext, stmt: SyntaxNode, hooks: Array<{ call: string; hook: string; line: number }>, file: string, base: string): void {
  const src = ctx.source;
  const indent = src.slice(lineStart(src, stmt.startIndex), stmt.startIndex);
  if (!/^[ \t]*$/.test(indent)) {
    // (the super call shares its line with another statement: no line of its own to write after)
    for (const h of hooks) {
      keep(ctx, h.hook, ctx.agent.methods.get(h.hook)!.line,
        `${h.hook}() was called by the old base's constructor (${base}.__init__(), ${file}:${h.line}) inside the agent's super().__init__(); ` +
          `${ctx.profile.base_class}.__init__() does not call it: call it after super().__init__()`);
    }
    return;
  }
  const me = ctx.agent.methods.get('__init__')?.params[0]?.name ?? 'self';
  const calls = hooks.map((h) => `${me}.${h.call}()`).join('\n');
  ctx.edits.insert(lineEnd(src, stmt.endIndex), renderBlock(`# ${base}.__init__() called ${hooks.length > 1 ? 'these' : 'this'} here; ${ctx.profile.base_class}.__init__() does not.\n${calls}\n`, indent, ctx.layout), 'old-base-hooks');
  ctx.warnings.push(
    `${hooks.map((h) => `${h.hook}()`).join(', ')} ${hooks.length > 1 ? 'were' : 'was'} called by the old base's constructor (${base}.__init__(), ${file}:${hooks.map((h) => h.line).join(', ')}) ` +
      `inside the agent's super().__init__(); ${ctx.profile.base_class}.__init__() does not call ${hooks.length > 1 ? 'them' : 'it'}, so __init__ now calls ` +
      `${hooks.map((h) => `${me}.${h.call}()`).join(', ')} where that call stood`,
  );
}

/**
 * `; it reads self.cycles (line 131), state only the old base kept (HardenedAgentBase.run() changes it at
 * hardened.py:50), which the new base does not: it cannot be handed to a hook or publisher of the new base as it is`,
 * or '' when the hook reads nothing that only the old base assigned.
 */
function oldStateRead(ctx: PythonTransformContext, hook: PyFunction, parent: { cls: PyClass; file: string }): string {
  const me = hook.params[0]?.name ?? 'self';
  const bound = new Set(ctx.agent.assignments.map((a) => a.attr));
  const reads: Array<{ attr: string; line: number; set: string }> = [];
  walk(hook.body, (n) => {
    const attr = selfAttribute(n, me);
    if (!attr || reads.some((r) => r.attr === attr) || ctx.agent.methods.has(attr) || bound.has(attr) || ctx.baseOwned.has(attr)) return;
    // The loop that keeps changing it (`self.cycles += 1` in run()) says more than its first value in __init__.
    for (const [m, fn] of [...parent.cls.methods].sort(([a], [b]) => Number(a === '__init__') - Number(b === '__init__'))) {
      const w = assignmentOf(fn, attr);
      if (w !== null) {
        reads.push({ attr, line: n.startPosition.row + 1, set: `${parent.cls.name}.${m}() sets it at ${parent.file}:${w}` });
        return;
      }
    }
  });
  if (!reads.length) return '';
  return `; it reads ${reads.map((r) => `self.${r.attr} (line ${r.line}; ${r.set})`).join(', ')}, state only the old base kept, which ${ctx.profile.base_class} does not: ` +
    `it cannot be handed to a hook or publisher of ${ctx.profile.base_class} as it is`;
}

/** The line where `fn` assigns `self.<attr>` (`=`, `+=`), or null. */
function assignmentOf(fn: PyFunction, attr: string): number | null {
  const at = assignmentIn(fn, attr);
  return at ? at.startPosition.row + 1 : null;
}

/** `fn`'s first assignment of `self.<attr>` (`=`, `+=`), or null. */
function assignmentIn(fn: PyFunction, attr: string): SyntaxNode | null {
  const me = fn.params[0]?.name ?? 'self';
  let at: SyntaxNode | null = null;
  walk(fn.body, (n) => {
    if (at !== null) return false;
    if ((n.type === 'assignment' || n.type === 'augmented_assignment') && n.childForFieldName('left')?.text === `${me}.${attr}`) at = n;
  });
  return at;
}

/**
 * The old base's run() was only a periodic loop around the hook: log lines, then
 * `while self.running:` (or `while True:`) holding `self.<hook>()` and a sleep of a constant
 * (a number, or a class attribute of the agent or the old base bound to one). The new base's run()
 * calls its own periodic hook (`run_once`) every `loop_interval` seconds until it stops: the agent
 * gets that hook calling <hook>() and the interval as a class attribute, so <hook>() runs as often
 * as before. False (nothing written) for any other shape, or when the agent has its own run(), hook
 * or interval attribute, or <hook>() takes arguments.
 */
function periodicCall(ctx: PythonTransformContext, oldBase: PyClass, run: PyFunction, call: SyntaxNode, hook: string, baseName: string): boolean {
  const periodic = ctx.base.periodicHook;
  if (!periodic?.intervalAttribute || ctx.base.requestLoop) return false;
  const { hook: target, intervalAttribute } = periodic;
  if (ctx.agent.methods.has(target) || ctx.agent.attributes.has(intervalAttribute) || classLevelNames(ctx).has(intervalAttribute)) return false;
  const own = ctx.agent.methods.get(hook)!;
  if (own.isAsync || own.params.length !== 1 || (call.parent?.type === 'call' && (call.parent.childForFieldName('arguments')?.namedChildCount ?? 0) > 0)) return false;
  const stmts = statements(run.body).filter((st) => st.type !== 'comment' && !isDocstring(st));
  const loop = stmts[stmts.length - 1];
  if (loop?.type !== 'while_statement' || !stmts.slice(0, -1).every(isTrivial) || loop.namedChildren.some((c) => c.type === 'else_clause')) return false;
  const selfName = run.params[0]?.name ?? 'self';
  const cond = loop.childForFieldName('condition')?.text.replace(/\s+/g, '') ?? '';
  if (!(cond === 'True' || cond === '1' || (cond === `${selfName}.running` && ctx.baseOwned.has('running')))) return false;
  const body = statements(loop.childForFieldName('body')).filter((st) => st.type !== 'comment');
  if (body.length !== 2) return false;
  const first = expressionOf(body[0]!);
  if (first?.type !== 'call' || first.childForFieldName('function')?.id !== call.id) return false;
  const sleep = expressionOf(body[1]!);
  if (sleep?.type !== 'call' || !/^(time\.)?sleep$/.test(callee(sleep) ?? '')) return false;
  const args = sleep.childForFieldName('arguments')?.namedChildren ?? [];
  if (args.length !== 1) return false;
  const src = ctx.source;
  const at = own.outer;
  const interval = constantInterval(ctx, oldBase, args[0]!, selfName, at.startIndex);
  if (interval === null) return false;
  const indent = src.slice(lineStart(src, at.startIndex), at.startIndex);
  if (!/^[ \t]*$/.test(indent)) return false;
  ctx.edits.insert(lineStart(src, at.startIndex), renderBlock(`${intervalAttribute} = ${interval}\n\ndef ${target}(self):\n    self.${hook}()\n\n`, indent, ctx.layout), 'old-base-hooks');
  ctx.warnings.push(
    `${hook}() was called by the old base (${baseName}.${run.name}(), every ${interval} s); ${ctx.profile.base_class}.${run.name}() now calls it from ${target}() every ` +
      `${intervalAttribute} = ${interval} seconds until stop() or SIGTERM; an exception in it is logged by the base and the loop goes on (the old base's loop ended)`,
  );
  return true;
}

/**
 * A number, or `self.NAME` bound to a number in the agent's class body (first: NAME itself, when bound
 * before `before`, where loop_interval is written) or the old base's (its number: the old base goes).
 */
function constantInterval(ctx: PythonTransformContext, oldBase: PyClass, x: SyntaxNode, selfName: string, before: number): string | null {
  if (x.type === 'integer' || x.type === 'float') return x.text;
  if (x.type !== 'attribute' || x.childForFieldName('object')?.text !== selfName) return null;
  const name = x.childForFieldName('attribute')!.text;
  // Assigned on the instance anywhere (the agent's or the old base's code): not a constant.
  if (ctx.agent.attributes.has(name)) return null;
  let instance = false;
  for (const m of oldBase.methods.values()) walk(m.body, (n) => {
    if (n.type === 'assignment' && n.childForFieldName('left')?.text === `${m.params[0]?.name ?? 'self'}.${name}`) instance = true;
  });
  if (instance) return null;
  for (const body of [ctx.agent.cls.body, oldBase.body]) {
    for (const st of statements(body)) {
      const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
      if (e?.type !== 'assignment' || e.childForFieldName('left')?.text !== name) continue;
      const v = e.childForFieldName('right');
      if (!v || (v.type !== 'integer' && v.type !== 'float')) return null;
      return body === ctx.agent.cls.body && st.endIndex <= before ? name : v.text;
    }
  }
  return null;
}

/**
 * Work the old base started on its own: a thread its constructor (or a method the constructor calls
 * on self) starts on one of its methods, such as a heartbeat loop writing the file a watchdog reads, or a
 * stats flusher. The new base starts none of them, so with the swap that work silently stops: each is
 * reported with the old base's line. A loop serving health (named so) is what the new base does itself.
 */
export function reportOldBaseThreads(ctx: PythonTransformContext, oldBase: string): void {
  const name = oldBase.split('.').pop()!;
  const parent = ctx.inherited().find((p) => p.cls.name === name);
  const init = parent?.cls.methods.get('__init__');
  if (!parent || !init) return;
  const reached = new Map<string, PyFunction>([['__init__', init]]);
  const todo = [init];
  const starts: Array<{ target: string; line: number }> = [];
  while (todo.length) {
    const fn = todo.pop()!;
    const me = fn.params[0]?.name ?? 'self';
    walk(fn.body, (n) => {
      if (n.type !== 'call') return;
      const called = selfAttribute(n.childForFieldName('function')!, me);
      const next = called ? parent.cls.methods.get(called) : undefined;
      if (called && next && !reached.has(called)) {
        reached.set(called, next);
        todo.push(next);
      }
      if (!/(^|\.)Thread$/.test(callee(n) ?? '')) return;
      const kw = n.childForFieldName('arguments')?.namedChildren.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === 'target');
      const target = kw ? selfAttribute(kw.childForFieldName('value')!, me) : null;
      if (target && (parent.cls.methods.has(target) || ctx.agent.methods.has(target)) && !/health/i.test(target)) {
        starts.push({ target, line: n.startPosition.row + 1 });
      }
    });
  }
  const seen = new Set<string>();
  for (const s of starts) {
    if (seen.has(s.target)) continue;
    seen.add(s.target);
    const fn = parent.cls.methods.get(s.target);
    keep(ctx, s.target, ctx.agent.cls.line,
      `the old base ${name} started a thread on ${s.target}() in its constructor (${parent.file}:${s.line}); ${ctx.profile.base_class} starts no such thread, ` +
        `and ${name} leaves the bases, so ${s.target}() no longer runs` + (fn ? threadWork(ctx, parent, fn) : '') +
        `: move it into ${ctx.agent.cls.name} and start its thread from __init__, or drop it`);
  }
}

/**
 * What an old base's thread method does that someone outside may rely on, for its review item: the files it
 * writes (`open(self._heartbeat_file, "w")`, with the old base's line binding that attribute) and how often
 * (the constant of the sleep in its loop), and whether the new base has anything named for a heartbeat; ''
 * when it writes no file.
 */
function threadWork(ctx: PythonTransformContext, parent: { cls: PyClass; file: string }, fn: PyFunction): string {
  const me = fn.params[0]?.name ?? 'self';
  const files: string[] = [];
  let every: string | null = null;
  walk(fn.body, (n) => {
    if (n.type !== 'call') return;
    const name = callee(n) ?? '';
    const args = n.childForFieldName('arguments')?.namedChildren ?? [];
    if (/^(time\.)?sleep$/.test(name) && args.length === 1 && /^\d+(\.\d+)?$/.test(args[0]!.text)) every = args[0]!.text;
    if (!/^(io\.)?open$/.test(name) || args.length < 2 || !/^[rb]*["'][wax]/.test(args[1]!.text.replace(/^[rb]+/, ''))) return;
    const path = args[0]!;
    const attr = selfAttribute(path, me);
    const set = attr ? [...parent.cls.methods.values()].map((m) => assignmentIn(m, attr)).find((a) => a?.type === 'assignment') : undefined;
    const value = set?.childForFieldName('right');
    files.push(set && value ? `${path.text} (${value.text}, ${parent.file}:${set.startPosition.row + 1})` : path.text);
  });
  if (!files.length) return '';
  const beats = [...ctx.base.methods].filter((m) => /heartbeat|keepalive|alive/i.test(m));
  return `; it wrote ${[...new Set(files)].join(', ')}${every ? ` every ${every} s` : ''}: whatever reads that file (a watchdog, a supervisor) now finds it stale, ` +
    (beats.length ? `and ${ctx.profile.base_class}'s ${beats.map((b) => `${b}()`).join(', ')} need not write it` : `and ${ctx.profile.base_class} writes no such file (it has no heartbeat of its own)`);
}

/** Teardown calls on a member: what closing the old base's own transport and threads does. */
const MEMBER_TEARDOWN = /^(close|term|destroy|shutdown|server_close|join|set|cancel|clear)$/;

/**
 * State the old base's __init__ started at a constant (`self.polls = 0`, at the top of its body) that the
 * agent goes on using (`self.polls += 1` in poll()): the new base never sets it, so every use would raise
 * AttributeError (PickListAgent's run_once() failed each cycle). The agent's __init__ sets it itself, right
 * after its call of the new base's, to the same constant; said as a warning. False when the old base is not
 * read, sets it otherwise, or the agent's __init__ has no such call to follow (reported as before).
 */
function carryOldBaseStart(ctx: PythonTransformContext, oldBase: string, attr: string): boolean {
  const name = oldBase.split('.').pop()!;
  const from = ctx.inherited().find((p) => p.cls.name === name);
  const local = from ? undefined : ctx.module.classes.find((c) => c.name === name && c !== ctx.agent.cls);
  const parent = from?.cls ?? local;
  const oldInit = parent?.methods.get('__init__');
  const init = ctx.agent.methods.get('__init__');
  if (!parent || !oldInit || !init) return false;
  const me = oldInit.params[0]?.name ?? 'self';
  const starts = statements(oldInit.body).map((st) => (st.type === 'expression_statement' ? st.namedChild(0) : null))
    .filter((e): e is SyntaxNode => e?.type === 'assignment' && selfAttribute(e.childForFieldName('left')!, me) === attr);
  // Set once, unconditionally, to a literal: anything else (a parameter, a call) is not the agent's to copy.
  const value = starts.length === 1 ? starts[0]!.childForFieldName('right') : null;
  if (!value || !CONSTANT.test(value.text)) return false;
  const call = findSuperCall(ctx, init);
  if (!call || call.stmt.parent?.id !== init.body.id) return false;
  const indent = ctx.source.slice(lineStart(ctx.source, call.stmt.startIndex), call.stmt.startIndex);
  if (indent.trim()) return false;
  ctx.edits.insert(call.stmt.endIndex, `\n${indent}${init.params[0]?.name ?? 'self'}.${attr} = ${value.text}`, 'old-base-members');
  ctx.warnings.push(`self.${attr} was started at ${value.text} by the old base ${name}'s __init__ (${from ? from.file : ctx.file}:${value.startPosition.row + 1}), which ${ctx.profile.base_class} does not set: ` +
    `${ctx.agent.cls.name}.__init__ now sets it after its super().__init__() (line ${call.stmt.startPosition.row + 1})`);
  return true;
}

/** A literal the agent can start an attribute at as the old base did: a number, string, bool, None, or an empty container. */
const CONSTANT = /^(-?\d+(\.\d+)?|True|False|None|(['"])[^'"\\]*\3|\[\]|\{\}|\(\)|set\(\)|dict\(\)|list\(\))$/;

/**
 * The statements of the old base's teardown (stop(), cleanup(), shutdown()) that do more than tear down
 * its own transport: saving a file, removing the heartbeat file, telling a peer. BaseAgent has a teardown
 * of the same name, so the entry point's `agent.stop()` still resolves, but to the new base's, and with the
 * old base gone that work silently stops. Reported once per method with its first such statement. Calls of
 * the agent's own hooks are reported by reportOldBaseHooks; an agent override that does not reach the old
 * one (no super() call) was already the teardown that ran.
 */
export function reportOldBaseTeardown(ctx: PythonTransformContext, oldBase: string): void {
  const name = oldBase.split('.').pop()!;
  const parent = ctx.inherited().find((p) => p.cls.name === name);
  if (!parent) return;
  const names = new Set(['stop', 'cleanup', 'shutdown', ...(ctx.py.teardown ? [ctx.py.teardown] : [])]);
  for (const method of names) {
    const fn = parent.cls.methods.get(method);
    if (!fn) continue;
    const own = ctx.agent.methods.get(method);
    if (own && !own.body.text.includes(`super().${method}(`)) continue;
    const me = fn.params[0]?.name ?? 'self';
    const work = firstWork(statements(fn.body), me, ctx, parent.cls);
    if (!work) continue;
    if (moveOldBaseTeardown(ctx, parent, method, fn)) continue;
    keep(ctx, method, own?.line ?? ctx.agent.cls.line,
      `the old base ${name}'s ${method}() (${parent.file}:${fn.line}) also ran \`${excerpt(work.text, 60)}\` (${parent.file}:${work.startPosition.row + 1}); ` +
        `${ctx.profile.base_class}.${method}() does not, and ${name} leaves the bases: move that work into ${ctx.agent.cls.name}'s ${ctx.py.teardown ?? 'cleanup'}() or drop it`);
  }
}

function firstWork(stmts: SyntaxNode[], me: string, ctx: PythonTransformContext, oldBase: PyClass, seen = new Set<string>()): SyntaxNode | null {
  for (const s of stmts) {
    if (isTrivial(s) || isDocstring(s)) continue;
    if (s.type === 'try_statement' || s.type === 'if_statement' || s.type === 'with_statement') {
      if (s.type === 'with_statement') return s;
      for (const block of s.namedChildren) {
        const body = block.type === 'block' ? block : block.namedChildren.find((c) => c.type === 'block');
        const w = body ? firstWork(statements(body), me, ctx, oldBase, seen) : null;
        if (w) return w;
      }
      continue;
    }
    if (s.type === 'return_statement') continue;
    const e = expressionOf(s);
    if (e?.type === 'assignment') {
      const left = e.childForFieldName('left');
      const right = e.childForFieldName('right');
      if (left && selfAttribute(left, me) && right && ['true', 'false', 'none'].includes(right.type)) continue;
      return s;
    }
    if (e?.type === 'call') {
      const fn = e.childForFieldName('function');
      const hook = fn ? selfAttribute(fn, me) : null;
      if (hook && ctx.agent.methods.has(hook)) continue;
      // The old base's own default of a hook (a docstring, pass): nothing done unless its body works.
      const inner = hook && !seen.has(hook) ? oldBase.methods.get(hook) : undefined;
      if (inner && (seen.add(hook!), !firstWork(statements(inner.body), inner.params[0]?.name ?? 'self', ctx, oldBase, seen))) continue;
      if (fn?.type === 'attribute' && /^super\(\)$/.test(fn.childForFieldName('object')?.text ?? '')) continue;
      const verb = fn?.type === 'attribute' ? fn.childForFieldName('attribute')!.text : '';
      const obj = fn?.type === 'attribute' ? fn.childForFieldName('object')! : null;
      if (obj && selfAttribute(obj, me) && MEMBER_TEARDOWN.test(verb)) continue;
    }
    return s;
  }
  return null;
}
